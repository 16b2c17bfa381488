"""The ``VectorIndex`` protocol every retrieval backend implements, and the checks they share.

Later layers (ranking, touchpoints, serving) call only this protocol, so the embedded engine, a
distributed one and the numpy reference are interchangeable by configuration. Scores are inner
products of the stored and the query vectors (cosine similarity for the L2-normalised vectors
Lookbook stores); ``SearchResult.ids`` rows are padded with ``""`` when fewer than ``k`` items match.
Every check here runs before a backend touches its engine: a bad call raises and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.index.filters import Filter, PayloadSchema

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SearchResult:
    """``ids`` (n_queries, k) of str (``""`` = no result) and ``scores`` (n_queries, k), best first."""

    ids: npt.NDArray[np.str_]
    scores: F32

    def row(self, i: int) -> list[str]:
        """The non-empty ids of query ``i``."""
        return [x for x in self.ids[i].tolist() if x]


@runtime_checkable
class VectorIndex(Protocol):
    """A collection of (id, vector, payload) with filtered k-nearest-neighbour search."""

    dim: int
    schema: PayloadSchema

    def upsert(
        self, ids: Sequence[str], vectors: npt.ArrayLike, payloads: Sequence[Mapping[str, Any]] | None = None
    ) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def search(
        self, vectors: npt.ArrayLike, k: int, filter: Filter | None = None, exact: bool = False
    ) -> SearchResult: ...

    def count(self, filter: Filter | None = None) -> int: ...

    def close(self) -> None: ...


def check_upsert(
    dim: int,
    schema: PayloadSchema,
    ids: Sequence[str],
    vectors: npt.ArrayLike,
    payloads: Sequence[Mapping[str, Any]] | None,
) -> tuple[list[str], F32, list[Mapping[str, Any]]]:
    """Validated ``(ids, vectors, payloads)`` of an upsert, or ``SchemaError`` / ``DimensionMismatch``
    naming the row and field."""
    id_list = [str(i) for i in ids]
    if any(not i for i in id_list):
        raise SchemaError("upsert ids: an id is empty")
    if len(set(id_list)) != len(id_list):
        seen: set[str] = set()
        dup = next(i for i in id_list if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise SchemaError(f"upsert ids: duplicate id {dup!r} in one call")
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != len(id_list):
        raise DimensionMismatch(f"upsert vectors: expected shape ({len(id_list)}, {dim}), got {x.shape}")
    if x.shape[1] != dim:
        raise DimensionMismatch(f"upsert vectors: expected dimension {dim}, got {x.shape[1]}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"upsert vectors: row {row} (id {id_list[row]!r}) has NaN or inf")
    if payloads is None:
        plist: list[Mapping[str, Any]] = [{} for _ in id_list]
    else:
        plist = list(payloads)
        if len(plist) != len(id_list):
            raise SchemaError(f"upsert payloads: {len(plist)} payloads for {len(id_list)} ids")
        for row, p in enumerate(plist):
            schema.check_payload(p, row=row)
    return id_list, np.ascontiguousarray(x), plist


def check_query(
    dim: int, schema: PayloadSchema, vectors: npt.ArrayLike, k: int, filter: Filter | None
) -> F32:
    """Validated query vectors (n, dim); the filter is checked against the schema."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SchemaError(f"search k: expected an int >= 1, got {k!r}")
    q = np.asarray(vectors, dtype=np.float32)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != dim:
        raise DimensionMismatch(f"search vectors: expected (n, {dim}), got {q.shape}")
    if not np.isfinite(q).all():
        raise SchemaError("search vectors: contain NaN or inf")
    if filter is not None:
        if not isinstance(filter, Filter):
            raise SchemaError(f"search filter: expected a lookbook.index.filters expression, got {filter!r}")
        filter.validate(schema)
    return np.ascontiguousarray(q)
