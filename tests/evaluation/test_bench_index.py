"""The index benchmark runs end to end on a small catalog and reports the contract's keys."""

from __future__ import annotations

import json

import numpy as np

from lookbook.cli import main
from lookbook.evaluation.bench_index import FILTERS, IndexBenchConfig, run_index_benchmark, synthetic_catalog
from lookbook.index import NumpyIndex


def test_filters_select_about_one_and_ten_percent() -> None:
    ids, x, payloads = synthetic_catalog(20_000, 8, 0)
    index = NumpyIndex(8)
    index.upsert(ids, x, payloads)
    assert 0.007 < index.count(FILTERS["filter_1pct"]) / 20_000 < 0.013
    assert 0.09 < index.count(FILTERS["filter_10pct"]) / 20_000 < 0.11


def test_numpy_backend_is_exact_and_sees_its_writes(tmp_path) -> None:
    cfg = IndexBenchConfig(n=3_000, dim=16, queries=20, batch=1_000)
    r = run_index_benchmark({"numpy": (lambda dim, path: NumpyIndex(dim), False)}, cfg, workdir=tmp_path)
    figures = r["backends"]["numpy"]
    for tier in ("unfiltered", "filter_1pct", "filter_10pct"):
        assert figures[tier]["recall"] == 1.0 and figures[tier]["short"] == 0
        assert figures[tier]["p50_ms"] > 0
    assert figures["visible"] is True
    assert r["n"] == 3_000 and r["dim"] == 16


def test_a_failing_backend_reports_its_error_without_hiding_others(tmp_path) -> None:
    def broken(dim, path):
        raise RuntimeError("engine unavailable")

    cfg = IndexBenchConfig(n=500, dim=8, queries=5, batch=500)
    r = run_index_benchmark(
        {"broken": (broken, True), "numpy": (lambda dim, path: NumpyIndex(dim), False)}, cfg, workdir=tmp_path
    )
    assert "engine unavailable" in r["backends"]["broken"]["error"]
    assert r["backends"]["numpy"]["unfiltered"]["recall"] == 1.0


def test_cli_prints_one_json_object(capsys) -> None:
    code = main(
        [
            "--no-progress",
            "bench",
            "index",
            "--n",
            "1000",
            "--dim",
            "8",
            "--queries",
            "5",
            "--backend",
            "numpy",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["backends"]["numpy"]) >= {
        "build_items_per_s",
        "unfiltered",
        "filter_1pct",
        "upsert_1000_s",
        "rss_mb",
    }


def test_embedded_backend_reports_serving_memory_on_a_clustered_catalog(capsys, tmp_path) -> None:
    code = main(
        [
            *("--no-progress", "bench", "index", "--n", "3000", "--dim", "16", "--queries", "10"),
            *("--backend", "embedded", "--catalog", "clustered", "--workdir", str(tmp_path), "--json"),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["catalog"] == "clustered"
    embedded = out["backends"]["embedded"]
    assert "error" not in embedded, embedded
    assert embedded["visible"] is True and embedded["reopen_s"] > 0
    assert 0 < embedded["rss_mb"] < 500  # measured in a fresh process that opens and queries the index
    for tier in ("filter_1pct", "filter_10pct"):
        assert embedded[tier]["recall"] >= 0.99 and embedded[tier]["short"] == 0


def test_clustered_catalog_is_clustered() -> None:
    _, x, _ = synthetic_catalog(2_000, 32, 0, "clustered")
    _, r, _ = synthetic_catalog(2_000, 32, 0, "random")
    # nearest-neighbour similarity is much higher around shared centres than on the bare sphere
    nn = lambda v: np.sort(v @ v.T, axis=1)[:, -2].mean()  # noqa: E731
    assert nn(x) > nn(r) + 0.3
