"""No request can crash the server: schemathesis generates requests from the app's own OpenAPI
document (valid ones and, in negative mode, ones that break the schema) and sends them to a real
server; no response may be a 5xx, and every response must match what the document promises.

Random ids mostly miss the catalog, so besides the free runs each operation is also run with its
path anchored on a real item / category and with a real user: the positive paths get exercised too.
Example counts are bounded and the runs derandomised, so the suite is reproducible and quick.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import API_KEY, copy_project, serve_real_shop

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class FuzzReport:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    runs: int = 0


@dataclass(frozen=True)
class Anchors:
    """Real values to pin path and user parameters to (the rest is still generated)."""

    item: str
    delete_item: str
    category: str
    user: str

    @classmethod
    def from_server(cls, url: str) -> Anchors:
        with httpx.Client(base_url=url, timeout=60) as c:
            users = c.get("/api/users").json()["users"]
            categories = c.get("/api/categories").json()["categories"]
            items = [i["item_id"] for car in c.get("/api/home").json()["carousels"] for i in car["items"]]
        return cls(item=items[0], delete_item=items[-1], category=categories[0], user=users[0])

    def variants(self, method: str, path: str, params: set[str]) -> list[dict[str, Any]]:
        """as_strategy() keyword sets: free, path anchored, path and user anchored."""
        pinned: dict[str, Any] = {}
        if "{item_id}" in path:
            pinned["item_id"] = self.delete_item if method == "DELETE" else self.item
        if "{category}" in path:
            pinned["category"] = self.category
        if "{name}" in path:
            pinned["name"] = self.category
        out: list[dict[str, Any]] = [{}]
        if pinned:
            out.append({"path_parameters": pinned})
        user_param = "user_id" if "user_id" in params else "user" if "user" in params else None
        if user_param:
            out.append({"path_parameters": pinned or None, "query": {user_param: self.user}})
        return out


def fuzz(url: str, anchors: Anchors, examples: int) -> FuzzReport:
    """Every operation, positive and negative, free and anchored; failures collected, not raised."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    report = FuzzReport()
    for result in schema.get_all_operations():
        op = result.ok()
        params = {p.name for p in op.iter_parameters()}
        for pinned in anchors.variants(op.method.upper(), op.path, params):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if pinned and mode is GenerationMode.NEGATIVE:
                    continue  # negative cases would overwrite the pinned values anyway
                _run(op, mode, pinned, examples, report)
    return report


def _run(op: Any, mode: GenerationMode, pinned: dict[str, Any], examples: int, report: FuzzReport) -> None:
    kwargs = {k: v for k, v in pinned.items() if v}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=op.as_strategy(generation_mode=mode, **kwargs))
    def run(case: Any) -> None:
        response = case.call(headers={"X-API-Key": API_KEY}, timeout=60)
        report.statuses[response.status_code] += 1
        report.runs += 1
        checks = CHECKS if mode is GenerationMode.POSITIVE else [not_a_server_error]
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as exc:
            report.failures.append(f"{op.label} [{mode.value}] {case.as_curl_command()}\n  -> {exc}")

    try:
        run()
    except Exception as exc:  # an operation no case could be generated for (e.g. no parameters, negative)
        if "Unsatisfiable" not in type(exc).__name__:
            raise


def _assert_clean(report: FuzzReport, started: float) -> None:
    seconds = time.perf_counter() - started
    print(
        f"fuzz: {report.runs} requests in {seconds:.1f} s, statuses {dict(sorted(report.statuses.items()))}"
    )
    assert not [s for s in report.statuses if s >= 500], report.failures[:5]
    assert not report.failures, "\n".join(report.failures[:10])
    assert report.statuses[200] > 50, "the fuzz barely reached the endpoints' happy paths"


@pytest.mark.slow
def test_fuzzing_the_api_over_the_catalog_shop_gives_no_5xx(served):
    started = time.perf_counter()
    report = fuzz(served.url, Anchors.from_server(served.url), examples=25)
    _assert_clean(report, started)


@pytest.mark.slow
def test_fuzzing_the_api_over_the_real_shop_gives_no_5xx(built_project: Path, tmp_path_factory):
    with serve_real_shop(copy_project(built_project, tmp_path_factory, "fuzz-project")) as served:
        started = time.perf_counter()
        report = fuzz(served.url, Anchors.from_server(served.url), examples=25)
    _assert_clean(report, started)
