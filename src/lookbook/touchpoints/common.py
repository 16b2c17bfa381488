"""Small pieces every touchpoint shares: filters, the stand-in affinity of anonymous visitors,
and turning a search into candidates with the distance of the right space."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from lookbook.index.filters import Eq, Filter
from lookbook.ranking import Candidates
from lookbook.touchpoints.state import CatalogState

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

IN_STOCK: Filter = Eq("in_stock", True)


def popularity_affinity(state: CatalogState) -> F32:
    """An anonymous visitor's stand-in affinity: each item's popularity percentile in (0, 1)."""
    pop = state.catalog.popularity
    order = np.argsort(pop, kind="stable")
    pct = np.empty(pop.size, np.float32)
    pct[order] = (np.arange(pop.size, dtype=np.float32) + 0.5) / max(pop.size, 1)
    return pct


def with_distance(c: Candidates, d: F32) -> Candidates:
    """The same candidates with distances measured elsewhere (e.g. to the hero in content space)."""
    return dataclasses.replace(c, d=np.asarray(d, dtype=np.float32))


def live_rows(state: CatalogState, mask: npt.NDArray[np.bool_]) -> I64:
    c = state.catalog
    return np.flatnonzero(mask & c.alive & c.in_stock).astype(np.int64)


def top_rows(score: F32, rows: I64, n: int) -> I64:
    """The ``n`` best ``rows`` by ``score[rows]``, best first."""
    if rows.size <= n:
        return rows[np.argsort(-score[rows], kind="stable")]
    part = rows[np.argpartition(-score[rows], n - 1)[:n]]
    return part[np.argsort(-score[part], kind="stable")]
