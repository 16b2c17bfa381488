"""From a ``World`` or plain id arrays to ``InteractionData``, and the per-user temporal split.

Every collaborative protocol (the CSV contract, H&M, the demo worlds) starts here, so rows, kinds,
seconds and weights are derived one way. The split holds out each user's *latest* positive events:
a recommender is asked about the future, so a random split (which lets it peek at next month's
purchases while learning) would flatter every model, and the popular ones most.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.datasets.world import World
from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.models.collaborative.data import EventWeights, InteractionData, event_weights
from lookbook.schema import EventKind, IdMap

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_POSITIVE_KINDS",
    "DEFAULT_WEIGHTS",
    "interactions_from_arrays",
    "interactions_from_world",
    "seconds",
    "temporal_split",
    "unique_in_order",
]

I64 = npt.NDArray[np.int64]

#: Kinds that say "the user wants this": what a held-out test asks a model to find. A view is too
#: weak (often a mis-tap) and returns / dislikes are the opposite.
DEFAULT_POSITIVE_KINDS: tuple[EventKind, ...] = (
    EventKind.PURCHASE,
    EventKind.ADD_TO_BAG,
    EventKind.SAVE,
    EventKind.CLICK,
)

#: The default kind weights and half-life (a module-level instance: defaults are evaluated once).
DEFAULT_WEIGHTS = EventWeights()

_KIND_MAP = IdMap([k.value for k in EventKind], name="event kind")


def unique_in_order(values: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Distinct values of ``values`` in order of first appearance (vectorised, unlike ``dict.fromkeys``)."""
    arr = np.asarray(values).astype(str)
    uniq, first = np.unique(arr, return_index=True)
    return uniq[np.argsort(first, kind="stable")]


def seconds(timestamps: pa.Array | pa.ChunkedArray) -> I64:
    """Epoch seconds (floored) of an Arrow timestamp column, whatever its unit."""
    if isinstance(timestamps, pa.ChunkedArray):
        timestamps = timestamps.combine_chunks()
    if not pa.types.is_timestamp(timestamps.type):
        raise SchemaError(f"timestamp: expected an Arrow timestamp column, got {timestamps.type}")
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[timestamps.type.unit]
    if timestamps.null_count:
        raise SchemaError(f"timestamp: {timestamps.null_count} events have no timestamp")
    raw = timestamps.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.floor_divide(raw, per_second).astype(np.int64)


def _kind_codes(kinds: npt.ArrayLike | None, n: int) -> npt.NDArray[np.int8] | None:
    """``EventKind`` storage codes of kind names (or codes passed through, after a range check)."""
    if kinds is None:
        return None
    arr = np.asarray(kinds)
    if arr.shape != (n,):
        raise SchemaError(f"kinds: expected shape ({n},) like the ids, got {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() >= len(EventKind)):
            raise SchemaError(f"kinds: codes must be in [0, {len(EventKind)}), got {arr.min()}..{arr.max()}")
        return arr.astype(np.int8)
    try:
        return _KIND_MAP.lookup(np.char.lower(arr.astype(str))).astype(np.int8)
    except NotFound as exc:
        raise SchemaError(f"kinds: expected one of {[k.value for k in EventKind]}; {exc}") from None


def interactions_from_arrays(
    user_ids: npt.ArrayLike,
    item_ids: npt.ArrayLike,
    timestamps: npt.ArrayLike,
    kinds: npt.ArrayLike | None = None,
    weights: EventWeights = DEFAULT_WEIGHTS,
    item_universe: npt.ArrayLike | None = None,
    *,
    user_universe: npt.ArrayLike | None = None,
    on_unknown_item: Literal["raise", "drop"] = "raise",
    item_features: npt.NDArray[np.float32] | None = None,
) -> InteractionData:
    """``InteractionData`` from aligned arrays of string ids, epoch seconds and (optionally) kinds.

    Parameters
    ----------
    user_ids, item_ids:
        ``(m,)`` ids of each event; read as strings.
    timestamps:
        ``(m,)`` epoch seconds.
    kinds:
        ``(m,)`` ``EventKind`` names (case-insensitive) or storage codes; ``None`` for logs without
        kinds (every event a plain positive, weight 1 before decay).
    weights:
        Kind weights and recency half-life (``event_weights``; the newest event here is "now").
    item_universe:
        The item rows, in order (a catalog may hold items nobody touched: cold items). ``None``:
        the distinct event items in order of first appearance.
    user_universe:
        The user rows, in order; event users missing from it are appended (sorted) with a warning.
        ``None``: the distinct event users in order of first appearance.
    on_unknown_item:
        What to do with events whose item is not in ``item_universe``: ``"raise"`` (``NotFound``
        naming the first one) or ``"drop"`` them with a warning.
    item_features:
        ``(n_items, D)`` content vectors in ``item_universe`` order, if known.
    """
    users = np.asarray(user_ids).astype(str)
    items = np.asarray(item_ids).astype(str)
    ts = np.asarray(timestamps)
    if not (users.ndim == items.ndim == ts.ndim == 1 and users.size == items.size == ts.size):
        raise SchemaError(
            f"interactions: expected equal-length 1-D user ids, item ids and timestamps, got shapes "
            f"{users.shape}, {items.shape}, {ts.shape}"
        )
    if ts.size and not np.issubdtype(ts.dtype, np.integer):
        raise SchemaError(f"timestamps: expected integer epoch seconds, got dtype {ts.dtype}")
    ts = ts.astype(np.int64)
    codes = _kind_codes(kinds, users.size)

    item_map = IdMap(unique_in_order(items) if item_universe is None else item_universe, name="item_id")
    item_rows = item_map.lookup(items, missing=-1)
    unknown = item_rows < 0
    if unknown.any():
        if on_unknown_item == "raise":
            raise NotFound(f"item_id: unknown id {items[unknown][0]!r} (not in the item universe)")
        log.warning(
            "interactions: dropping %d events of %d items missing from the catalog",
            int(unknown.sum()),
            np.unique(items[unknown]).size,
        )
        keep = ~unknown
        users, item_rows, ts = users[keep], item_rows[keep], ts[keep]
        codes = None if codes is None else codes[keep]

    if user_universe is None:
        user_map = IdMap(unique_in_order(users), name="user_id")
    else:
        known = np.asarray(user_universe).astype(str)
        extra = np.setdiff1d(users, known)
        if extra.size:
            log.warning("interactions: %d event users are missing from the user table; added", extra.size)
            known = np.concatenate([known, extra])
        user_map = IdMap(known, name="user_id")
    user_rows = user_map.lookup(users)

    return InteractionData(
        user_ids=user_map,
        item_ids=item_map,
        user=user_rows,
        item=item_rows,
        timestamp=ts,
        weight=event_weights(codes, ts, weights),
        kind=codes,
        item_features=item_features,
    )


def interactions_from_world(
    world: World,
    weights: EventWeights = DEFAULT_WEIGHTS,
    *,
    item_features: npt.NDArray[np.float32] | None = None,
    position_debias: bool = False,
) -> InteractionData:
    """The events of a world over its user and item tables (item rows = ``world.items`` order).

    Users are ``world.users`` in table order, then any event user missing there. Events of items
    missing from the catalog are dropped with a warning (a loader keeps them out already; this
    only guards hand-built worlds). Timestamps become epoch seconds, floored.

    ``position_debias`` multiplies each click's weight by its inverse examination propensity,
    estimated from the world's logged impressions (``position_bias``).
    """
    events = world.events
    data = interactions_from_arrays(
        events.column("user_id").to_numpy(zero_copy_only=False),
        events.column("item_id").to_numpy(zero_copy_only=False),
        seconds(events.column("timestamp")),
        pc.index_in(events.column("kind"), value_set=pa.array([k.value for k in EventKind]))
        .to_numpy(zero_copy_only=False)
        .astype(np.int64),
        weights,
        world.items.column("item_id").to_numpy(zero_copy_only=False),
        user_universe=world.users.column("user_id").to_numpy(zero_copy_only=False),
        on_unknown_item="drop",
        item_features=item_features,
    )
    if not position_debias:
        return data
    return _position_debiased(world, data)


def _position_debiased(world: World, data: InteractionData) -> InteractionData:
    """``data`` with click weights divided by their position's examination propensity."""
    import dataclasses

    from lookbook.models.collaborative.position_bias import inverse_propensity, position_propensity

    imp = world.impressions
    if imp.num_rows == 0 or "position" not in world.events.column_names:
        raise LookbookError("position_debias: the world has no logged impressions with positions")
    propensity = position_propensity(
        imp.column("position").to_numpy(zero_copy_only=False),
        imp.column("clicked").to_numpy(zero_copy_only=False),
    )
    if data.user.size != world.events.num_rows:
        raise LookbookError("position_debias: events were dropped while loading; positions no longer align")
    positions = pc.fill_null(world.events.column("position"), -1).to_numpy(zero_copy_only=False)
    click = list(EventKind).index(EventKind.CLICK)
    ipw = np.where(data.kind == click, inverse_propensity(positions, propensity), 1.0).astype(np.float32)
    log.info("position debias: propensity %s", np.round(propensity[:10], 3).tolist())
    return dataclasses.replace(data, weight=(data.weight * ipw).astype(np.float32))


def _positive_mask(data: InteractionData, positive_kinds: Iterable[EventKind | str] | None) -> npt.NDArray:
    if data.kind is None:
        if positive_kinds is not None:
            raise LookbookError("temporal_split positive_kinds: the data has no event kinds to select on")
        return np.ones(data.user.size, dtype=bool)
    kinds = DEFAULT_POSITIVE_KINDS if positive_kinds is None else tuple(positive_kinds)
    codes = _KIND_MAP.lookup([EventKind(k).value for k in kinds])
    return np.isin(data.kind, codes)


def temporal_split(
    data: InteractionData,
    test_fraction: float = 0.2,
    *,
    positive_kinds: Iterable[EventKind | str] | None = None,
) -> tuple[InteractionData, InteractionData]:
    """Hold out each user's latest positive events: ``(train, test)`` over the same rows.

    Per user, events are ordered by time, ties by their order in ``data`` (stable). With ``n``
    positive events (kinds in ``positive_kinds``, default ``DEFAULT_POSITIVE_KINDS``; every event
    when the data has no kinds) the last ``t = floor(test_fraction * n)`` go to test, raised to 1
    when ``n >= 2`` and capped at ``n - 1`` so that the user keeps a positive in train; users with
    fewer than 2 positives keep everything in train.

    Train holds every event of the user *before* the first test event in that order (views,
    returns and dislikes included: they are history the model may learn from). Non-positive events
    after that cutoff are dropped: they belong to the future but are nothing a test can ask for.
    A user's test events are the positives from the cutoff on, so the two never overlap in time.

    Weights are kept as computed on ``data`` (recency relative to its newest event); because decay
    is exponential, that only rescales all train weights by one constant.
    """
    if not 0.0 < test_fraction < 1.0:
        raise LookbookError(
            f"temporal_split test_fraction: expected a number in (0, 1), got {test_fraction!r}"
        )
    m = data.user.size
    positive = _positive_mask(data, positive_kinds)
    order = np.lexsort((np.arange(m), data.timestamp, data.user))
    user_s = data.user[order]
    pos_s = positive[order]

    n_pos = np.bincount(data.user[positive], minlength=data.n_users)
    n_test = np.floor(test_fraction * n_pos + 1e-9).astype(np.int64)
    n_test = np.where(n_pos >= 2, np.clip(n_test, 1, np.maximum(n_pos - 1, 1)), 0)

    # Rank of each positive among its user's positives (0 = oldest), from one cumsum and the
    # cumsum's value at the user's first event.
    cum = np.cumsum(pos_s)
    starts = np.searchsorted(user_s, np.arange(data.n_users))
    before_user = np.concatenate([[0], cum])[starts]
    pos_rank = cum - 1 - before_user[user_s]
    test_s = pos_s & (pos_rank >= (n_pos - n_test)[user_s])

    # The cutoff is the sorted position of each user's first test event; m (beyond all) if none.
    cutoff = np.full(data.n_users, m, dtype=np.int64)
    test_pos = np.flatnonzero(test_s)
    first_users, first_at = np.unique(user_s[test_pos], return_index=True)
    cutoff[first_users] = test_pos[first_at]
    train_s = np.arange(m) < cutoff[user_s]

    train_mask = np.empty(m, dtype=bool)
    test_mask = np.empty(m, dtype=bool)
    train_mask[order] = train_s
    test_mask[order] = test_s
    log.debug(
        "temporal_split: %d train, %d test, %d dropped events; %d users with a test",
        int(train_mask.sum()), int(test_mask.sum()), int(m - train_mask.sum() - test_mask.sum()),
        first_users.size,
    )  # fmt: skip
    return data.subset(train_mask), data.subset(test_mask)
