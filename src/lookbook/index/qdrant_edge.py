"""The embedded default backend: Qdrant Edge, the Qdrant engine in process, persisted in one folder.

Why these choices:

* Ids. Qdrant accepts only integer or UUID point ids, so an item id maps to ``uuid5(namespace, id)``
  (deterministic, so an upsert of a known id replaces it) and the original string is kept in the
  payload field ``_id``, which is what searches return.
* Scores. Lookbook stores L2-normalised vectors, so the collection uses ``Distance.Dot``: the engine
  returns the plain inner products the protocol promises, with no hidden re-normalisation.
* Filters. The filter tree becomes one native ``Filter`` (must / should / must_not) over payload
  indexes created with the collection, so filtering happens inside the engine. Boolean matching is
  unreliable in this engine build, so bool fields are stored and matched as 0/1 integers; ``Eq`` on
  a float field becomes a closed range, since ``MatchValue`` has no float form.
* Exactness. ``exact=True`` uses the engine's brute-force search; its only freedom is the order of
  equal scores, which is re-sorted by id as numpy does. One extra hit is fetched to see whether a
  group of equal scores crosses the k-th place, and when it does the whole group is fetched.
* Durability. ``update`` appends the operation to Qdrant's write-ahead log (a memory-mapped file)
  before it applies it and returns, so an acknowledged write survives ``kill -9`` without a flush;
  surviving power loss needs ``flush()`` (an fsync of the WAL and segments, about 5 ms a call), which
  ``close()`` does.
* HNSW. Edge has no background optimizer: writes land in one plain (brute-force) segment, and the
  HNSW graph is built only when ``optimize()`` runs and a segment exceeds ``indexing_threshold_kb``.
  Call ``optimize()`` after a bulk load, before serving: it takes about a minute for 100k x 128 on
  two cores and holds the GIL throughout (qdrant-edge-py 0.9), so the process's other Python threads
  stop meanwhile. It also vacuums deleted points. Later writes are brute-forced until the next call.
* Threads. The engine is internally synchronised and releases the GIL while it searches, so
  searches and writes run concurrently; a write that has returned is visible to every later search.
  Only ``close()`` must not overlap other calls, which ``_Gate`` enforces.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import qdrant_edge as qe

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.index.base import F32, SearchResult, check_query, check_upsert
from lookbook.index.filters import (
    ITEM_PAYLOAD,
    And,
    Eq,
    FieldKind,
    Filter,
    In,
    Not,
    Or,
    PayloadSchema,
    Range,
    Scalar,
)

log = logging.getLogger(__name__)

#: Payload field holding the item's own string id (point ids are UUIDs derived from it).
ID_FIELD = "_id"
#: Fixed forever: point ids on disk are derived from it. (= uuid5(NAMESPACE_DNS, "lookbook.index"))
ID_NAMESPACE = uuid.UUID("b48f171f-c08b-5b7d-8410-f506431c9c8a")

_INDEX_TYPE: Mapping[FieldKind, qe.PayloadSchemaType] = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "keywords": qe.PayloadSchemaType.Keyword,
    "float": qe.PayloadSchemaType.Float,
    "int": qe.PayloadSchemaType.Integer,
    "bool": qe.PayloadSchemaType.Integer,  # stored as 0/1, see the module docstring
}

Condition = qe.FieldCondition | qe.Filter


def point_id(item_id: str) -> str:
    """The engine's point id of ``item_id``: a deterministic UUID, so re-upserting replaces."""
    return str(uuid.uuid5(ID_NAMESPACE, item_id))


class _Gate:
    """Lets any number of engine calls overlap, but makes ``close()`` wait for them and run alone:
    the engine is thread-safe, releasing it under a running search is not."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self.closed = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            if self.closed:
                raise RuntimeError("QdrantEdgeIndex: the index is closed")
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        """Yields whether the index was still open; afterwards it is closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._active == 0)
            was_open = not self.closed
            self.closed = True
            yield was_open


class QdrantEdgeIndex:
    """A persistent ``VectorIndex`` on a Qdrant Edge shard in the folder ``path``.

    ``path`` is created when missing; when it already holds a shard, that shard is loaded (its WAL is
    replayed) and must have been created with the same ``dim`` and ``vector_name``. The index settings
    given here, or their defaults, replace the stored ones on reopening and take effect at the next
    ``optimize()`` (which rebuilds the graph when they changed). ``search_ef`` is the HNSW beam width
    of approximate searches; segments (or filtered subsets) holding at most ``full_scan_threshold_kb``
    of vectors are searched by brute force; ``indexing_threshold_kb`` (None: the engine's default) is
    the size from which ``optimize()`` builds a segment's HNSW graph.
    """

    def __init__(
        self,
        dim: int,
        path: str | Path,
        schema: PayloadSchema | None = None,
        *,
        vector_name: str = "dense",
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        search_ef: int = 128,
        full_scan_threshold_kb: int = 10_000,
        indexing_threshold_kb: int | None = None,
    ) -> None:
        self.dim = int(dim)
        self.schema = schema or PayloadSchema(dict(ITEM_PAYLOAD))
        if ID_FIELD in self.schema.fields:
            raise SchemaError(f"QdrantEdgeIndex schema: field {ID_FIELD!r} is reserved for the item id")
        self.path = Path(path)
        self.vector_name = vector_name
        self.search_ef = int(search_ef)
        self._gate = _Gate()
        self._optimize_lock = threading.Lock()
        config = qe.EdgeConfig(
            vectors={vector_name: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Dot)},
            hnsw_config=qe.HnswIndexConfig(
                m=hnsw_m, ef_construct=hnsw_ef_construct, full_scan_threshold=full_scan_threshold_kb
            ),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=indexing_threshold_kb),
        )
        started = time.perf_counter()
        if (self.path / "edge_config.json").exists():
            self._check_stored_config()
            self._shard = qe.EdgeShard.load(str(self.path), config)
            action = "opened"
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self._shard = qe.EdgeShard.create(str(self.path), config)
            action = "created"
        try:
            self._ensure_payload_indexes()
        except Exception:
            self._shard.close()  # one open shard per folder: do not hold it on failure
            raise
        log.info(
            "qdrant edge index %s at %s (%d points) in %.2f s",
            action,
            self.path,
            self.count(),
            time.perf_counter() - started,
        )

    def _check_stored_config(self) -> None:
        """Fail with Lookbook's errors, before the engine would, when the folder holds another index."""
        stored = json.loads((self.path / "edge_config.json").read_text()).get("vectors", {})
        if self.vector_name not in stored:
            raise SchemaError(
                f"QdrantEdgeIndex {self.path}: expected vector {self.vector_name!r}, found {sorted(stored)}"
            )
        size = stored[self.vector_name].get("size")
        if size != self.dim:
            raise DimensionMismatch(f"QdrantEdgeIndex {self.path}: expected dimension {self.dim}, got {size}")

    def _ensure_payload_indexes(self) -> None:
        """One payload index per schema field, so filters are resolved by index, not by scanning."""
        existing = self._shard.info().payload_schema
        for field, kind in self.schema.fields.items():
            want = _INDEX_TYPE[kind]
            if field in existing:
                if existing[field].data_type != want:
                    raise SchemaError(
                        f"QdrantEdgeIndex {self.path} field {field!r}: "
                        f"indexed as {existing[field].data_type}, the schema needs {want}"
                    )
                continue
            self._shard.update(qe.UpdateOperation.create_field_index(field, want))

    # ----------------------------------------------------------------------------------- writes
    def upsert(
        self, ids: Sequence[str], vectors: npt.ArrayLike, payloads: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        """Insert or replace (vector and whole payload); durable against a process kill on return."""
        id_list, x, plist = check_upsert(self.dim, self.schema, ids, vectors, payloads)
        if not id_list:
            return
        points = [
            qe.Point(point_id(item_id), {self.vector_name: x[j]}, self._payload(item_id, plist[j]))
            for j, item_id in enumerate(id_list)
        ]
        with self._gate.shared():
            self._shard.update(qe.UpdateOperation.upsert_points(points))

    def _payload(self, item_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {ID_FIELD: item_id}
        for field, value in payload.items():
            if value is None:
                continue  # absent, as in the numpy reference
            kind = self.schema.fields[field]
            if kind == "bool":
                out[field] = int(value)
            elif kind == "float":
                out[field] = float(value)
            elif kind == "keywords":
                out[field] = [str(v) for v in value]
            else:
                out[field] = value
        return out

    def delete(self, ids: Sequence[str]) -> None:
        """Remove items; unknown ids are ignored. Durable against a process kill on return."""
        pids = list(dict.fromkeys(point_id(str(i)) for i in ids))
        if not pids:
            return
        with self._gate.shared():
            self._shard.update(qe.UpdateOperation.delete_points(pids))

    def optimize(self) -> bool:
        """Build HNSW for segments over the indexing threshold, merge small ones and vacuum deletes.

        Blocking, and the engine keeps the GIL throughout, so run it after bulk loads rather than while
        serving. Returns whether anything changed.
        """
        with self._optimize_lock, self._gate.shared():
            started = time.perf_counter()
            changed = self._shard.optimize()
        log.info(
            "qdrant edge optimize %s: changed=%s in %.1f s", self.path, changed, time.perf_counter() - started
        )
        return bool(changed)

    @property
    def indexed_vectors(self) -> int:
        """How many vectors sit in HNSW-indexed segments (the rest are searched by brute force)."""
        with self._gate.shared():
            return int(self._shard.info().indexed_vectors_count)

    def flush(self) -> None:
        """fsync the WAL and segments: makes past writes survive power loss, not only a process kill."""
        with self._gate.shared():
            self._shard.flush()

    # ------------------------------------------------------------------------------------ reads
    def search(
        self, vectors: npt.ArrayLike, k: int, filter: Filter | None = None, exact: bool = False
    ) -> SearchResult:
        """Top ``k`` per query vector, all queries in one engine batch, filtered inside the engine.

        ``exact=True`` brute-forces and returns exactly what ``NumpyIndex`` returns; otherwise HNSW
        with ``search_ef`` (brute force too where a segment or the filtered subset is small).
        """
        q = check_query(self.dim, self.schema, vectors, k, filter)
        k = int(k)
        native = None if filter is None else self.native_filter(filter)
        params = qe.SearchParams(exact=True) if exact else qe.SearchParams(hnsw_ef=self.search_ef)
        limit = k + 1 if exact else k  # the extra hit shows whether equal scores cross the k-th place
        with self._gate.shared():
            rows = self._query(q, limit, native, params)
            if exact:
                for i, row in enumerate(rows):
                    n = limit
                    while len(row) == n and row[-1][0] == row[k - 1][0]:  # the tie may go on: fetch more
                        n *= 2
                        row = self._query(q[i : i + 1], n, native, params)[0]
                    rows[i] = row
        out_ids = np.full((q.shape[0], k), "", dtype=object)
        out_scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        for i, row in enumerate(rows):
            best = sorted(row, key=lambda hit: (-hit[0], hit[1]))[:k]  # equal scores: by id, as numpy
            out_ids[i, : len(best)] = [item_id for _, item_id in best]
            out_scores[i, : len(best)] = [score for score, _ in best]
        return SearchResult(out_ids.astype(str), out_scores)

    def _query(
        self, q: F32, limit: int, native: qe.Filter | None, params: qe.SearchParams
    ) -> list[list[tuple[float, str]]]:
        """(score, item id) hits of each query vector, best first, in one engine batch."""
        requests = [
            qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(v, using=self.vector_name),
                filter=native,
                params=params,
                with_payload=[ID_FIELD],
            )
            for v in q
        ]
        batch = self._shard.query_batch(qe.QueryBatchRequest(requests))
        return [[(float(p.score), p.payload[ID_FIELD]) for p in hits] for hits in batch]

    def count(self, filter: Filter | None = None) -> int:
        """Exact number of live items matching ``filter``."""
        native = None
        if filter is not None:
            if not isinstance(filter, Filter):
                raise SchemaError(
                    f"count filter: expected a lookbook.index.filters expression, got {filter!r}"
                )
            filter.validate(self.schema)
            native = self.native_filter(filter)
        with self._gate.shared():
            return int(self._shard.count(qe.CountRequest(exact=True, filter=native)))

    # ---------------------------------------------------------------------------------- filters
    def native_filter(self, f: Filter) -> qe.Filter:
        """The engine's ``Filter`` for a validated Lookbook filter tree."""
        c = self._condition(f)
        return c if isinstance(c, qe.Filter) else qe.Filter(must=[c])

    def _condition(self, f: Filter) -> Condition:
        if isinstance(f, Eq):
            return self._match(f.field, (f.value,))
        if isinstance(f, In):
            return self._match(f.field, f.values)
        if isinstance(f, Range):
            bounds = {b: _float(getattr(f, b)) for b in ("gte", "gt", "lte", "lt")}
            return qe.FieldCondition(key=f.field, range=qe.RangeFloat(**bounds))
        if isinstance(f, And):
            return qe.Filter(must=[self._condition(p) for p in f.parts])
        if isinstance(f, Or):
            return qe.Filter(should=[self._condition(p) for p in f.parts])
        if isinstance(f, Not):
            return qe.Filter(must_not=[self._condition(f.part)])
        raise TypeError(f"unknown filter node {f!r}")

    def _match(self, field: str, values: Sequence[Scalar]) -> Condition:
        kind = self.schema.kind(field)
        if kind == "float":  # no float MatchValue: equality is the closed range [v, v]
            ranges = [
                qe.FieldCondition(key=field, range=qe.RangeFloat(gte=float(v), lte=float(v))) for v in values
            ]
            return ranges[0] if len(ranges) == 1 else qe.Filter(should=ranges)
        coded = [int(v) for v in values] if kind in ("bool", "int") else [str(v) for v in values]
        coded = list(dict.fromkeys(coded))
        if len(coded) == 1:
            return qe.FieldCondition(key=field, match=qe.MatchValue(coded[0]))
        return qe.FieldCondition(key=field, match=qe.MatchAny(coded))

    # -------------------------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Flush and release the shard (waiting for running calls); closing twice is a no-op."""
        with self._gate.exclusive() as was_open:
            if was_open:
                self._shard.flush()
                self._shard.close()
                log.info("qdrant edge index closed at %s", self.path)

    def drop(self) -> None:
        """Close the shard and delete its folder (a model version's space that is no longer served)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
        log.info("qdrant edge index dropped at %s", self.path)

    def __enter__(self) -> QdrantEdgeIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _float(bound: float | None) -> float | None:
    return None if bound is None else float(bound)
