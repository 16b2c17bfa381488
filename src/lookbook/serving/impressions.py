"""Served slates, logged as impressions through ``shop.log_impressions`` (which only enqueues: a
background batcher in the shop writes them), so clicks sent back with the response's request id
join to what was shown, where, and with which score.

One slate is one row of items a shopper saw. Touchpoint names, as the impressions table holds them:
``home.<carousel key>`` (``home.for_you``, ``home.trending`` ...), ``similar``,
``complete_the_look.<carousel key>`` (the other slot's name), ``search``, ``category`` and
``shop_the_look``; positions count from 0 within each slate. The JSON API and the HTML pages log
alike: a page is the same touchpoint drawn as HTML.

Logging never fails a request: an exception is counted (``lookbook_impressions_failed_total``) and
logged, at most once a minute, and the response goes out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

from lookbook.serving.metrics import AppMetrics
from lookbook.touchpoints.api import Carousel, RecItem, Shop

log = logging.getLogger(__name__)

#: Seconds between two log lines about failing impression logging (the counter counts them all).
_QUIET_SECONDS = 60.0


class Impressions:
    """The impression log of one app."""

    def __init__(self, shop: Shop, metrics: AppMetrics | None = None) -> None:
        self.shop, self.metrics = shop, metrics
        self._lock = threading.Lock()
        self._last_warning = float("-inf")

    def slate(self, request_id: str, user_id: str | None, touchpoint: str, items: Sequence[RecItem]) -> None:
        """Log one slate (nothing when it is empty: nothing was shown)."""
        if not items:
            return
        ids = [r.item_id for r in items]
        scores = [float(r.score) for r in items]
        try:
            self.shop.log_impressions(request_id, user_id, touchpoint, ids, scores)
        except Exception:
            self._failed(touchpoint)

    def carousels(
        self, request_id: str, user_id: str | None, touchpoint: str, carousels: Iterable[Carousel]
    ) -> None:
        """Log each carousel as its own slate, ``<touchpoint>.<carousel key>``."""
        for c in carousels:
            self.slate(request_id, user_id, f"{touchpoint}.{c.key}", c.items)

    def _failed(self, touchpoint: str) -> None:
        if self.metrics is not None:
            self.metrics.impressions_failed.inc()
        with self._lock:
            now = time.monotonic()
            loud = now - self._last_warning >= _QUIET_SECONDS
            if loud:
                self._last_warning = now
        if loud:
            log.exception("impressions of %s could not be logged (further failures: the metric only, "
                          "for %.0f s)", touchpoint, _QUIET_SECONDS)  # fmt: skip
