"""``bench_rank`` runs end to end and reports its figures (timings are never asserted)."""

from __future__ import annotations

from lookbook.ranking.bench import bench_rank, synthetic_catalog


def test_bench_rank_reports_percentiles() -> None:
    out = bench_rank(n_items=400, n_candidates=100, k=10, repeats=5, reranker_trees=3, warmup=1)
    assert out.n_items == 400 and out.repeats == 5
    assert 0 < out.p50_ms <= out.p99_ms <= out.max_ms
    assert 0 < out.mean_eligible <= 100
    assert set(out.to_dict()) >= {"p50_ms", "p99_ms"}


def test_synthetic_catalog_has_sizes_by_slot() -> None:
    import numpy as np

    catalog = synthetic_catalog(200, np.random.default_rng(0))
    assert len(catalog) == 200 and set(catalog.size_vocab) >= {"M", "38", "ONE"}
    assert (catalog.sizes.any(axis=1)).all()
