"""The distributed ``VectorIndex``: one Milvus collection per index, reached through ``pymilvus``.

Pointing Lookbook at a Milvus cluster
-------------------------------------
A Milvus deployment is named by its proxy's URI, nothing else::

    MilvusIndex(768, "http://milvus.internal:19530")                           # self-hosted, no auth
    MilvusIndex(768, "https://in01-xxxx.cloud.zilliz.com", token="user:password",   # TLS + auth
                db_name="shop", collection="catalog_v3")
    open_index("milvus://milvus.internal:19530/shop/catalog_v3", dim=768)      # the same, as one URI

``token`` is ``"user:password"`` on a self-hosted cluster with authentication on, or an API key on
Zilliz Cloud; ``open_index`` also takes it from the URI's user info or from ``$LOOKBOOK_MILVUS_TOKEN``
so that it need not sit in a configuration file. ``db_name`` picks a Milvus database (default:
``default``). The collection is created on first use (VARCHAR primary key ``id``, FLOAT_VECTOR
``vector`` with metric IP, one scalar field per payload field, an HNSW index) and reopened, with its
schema checked, afterwards. For tests and local trials ``lookbook.index.milvus_server.local_milvus``
starts the server that the ``milvus`` package bundles.

Consistency
-----------
Every read (search, count, the exact mode's fetch) passes a guarantee timestamp: the newest of the
timestamp taken when this object opened the collection and the timestamps of the writes it made.
That is Milvus's *Session* consistency (read-your-writes) done explicitly, because two things break
pymilvus's own Session bookkeeping: Milvus 2.3 answers a delete without a timestamp, so a Session
read right after a delete could still return the deleted ids, and pymilvus keys its bookkeeping by
collection name only, so two servers or databases with a same-named collection would share it. After
a delete this index asks the server for a fresh timestamp (AllocTimestamp), which orders the delete
before every later read. (With the default *Bounded* consistency 3.6 % of just-upserted items were
missed and 37 of 1000 queries returned just-deleted ids on the CI machine.) A read right after a
write waits for the server's next time tick (``proxy.timeTickInterval``: 200 ms on a default
cluster). Writes made through other connections are seen if they were acknowledged before this
index opened; later ones show up within about a tick, without a guarantee. ``consistency="Strong"``
makes every read wait for everything acknowledged anywhere, at one tick per read.

Missing payload values
----------------------
Milvus 2.3 has no nullable fields, so a missing value is stored as a sentinel that no filter reaches,
which gives the numpy reference's semantics (a missing value never matches ``Eq``/``In``/``Range``;
``Not`` is the plain complement):

=========  ============================  =======================================================
kind       Milvus field                  missing value
=========  ============================  =======================================================
keyword    VARCHAR                       ``"\\x00"``; a payload equal to it is refused, a filter
                                         value equal to it matches nothing
keywords   ARRAY<VARCHAR>                the empty array (the same as the reference)
float      DOUBLE                        ``-inf`` (payload floats are finite); a range without a
                                         lower bound gets ``>= -1.797e308``
int        INT64                         ``-2**63``; payload ints must lie in ``(-2**63, 2**63)``;
                                         bounds are rounded to ints and clamped above it
bool       INT8 (1 / 0)                  ``-1``; INT8 rather than BOOL to have the third state
=========  ============================  =======================================================

Exact search
------------
``exact=True`` fetches the vectors of the items that match the filter (the filter runs inside Milvus,
so this is still pre-filtering) page by page in primary-key order, and scores them with one matrix
product, ties broken by id as in the numpy reference. Milvus cannot do it by itself: 2.3 allows one
vector field per collection (so no second FLAT-indexed copy), HNSW has no exhaustive setting, and
growing segments (and sealed ones whose index the query node has not loaded yet) are searched
through an interim IVF index. The cost is one transfer of the matching vectors per call (one call
over 20,000 x 128: ~0.45 s unfiltered, ~0.1 s with a filter keeping a quarter, for any number of
queries), which is what an evaluation or a narrow filter wants; use the approximate mode (~2-3 ms)
otherwise. The approximate mode falls back to this path for the queries that came back with fewer
than ``k`` hits although at least ``k`` items match (a very selective filter on an IVF/HNSW graph can
do that), and for ``k`` above Milvus's limit of 16,384.

Tuning
------
Recall@10 against numpy on 20,000 x 128, ``search_ef=128``: 1.00 (0.99 with a filter keeping a
quarter) on clustered embeddings; on isotropic random vectors, the hardest case, 0.94 (filtered
0.70-0.82), and 0.99 (0.96) with ``search_ef=512`` at +1-2 ms. Growing segments use the server's
interim IVF index (``queryNode.segcore.interimIndex``, nprobe 16 of 128 lists), whatever ``ef``
says: 0.45 on random vectors, 1.00 on clustered ones.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, LookbookError, SchemaError
from lookbook.index.base import F32, SearchResult, check_query, check_upsert
from lookbook.index.filters import ITEM_PAYLOAD, And, Eq, FieldKind, Filter, In, Not, Or, PayloadSchema, Range

log = logging.getLogger(__name__)

ID_FIELD = "id"
VECTOR_FIELD = "vector"
#: sentinels of missing payload values (see the module docstring)
MISSING_KEYWORD = "\x00"
MISSING_FLOAT = float("-inf")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MISSING_INT = INT64_MIN
MISSING_BOOL = -1
_LOWEST_FLOAT = "-1.7976931348623157e+308"

#: sizes of the fields this index creates (bytes of UTF-8 for strings)
ID_MAX_BYTES = 4096
KEYWORD_MAX_BYTES = 4096
KEYWORDS_MAX_ITEMS = 256
KEYWORDS_ITEM_MAX_BYTES = 1024

#: Milvus's cap on topk, on query's offset + limit, and on nq
_MAX_WINDOW = 16_384
_QUERY_BATCH = 1024
#: bytes of one request or response page; the proxy's gRPC limit is 64 MiB
_PAGE_BYTES = 16 * 2**20
_DELETE_BATCH = 1000

#: identifiers that the expression grammar reads as keywords or functions, so no field may be named so
_RESERVED_WORDS = {
    "and", "or", "not", "in", "like", "true", "false", "exists", "json_contains", "json_contains_all",
    "json_contains_any", "array_contains", "array_contains_all", "array_contains_any", "array_length",
}  # fmt: skip
_FALSE = f'{ID_FIELD} == ""'  # ids are never empty (check_upsert), so this matches nothing

_DTYPE_OF: dict[FieldKind, str] = {
    "keyword": "VARCHAR",
    "keywords": "ARRAY",
    "float": "DOUBLE",
    "int": "INT64",
    "bool": "INT8",
}


def _literal(value: str) -> str:
    """A Milvus string literal: JSON escaping (``\\"``, ``\\\\``, ``\\n``, ``\\u0000``) is what its
    parser (Go's ``strconv.Unquote``) reads back; non-ASCII characters stay as they are, because
    ``\\ud83d``-style surrogate escapes are rejected by that parser."""
    return json.dumps(value, ensure_ascii=False)


def _float(value: float) -> str:
    return repr(float(value))


def _valid_name(name: str) -> bool:
    return (
        bool(name)
        and len(name) <= 255
        and (name[0].isalpha() or name[0] == "_")
        and name.isascii()
        and (name.replace("_", "").isalnum())
    )


class MilvusIndex:
    """``VectorIndex`` over one Milvus collection (see the module docstring for the choices).

    ``index_type`` is ``"HNSW"`` (``hnsw_m``, ``ef_construction``; searched with
    ``ef = max(search_ef, k)``), ``"FLAT"`` or ``"AUTOINDEX"`` (Zilliz Cloud). ``scalar_indexes``
    builds Milvus's default scalar index (Trie / sorted) on the keyword and numeric payload fields,
    which speeds up filters on sealed segments; keywords (ARRAY) fields have none in Milvus 2.3.
    """

    def __init__(
        self,
        dim: int,
        uri: str,
        collection: str = "lookbook",
        schema: PayloadSchema | None = None,
        *,
        token: str | None = None,
        db_name: str | None = None,
        index_type: Literal["HNSW", "FLAT", "AUTOINDEX"] = "HNSW",
        hnsw_m: int = 16,
        ef_construction: int = 200,
        search_ef: int = 128,
        consistency: Literal["Session", "Strong"] = "Session",
        scalar_indexes: bool = True,
        timeout: float | None = 60.0,
        load_timeout: float = 300.0,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or not 1 <= dim <= 32_768:
            raise DimensionMismatch(f"MilvusIndex dim: expected an int in [1, 32768], got {dim!r}")
        if not _valid_name(collection):
            raise SchemaError(
                f"MilvusIndex collection: expected letters, digits and '_' not starting with a digit, "
                f"got {collection!r}"
            )
        if index_type not in ("HNSW", "FLAT", "AUTOINDEX"):
            raise SchemaError(f"MilvusIndex index_type: expected HNSW, FLAT or AUTOINDEX, got {index_type!r}")
        if consistency not in ("Session", "Strong"):
            raise SchemaError(f"MilvusIndex consistency: expected Session or Strong, got {consistency!r}")
        self.dim = int(dim)
        self.schema = schema or PayloadSchema(dict(ITEM_PAYLOAD))
        for field in self.schema.fields:
            if (
                not _valid_name(field)
                or field.lower() in _RESERVED_WORDS
                or field in (ID_FIELD, VECTOR_FIELD)
            ):
                raise SchemaError(f"MilvusIndex schema field {field!r}: not usable as a Milvus field name")
        self.uri = uri
        self.collection = collection
        self.db_name = db_name or "default"
        self.index_type = index_type
        self.search_ef = int(search_ef)
        self._hnsw = {"M": int(hnsw_m), "efConstruction": int(ef_construction)}
        self._strong = consistency == "Strong"
        self._timeout = timeout
        self._lock = threading.Lock()
        self._closed = False
        self._limits = {
            ID_FIELD: ID_MAX_BYTES,
            **{f: KEYWORD_MAX_BYTES for f, k in self.schema.fields.items() if k == "keyword"},
        }
        self._capacity = {f: KEYWORDS_MAX_ITEMS for f, k in self.schema.fields.items() if k == "keywords"}
        self._item_limits = dict.fromkeys(self._capacity, KEYWORDS_ITEM_MAX_BYTES)

        from pymilvus import MilvusClient

        # a private alias: pymilvus shares one connection between clients of the same uri/db/token,
        # and closing any of them would close it for all
        self._client = MilvusClient(
            uri=uri,
            token=token or "",
            db_name=db_name or "",
            timeout=timeout,
            alias=f"lookbook-{uuid.uuid4().hex}",
        )
        try:
            self._session_ts = 0
            if self._client.has_collection(collection, timeout=timeout):
                self._check_existing()
            else:
                self._create(scalar_indexes)
            self._load(load_timeout)
            self._advance(self._alloc_ts())
        except BaseException:
            self._client.close()
            raise
        log.info("milvus index %s/%s at %s open (dim %d)", self.db_name, collection, _redact(uri), self.dim)

    # ----------------------------------------------------------------------------- collection
    def _create(self, scalar_indexes: bool) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, DataType.VARCHAR, is_primary=True, max_length=ID_MAX_BYTES)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=self.dim)
        index = self._vector_index()
        for field, kind in self.schema.fields.items():
            if kind == "keyword":
                schema.add_field(field, DataType.VARCHAR, max_length=KEYWORD_MAX_BYTES)
            elif kind == "keywords":
                schema.add_field(
                    field,
                    DataType.ARRAY,
                    element_type=DataType.VARCHAR,
                    max_capacity=KEYWORDS_MAX_ITEMS,
                    max_length=KEYWORDS_ITEM_MAX_BYTES,
                )
            else:
                schema.add_field(field, getattr(DataType, _DTYPE_OF[kind]))
            if scalar_indexes and kind in ("keyword", "float", "int", "bool"):
                index.add_index(field, index_type="Trie" if kind == "keyword" else "STL_SORT")
        self._client.create_collection(self.collection, schema=schema, timeout=self._timeout)
        # sync=False: pymilvus would poll each index's build state at 0.5 s; an empty collection has
        # nothing to build, and loading only needs the index to exist
        self._client.create_index(self.collection, index, timeout=self._timeout, sync=False)
        log.info(
            "milvus collection %s/%s created (dim %d, %s)",
            self.db_name,
            self.collection,
            self.dim,
            self.index_type,
        )

    def _vector_index(self):
        from pymilvus import MilvusClient

        index = MilvusClient.prepare_index_params()
        params = self._hnsw if self.index_type == "HNSW" else {}
        index.add_index(VECTOR_FIELD, index_type=self.index_type, metric_type="IP", params=params)
        return index

    def _check_existing(self) -> None:
        """Refuse to reopen a collection whose fields do not match this index's dim and schema."""
        desc = self._client.describe_collection(self.collection, timeout=self._timeout)
        fields = {f["name"]: f for f in desc["fields"]}
        where = f"Milvus collection {self.collection!r}"
        pk = fields.get(ID_FIELD)
        if pk is None or not pk.get("is_primary") or pk["type"].name != "VARCHAR":
            raise SchemaError(
                f"{where}: expected a VARCHAR primary key {ID_FIELD!r}, it is not a Lookbook index"
            )
        vec = fields.get(VECTOR_FIELD)
        if vec is None or vec["type"].name != "FLOAT_VECTOR":
            raise SchemaError(f"{where}: expected a FLOAT_VECTOR field {VECTOR_FIELD!r}")
        if int(vec["params"]["dim"]) != self.dim:
            raise DimensionMismatch(f"{where}: expected dimension {self.dim}, got {vec['params']['dim']}")
        self._limits[ID_FIELD] = int(pk["params"].get("max_length", ID_MAX_BYTES))
        payload_fields = {n: f for n, f in fields.items() if n not in (ID_FIELD, VECTOR_FIELD)}
        if set(payload_fields) != set(self.schema.fields):
            raise SchemaError(
                f"{where}: payload fields {sorted(payload_fields)} differ from the schema's "
                f"{sorted(self.schema.fields)}"
            )
        for name, kind in self.schema.fields.items():
            f = payload_fields[name]
            if f["type"].name != _DTYPE_OF[kind] or (
                kind == "keywords" and getattr(f.get("element_type"), "name", "") != "VARCHAR"
            ):
                raise SchemaError(
                    f"{where} field {name!r}: expected {_DTYPE_OF[kind]} for a {kind}, got {f['type'].name}"
                )
            if kind == "keyword":
                self._limits[name] = int(f["params"].get("max_length", KEYWORD_MAX_BYTES))
            elif kind == "keywords":
                self._capacity[name] = int(f["params"].get("max_capacity", KEYWORDS_MAX_ITEMS))
                self._item_limits[name] = int(f["params"].get("max_length", KEYWORDS_ITEM_MAX_BYTES))
        names = self._client.list_indexes(self.collection, field_name=VECTOR_FIELD)
        if not names:  # created elsewhere without an index: Milvus cannot load it without one
            self._client.create_index(
                self.collection, self._vector_index(), timeout=self._timeout, sync=False
            )
        metric = "IP"
        for name in names:
            metric = self._client.describe_index(self.collection, name).get("metric_type", "IP")
        if metric.upper() != "IP":
            raise SchemaError(
                f"{where}: the vector index uses metric {metric}, Lookbook scores are inner products"
            )

    def _load(self, timeout: float) -> None:
        """Load and wait (polling at 50 ms; pymilvus's own wait polls at 200 ms)."""
        state = self._client.get_load_state(self.collection, timeout=self._timeout)["state"]
        if state.name == "Loaded":
            return
        self._handler().load_collection(self.collection, timeout=self._timeout, _async=True)
        deadline = time.monotonic() + timeout
        while self._client.get_load_state(self.collection, timeout=self._timeout)["state"].name != "Loaded":
            if time.monotonic() > deadline:
                raise TimeoutError(f"Milvus collection {self.collection!r} not loaded after {timeout:.0f} s")
            time.sleep(0.05)

    def _handler(self):
        """pymilvus's gRPC handler: ``MilvusClient`` drops the write timestamps that the
        consistency bookkeeping needs (pinned pymilvus 2.5.18; ``_get_connection`` is private there)."""
        return self._client._get_connection()

    # ------------------------------------------------------------------------------ consistency
    def _alloc_ts(self) -> int:
        """A fresh server timestamp, later than every write acknowledged so far (0 if unsupported)."""
        try:
            return int(self._handler().alloc_timestamp(timeout=self._timeout))
        except Exception as exc:  # pragma: no cover - servers without AllocTimestamp (< 2.3)
            if not self._strong:
                log.warning(
                    "Milvus cannot allocate timestamps (%s); reads fall back to Strong consistency", exc
                )
                self._strong = True
            return 0

    def _advance(self, ts: int) -> None:
        with self._lock:
            self._session_ts = max(self._session_ts, int(ts))

    def _read_kwargs(self) -> dict[str, Any]:
        if self._strong:
            return {"consistency_level": "Strong"}
        with self._lock:
            ts = self._session_ts
        # "Customized" makes pymilvus pass this timestamp unchanged; the server treats it as Session does
        return {"consistency_level": "Customized", "guarantee_timestamp": ts or 1}

    # ----------------------------------------------------------------------------------- writes
    def upsert(
        self, ids: Sequence[str], vectors: npt.ArrayLike, payloads: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        """Insert or replace items (Milvus upsert: delete + insert under one timestamp, so a replaced
        id is never returned twice). Batches of ~16 MiB; a failure part-way leaves earlier batches
        written, as with any write that the server acknowledged."""
        self._check_open()
        id_list, x, plist = check_upsert(self.dim, self.schema, ids, vectors, payloads)
        rows = [self._row(j, item_id, x[j], plist[j]) for j, item_id in enumerate(id_list)]
        if not rows:
            return
        per_batch = max(1, _PAGE_BYTES // (4 * self.dim + 512))
        for start in range(0, len(rows), per_batch):
            result = self._handler().upsert_rows(
                self.collection, rows[start : start + per_batch], timeout=self._timeout
            )
            self._advance(result.timestamp or self._alloc_ts())

    def _row(self, j: int, item_id: str, vector: F32, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One Milvus row, after the limits that check_upsert cannot know (field sizes, int64 range)."""
        where = f"upsert row {j} (id {item_id!r})"
        self._check_text(item_id, self._limits[ID_FIELD], f"{where}: id")
        row: dict[str, Any] = {ID_FIELD: item_id, VECTOR_FIELD: vector.tolist()}
        for field, kind in self.schema.fields.items():
            value = payload.get(field)
            if kind == "keyword":
                if value is None:
                    value = MISSING_KEYWORD
                elif value == MISSING_KEYWORD:
                    raise SchemaError(
                        f"{where} field {field!r}: the value '\\x00' is reserved for a missing value"
                    )
                else:
                    self._check_text(value, self._limits[field], f"{where} field {field!r}")
            elif kind == "keywords":
                value = [] if value is None else list(value)
                if len(value) > self._capacity[field]:
                    raise SchemaError(
                        f"{where} field {field!r}: expected at most {self._capacity[field]} values, "
                        f"got {len(value)}"
                    )
                for member in value:
                    self._check_text(member, self._item_limits[field], f"{where} field {field!r}")
            elif kind == "float":
                value = MISSING_FLOAT if value is None else float(value)
            elif kind == "int":
                if value is None:
                    value = MISSING_INT
                elif not INT64_MIN < value <= INT64_MAX:
                    raise SchemaError(
                        f"{where} field {field!r}: expected an int in (-2**63, 2**63), got {value!r}"
                    )
            else:
                value = MISSING_BOOL if value is None else int(bool(value))
            row[field] = value
        return row

    @staticmethod
    def _check_text(value: str, limit: int, where: str) -> None:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise SchemaError(f"{where}: not encodable as UTF-8 (lone surrogate), got {value!r}") from None
        if size > limit:
            raise SchemaError(f"{where}: expected at most {limit} bytes of UTF-8, got {size}")

    def delete(self, ids: Sequence[str]) -> None:
        """Delete by id; unknown ids are ignored. The next read of this index never returns them."""
        self._check_open()
        wanted = list(dict.fromkeys(str(i) for i in ids))
        # ids that no upsert could have stored need no round trip (and could not be encoded)
        wanted = [
            i for i in wanted if i and _encodable(i) and len(i.encode("utf-8")) <= self._limits[ID_FIELD]
        ]
        stamped = True
        for start in range(0, len(wanted), _DELETE_BATCH):
            chunk = wanted[start : start + _DELETE_BATCH]
            expr = f"{ID_FIELD} in [{', '.join(map(_literal, chunk))}]"
            result = self._handler().delete(self.collection, expr, timeout=self._timeout)
            stamped = stamped and bool(result.timestamp)
            self._advance(result.timestamp)
        if wanted and not stamped:
            # Milvus 2.3 answers a delete without its timestamp: take a newer one from the server
            self._advance(self._alloc_ts())

    # ------------------------------------------------------------------------------------ reads
    def search(
        self, vectors: npt.ArrayLike, k: int, filter: Filter | None = None, exact: bool = False
    ) -> SearchResult:
        self._check_open()
        q = check_query(self.dim, self.schema, vectors, k, filter)
        k = int(k)
        expr = "" if filter is None else self.expression(filter)
        read = self._read_kwargs()
        out_ids = np.full((q.shape[0], k), "", dtype=object)
        out_scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        if exact or k > _MAX_WINDOW:
            self._exact_into(q, k, expr, read, np.arange(q.shape[0]), out_ids, out_scores)
            return SearchResult(out_ids.astype(str), out_scores)
        params = {"ef": max(self.search_ef, k)} if self.index_type == "HNSW" else {}
        short: list[int] = []
        for start in range(0, q.shape[0], _QUERY_BATCH):
            batch = q[start : start + _QUERY_BATCH]
            hits = self._client.search(
                self.collection,
                data=batch.tolist(),
                filter=expr,
                limit=k,
                output_fields=[],
                search_params={"metric_type": "IP", "params": params},
                anns_field=VECTOR_FIELD,
                timeout=self._timeout,
                **read,
            )
            for i, row in enumerate(hits):
                pairs = dict(zip(row.ids, row.distances, strict=True))  # an id at most once
                ranked = sorted(pairs.items(), key=lambda p: (-p[1], p[0]))
                n = len(ranked)
                if n:
                    out_ids[start + i, :n] = [p[0] for p in ranked]
                    out_scores[start + i, :n] = [p[1] for p in ranked]
                if n < k:
                    short.append(start + i)
        if short:
            matching = self._count(expr, read)
            redo = [i for i in short if (out_ids[i] != "").sum() < min(k, matching)]
            if redo:
                log.debug(
                    "milvus search: %d of %d queries came back short, searching them exactly",
                    len(redo),
                    len(q),
                )
                self._exact_into(q, k, expr, read, np.asarray(redo), out_ids, out_scores)
        return SearchResult(out_ids.astype(str), out_scores)

    def _exact_into(
        self,
        q: F32,
        k: int,
        expr: str,
        read: dict[str, Any],
        rows: npt.NDArray[np.int64],
        out_ids: npt.NDArray[np.object_],
        out_scores: F32,
    ) -> None:
        ids, vectors = self._fetch(expr, read)
        if not ids.size:
            out_ids[rows] = ""
            out_scores[rows] = -np.inf
            return
        scores = q[rows] @ vectors.T
        width = min(k, ids.size)
        for r, s in zip(rows, scores, strict=True):
            if ids.size > width:  # the top ``width`` scores plus every id tied with the last of them
                kth = np.partition(s, ids.size - width)[ids.size - width]
                cand = np.flatnonzero(s >= kth)
            else:
                cand = np.arange(ids.size)
            best = cand[np.lexsort((ids[cand], -s[cand]))][:width]
            out_ids[r] = ""
            out_scores[r] = -np.inf
            out_ids[r, :width] = ids[best]
            out_scores[r, :width] = s[best]

    def _fetch(self, expr: str, read: dict[str, Any]) -> tuple[npt.NDArray[np.object_], F32]:
        """Ids and vectors of the items matching ``expr``, paged by primary key (Milvus returns a
        query's rows in primary-key order and caps offset + limit at 16,384)."""
        page = max(1, min(_MAX_WINDOW, _PAGE_BYTES // (4 * self.dim + self._limits[ID_FIELD] // 8 + 64)))
        ids: list[str] = []
        chunks: list[F32] = []
        last: str | None = None
        while True:
            parts = [f"({expr})"] if expr else []
            if last is not None:
                parts.append(f"{ID_FIELD} > {_literal(last)}")
            rows = self._client.query(
                self.collection,
                filter=" and ".join(parts),
                output_fields=[ID_FIELD, VECTOR_FIELD],
                limit=page,
                timeout=self._timeout,
                **read,
            )
            if not rows:
                break
            page_ids = [r[ID_FIELD] for r in rows]
            if any(a >= b for a, b in itertools.pairwise(page_ids)) or (
                last is not None and page_ids[0] <= last
            ):
                raise RuntimeError(
                    "Milvus returned a query page out of primary-key order; cannot page through it"
                )
            ids.extend(page_ids)
            chunks.append(
                np.asarray([r[VECTOR_FIELD] for r in rows], dtype=np.float32).reshape(len(rows), self.dim)
            )
            if len(rows) < page:
                break
            last = page_ids[-1]
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)
        return np.asarray(ids, dtype=object), vectors

    def count(self, filter: Filter | None = None) -> int:
        self._check_open()
        if filter is not None:
            if not isinstance(filter, Filter):
                raise SchemaError(
                    f"count filter: expected a lookbook.index.filters expression, got {filter!r}"
                )
            filter.validate(self.schema)
        return self._count("" if filter is None else self.expression(filter), self._read_kwargs())

    def _count(self, expr: str, read: dict[str, Any]) -> int:
        rows = self._client.query(
            self.collection, filter=expr, output_fields=["count(*)"], timeout=self._timeout, **read
        )
        return int(rows[0]["count(*)"])

    def close(self) -> None:
        """Close this index's own connection; the collection and its data stay on the server."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def drop(self) -> None:
        """Drop the collection from the server and close (a model version's space no longer served)."""
        if not self._closed:
            self._client.drop_collection(self.collection, timeout=self._timeout)
            log.info("milvus collection %s/%s dropped", self.db_name, self.collection)
        self.close()

    def __enter__(self) -> MilvusIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise LookbookError(f"MilvusIndex {self.collection!r}: used after close()")

    # ---------------------------------------------------------------------------------- filters
    def expression(self, f: Filter) -> str:
        """The Milvus boolean expression of a (validated) filter; see the module docstring for how
        missing values are kept out of every match."""
        if isinstance(f, And | Or):
            op = " and " if isinstance(f, And) else " or "
            return op.join(f"({self.expression(p)})" for p in f.parts)
        if isinstance(f, Not):
            return f"not ({self.expression(f.part)})"
        if isinstance(f, Eq):
            return self._members(f.field, [f.value])
        if isinstance(f, In):
            return self._members(f.field, list(f.values))
        if isinstance(f, Range):
            return self._range(f)
        raise SchemaError(f"filter: unknown node {f!r}")

    def _members(self, field: str, values: list[Any]) -> str:
        """``field`` equals one of ``values`` (for keywords: the list holds one of them)."""
        kind = self.schema.kind(field)
        if kind in ("keyword", "keywords"):
            lits = [_literal(v) for v in dict.fromkeys(values) if v != MISSING_KEYWORD and _encodable(v)]
            if not lits:
                return _FALSE
            if kind == "keywords":
                if len(lits) == 1:
                    return f"array_contains({field}, {lits[0]})"
                return f"array_contains_any({field}, [{', '.join(lits)}])"
        elif kind == "bool":
            lits = [str(int(v)) for v in dict.fromkeys(values)]
        elif kind == "int":
            lits = [str(v) for v in dict.fromkeys(values) if INT64_MIN < v <= INT64_MAX]
        else:
            lits = [_float(v) for v in dict.fromkeys(values)]
        if not lits:
            return _FALSE
        if len(lits) == 1:
            return f"{field} == {lits[0]}"
        return f"{field} in [{', '.join(lits)}]"

    def _range(self, f: Range) -> str:
        kind = self.schema.kind(f.field)
        if kind == "float":
            parts = []
            for op, bound in ((">=", f.gte), (">", f.gt), ("<=", f.lte), ("<", f.lt)):
                if bound is not None:
                    parts.append(f"{f.field} {op} {_float(bound)}")
            if f.gte is None and f.gt is None:
                parts.insert(0, f"{f.field} >= {_LOWEST_FLOAT}")  # keeps the -inf of missing values out
            return " and ".join(parts)
        # int64 field: Milvus refuses float literals here, so bounds become the equivalent ints
        lo, hi = INT64_MIN + 1, INT64_MAX
        if f.gte is not None:
            lo = max(lo, math.ceil(f.gte))
        if f.gt is not None:
            lo = max(lo, math.floor(f.gt) + 1)
        if f.lte is not None:
            hi = min(hi, math.floor(f.lte))
        if f.lt is not None:
            hi = min(hi, math.ceil(f.lt) - 1)
        if lo > hi:
            return _FALSE
        parts = [f"{f.field} >= {lo}"]  # always: keeps the -2**63 of missing values out
        if hi < INT64_MAX:
            parts.append(f"{f.field} <= {hi}")
        return " and ".join(parts)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _redact(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return uri


def open_index(uri: str, dim: int, **kw: Any) -> MilvusIndex:
    """A ``MilvusIndex`` from one URI, for configuration files and command lines.

    ``milvus://HOST[:PORT][/DB[/COLLECTION]]`` (plain gRPC, port 19530 by default),
    ``milvus+https://HOST[:PORT][/DB[/COLLECTION]]`` (TLS), or a Milvus URI
    ``http(s)://HOST:PORT[/DB[/COLLECTION]]``. ``user:password@`` in the URI, or
    ``$LOOKBOOK_MILVUS_TOKEN``, gives the token; query parameters (``?index_type=FLAT&search_ef=64``)
    and ``kw`` give the other ``MilvusIndex`` arguments, ``kw`` winning.
    """
    parts = urllib.parse.urlsplit(uri)
    scheme = parts.scheme.lower()
    schemes = {
        "milvus": "http",
        "milvus+http": "http",
        "milvus+https": "https",
        "http": "http",
        "https": "https",
    }
    if scheme not in schemes or not parts.hostname:
        raise LookbookError(
            "Milvus URI: expected milvus://host[:port][/db[/collection]] or http(s)://..., "
            f"got {_redact(uri)!r}"
        )
    port = parts.port or (19530 if scheme in ("milvus", "milvus+http") else None)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    server = f"{schemes[scheme]}://{host}" + (f":{port}" if port else "")
    path = [urllib.parse.unquote(p) for p in parts.path.split("/") if p]
    if len(path) > 2:
        raise LookbookError(f"Milvus URI: expected at most /db/collection after the host, got {parts.path!r}")
    options: dict[str, Any] = {}
    if path:
        options["db_name"] = path[0]
    if len(path) == 2:
        options["collection"] = path[1]
    if parts.username:
        user = urllib.parse.unquote(parts.username)
        options["token"] = f"{user}:{urllib.parse.unquote(parts.password or '')}" if parts.password else user
    elif os.environ.get("LOOKBOOK_MILVUS_TOKEN"):
        options["token"] = os.environ["LOOKBOOK_MILVUS_TOKEN"]
    ints = {"hnsw_m", "ef_construction", "search_ef"}
    floats = {"timeout", "load_timeout"}
    strings = {"index_type", "consistency", "collection", "db_name"}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if key in ints:
            options[key] = int(value)
        elif key in floats:
            options[key] = float(value)
        elif key in strings:
            options[key] = value
        elif key == "scalar_indexes":
            options[key] = value.lower() in ("1", "true", "yes")
        else:
            raise LookbookError(f"Milvus URI: unknown option {key!r}")
    options.update(kw)
    return MilvusIndex(dim, server, **options)
