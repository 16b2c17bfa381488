"""``LiveState``: the part of an open shop that live writes change and every request reads."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from lookbook.touchpoints.clock import Clock
from lookbook.touchpoints.freshness import EventBuffer, FreshCounts, with_counts
from lookbook.touchpoints.state import CatalogState, UserHistories

if TYPE_CHECKING:
    from lookbook.touchpoints.rerank_features import RerankerInputs

__all__ = ["LiveState"]


class LiveState:
    """What live writes change and requests read, shared by a ``ProjectShop`` and its ``ShopWriter``.

    ``state`` is replaced whole (never mutated) under ``lock``, so a request that took it keeps a
    consistent snapshot and two replacements never lose each other's change; ``generation`` counts
    catalog writes (cached pages older than it are stale); ``soft_generation`` counts changes that
    leave no cached page wrong, only a little old (new counts, a new model version: pages are
    refreshed in the background, ``lookbook.touchpoints.response_cache``); ``clock`` is the shop's clock;
    ``events`` the whole event log, live events included, and ``counts`` the trending and
    popularity numbers over it; ``rerank_inputs`` grows with items added while serving.
    """

    def __init__(
        self,
        state: CatalogState,
        users: UserHistories,
        clock: Clock,
        events: EventBuffer,
        counts: FreshCounts,
        rerank_inputs: RerankerInputs | None = None,
    ) -> None:
        self.state, self.users, self.clock = state, users, clock
        self.events, self.counts, self.rerank_inputs = events, counts, rerank_inputs
        self.generation = 0
        self.soft_generation = 0
        self.lock = threading.RLock()

    @property
    def now(self) -> int:
        """The shop's clock, in whole epoch seconds."""
        return int(self.clock.now())

    def current(self) -> CatalogState:
        """The snapshot to serve a request from, its counts refreshed first when they are stale
        (by one request; the others read the previous snapshot meanwhile)."""
        now = self.clock.now()
        if self.counts.stale(now) and self.lock.acquire(blocking=False):
            try:
                popularity, trending = self.counts.compute(len(self.state.catalog), now)
                self.state = with_counts(self.state, popularity, trending)
                self.soft_generation += 1  # cached pages show the old counts: refreshed soon
            finally:
                self.lock.release()
        return self.state
