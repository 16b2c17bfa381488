"""Prometheus metrics of one app: request latency per route, and what the ``Shop`` reports.

Each app gets its own ``CollectorRegistry`` (never the process-wide default), so several apps in
one test process, or a benchmark that starts a fresh server per configuration, do not clash over
metric names. Shop figures (index size, catalog size, model versions) are read from
``shop.stats()`` when Prometheus scrapes, not kept in sync on every write; so is the promoted model
version (``lookbook_model_version_info{version="..."} 1``, from ``shop.model_version()``), which a
reload changes without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from lookbook.touchpoints.api import Shop

log = logging.getLogger(__name__)

#: Latency buckets around the targets (p99 <= 50 ms for the feed at 300 requests/s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
#: Requests that matched no route share one label, so random paths cannot grow the label set.
UNMATCHED = "unmatched"


class ShopCollector(Collector):
    """Gauges from ``shop.stats()``: every numeric figure, the index size, and one info series per
    model version (``lookbook_model_info{model="preference",version="..."} 1``); and the promoted
    model version as an info metric (``lookbook_model_version_info{version="..."} 1``)."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def collect(self) -> Iterator[Metric]:
        yield from self._version()
        try:
            stats: dict[str, Any] = dict(self.shop.stats())
        except Exception:  # a scrape must never take the server down; the failure is visible
            log.exception("shop.stats() failed during a metrics scrape")
            up = GaugeMetricFamily("lookbook_shop_up", "1 when shop.stats() answered")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("lookbook_shop_up", "1 when shop.stats() answered")
        up.add_metric([], 1)
        yield up
        index = stats.get("index_items", stats.get("items"))
        if isinstance(index, int | float) and not isinstance(index, bool):
            g = GaugeMetricFamily("lookbook_index_size", "items in the vector index")
            g.add_metric([], float(index))
            yield g
        for key, value in sorted(stats.items()):
            if isinstance(value, bool | int | float):
                g = GaugeMetricFamily(f"lookbook_shop_{_metric_name(key)}", f"shop.stats()['{key}']")
                g.add_metric([], float(value))
                yield g
        versions = stats.get("model_versions")
        if isinstance(versions, dict):
            info = GaugeMetricFamily(
                "lookbook_model_info", "version of each model the shop serves", labels=["model", "version"]
            )
            for model, version in sorted(versions.items()):
                info.add_metric([str(model), str(version)], 1.0)
            yield info

    def _version(self) -> Iterator[Metric]:
        try:
            version = str(self.shop.model_version())
        except Exception:  # as above: the scrape goes on, the log says why the series is missing
            log.exception("shop.model_version() failed during a metrics scrape")
            return
        info = InfoMetricFamily("lookbook_model_version", "the promoted model version the shop serves")
        info.add_metric([], {"version": version})
        yield info


def _metric_name(key: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in str(key)).strip("_").lower() or "value"


class AppMetrics:
    """The registry of one app and the latency histogram the middleware feeds."""

    def __init__(self, shop: Shop) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "lookbook_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reloads = Counter(
            "lookbook_reloads",
            "reloads of settings.toml / the promoted model version, by outcome (ok, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.retrains = Counter(
            "lookbook_scheduled_retrains",
            "scheduled retrains (lookbook serve --retrain-every), by outcome (promoted, kept, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.impressions_failed = Counter(
            "lookbook_impressions_failed",
            "served slates whose impressions could not be logged (shop.log_impressions raised)",
            registry=self.registry,
        )
        self.registry.register(ShopCollector(shop))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
