"""What the conformance suite cannot see of the Milvus backend: configuration by URI alone, string
escaping in ids and filter values, missing payload values on growing and on sealed, indexed segments,
engine limits refused before the engine, connection isolation, ties, read-your-writes under a long
mixed stream of upserts, deletes and searches, and a writer killed mid-stream losing nothing."""

from __future__ import annotations

import time
import urllib.parse

import numpy as np
import pytest
from pymilvus import MilvusClient

from lookbook.errors import DimensionMismatch, LookbookError, SchemaError
from lookbook.index import Eq, In, NumpyIndex, PayloadSchema, Range, VectorIndex
from lookbook.index.milvus import MilvusIndex, _redact, open_index

from .conftest import MilvusServer, milvus_collection
from .crash import assert_survived, kill_writer_midstream

DIM = 16


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def fresh(milvus_server: MilvusServer, tmp_path):
    index = milvus_server.make(DIM, tmp_path / "index")
    yield index
    index.close()


# ------------------------------------------------------------------------------------ configuration
@pytest.mark.slow
def test_a_uri_alone_configures_the_index(milvus_server: MilvusServer, tmp_path):
    port = urllib.parse.urlsplit(milvus_server.uri).port
    name = milvus_collection(tmp_path / "index")
    milvus_server.make(DIM, tmp_path / "index").close()  # the collection exists (a renamed spare)
    rng = np.random.default_rng(0)
    x = unit(rng, 5)

    index = open_index(f"milvus://127.0.0.1:{port}/default/{name}?search_ef=32", dim=DIM)
    assert isinstance(index, VectorIndex)
    assert (index.collection, index.db_name, index.search_ef) == (name, "default", 32)
    index.upsert([f"u{i}" for i in range(5)], x, [{"brand": "b"}] * 5)
    index.close()

    again = open_index(f"http://127.0.0.1:{port}/default/{name}", dim=DIM)
    assert again.count(Eq("brand", "b")) == 5
    assert again.search(x[2], 1, exact=True).row(0) == ["u2"]
    again.close()
    with pytest.raises(DimensionMismatch, match="expected dimension 8, got 16"):
        open_index(f"milvus://127.0.0.1:{port}/default/{name}", dim=8)


def test_bad_uris_fail_before_any_connection():
    with pytest.raises(LookbookError, match="Milvus URI"):
        open_index("ftp://host/db/c", dim=4)
    with pytest.raises(LookbookError, match="unknown option 'colour'"):
        open_index("milvus://127.0.0.1:1/default/c?colour=red", dim=4)
    with pytest.raises(LookbookError, match="at most /db/collection"):
        open_index("milvus://127.0.0.1:1/a/b/c", dim=4)
    with pytest.raises(SchemaError, match="collection"):
        MilvusIndex(4, "http://127.0.0.1:1", collection="no-dashes")
    with pytest.raises(SchemaError, match="'in'"):
        MilvusIndex(4, "http://127.0.0.1:1", schema=PayloadSchema({"in": "keyword"}))
    assert _redact("https://user:secret@host:443") == "https://user:***@host:443"


# --------------------------------------------------------------------------------------- escaping
TRICKY = [
    'q"uote',
    "it's",
    "back\\slash",
    "trailing\\",
    'end"]',
    "new\nline",
    "tab\tstop",
    "émoji 😀",
    'x" or id != "',
    "nul\x00inside",
]


@pytest.mark.slow
def test_ids_and_filter_values_with_quotes_round_trip(fresh):
    rng = np.random.default_rng(1)
    x = unit(rng, len(TRICKY) + 1)
    ids = [*TRICKY, "plain"]
    payloads = [{"brand": s, "sizes": [s, "M"], "category": "c"} for s in TRICKY] + [{"category": "c"}]
    fresh.upsert(ids, x, payloads)

    got = fresh.search(x, 1, exact=True)
    assert [got.row(i) for i in range(len(ids))] == [[i] for i in ids]
    approx = fresh.search(x, 1)
    assert [approx.row(i) for i in range(len(ids))] == [[i] for i in ids]
    for s in TRICKY:
        assert fresh.count(Eq("brand", s)) == 1, s
        assert fresh.count(Eq("sizes", s)) == 1, s
        assert fresh.search(x[:1], 5, filter=Eq("brand", s), exact=True).row(0) == [s]
    assert fresh.count(In("brand", TRICKY[:3])) == 3
    assert fresh.count(In("sizes", [TRICKY[0], "nope"])) == 1
    assert fresh.count(~Eq("brand", 'x" or id != "')) == len(ids) - 1
    assert fresh.count(Eq("brand", "\x00")) == 0  # the missing-value sentinel matches nothing

    fresh.delete(TRICKY)
    assert fresh.count() == 1
    assert set(fresh.search(x, 3).ids.ravel()) <= {"plain", ""}


# ------------------------------------------------------------------------------ missing payloads
def sparse_catalog(n: int, seed: int = 2):
    rng = np.random.default_rng(seed)
    x = unit(rng, n)
    ids = [f"s{i:05d}" for i in range(n)]
    payloads = []
    for i in range(n):
        p = {
            "category": ("dresses", "tops", "shoes")[i % 3],
            "brand": f"b{i % 5}",
            "sizes": ["S", "M", "L"][: i % 4],
            "price": float(i % 40) - 10.0,  # negative prices too: -inf must stay below them
            "in_stock": bool(i % 2),
            "created_at": i - 500,
        }
        # every field is missing on some items, all of them on every 11th
        payloads.append({} if i % 11 == 0 else {k: v for j, (k, v) in enumerate(p.items()) if (i + j) % 6})
    return ids, x, payloads


SPARSE_FILTERS = [
    Eq("category", "tops"),
    ~Eq("category", "tops"),
    In("brand", ["b1", "b4"]),
    ~In("brand", ["b1", "b4"]),
    Eq("sizes", "M"),
    ~Eq("sizes", "S"),
    In("sizes", ["L", "XL"]),
    Range("price", lte=0),
    ~Range("price", lte=0),
    Range("price", gt=-5.5, lt=3),
    Range("created_at", lt=-250.5),
    ~Range("created_at", gte=0),
    Range("created_at", gt=10**30),
    Eq("created_at", -(2**63)),
    Eq("in_stock", False),
    ~Eq("in_stock", True),
    (Eq("category", "shoes") | Eq("in_stock", True)) & ~Range("price", gte=20),
]


def assert_like_numpy(index: MilvusIndex, reference: NumpyIndex, x: np.ndarray, where: str) -> None:
    for f in SPARSE_FILTERS:
        assert index.count(f) == reference.count(f), (where, f)
        want = reference.search(x[:4], 10, filter=f)
        np.testing.assert_array_equal(
            index.search(x[:4], 10, filter=f, exact=True).ids, want.ids, err_msg=f"{where} {f}"
        )
        got = index.search(x[:4], 10, filter=f)
        assert [len(got.row(i)) for i in range(4)] == [len(want.row(i)) for i in range(4)], (where, f)


@pytest.mark.slow
def test_missing_values_filter_like_numpy_on_growing_and_sealed_segments(
    milvus_server: MilvusServer, tmp_path
):
    n = 2400  # sealed segments get their vector index from 1024 rows on
    ids, x, payloads = sparse_catalog(n)
    index = milvus_server.make(DIM, tmp_path / "index")
    reference = NumpyIndex(DIM)
    index.upsert(ids, x, payloads)
    reference.upsert(ids, x, payloads)
    assert_like_numpy(index, reference, x, "growing")

    # seal, index (HNSW + scalar indexes over the sentinels) and hand the segment to the query node
    admin = MilvusClient(uri=milvus_server.uri, alias="test-sealed")
    try:
        admin.flush(index.collection)
        deadline = time.monotonic() + 90
        while True:
            info = admin.describe_index(index.collection, "vector")
            segments = admin._get_connection().get_query_segment_info(index.collection)
            sealed = sum(s.num_rows for s in segments if s.state == 3)  # SegmentState.Sealed
            if info.get("indexed_rows") == n and sealed == n:
                break
            assert time.monotonic() < deadline, f"segments not sealed and indexed: {info}, {segments}"
            time.sleep(0.25)
        # a segment handed over before its index was built is searched through the interim IVF
        # index until the query coordinator's next index check; reloading makes the HNSW certain
        admin.release_collection(index.collection)
        admin.load_collection(index.collection)
    finally:
        admin.close()
    assert_like_numpy(index, reference, x, "sealed")
    exact = index.search(x[:20], 10, exact=True)
    approx = index.search(x[:20], 10)
    recall = np.mean([len(set(approx.row(i)) & set(exact.row(i))) / 10 for i in range(20)])
    assert recall >= 0.9
    index.close()


# ----------------------------------------------------------------------------------- engine limits
@pytest.mark.slow
def test_what_milvus_cannot_store_is_refused_before_the_engine(fresh):
    x = unit(np.random.default_rng(3), 1)
    fresh.upsert(["ok"], x, [{"brand": "b"}])
    cases = [
        (["big"], [{"created_at": 2**63}], "created_at"),
        (["small"], [{"created_at": -(2**63)}], "created_at"),
        (["nul"], [{"brand": "\x00"}], "reserved"),
        (["long"], [{"brand": "x" * 5000}], "4096 bytes"),
        (["many"], [{"sizes": [str(i) for i in range(300)]}], "at most 256"),
        (["\ud800"], [{}], "UTF-8"),
        (["x" * 5000], [{}], "4096 bytes"),
    ]
    for ids, payloads, message in cases:
        with pytest.raises(SchemaError, match=message):
            fresh.upsert(ids, x, payloads)
    assert fresh.count() == 1
    fresh.delete(["\ud800", "", "x" * 5000])  # ids no upsert can store: nothing to do
    assert fresh.count() == 1


@pytest.mark.slow
def test_closing_one_index_leaves_the_others_connected(fresh, milvus_server: MilvusServer):
    other = MilvusIndex(DIM, milvus_server.uri, collection=fresh.collection)
    x = unit(np.random.default_rng(4), 2)
    other.upsert(["a", "b"], x)
    other.close()  # pymilvus would share (and so close) one connection per uri without a private alias
    assert fresh.count() == 2
    with pytest.raises(LookbookError, match="after close"):
        other.count()


@pytest.mark.slow
def test_reopening_with_another_schema_is_refused(fresh, milvus_server: MilvusServer):
    with pytest.raises(SchemaError, match="payload fields"):
        MilvusIndex(
            DIM, milvus_server.uri, collection=fresh.collection, schema=PayloadSchema({"brand": "keyword"})
        )
    other_kinds = PayloadSchema({**fresh.schema.fields, "price": "int"})
    with pytest.raises(SchemaError, match="'price'"):
        MilvusIndex(DIM, milvus_server.uri, collection=fresh.collection, schema=other_kinds)


@pytest.mark.slow
def test_exact_ties_are_broken_by_id_like_numpy(fresh):
    rng = np.random.default_rng(5)
    same = np.tile(unit(rng, 1), (30, 1))
    ids = [f"t{i:02d}" for i in rng.permutation(30)]
    fresh.upsert(ids, same)
    reference = NumpyIndex(DIM)
    reference.upsert(ids, same)
    np.testing.assert_array_equal(
        fresh.search(same[:2], 10, exact=True).ids, reference.search(same[:2], 10).ids
    )
    assert fresh.search(same[:1], 10, exact=True).row(0) == sorted(ids)[:10]


# ------------------------------------------------------------------------------------- visibility
@pytest.mark.slow
def test_mixed_upserts_deletes_and_searches_have_no_visibility_violations(fresh):
    """2,000 operations on 200 ids; after every write the next search must see it: upserted
    vectors come back first with their new score, deleted ids never, and counts are exact."""
    rng = np.random.default_rng(6)
    universe = [f"m{i:03d}" for i in range(200)]
    alive: dict[str, np.ndarray] = {}
    violations: list[str] = []
    last_upsert: list[str] = []
    ops = rng.choice(3, size=2000, p=[0.45, 0.2, 0.35])
    for step, op in enumerate(ops):
        if op == 0:
            batch = list(rng.choice(universe, size=int(rng.integers(1, 4)), replace=False))
            vectors = unit(rng, len(batch))
            fresh.upsert(batch, vectors, [{"category": "c", "price": float(step)}] * len(batch))
            alive.update(zip(batch, vectors, strict=True))
            last_upsert = batch
        elif op == 1:
            batch = list(rng.choice(universe, size=int(rng.integers(1, 3)), replace=False))
            fresh.delete(batch)
            for item in batch:
                alive.pop(item, None)
            last_upsert = [i for i in last_upsert if i in alive]
        else:
            q = np.vstack([alive[i] for i in last_upsert] + [unit(rng, 1)])
            k = 5
            got = fresh.search(q, k)
            for r in range(q.shape[0]):
                row = got.row(r)
                if len(row) != min(k, len(alive)) or len(set(row)) != len(row):
                    violations.append(f"step {step}: row {r} has {row} with {len(alive)} alive")
                for item, score in zip(row, got.scores[r], strict=False):
                    if item not in alive:
                        violations.append(f"step {step}: deleted {item!r} returned")
                    elif abs(float(alive[item] @ q[r]) - float(score)) > 1e-4:
                        violations.append(f"step {step}: stale vector of {item!r}")
                if r < len(last_upsert) and row[:1] != [last_upsert[r]]:
                    violations.append(f"step {step}: just-upserted {last_upsert[r]!r} not first: {row}")
        if step % 100 == 99 and fresh.count() != len(alive):
            violations.append(f"step {step}: count {fresh.count()} != {len(alive)}")
    assert violations == []
    assert fresh.count() == len(alive)
    assert fresh.count(Range("price", gte=0)) == len(alive)


@pytest.mark.slow
def test_kill_9_of_a_writer_keeps_every_acknowledged_write(milvus_server: MilvusServer, tmp_path):
    milvus_server.make(8, tmp_path / "index").close()  # a fresh collection for the writer
    name = milvus_collection(tmp_path / "index")
    acked, deleted = kill_writer_midstream(
        "from lookbook.index.milvus import MilvusIndex",
        "MilvusIndex(8, sys.argv[1], collection=sys.argv[2])",
        [milvus_server.uri, name],
        min_acked=200,
    )
    index = MilvusIndex(8, milvus_server.uri, collection=name)
    try:
        assert_survived(index, acked, deleted)
    finally:
        index.close()
