"""Hybrid text search: filters inside both retrievers, fusion, writes, bad input, and a real synonym."""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.index import Eq, In, NumpyIndex, PayloadSchema, Range
from lookbook.index.base import SearchResult
from lookbook.index.filters import ITEM_PAYLOAD, Filter
from lookbook.index.hybrid import HybridConfig, HybridTextSearch, RetrieverResults, fuse, weighted_fusion
from lookbook.index.payload_mask import PayloadTable
from lookbook.index.qdrant_edge import QdrantEdgeIndex
from lookbook.index.text import reciprocal_rank_fusion

DIM = 64
COLOURS = ("red", "blue", "black", "white", "green")
MATERIALS = ("cotton", "leather", "wool", "linen", "denim")
KINDS = (
    ("scarf", "accessory"),
    ("tote", "bag"),
    ("sneakers", "shoes"),
    ("jeans", "bottom"),
    ("shirt", "top"),
    ("coat", "outerwear"),
)
SIZES = {"shoes": ["38", "39", "40"], "bottom": ["S", "M"], "top": ["M", "L"], "outerwear": ["L"]}


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in encoder for the mechanics tests: hashed word counts, unit length."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().split():
            out[i, zlib.crc32(word.encode()) % DIM] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def catalog() -> tuple[list[str], list[str], list[dict]]:
    """30 items: every (colour, kind) pair, a material each, payloads with a price ramp and sizes."""
    ids, texts, payloads = [], [], []
    for i, ((category, slot), colour) in enumerate((kc, c) for kc in KINDS for c in COLOURS):
        ids.append(f"it{i:02d}")
        texts.append(f"{colour} {MATERIALS[i % 5]} {category}")
        payload = {"slot": slot, "category": category, "price": 10.0 + 3 * i, "in_stock": i % 4 != 0}
        if slot in SIZES:
            payload["sizes"] = SIZES[slot]
        payloads.append(payload)
    return ids, texts, payloads


def make_search(index=None, **config) -> HybridTextSearch:
    ids, texts, payloads = catalog()
    return HybridTextSearch(
        ids,
        texts,
        NumpyIndex(DIM) if index is None else index,
        payloads=payloads,
        encoder=bag_of_words,
        config=HybridConfig(**config),
    )


def reference_ids(filter: Filter) -> set[str]:
    """The items the numpy reference index keeps for ``filter``."""
    ids, texts, payloads = catalog()
    ref = NumpyIndex(DIM)
    ref.upsert(ids, bag_of_words(texts), payloads)
    return {i for i, keep in zip(ids, ref.mask(filter), strict=True) if keep}


FILTERS = {
    "slot": Eq("slot", "bag"),
    "price_in_stock": Range("price", gte=20.0, lte=70.0) & Eq("in_stock", True),
    "sizes_or_category": Eq("sizes", "M") | In("category", ["scarf", "coat"]),
    "not_top": ~Eq("slot", "top") & Range("price", lt=60.0),
}


@pytest.fixture(params=["numpy", "qdrant_edge"])
def index(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "numpy":
        yield NumpyIndex(DIM)
    else:
        edge = QdrantEdgeIndex(DIM, tmp_path / "edge")
        yield edge
        edge.close()


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize(
    ("mode", "fusion"), [("sparse", "rrf"), ("dense", "rrf"), ("hybrid", "rrf"), ("hybrid", "weighted")]
)
def test_a_filter_applies_inside_both_retrievers(index, name: str, mode: str, fusion: str) -> None:
    search = make_search(index, fusion=fusion, depth=5)
    allowed = reference_ids(FILTERS[name])
    k = 4
    assert len(allowed) >= k
    got = search.search(["red leather tote", "green wool coat", "cotton"], k, filter=FILTERS[name], mode=mode)
    for q in range(3):
        row = got.row(q)
        assert set(row) <= allowed, f"query {q}: {set(row) - allowed} violate the filter"
        if mode != "sparse":  # BM25 returns only items sharing a query word; the others fill k
            assert len(row) == k
    # the sparse side really filtered (not just the dense one): every BM25 hit is allowed
    sparse_only = search.search(["red leather tote"], 30, filter=FILTERS[name], mode="sparse")
    assert sparse_only.row(0) and set(sparse_only.row(0)) <= allowed


def test_the_sparse_mask_equals_the_numpy_reference() -> None:
    ids, texts, payloads = catalog()
    payloads[3] = {"slot": "bag"}  # missing fields match no Eq / Range, and so match their Not
    table = PayloadTable(payloads, PayloadSchema(dict(ITEM_PAYLOAD)))
    ref = NumpyIndex(DIM)
    ref.upsert(ids, bag_of_words(texts), payloads)
    more = {
        "missing_not": ~Eq("in_stock", True),
        "float_eq": In("price", [13.0, 16.0]),
        "unknown": Eq("brand", "x"),
    }
    for name, f in {**FILTERS, **more}.items():
        np.testing.assert_array_equal(table.mask(f), ref.mask(f), err_msg=name)


def test_upserts_and_deletes_reach_both_retrievers() -> None:
    search = make_search()
    search.upsert(["new"], ["purple velvet cape"], payloads=[{"slot": "outerwear", "category": "cape"}])
    assert len(search) == 31
    for mode in ("sparse", "dense", "hybrid"):
        assert search.search(["velvet cape"], 3, mode=mode).row(0)[0] == "new", mode
    # a replaced text: BM25 is rebuilt on the next search, so the old words no longer find it
    search.upsert(["new"], ["yellow silk kimono"], payloads=[{"slot": "outerwear"}])
    assert "new" not in search.search(["velvet cape"], 30, mode="sparse").row(0)
    assert search.search(["silk kimono"], 1, mode="sparse").row(0) == ["new"]
    search.delete(["new", "it00", "not-there"])
    assert len(search) == 29
    for mode in ("sparse", "dense", "hybrid"):
        row = search.search(["silk kimono red cotton scarf"], 30, mode=mode).row(0)
        assert "new" not in row and "it00" not in row, mode


def test_search_is_its_candidates_fused() -> None:
    search = make_search(depth=8)
    queries = ["red leather tote", "wool", "blue denim jeans"]
    cands = search.candidates(queries, depth=8)
    assert search.config.fusion == "weighted"  # the default
    got = search.search(queries, 5)
    want = weighted_fusion([cands.dense, cands.sparse], (0.3, 0.7), 5)
    np.testing.assert_array_equal(got.ids, want.ids)
    rrf_search = make_search(depth=8, fusion="rrf")
    np.testing.assert_array_equal(
        rrf_search.search(queries, 5).ids, reciprocal_rank_fusion([cands.dense, cands.sparse], 5, c=60).ids
    )
    np.testing.assert_array_equal(search.search(queries, 5, mode="dense").ids, cands.dense.ids[:, :5])


def _weighted_reference(dense: SearchResult, sparse: SearchResult, w: float, k: int, q: int) -> list[str]:
    """The readable loop: min-max per list, absent items at the list's floor (0), ties by id."""
    total: dict[str, float] = {}
    for result, weight in ((dense, w), (sparse, 1 - w)):
        present = [(i, float(s)) for i, s in zip(result.ids[q], result.scores[q], strict=True) if i]
        lo, hi = min(s for _, s in present), max(s for _, s in present)
        for i, s in present:
            norm = 1.0 if hi == lo else (s - lo) / (hi - lo)
            total[i] = total.get(i, 0.0) + weight * norm
    return [i for i, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def test_weighted_fusion_matches_a_readable_loop() -> None:
    rng = np.random.default_rng(0)
    pool = np.array([f"i{j:02d}" for j in range(40)])
    n_q, width = 6, 12

    def random_result(pad: int) -> SearchResult:
        ids = np.stack([rng.choice(pool, width, replace=False) for _ in range(n_q)]).astype(object)
        scores = -np.sort(-rng.random((n_q, width)).round(1), axis=1).astype(np.float32)  # ties included
        ids[:, width - pad :], scores[:, width - pad :] = "", -np.inf
        return SearchResult(ids.astype(str), scores)

    dense, sparse = random_result(0), random_result(4)
    for w in (0.0, 0.3, 1.0):
        got = weighted_fusion([dense, sparse], (w, 1 - w), 8)
        for q in range(n_q):
            assert got.row(q) == _weighted_reference(dense, sparse, w, 8, q), (w, q)


def test_weight_one_is_dense_and_weight_zero_is_sparse() -> None:
    search = make_search()
    queries = ["black wool coat", "white linen shirt"]
    cands = search.candidates(queries, depth=30)
    dense_first = fuse(cands, 5, HybridConfig(fusion="weighted", weight=1.0))
    np.testing.assert_array_equal(dense_first.ids, fuse(cands, 5, HybridConfig(mode="dense")).ids)
    sparse_first = fuse(cands, 3, HybridConfig(fusion="weighted", weight=0.0))
    np.testing.assert_array_equal(sparse_first.ids, fuse(cands, 3, HybridConfig(mode="sparse")).ids)


def test_bad_input_is_rejected_naming_the_field() -> None:
    search = make_search()
    with pytest.raises(SchemaError, match="queries: expected at least one query"):
        search.search([], 5)
    with pytest.raises(SchemaError, match="queries: expected a list of strings"):
        search.search("red tote", 5)
    with pytest.raises(SchemaError, match=r"queries\[1\]: expected a non-blank string"):
        search.search(["red", "  "], 5)
    with pytest.raises(SchemaError, match="search k: expected an int >= 1, got 0"):
        search.search(["red"], 0)
    with pytest.raises(SchemaError, match="search mode: expected one of"):
        search.search(["red"], 5, mode="semantic")
    with pytest.raises(SchemaError, match="filter field 'colour'"):
        search.search(["red"], 5, filter=Eq("colour", "red"))
    with pytest.raises(SchemaError, match=r"HybridConfig\.fusion"):
        HybridConfig(fusion="max")
    with pytest.raises(SchemaError, match=r"HybridConfig\.weight"):
        HybridConfig(weight=1.5)
    with pytest.raises(SchemaError, match=r"HybridConfig\.depth"):
        dataclasses.replace(HybridConfig(), depth=0)
    with pytest.raises(SchemaError, match="upsert texts: expected 2 texts"):
        search.upsert(["a", "b"], ["one"])
    with pytest.raises(DimensionMismatch, match="encoder: expected shape"):
        HybridTextSearch(["a"], ["red"], NumpyIndex(DIM + 1), encoder=bag_of_words)


def test_a_rejected_upsert_changes_neither_retriever() -> None:
    search = make_search()
    before = search.search(["red cotton scarf"], 10, mode="hybrid")
    with pytest.raises(SchemaError, match="price"):
        search.upsert(["x1", "it00"], ["gold scarf", "gold scarf"], payloads=[{"price": "free"}, {}])
    assert len(search) == 30
    after = search.search(["red cotton scarf"], 10, mode="hybrid")
    np.testing.assert_array_equal(before.ids, after.ids)
    assert "x1" not in search.search(["gold"], 5, mode="sparse").row(0)


def test_synonym_queries_are_found_by_dense_and_hybrid_and_missed_by_bm25() -> None:
    """The real MiniLM encoder: no item text says "couch", "pants" or "trainers"."""
    texts = {
        "sofa": "Grey velvet three-seater sofa.",
        "chair": "Velvet wingback chair.",
        "rug": "Wool runner rug.",
        "bookcase": "Oak bookcase with five shelves.",
        "jeans": "Slim denim jeans.",
        "tshirt": "Cotton t-shirt.",
        "sneakers": "White leather sneakers.",
        "boots": "Black leather boots.",
        "coat": "Navy wool coat.",
        "scarf": "Tangerine wool scarf.",
    }
    search = HybridTextSearch(list(texts), list(texts.values()), NumpyIndex(384))  # MiniLM by default
    queries = ["couch", "pants", "trainers"]
    want = ["sofa", "jeans", "sneakers"]
    sparse = search.search(queries, 3, mode="sparse")
    assert all(sparse.row(q) == [] for q in range(3))  # BM25 has no word of these queries
    for mode, fusion in (("dense", "rrf"), ("hybrid", "rrf"), ("hybrid", "weighted")):
        search.config = HybridConfig(fusion=fusion)
        got = search.search(queries, 3, mode=mode)
        assert [got.row(q)[0] for q in range(3)] == want, (mode, fusion)


def test_fuse_needs_the_lists_its_mode_uses() -> None:
    empty = SearchResult(np.full((1, 2), "", dtype=str), np.full((1, 2), -np.inf, np.float32))
    with pytest.raises(SchemaError, match=r"candidates\.dense"):
        fuse(RetrieverResults(sparse=empty, dense=None), 2, HybridConfig())
