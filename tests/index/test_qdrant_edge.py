"""What the conformance suite cannot see of the Qdrant Edge backend: crash durability, HNSW recall,
string-id round trips, ties in exact mode, the filter translation on sparse payloads, and reopening."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch
from lookbook.index import Eq, In, NumpyIndex, Range
from lookbook.index.qdrant_edge import QdrantEdgeIndex

from .crash import assert_survived, kill_writer_midstream


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.slow
def test_kill_9_keeps_every_acknowledged_write(tmp_path):
    path = tmp_path / "index"
    acked, deleted = kill_writer_midstream(
        "from lookbook.index.qdrant_edge import QdrantEdgeIndex",
        "QdrantEdgeIndex(8, sys.argv[1])",
        [str(path)],
        min_acked=1500,
    )
    index = QdrantEdgeIndex(8, path)
    try:
        assert_survived(index, acked, deleted)
    finally:
        index.close()


@pytest.mark.slow
def test_approximate_recall_at_10_against_numpy(tmp_path):
    rng = np.random.default_rng(7)
    x = unit(rng, 5000, 64)
    ids = [f"v{i}" for i in range(len(x))]
    # tiny thresholds so that the 1.3 MB collection really gets, and is searched through, an HNSW graph
    index = QdrantEdgeIndex(64, tmp_path / "index", indexing_threshold_kb=100, full_scan_threshold_kb=10)
    try:
        index.upsert(ids, x)
        assert index.optimize()
        assert index.indexed_vectors == len(x)
        reference = NumpyIndex(64)
        reference.upsert(ids, x)
        q = unit(rng, 200, 64)
        got = index.search(q, 10)
        want = reference.search(q, 10)
        recall = np.mean([len(set(got.row(i)) & set(want.row(i))) / 10 for i in range(len(q))])
        assert recall >= 0.95
        exact = index.search(q, 10, exact=True)
        np.testing.assert_array_equal(exact.ids, want.ids)
        np.testing.assert_allclose(exact.scores, want.scores, atol=1e-4)
    finally:
        index.close()


ODD_IDS = [
    "0108775015",
    "0000000000",
    "has space",
    " lead",
    "trail ",
    "héllo",
    "日本語",
    "emoji 👗",
    "a/b\\c",
    "x" * 300,
]


def test_odd_string_ids_round_trip(tmp_path):
    x = unit(np.random.default_rng(1), len(ODD_IDS), 8)
    index = QdrantEdgeIndex(8, tmp_path / "index")
    try:
        index.upsert(ODD_IDS, x)
        got = index.search(x, 1, exact=True)
        assert [got.row(i)[0] for i in range(len(ODD_IDS))] == ODD_IDS
        index.delete(["0108775015", "108775015"])  # the unpadded number is another id: a no-op
        assert index.count() == len(ODD_IDS) - 1
    finally:
        index.close()
    again = QdrantEdgeIndex(8, tmp_path / "index")
    try:
        assert set(again.search(x[:1], 20, exact=True).row(0)) == set(ODD_IDS) - {"0108775015"}
    finally:
        again.close()


def test_exact_mode_breaks_ties_by_id_across_the_kth_place(tmp_path):
    x = np.zeros((30, 8), np.float32)
    x[:, 0] = 1.0  # thirty identical vectors: every score ties
    ids = [f"t{i:02d}" for i in range(30)][::-1]
    index = QdrantEdgeIndex(8, tmp_path / "index")
    try:
        index.upsert(ids, x)
        reference = NumpyIndex(8)
        reference.upsert(ids, x)
        assert reference.search(x[:1], 3).row(0) == ["t00", "t01", "t02"]
        for k in (1, 5, 29, 30, 40):
            np.testing.assert_array_equal(
                index.search(x[:2], k, exact=True).ids, reference.search(x[:2], k).ids
            )
    finally:
        index.close()


SPARSE_FILTERS = {
    "float eq": Eq("price", 20.0),
    "float in": In("price", [20.0, 31.5, 7]),
    "int in": In("created_at", [5, 6, 7]),
    "int range float bounds": Range("created_at", gt=10.5, lte=40.5),
    "bool in": In("in_stock", [True, False]),
    "not bool": ~Eq("in_stock", True),
    "not missing keyword": ~Eq("brand", "b1"),
    "keywords in": In("sizes", ["XS", "XL"]),
    "nested": (Eq("category", "tops") | ~Range("price", lt=50))
    & ~(Eq("brand", "b2") & Eq("in_stock", False)),
}


@pytest.mark.parametrize("name", list(SPARSE_FILTERS))
def test_filters_match_numpy_on_sparse_payloads(tmp_path, name):
    """Payloads with missing and None fields: Not must keep the items that lack the field."""
    rng = np.random.default_rng(3)
    n = 120
    x = unit(rng, n, 8)
    ids = [f"s{i}" for i in range(n)]
    payloads = [
        {
            "category": ("tops", "shoes", None)[i % 3],
            **({"brand": f"b{i % 4}"} if i % 5 else {}),
            "sizes": [["XS"], ["M", "XL"], []][i % 3],
            **({"price": float(i % 40) + (0.5 if i % 7 == 0 else 0.0)} if i % 6 else {"price": None}),
            **({"in_stock": bool(i % 2)} if i % 4 else {}),
            "created_at": i,
        }
        for i in range(n)
    ]
    index = QdrantEdgeIndex(8, tmp_path / "index")
    try:
        index.upsert(ids, x, payloads)
        reference = NumpyIndex(8)
        reference.upsert(ids, x, payloads)
        f = SPARSE_FILTERS[name]
        assert 0 < reference.count(f) < n
        assert index.count(f) == reference.count(f)
        np.testing.assert_array_equal(
            index.search(x[:4], 15, f, exact=True).ids, reference.search(x[:4], 15, f).ids
        )
    finally:
        index.close()


def test_reopen_with_another_dimension_is_refused(tmp_path):
    QdrantEdgeIndex(8, tmp_path / "index").close()
    with pytest.raises(DimensionMismatch, match="expected dimension 16, got 8"):
        QdrantEdgeIndex(16, tmp_path / "index")


def test_single_upserts_are_each_visible_and_closed_index_refuses_calls(tmp_path):
    # their speed is a figure of `lookbook bench index`, not an assertion here
    x = unit(np.random.default_rng(2), 200, 64)
    index = QdrantEdgeIndex(64, tmp_path / "index")
    for i in range(200):
        index.upsert([f"u{i}"], x[i : i + 1], [{"price": float(i)}])
        assert index.search(x[i : i + 1], 1, exact=True).row(0) == [f"u{i}"]
    index.close()
    index.close()  # a second close is a no-op
    with pytest.raises(RuntimeError, match="closed"):
        index.search(x[:1], 1)
