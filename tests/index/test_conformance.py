"""One suite, every backend: filters, exactness against numpy, visibility, deletes, bad input."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.index import Eq, In, NumpyIndex, Range

DIM = 16
CATEGORIES = ("dresses", "tops", "shoes", "bags")
SIZES = ("XS", "S", "M", "L", "XL")


def catalog(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"it{i:05d}" for i in range(n)]
    payloads = [
        {
            "category": CATEGORIES[i % 4],
            "brand": f"b{i % 10}",
            "slot": "top" if i % 2 else "bottom",
            "sizes": list(rng.choice(SIZES, size=2, replace=False)),
            "price": float(10 + i % 90),
            "in_stock": bool(i % 5),
            "created_at": 1_700_000_000 + i,
        }
        for i in range(n)
    ]
    return ids, x, payloads


@pytest.fixture
def filled(backend, tmp_path):
    ids, x, payloads = catalog()
    index = backend.make(DIM, tmp_path / "index")
    index.upsert(ids, x, payloads)
    reference = NumpyIndex(DIM)
    reference.upsert(ids, x, payloads)
    yield index, reference, (ids, x, payloads)
    index.close()


FILTERS = {
    "none": None,
    "eq": Eq("category", "shoes"),
    "in": In("brand", ["b1", "b2"]),
    "range": Range("price", gte=20, lte=40),
    "bool": Eq("in_stock", True),
    "keywords": Eq("sizes", "M"),
    "and": Eq("category", "tops") & Range("price", lt=50),
    "or": Eq("brand", "b3") | Eq("brand", "b7"),
    "not": ~Eq("category", "dresses") & Eq("in_stock", False),
    "created": Range("created_at", gt=1_700_000_300),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_exact_search_returns_exactly_numpys_results(filled, name):
    index, reference, (_, x, _) = filled
    q = x[:7] + 0.05
    got = index.search(q, 10, filter=FILTERS[name], exact=True)
    want = reference.search(q, 10, filter=FILTERS[name])
    np.testing.assert_array_equal(got.ids, want.ids)
    np.testing.assert_allclose(got.scores[got.ids != ""], want.scores[want.ids != ""], atol=1e-4)


@pytest.mark.parametrize("name", list(FILTERS))
def test_filtered_search_returns_k_whenever_k_items_match(filled, name):
    index, reference, (_, x, _) = filled
    k = 25
    matching = reference.count(FILTERS[name])
    got = index.search(x[:5], k, filter=FILTERS[name])
    for i in range(5):
        assert len(got.row(i)) == min(k, matching)
    assert index.count(FILTERS[name]) == matching


def test_a_rare_filter_still_fills_the_result(filled):
    index, reference, (_, x, _) = filled
    rare = Eq("brand", "b3") & Eq("category", "bags") & Range("price", lt=60)
    n = reference.count(rare)
    assert 0 < n < 20
    got = index.search(x[:3], 20, filter=rare)
    assert all(len(got.row(i)) == n for i in range(3))


def test_upsert_is_visible_to_the_next_search_and_replaces_the_old_vector(filled):
    index, _, (ids, _x, payloads) = filled
    new = np.zeros((1, DIM), np.float32)
    new[0, 0] = 1.0
    index.upsert(["fresh"], new, [{"category": "shoes", "price": 5.0, "in_stock": True}])
    assert index.search(new, 1).row(0) == ["fresh"]
    assert index.search(new, 1, filter=Range("price", lt=6)).row(0) == ["fresh"]
    moved = -new
    index.upsert([ids[0]], moved, [payloads[0]])
    assert index.search(moved, 1).row(0) == [ids[0]]
    assert index.count() == len(ids) + 1


def test_deleted_items_are_never_returned(filled):
    index, _, (ids, x, _) = filled
    gone = ids[:50]
    index.delete(gone)
    got = index.search(x[:50], 10)
    assert not set(got.ids.ravel()) & set(gone)
    assert index.count() == len(ids) - 50
    index.delete(["never-existed"])  # deleting an unknown id is a no-op


def test_deletes_hold_during_concurrent_searches(filled):
    index, _, (ids, x, payloads) = filled
    deleted: set[str] = set()
    violations: list[str] = []
    done = threading.Event()

    def searcher():
        while not done.is_set():
            snapshot = set(deleted)
            got = index.search(x[:4], 10)
            violations.extend(i for i in got.ids.ravel() if i in snapshot)

    t = threading.Thread(target=searcher)
    t.start()
    try:
        for j, item_id in enumerate(ids[:200]):
            if j % 2:
                index.delete([item_id])
                deleted.add(item_id)
            else:
                index.upsert([item_id], x[j : j + 1], [payloads[j]])
    finally:
        done.set()
        t.join()
    assert violations == []


def test_bad_input_raises_and_changes_nothing(filled):
    index, _, (_ids, x, _payloads) = filled
    before = index.count()
    with pytest.raises(DimensionMismatch):
        index.upsert(["a"], np.zeros((1, DIM + 1), np.float32))
    nan = np.full((1, DIM), np.nan, np.float32)
    with pytest.raises(SchemaError, match="NaN"):
        index.upsert(["a"], nan)
    with pytest.raises(SchemaError, match="duplicate id 'a'"):
        index.upsert(["a", "a"], x[:2])
    with pytest.raises(SchemaError, match="unknown field 'colour'"):
        index.upsert(["a", "b"], x[:2], [{"price": 1.0}, {"colour": "red"}])
    with pytest.raises(SchemaError, match="'price'"):
        index.upsert(["a"], x[:1], [{"price": "cheap"}])
    with pytest.raises(SchemaError, match="'colour'"):
        index.search(x[:1], 5, filter=Eq("colour", "red"))
    with pytest.raises(DimensionMismatch):
        index.search(np.zeros((1, 3), np.float32), 5)
    assert index.count() == before
    assert "a" not in set(index.search(x[:3], 50).ids.ravel())


def test_reopen_keeps_every_acknowledged_write(backend, tmp_path):
    if not backend.persistent:
        pytest.skip(f"{backend.name} is in memory only")
    ids, x, payloads = catalog(100)
    index = backend.make(DIM, tmp_path / "index")
    index.upsert(ids, x, payloads)
    index.delete(ids[:10])
    index.close()
    again = backend.make(DIM, tmp_path / "index")
    assert again.count() == 90
    assert again.search(x[10:11], 1, exact=True).row(0) == [ids[10]]
    again.close()
