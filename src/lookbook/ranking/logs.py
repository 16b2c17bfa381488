"""Logged impressions and events as arrays, and the labels a ranker learns from.

A learned ranker is trained on what a shop showed (impressions, each at a position of a slate)
and what users did next (events, as ``lookbook.tables.EventArrays``). Both arrive as long logs, so
they are parallel arrays over integer rows, and the join that labels each impression with its
outcome is a sort and two ``searchsorted`` calls rather than a loop over a million impressions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError
from lookbook.ranking.features import FEATURES
from lookbook.schema import EVENT_KIND_CODES, EventKind
from lookbook.tables import EventArrays

__all__ = ["ImpressionLog", "RankerTrainingData", "impression_labels"]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


def _check_1d(owner: str, arrays: dict[str, npt.NDArray[Any]]) -> int:
    n = -1
    for name, arr in arrays.items():
        if arr.ndim != 1 or (n >= 0 and arr.shape[0] != n):
            raise SchemaError(
                f"{owner} {name}: expected a 1-D array of length {max(n, 0)}, got shape {arr.shape}"
            )
        n = arr.shape[0]
    return max(n, 0)


@dataclass(frozen=True, eq=False)
class ImpressionLog:
    """Logged impressions as parallel arrays.

    ``group`` identifies one slate (a user's session or request); ``user`` and ``item`` are rows
    (user rows of the caller's choosing, catalog rows); ``position`` is 0 at the top;
    ``timestamp`` is epoch seconds; ``clicked`` is the logged click.
    """

    group: I64
    user: I64
    item: I64
    position: I32
    timestamp: I64
    clicked: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        for name, dtype in (
            ("group", np.int64),
            ("user", np.int64),
            ("item", np.int64),
            ("position", np.int32),
            ("timestamp", np.int64),
            ("clicked", np.bool_),
        ):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype))
        _check_1d("ImpressionLog", {f.name: getattr(self, f.name) for f in fields(self)})
        if self.position.size and self.position.min() < 0:
            raise SchemaError(f"ImpressionLog position: expected >= 0, got {int(self.position.min())}")

    def __len__(self) -> int:
        return int(self.group.size)


def impression_labels(impressions: ImpressionLog, events: EventArrays, *, window_s: int = 86_400) -> I32:
    """Label per impression: 2 if the user bought the item within ``window_s`` after it was shown,
    else 1 if it was clicked, else 0.

    ``events`` rows must use the impressions' numbering (the same user rows, catalog item rows) and
    its timestamps are epoch seconds like theirs. A vectorised as-of join: purchases sorted by
    (user, item, time), each impression looks up the first purchase of its pair at or after its
    own time.
    """
    labels = impressions.clicked.astype(np.int32)
    buy = events.kind == EVENT_KIND_CODES[EventKind.PURCHASE.value]
    if not buy.any() or len(impressions) == 0:
        return labels
    e_user = events.user_rows[buy].astype(np.int64)  # int64: the pair key below overflows int32
    e_item = events.item_rows[buy].astype(np.int64)
    n_items = int(max(events.item_rows.max(initial=0), impressions.item.max(initial=0))) + 1
    p_key = e_user * n_items + e_item
    p_time = events.timestamp[buy]
    keys, dense = np.unique(p_key, return_inverse=True)
    t0 = int(min(p_time.min(), impressions.timestamp.min()))
    span = int(max(p_time.max(), impressions.timestamp.max())) - t0 + 1
    p_comb = np.sort(dense.astype(np.int64) * span + (p_time - t0))

    i_key = impressions.user * n_items + impressions.item
    pos = np.clip(np.searchsorted(keys, i_key), 0, keys.size - 1)
    has_pair = keys[pos] == i_key
    i_comb = pos.astype(np.int64) * span + (impressions.timestamp - t0)
    j = np.searchsorted(p_comb, i_comb, side="left")
    j_ok = j < p_comb.size
    jj = np.minimum(j, p_comb.size - 1)
    same_pair = j_ok & (p_comb[jj] // span == pos)
    delay = p_comb[jj] % span + t0 - impressions.timestamp
    bought = has_pair & same_pair & (delay <= window_s)
    labels[bought] = 2
    return labels


@dataclass(frozen=True, eq=False)
class RankerTrainingData:
    """What ``Reranker.fit`` reads: one feature row and label per logged impression.

    ``features`` is ``(n, len(feature_names))`` in the ``FEATURES`` layout, computed by the caller
    from its own models (``feature_matrix``) with information available at each impression's
    time; ``labels`` come from ``impression_labels``; slates starting at or after ``valid_from``
    (epoch seconds) are the validation set.
    """

    features: F32
    impressions: ImpressionLog
    labels: I32
    valid_from: int
    feature_names: tuple[str, ...] = FEATURES
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", np.asarray(self.features, dtype=np.float32))
        object.__setattr__(self, "labels", np.asarray(self.labels, dtype=np.int32))
        n = len(self.impressions)
        if self.features.shape != (n, len(self.feature_names)):
            raise SchemaError(
                f"RankerTrainingData features: expected shape ({n}, {len(self.feature_names)}), "
                f"got {self.features.shape}"
            )
        if self.labels.shape != (n,):
            raise SchemaError(f"RankerTrainingData labels: expected shape ({n},), got {self.labels.shape}")
        if n and (self.labels.min() < 0 or self.labels.max() > 30):
            raise SchemaError("RankerTrainingData labels: expected small non-negative integer grades")
