"""Interaction data for the collaborative models: events as arrays, weighted by kind and recency.

Every collaborative model (popularity, ALS, EASE, the two-tower) reads one ``InteractionData``:
integer user and item rows, a timestamp and a weight per event, and optionally the items' content
vectors (the cold-start path). Weights follow case study 002: a purchase says more than a click, a
return or a dislike says "no", and last month's click says more than last year's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lookbook.errors import SchemaError
from lookbook.schema import EventKind, IdMap

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class EventWeights:
    """How much each kind of event says about a user's preference, and how fast it fades.

    Positive kinds are ordered purchase > add_to_bag > save > click > view (a view is a weak,
    often accidental signal); ``return`` and ``dislike`` are negative and cancel earlier positive
    events on the same item. ``half_life_days`` halves an event's weight for each that many days
    before the newest event in the data (``None``: no decay).
    """

    view: float = 0.25
    click: float = 1.0
    save: float = 2.0
    add_to_bag: float = 3.0
    purchase: float = 5.0
    return_: float = -4.0
    dislike: float = -5.0
    half_life_days: float | None = 60.0

    def __post_init__(self) -> None:
        positive = (self.view, self.click, self.save, self.add_to_bag, self.purchase)
        if any(not np.isfinite(w) or w < 0 for w in positive):
            raise SchemaError(f"EventWeights: positive kinds need finite weights >= 0, got {positive}")
        if not (self.purchase >= self.add_to_bag >= self.save >= self.click >= self.view):
            raise SchemaError(
                "EventWeights: expected purchase >= add_to_bag >= save >= click >= view, "
                f"got {positive[::-1]}"
            )
        if self.return_ > 0 or self.dislike > 0:
            raise SchemaError(
                f"EventWeights: return and dislike are negative signals, got {self.return_}, {self.dislike}"
            )
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise SchemaError(f"EventWeights.half_life_days: expected > 0 or None, got {self.half_life_days}")

    def by_code(self) -> F32:
        """Weight per ``EventKind`` storage code (the enum's order)."""
        table = {
            EventKind.VIEW: self.view,
            EventKind.CLICK: self.click,
            EventKind.ADD_TO_BAG: self.add_to_bag,
            EventKind.SAVE: self.save,
            EventKind.PURCHASE: self.purchase,
            EventKind.RETURN: self.return_,
            EventKind.DISLIKE: self.dislike,
        }
        return np.asarray([table[k] for k in EventKind], dtype=np.float32)


def event_weights(
    kind: npt.ArrayLike | None,
    timestamp: npt.ArrayLike,
    config: EventWeights = EventWeights(),
    *,
    now: int | None = None,
) -> F32:
    """Weight of each event: its kind's weight times ``0.5 ** (age / half_life)``.

    ``kind`` holds ``EventKind`` codes (``None``: every event is a plain positive with weight 1,
    as in interaction logs without kinds). ``now`` defaults to the newest timestamp (seconds).
    """
    ts = np.asarray(timestamp, dtype=np.int64)
    if kind is None:
        base = np.ones(ts.size, dtype=np.float32)
    else:
        codes = np.asarray(kind, dtype=np.int64)
        table = config.by_code()
        if codes.shape != ts.shape:
            raise SchemaError(f"event_weights: {codes.size} kinds but {ts.size} timestamps")
        if codes.size and (codes.min() < 0 or codes.max() >= table.size):
            raise SchemaError(f"event_weights: kind codes must be in [0, {table.size}), got {codes.max()}")
        base = table[codes]
    if config.half_life_days is None or ts.size == 0:
        return base.astype(np.float32)
    ref = int(ts.max()) if now is None else int(now)
    age_days = np.maximum(ref - ts, 0) / DAY_SECONDS
    return (base * np.exp2(-age_days / config.half_life_days)).astype(np.float32)


@dataclass(frozen=True)
class InteractionData:
    """Events as aligned arrays over fixed user and item rows.

    ``user`` / ``item`` are rows into ``user_ids`` / ``item_ids``; ``timestamp`` is seconds;
    ``weight`` comes from ``event_weights`` (negative for returns and dislikes); ``kind`` holds
    ``EventKind`` codes or is None for logs without kinds. ``item_features`` (n_items, D) are the
    items' content vectors when known: the cold-start path of models that use them.
    """

    user_ids: IdMap
    item_ids: IdMap
    user: I64
    item: I64
    timestamp: I64
    weight: F32
    kind: npt.NDArray[np.int8] | None = None
    item_features: F32 | None = None
    extras: dict[str, npt.NDArray[np.generic]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = self.user.size
        for name in ("item", "timestamp", "weight"):
            if getattr(self, name).shape != (m,):
                raise SchemaError(
                    f"InteractionData.{name}: expected shape ({m},), got {getattr(self, name).shape}"
                )
        if self.kind is not None and self.kind.shape != (m,):
            raise SchemaError(f"InteractionData.kind: expected shape ({m},), got {self.kind.shape}")
        if m and (self.user.min() < 0 or self.user.max() >= len(self.user_ids)):
            raise SchemaError(f"InteractionData.user: rows must be in [0, {len(self.user_ids)})")
        if m and (self.item.min() < 0 or self.item.max() >= len(self.item_ids)):
            raise SchemaError(f"InteractionData.item: rows must be in [0, {len(self.item_ids)})")
        if self.item_features is not None and self.item_features.shape[0] != len(self.item_ids):
            raise SchemaError(
                f"InteractionData.item_features: expected {len(self.item_ids)} rows, "
                f"got {self.item_features.shape[0]}"
            )

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def matrix(self) -> sp.csr_matrix:
        """(n_users, n_items) summed event weights, negatives cancelling positives, floored at 0."""
        m = sp.csr_matrix(
            (self.weight.astype(np.float32), (self.user, self.item)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        m.data = np.maximum(m.data, 0.0)
        m.eliminate_zeros()
        return m

    def negatives(self) -> sp.csr_matrix:
        """(n_users, n_items) boolean: items a user returned or disliked (net weight below zero)."""
        m = sp.csr_matrix(
            (self.weight.astype(np.float32), (self.user, self.item)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        m.data = (m.data < 0).astype(np.float32)
        m.eliminate_zeros()
        return m.astype(bool)

    def subset(self, mask: npt.NDArray[np.bool_]) -> InteractionData:
        """The events where ``mask`` holds, over the same user and item rows."""
        return InteractionData(
            self.user_ids,
            self.item_ids,
            self.user[mask],
            self.item[mask],
            self.timestamp[mask],
            self.weight[mask],
            None if self.kind is None else self.kind[mask],
            self.item_features,
            {k: v[mask] for k, v in self.extras.items()},
        )
