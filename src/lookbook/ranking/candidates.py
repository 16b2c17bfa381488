"""Candidates: catalog rows with their provenance, as parallel arrays.

Candidate generation runs one filtered ANN query per anchor (an item the user saved, a garment
in a photo, the user's own preference vector) or reads a list (popular in the user's size, new
in). Every candidate keeps which anchor found it, its distance ``d`` to that anchor and the user's
affinity ``a`` to it: the score blends them, the reranker reads them as features, and the
explanation ("similar to the jacket you saved") is the anchor's relation and label. Anchors are a
handful per request, so they are a tuple of small records; candidates are hundreds, so they are
arrays that every stage indexes at once.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError
from lookbook.index.base import SearchResult
from lookbook.ranking.catalog import CatalogArrays

__all__ = ["Anchor", "Candidates", "Relation", "concat", "from_rows", "from_search"]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


class Relation(enum.StrEnum):
    """How an anchor relates to the items it found; picks the explanation's wording."""

    SIMILAR = "similar"  # nearest neighbours in the content space of an item the user engaged with
    GOES_WITH = "goes_with"  # compatible partners (style space) of an item the user owns or wears
    FOR_YOU = "for_you"  # nearest items to the user's preference vector
    POPULAR_IN_SIZE = "popular_in_size"  # the popularity list, filtered to the user's sizes
    TRENDING = "trending"  # rising engagement
    NEW_IN = "new_in"  # recent arrivals


#: Relations whose explanation names the anchor, so the anchor needs a label.
LABELLED: frozenset[Relation] = frozenset({Relation.SIMILAR, Relation.GOES_WITH})


@dataclass(frozen=True)
class Anchor:
    """What found a group of candidates: a relation and, for item anchors, a label for people.

    ``label`` is written for the explanation template ("the jacket you saved", "your jeans");
    ``item_row`` optionally records the anchor item's catalog row.
    """

    relation: Relation
    label: str = ""
    item_row: int = -1

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "relation", Relation(self.relation))
        except ValueError:
            raise SchemaError(
                f"Anchor relation: expected one of {[r.value for r in Relation]}, got {self.relation!r}"
            ) from None
        if self.relation in LABELLED and not self.label.strip():
            raise SchemaError(
                f"Anchor label: a {self.relation.value!r} anchor needs a label to explain itself"
            )


def _f32(values: npt.ArrayLike | None, n: int, name: str) -> F32:
    if values is None:
        return np.full(n, np.nan, dtype=np.float32)
    arr = np.asarray(values, dtype=np.float32)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=np.float32)
    if arr.shape != (n,):
        raise SchemaError(f"Candidates {name}: expected shape ({n},), got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class Candidates:
    """Parallel arrays, one entry per (candidate, anchor) found; duplicates are allowed until
    ``dedupe_min_distance``.

    Attributes
    ----------
    rows:
        ``(n,)`` int64 catalog rows.
    anchor:
        ``(n,)`` int32 index into ``anchors`` (-1: no anchor, e.g. a hand-picked row).
    d:
        ``(n,)`` float32 cosine distance to the anchor, in [0, 2]; NaN when the source has none.
    a:
        ``(n,)`` float32 the user's affinity; NaN when unknown (a new user).
    style:
        ``(n,)`` float32 style compatibility with what the user owns or views; NaN when unknown.
    anchors:
        The anchors of this request.
    """

    rows: I64
    anchor: I32
    d: F32
    a: F32
    style: F32
    anchors: tuple[Anchor, ...] = field(default=())

    def __post_init__(self) -> None:
        # no copies when the dtypes are already right (the stages pass arrays they made)
        for name, dtype in (("rows", np.int64), ("anchor", np.int32), ("d", np.float32), ("a", np.float32)):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype))
        object.__setattr__(self, "style", np.asarray(self.style, dtype=np.float32))
        object.__setattr__(self, "anchors", tuple(self.anchors))
        n = self.rows.shape[0] if self.rows.ndim == 1 else -1
        for name in ("rows", "anchor", "d", "a", "style"):
            shape = getattr(self, name).shape
            if shape != (n,):
                raise SchemaError(f"Candidates {name}: expected shape ({max(n, 0)},) like rows, got {shape}")
        if n and self.anchor.max(initial=-1) >= len(self.anchors):
            raise SchemaError(
                f"Candidates anchor: index {int(self.anchor.max())} but only {len(self.anchors)} anchors"
            )

    @classmethod
    def empty(cls, anchors: tuple[Anchor, ...] = ()) -> Candidates:
        z = np.zeros(0, dtype=np.float32)
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), z, z.copy(), z.copy(), anchors)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def take(self, index: npt.ArrayLike) -> Candidates:
        """The candidates at ``index`` (integer positions or a boolean mask), same anchors."""
        idx = np.asarray(index)
        return Candidates(
            self.rows[idx], self.anchor[idx], self.d[idx], self.a[idx], self.style[idx], self.anchors
        )

    def with_affinity(self, a: npt.ArrayLike) -> Candidates:
        """The same candidates with affinities ``a`` (one per candidate, or a scalar)."""
        return Candidates(self.rows, self.anchor, self.d, _f32(a, len(self), "a"), self.style, self.anchors)

    def with_style(self, style: npt.ArrayLike) -> Candidates:
        """The same candidates with style compatibilities (one per candidate, or a scalar)."""
        return Candidates(
            self.rows, self.anchor, self.d, self.a, _f32(style, len(self), "style"), self.anchors
        )


def _per_row(values: npt.ArrayLike | None, catalog: CatalogArrays, rows: I64, name: str) -> F32:
    """``values[rows]`` of a catalog-row-aligned array (NaN when ``values`` is None)."""
    if values is None:
        return np.full(rows.size, np.nan, dtype=np.float32)
    arr = np.asarray(values, dtype=np.float32)
    if arr.shape != (len(catalog),):
        raise SchemaError(
            f"from_search {name}: expected one value per catalog row ({len(catalog)},), got {arr.shape}"
        )
    return arr[rows]


def from_search(
    result: SearchResult,
    catalog: CatalogArrays,
    anchors: Sequence[Anchor],
    *,
    affinity: npt.ArrayLike | None = None,
    style: npt.ArrayLike | None = None,
) -> Candidates:
    """Candidates of one ``VectorIndex.search`` with one query per anchor (query ``i`` = anchor ``i``).

    Padding (``""``) and ids the catalog does not know (an index that lags a deletion) are
    dropped. ``d = 1 - score`` (scores are inner products of unit vectors). ``affinity`` and
    ``style``, when given, are catalog-row-aligned ``(n_items,)`` arrays (e.g. the user vector
    dotted with every item vector); for per-candidate values use ``with_affinity`` / ``with_style``.
    """
    anchors = tuple(anchors)
    ids = np.asarray(result.ids)
    scores = np.asarray(result.scores, dtype=np.float32)
    if ids.ndim != 2 or ids.shape != scores.shape:
        raise SchemaError(
            f"from_search result: ids {ids.shape} and scores {scores.shape} must be equal 2-D shapes"
        )
    if ids.shape[0] != len(anchors):
        raise SchemaError(
            f"from_search anchors: {len(anchors)} anchors for {ids.shape[0]} queries (one per query)"
        )
    flat = ids.ravel()
    rows = catalog.ids.lookup(flat, missing=-1)
    keep = (flat != "") & (rows >= 0)
    rows = rows[keep]
    anchor = np.repeat(np.arange(ids.shape[0], dtype=np.int32), ids.shape[1])[keep]
    d = (1.0 - scores.ravel()[keep]).astype(np.float32)
    return Candidates(
        rows,
        anchor,
        d,
        _per_row(affinity, catalog, rows, "affinity"),
        _per_row(style, catalog, rows, "style"),
        anchors,
    )


def from_rows(
    rows: npt.ArrayLike,
    anchor: Anchor,
    *,
    d: npt.ArrayLike | None = None,
    a: npt.ArrayLike | None = None,
    style: npt.ArrayLike | None = None,
) -> Candidates:
    """Candidates from a list of catalog rows that one source produced (popular in your size, new in).

    ``d``, ``a`` and ``style`` are per-row values, scalars or None (NaN: the source has none).
    """
    r = np.asarray(rows, dtype=np.int64)
    if r.ndim != 1:
        raise SchemaError(f"from_rows rows: expected a 1-D array of catalog rows, got shape {r.shape}")
    n = r.size
    return Candidates(
        r,
        np.zeros(n, dtype=np.int32),
        _f32(d, n, "d"),
        _f32(a, n, "a"),
        _f32(style, n, "style"),
        (anchor,),
    )


def concat(parts: Sequence[Candidates]) -> Candidates:
    """All candidates of ``parts`` in one set; anchors are concatenated and re-indexed."""
    if not parts:
        return Candidates.empty()
    offsets = np.cumsum([0] + [len(p.anchors) for p in parts[:-1]])
    anchor = np.concatenate(
        [
            np.where(p.anchor >= 0, p.anchor + off, -1).astype(np.int32)
            for p, off in zip(parts, offsets, strict=True)
        ]
    )
    return Candidates(
        np.concatenate([p.rows for p in parts]),
        anchor,
        np.concatenate([p.d for p in parts]),
        np.concatenate([p.a for p in parts]),
        np.concatenate([p.style for p in parts]),
        tuple(a for p in parts for a in p.anchors),
    )
