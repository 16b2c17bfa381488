"""The exact reference backend: masked brute force in numpy, in memory.

It is the ground truth the tests and benchmarks compare every engine with, so it favours being
obviously right over being clever: payload columns are plain arrays, a filter becomes a boolean
mask over them, and a search is one matrix product over the rows the mask keeps. A lock makes it
safe to search from one thread while another upserts or deletes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.index.base import F32, SearchResult, check_query, check_upsert
from lookbook.index.filters import ITEM_PAYLOAD, And, Eq, Filter, In, Not, Or, PayloadSchema, Range

B = npt.NDArray[np.bool_]


class _Column:
    """One payload field's values for every row (grown with the index)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.codes: dict[str, int] = {}
        self.values = np.zeros(0, dtype=np.float64 if kind in ("float", "int") else np.int64)
        self.members: list[B] = []  # keywords: one membership mask per value code

    def grow(self, capacity: int) -> None:
        old = self.values
        fill = np.nan if self.kind in ("float", "int") else -1
        self.values = np.full(capacity, fill, dtype=old.dtype)
        self.values[: old.size] = old
        for j, m in enumerate(self.members):
            grown = np.zeros(capacity, dtype=bool)
            grown[: m.size] = m
            self.members[j] = grown

    def code(self, value: str) -> int:
        c = self.codes.get(value)
        if c is None:
            c = self.codes[value] = len(self.codes)
            if self.kind == "keywords":
                self.members.append(np.zeros(self.values.size, dtype=bool))
        return c

    def set(self, row: int, value: Any) -> None:
        if self.kind == "keywords":
            for m in self.members:
                m[row] = False
            for v in value or ():
                self.members[self.code(str(v))][row] = True
        elif value is None:
            self.values[row] = np.nan if self.kind in ("float", "int") else -1
        elif self.kind == "keyword":
            self.values[row] = self.code(str(value))
        elif self.kind == "bool":
            self.values[row] = int(bool(value))
        else:
            self.values[row] = float(value)

    def equals(self, value: Any, n: int) -> B:
        if self.kind == "keywords":
            c = self.codes.get(str(value))
            return np.zeros(n, bool) if c is None else self.members[c][:n].copy()
        if self.kind == "keyword":
            c = self.codes.get(str(value))
            return np.zeros(n, bool) if c is None else self.values[:n] == c
        if self.kind == "bool":
            return self.values[:n] == int(bool(value))
        return self.values[:n] == float(value)


class NumpyIndex:
    """Exact in-memory ``VectorIndex``; ``exact`` is ignored (every search is exact)."""

    def __init__(self, dim: int, schema: PayloadSchema | None = None) -> None:
        self.dim = int(dim)
        self.schema = schema or PayloadSchema(dict(ITEM_PAYLOAD))
        self._lock = threading.RLock()
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._columns = {f: _Column(k) for f, k in self.schema.fields.items()}

    # ----------------------------------------------------------------------------------- writes
    def upsert(
        self, ids: Sequence[str], vectors: npt.ArrayLike, payloads: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        id_list, x, plist = check_upsert(self.dim, self.schema, ids, vectors, payloads)
        with self._lock:
            rows = np.empty(len(id_list), dtype=np.int64)
            new = [i for i in id_list if i not in self._row]
            self._reserve(len(self._ids) + len(new))
            for j, item_id in enumerate(id_list):
                row = self._row.get(item_id)
                if row is None:
                    row = self._row[item_id] = len(self._ids)
                    self._ids.append(item_id)
                rows[j] = row
            self._vectors[rows] = x
            for j, row in enumerate(rows):  # payload fields per row: a handful of fields each
                for field, column in self._columns.items():
                    column.set(int(row), plist[j].get(field))
            self._alive[rows] = True

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            rows = [self._row[str(i)] for i in ids if str(i) in self._row]
            self._alive[rows] = False

    def _reserve(self, n: int) -> None:
        capacity = self._vectors.shape[0]
        if n <= capacity:
            return
        capacity = max(n, 2 * capacity, 1024)
        grown = np.zeros((capacity, self.dim), dtype=np.float32)
        grown[: self._vectors.shape[0]] = self._vectors
        self._vectors = grown
        alive = np.zeros(capacity, dtype=bool)
        alive[: self._alive.size] = self._alive
        self._alive = alive
        for column in self._columns.values():
            column.grow(capacity)

    # ------------------------------------------------------------------------------------ reads
    def mask(self, filter: Filter | None) -> B:
        """Rows that are alive and match ``filter`` (over the first ``len(ids)`` rows)."""
        with self._lock:
            n = len(self._ids)
            alive = self._alive[:n].copy()
            return alive if filter is None else alive & self._eval(filter, n)

    def _eval(self, f: Filter, n: int) -> B:
        if isinstance(f, Eq):
            return self._columns[f.field].equals(f.value, n)
        if isinstance(f, In):
            out = np.zeros(n, dtype=bool)
            for v in f.values:
                out |= self._columns[f.field].equals(v, n)
            return out
        if isinstance(f, Range):
            return f.matches(self._columns[f.field].values[:n])
        if isinstance(f, And):
            out = np.ones(n, dtype=bool)
            for p in f.parts:
                out &= self._eval(p, n)
            return out
        if isinstance(f, Or):
            out = np.zeros(n, dtype=bool)
            for p in f.parts:
                out |= self._eval(p, n)
            return out
        if isinstance(f, Not):
            return ~self._eval(f.part, n)
        raise TypeError(f"unknown filter node {f!r}")

    def search(
        self, vectors: npt.ArrayLike, k: int, filter: Filter | None = None, exact: bool = False
    ) -> SearchResult:
        q = check_query(self.dim, self.schema, vectors, k, filter)
        with self._lock:
            rows = np.flatnonzero(self.mask(filter))
            ids = np.asarray(self._ids, dtype=object)[rows] if rows.size else np.zeros(0, dtype=object)
            cand = self._vectors[rows]
        out_ids = np.full((q.shape[0], k), "", dtype=object)
        out_scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        if rows.size:
            scores = q @ cand.T
            width = min(k, rows.size)
            part = np.argpartition(-scores, width - 1, axis=1)[:, :width]
            part_scores = np.take_along_axis(scores, part, axis=1)
            # ties broken by id so that every backend's exact mode can match it
            order = np.lexsort((ids[part], -part_scores), axis=1) if width > 1 else np.zeros_like(part)
            best = np.take_along_axis(part, order, axis=1)
            # argpartition keeps an arbitrary part of a group of equal scores crossing the k-th place;
            # in those rows choose the whole top k by (-score, id)
            kth = part_scores.min(axis=1)
            for i in np.flatnonzero((scores >= kth[:, None]).sum(axis=1) > width):
                tied = np.flatnonzero(scores[i] >= kth[i])
                best[i] = tied[np.lexsort((ids[tied], -scores[i, tied]))[:width]]
            out_ids[:, :width] = ids[best]
            out_scores[:, :width] = np.take_along_axis(scores, best, axis=1)
        return SearchResult(out_ids.astype(str), out_scores)

    def count(self, filter: Filter | None = None) -> int:
        if filter is not None:
            filter.validate(self.schema)
        return int(self.mask(filter).sum())

    def close(self) -> None:
        """Nothing to release: the reference index lives in memory only."""


def exact_scores(vectors: F32, queries: F32) -> F32:
    """Plain inner products (n_queries, n): the definition every backend's scores must match."""
    return np.asarray(queries, np.float32) @ np.asarray(vectors, np.float32).T
