"""Interaction data: kind and recency weights, loading from worlds and arrays, the temporal split."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lookbook.datasets.world import World
from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.models.collaborative.data import DAY_SECONDS, EventWeights, event_weights
from lookbook.models.collaborative.loading import (
    interactions_from_arrays,
    interactions_from_world,
    temporal_split,
)
from lookbook.schema import EVENT_KIND_CODES, EventKind

NO_DECAY = EventWeights(half_life_days=None)


def codes(*kinds: str) -> np.ndarray:
    return np.array([EVENT_KIND_CODES[k] for k in kinds], dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------------


def test_kind_weights_follow_the_storage_order_and_the_preference_order() -> None:
    table = EventWeights().by_code()
    assert [table[EVENT_KIND_CODES[k.value]] for k in EventKind] == [0.25, 1.0, 3.0, 2.0, 5.0, -4.0, -5.0]
    kinds = ["view", "click", "save", "add_to_bag", "purchase"]
    w = event_weights(codes(*kinds), np.zeros(5, dtype=np.int64), NO_DECAY)
    assert np.all(np.diff(w) > 0), "view < click < save < add_to_bag < purchase"
    with pytest.raises(SchemaError, match="purchase >= add_to_bag"):
        EventWeights(click=3.0)


def test_recency_halves_the_weight_every_half_life() -> None:
    now = 1_000 * DAY_SECONDS
    ts = np.array([now, now - 60 * DAY_SECONDS, now - 120 * DAY_SECONDS, now - 30 * DAY_SECONDS])
    w = event_weights(codes("purchase", "purchase", "purchase", "click"), ts)
    np.testing.assert_allclose(w, [5.0, 2.5, 1.25, 2**-0.5], rtol=1e-6)
    # ``now`` defaults to the newest event; an explicit one shifts every weight by one factor.
    np.testing.assert_allclose(
        event_weights(None, ts, now=now + 60 * DAY_SECONDS), [0.5, 0.25, 0.125, 2**-1.5]
    )
    np.testing.assert_array_equal(event_weights(None, ts, NO_DECAY), np.ones(4, dtype=np.float32))


def test_returns_and_dislikes_cancel_earlier_positives_in_the_matrix() -> None:
    data = interactions_from_arrays(
        ["u", "u", "u", "u", "u", "v"],
        ["shirt", "shirt", "dress", "dress", "shoes", "shirt"],
        np.arange(6),
        ["purchase", "return", "click", "dislike", "view", "purchase"],
        NO_DECAY,
    )
    m = data.matrix().toarray()
    u, shirt, dress, shoes = data.user_ids.row("u"), 0, 1, 2
    assert m[u, shirt] == pytest.approx(1.0)  # 5 - 4: bought then returned, weaker than a click
    assert m[u, dress] == 0.0  # 1 - 5 floored: the dislike wins
    assert m[u, shoes] == pytest.approx(0.25)
    assert data.negatives().toarray()[u].tolist() == [False, True, False]


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def test_interactions_from_world_keeps_table_order_and_reads_kinds_and_seconds() -> None:
    t0 = 1_767_225_600  # 2026-01-01T00:00:00Z
    world = World(
        items=pa.table({"item_id": ["i2", "i0", "i1"], "title": ["a", "b", "c"]}),
        users=pa.table({"user_id": ["alice", "bob"]}),
        events=pa.table(
            {
                "user_id": ["bob", "carol", "alice", "bob"],
                "item_id": ["i1", "i0", "i2", "gone"],
                "kind": ["save", "purchase", "view", "click"],
                "timestamp": pa.array(
                    [t0 * 1_000_000 + 999_999, (t0 + 5) * 1_000_000, t0 * 1_000_000, 0],
                    pa.timestamp("us", tz="UTC"),
                ),
            }
        ),
    )
    data = interactions_from_world(world, NO_DECAY)
    assert data.item_ids.ids.tolist() == ["i2", "i0", "i1"]
    assert data.user_ids.ids.tolist() == ["alice", "bob", "carol"]  # carol has events but no user row
    assert data.user.tolist() == [1, 2, 0] and data.item.tolist() == [2, 1, 0]  # "gone" dropped
    assert data.timestamp.tolist() == [t0, t0 + 5, t0]  # floored to whole seconds
    assert data.kind is not None and data.kind.tolist() == codes("save", "purchase", "view").tolist()
    np.testing.assert_allclose(data.weight, [2.0, 5.0, 0.25])


def test_interactions_from_arrays_checks_its_inputs() -> None:
    with pytest.raises(NotFound, match="'z'"):
        interactions_from_arrays(["u"], ["z"], [0], item_universe=["a"])
    with pytest.raises(SchemaError, match="kinds"):
        interactions_from_arrays(["u"], ["a"], [0], ["bought"])
    with pytest.raises(SchemaError, match="epoch seconds"):
        interactions_from_arrays(["u"], ["a"], [0.5])
    data = interactions_from_arrays(["u", "v"], ["b", "a"], [0, 1], item_universe=["a", "b", "c"])
    assert data.n_items == 3 and data.item.tolist() == [1, 0] and data.kind is None


# --------------------------------------------------------------------------------------------------
# Temporal split
# --------------------------------------------------------------------------------------------------

# Row, user, item, time, kind. A has 5 positives (rows 1, 2, 4, 5, 7); with test_fraction 0.4 the
# last 2 go to test: rows 5 and 7 (rows 4 and 5 tie at t=5; file order decides). Row 6 is a view
# after A's cutoff: dropped. B has 1 positive: all train. C has 2 positives (rows 9 and 11, out of
# file order): the later one (row 9) is test, the dislike before it stays, the return after goes.
LOG = [
    (0, "A", "i0", 1, "view"),
    (1, "A", "i1", 2, "click"),
    (2, "A", "i2", 3, "purchase"),
    (3, "A", "i3", 4, "view"),
    (4, "A", "i4", 5, "click"),
    (5, "A", "i5", 5, "save"),
    (6, "A", "i6", 6, "view"),
    (7, "A", "i7", 7, "purchase"),
    (8, "B", "i0", 1, "purchase"),
    (9, "C", "i1", 3, "click"),
    (10, "C", "i2", 2, "dislike"),
    (11, "C", "i3", 1, "click"),
    (12, "B", "i1", 2, "view"),
    (13, "C", "i4", 4, "return"),
]


def _log(kinds: bool = True):
    _, users, items, ts, kind = zip(*LOG, strict=True)
    return interactions_from_arrays(users, items, np.array(ts), kind if kinds else None, NO_DECAY)


def _rows(part) -> list[tuple[str, str, int]]:
    return sorted(
        zip(
            part.user_ids.to_ids(part.user).tolist(),
            part.item_ids.to_ids(part.item).tolist(),
            part.timestamp.tolist(),
            strict=True,
        )
    )


def test_temporal_split_holds_out_each_users_latest_positives() -> None:
    train, test = temporal_split(_log(), 0.4)
    expect = {row[0]: (row[1], row[2], row[3]) for row in LOG}
    assert _rows(test) == sorted(expect[r] for r in (5, 7, 9))
    assert _rows(train) == sorted(expect[r] for r in (0, 1, 2, 3, 4, 8, 10, 11, 12))
    assert train.n_users == test.n_users == 3 and train.n_items == test.n_items == 8


def test_temporal_split_without_kinds_counts_every_event_and_floors_the_fraction() -> None:
    train, test = temporal_split(_log(kinds=False), 0.2)
    expect = {row[0]: (row[1], row[2], row[3]) for row in LOG}
    # A: 8 events -> floor(1.6) = 1 (row 7). B: 2 events -> at least 1 (row 12). C: 4 -> 1 (row 13).
    assert _rows(test) == sorted(expect[r] for r in (7, 12, 13))
    assert len(_rows(train)) == len(LOG) - 3
    with pytest.raises(LookbookError, match="test_fraction"):
        temporal_split(_log(), 1.0)


def test_temporal_split_on_a_large_log_never_leaks_the_future() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    data = interactions_from_arrays(
        rng.integers(0, 500, n).astype(str),
        rng.integers(0, 300, n).astype(str),
        rng.integers(0, 1_000, n),
        rng.choice([k.value for k in EventKind], n),
        NO_DECAY,
    )
    train, test = temporal_split(data)
    assert not np.isin(test.kind, codes("view", "return", "dislike")).any()
    last_train = np.full(data.n_users, -1)
    np.maximum.at(last_train, train.user, train.timestamp)
    first_test = np.full(data.n_users, 10**9)
    np.minimum.at(first_test, test.user, test.timestamp)
    assert (last_train[test.user] <= first_test[test.user]).all()
    positive = ~np.isin(data.kind, codes("view", "return", "dislike"))
    n_pos = np.bincount(data.user[positive], minlength=data.n_users)
    n_test = np.where(n_pos >= 2, np.clip(np.floor(0.2 * n_pos), 1, n_pos - 1), 0)
    assert test.user.size == n_test.sum()
