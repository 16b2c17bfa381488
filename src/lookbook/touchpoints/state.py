"""What a running shop knows, as immutable snapshots that writes replace whole.

A request reads one ``CatalogState`` reference at its start and works on it throughout, so a
concurrent item upsert (which builds a new snapshot and swaps the reference) never shows it a
half-updated catalog. Users' histories live in ``UserHistories``: one small array tuple per user,
replaced on every event, so an event is visible to that user's next request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.models.collaborative.data import EventWeights
from lookbook.ranking import CatalogArrays
from lookbook.schema import EventKind
from lookbook.touchpoints.affinity import PreferenceScorer

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
DAY = 86_400
_KIND_CODES = {k.value: i for i, k in enumerate(EventKind)}
_WEIGHTS = EventWeights().by_code()


@dataclass(frozen=True, eq=False)
class CatalogState:
    """Row-aligned arrays of the serving catalog (row ``r`` is ``catalog.ids.ids[r]``), with the
    model-dependent parts that must change together when a model version is swapped in: the
    preference scorer, the compatibility model and the vector spaces their vectors live in. A
    request that takes one snapshot never mixes two versions."""

    catalog: CatalogArrays
    titles: npt.NDArray[np.object_]
    content: F32
    scorer: PreferenceScorer
    trending: F32  # recent engagement relative to the item's own past (>= 0)
    slots: npt.NDArray[np.object_]  # slot name per row
    spaces: Any = None  # the ItemSpaces the requests of this snapshot search
    compatibility: Any = None  # the compatibility model whose vectors the style spaces hold


class UserHistories:
    """Per-user event history: catalog rows, kinds, timestamps, and the weight of each event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[str, tuple[I64, npt.NDArray[np.int8], I64]] = {}
        self.sizes: dict[str, dict[str, str]] = {}
        self.context: dict[str, dict[str, str]] = {}

    def load(self, users: npt.NDArray[Any], rows: I64, kinds: npt.NDArray[np.int8], ts: I64) -> None:
        """Bulk load (events sorted by user then time)."""
        order = np.lexsort((ts, users))
        users, rows, kinds, ts = users[order], rows[order], kinds[order], ts[order]
        if users.size == 0:
            return
        cuts = np.flatnonzero(users[1:] != users[:-1]) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [users.size]])
        with self._lock:
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True):  # once per user at startup
                self._by_user[str(users[s])] = (rows[s:e], kinds[s:e], ts[s:e])

    def append(self, user_id: str, rows: I64, kinds: npt.NDArray[np.int8], ts: I64) -> None:
        with self._lock:
            old = self._by_user.get(user_id)
            if old is None:
                self._by_user[user_id] = (rows, kinds, ts)
            else:
                self._by_user[user_id] = tuple(  # type: ignore[assignment]
                    np.concatenate([a, b]) for a, b in zip(old, (rows, kinds, ts), strict=True)
                )

    def get(self, user_id: str | None) -> tuple[I64, npt.NDArray[np.int8], I64]:
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64))
        if user_id is None:
            return empty
        return self._by_user.get(user_id, empty)

    def knows(self, user_id: str) -> bool:
        return user_id in self._by_user or user_id in self.sizes

    def users(self) -> list[str]:
        return list(self._by_user)

    def weights(self, kinds: npt.NDArray[np.int8], ts: I64, now: int) -> F32:
        """Event weights (kind weight x 60-day half-life decay), as the preference model trains."""
        cfg = EventWeights()
        age = np.maximum(now - ts, 0) / DAY
        decay = np.exp2(-age / cfg.half_life_days) if cfg.half_life_days else 1.0
        return (_WEIGHTS[kinds.astype(np.int64)] * decay).astype(np.float32)


def kind_code(kind: str) -> int:
    return _KIND_CODES[kind]


def trending_scores(rows: I64, kinds: npt.NDArray[np.int8], ts: I64, n: int, now: int, days: float) -> F32:
    """Engagement of the last ``days`` over the item's average for such a window before, smoothed."""
    positive = _WEIGHTS[kinds.astype(np.int64)] > 0
    recent = positive & (ts >= now - days * DAY)
    past = positive & ~recent
    r = np.bincount(rows[recent], minlength=n).astype(np.float32)
    p = np.bincount(rows[past], minlength=n).astype(np.float32)
    span = max(float(now - ts.min()) / DAY if ts.size else days, days)
    windows = max(span / days - 1.0, 1.0)
    return (r * np.log1p(r) / (p / windows + 1.0)).astype(np.float32)
