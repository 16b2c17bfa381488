"""Every event the shop knows, live ones included, and the carousels' numbers computed from them.

Trending and popularity are windows over the event log, so they must move as events arrive: a
burst of clicks on a dress should put it in "trending" within a minute. ``EventBuffer`` keeps the
log as numpy chunks (the store's events at open, then each request's few events), and
``FreshCounts`` recomputes trending and popularity over it at most every ``refresh_s`` seconds of
the shop's clock. One vectorised pass (``bincount``) over the whole log costs a few milliseconds
for the default world's 200,000 events; the request that finds the numbers stale pays it, the
others keep reading the previous snapshot meanwhile.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import numpy.typing as npt

from lookbook.ranking import item_popularity
from lookbook.touchpoints.state import CatalogState, trending_scores

__all__ = ["EventBuffer", "FreshCounts", "with_counts"]

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]


class EventBuffer:
    """An append-only log of (catalog row, kind code, epoch seconds), read as whole arrays."""

    def __init__(self, rows: I64, kinds: I8, ts: I64) -> None:
        self._lock = threading.Lock()
        self._chunks: list[tuple[I64, I8, I64]] = [
            (np.asarray(rows, np.int64), np.asarray(kinds, np.int8), np.asarray(ts, np.int64))
        ]
        self._merged: tuple[I64, I8, I64] | None = None

    def append(self, rows: I64, kinds: I8, ts: I64) -> None:
        with self._lock:
            self._chunks.append(
                (np.asarray(rows, np.int64), np.asarray(kinds, np.int8), np.asarray(ts, np.int64))
            )
            self._merged = None

    def arrays(self) -> tuple[I64, I8, I64]:
        """``(rows, kinds, ts)`` of every event so far (chunks merged once, then reused)."""
        with self._lock:
            if self._merged is None:
                if len(self._chunks) > 1:
                    merged = tuple(np.concatenate(parts) for parts in zip(*self._chunks, strict=True))
                    self._chunks = [merged]  # type: ignore[list-item]
                self._merged = self._chunks[0]
            return self._merged

    def __len__(self) -> int:
        return int(sum(c[0].size for c in self._chunks))


class FreshCounts:
    """Trending and popularity over the event log, recomputed when ``refresh_s`` old."""

    def __init__(self, events: EventBuffer, trending_days: float, refresh_s: float = 30.0) -> None:
        self.events, self.trending_days, self.refresh_s = events, float(trending_days), float(refresh_s)
        self.computed_at = -np.inf

    def stale(self, now: float) -> bool:
        return now - self.computed_at >= self.refresh_s

    def compute(self, n_items: int, now: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """``(popularity, trending)`` over catalog rows ``[0, n_items)`` as of ``now``."""
        rows, kinds, ts = self.events.arrays()
        keep = (ts <= now) & (rows < n_items)  # an event stamped ahead of the clock counts once it passes
        rows, kinds, ts = rows[keep], kinds[keep], ts[keep]
        popularity = item_popularity(n_items, rows, kinds, ts, now=int(now))
        trending = trending_scores(rows, kinds, ts, n_items, int(now), self.trending_days)
        self.computed_at = now
        return popularity, trending


def with_counts(
    state: CatalogState, popularity: npt.NDArray[np.float32], trending: npt.NDArray[np.float32]
) -> CatalogState:
    """``state`` with new counts; rows added since they were computed count zero."""
    n = len(state.catalog)
    pad = max(n - popularity.size, 0)
    popularity = np.concatenate([popularity, np.zeros(pad, np.float32)])[:n]
    trending = np.concatenate([trending, np.zeros(pad, np.float32)])[:n]
    catalog = dataclasses.replace(state.catalog, popularity=popularity)
    return dataclasses.replace(state, catalog=catalog, trending=trending)
