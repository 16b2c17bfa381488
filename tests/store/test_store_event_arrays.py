"""``event_arrays``: integer rows, sorted by time, checked by hand on a tiny example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from lookbook.schema import EVENT_KIND_CODES, Event, Item, User
from lookbook.store import Store
from lookbook.tables import EventArrays

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _events(store: Store) -> None:
    store.upsert_users([User("ana"), User("bo")])  # ana row 0, bo row 1; cy is created by her event
    store.append_events(
        [
            Event("bo", "sku-3", "purchase", _t(30), position=0),
            Event("ana", "sku-1", "view", _t(10), position=4),
            Event("cy", "sku-6", "click", _t(20)),
            Event(
                "ana", "sku-2", "add_to_bag", _t(10)
            ),  # same time as ana's view: arrival order breaks the tie
            Event("bo", "sku-5", "dislike", _t(0), device="ios"),
        ]
    )


def test_event_arrays_by_hand(catalog: Store) -> None:
    _events(catalog)
    ea = catalog.event_arrays()
    assert list(ea.users.ids) == ["ana", "bo", "cy"]
    assert list(ea.items.ids) == [f"sku-{i}" for i in range(1, 7)]
    # time order: bo/sku-5 @0, ana/sku-1 @10, ana/sku-2 @10, cy/sku-6 @20, bo/sku-3 @30
    assert ea.user_rows.tolist() == [1, 0, 0, 2, 1]
    assert ea.item_rows.tolist() == [4, 0, 1, 5, 2]
    codes = EVENT_KIND_CODES
    assert ea.kind.tolist() == [
        codes["dislike"],
        codes["view"],
        codes["add_to_bag"],
        codes["click"],
        codes["purchase"],
    ]
    start = int(T0.timestamp())  # epoch seconds
    assert ea.timestamp.tolist() == [start, start + 600, start + 600, start + 1200, start + 1800]
    assert ea.position.tolist() == [-1, 4, -1, -1, 0]
    assert (
        ea.user_rows.dtype,
        ea.item_rows.dtype,
        ea.kind.dtype,
        ea.timestamp.dtype,
        ea.position.dtype,
    ) == (
        np.int32,
        np.int32,
        np.int8,
        np.int64,
        np.int32,
    )
    assert len(ea) == 5


def test_event_arrays_rows_agree_with_the_catalog_table(catalog: Store) -> None:
    _events(catalog)
    ea = catalog.event_arrays()
    titles = np.asarray(catalog.items_table().column("title").to_pylist())
    assert titles[ea.item_rows].tolist() == ["Floor lamp", "White tee", "Blue jeans", "Jute rug", "Trainers"]


def test_events_on_a_deleted_item_are_dropped(catalog: Store) -> None:
    _events(catalog)
    catalog.delete_items(["sku-1"])
    ea = catalog.event_arrays()
    assert list(ea.items.ids) == ["sku-2", "sku-3", "sku-4", "sku-5", "sku-6"]
    assert ea.items.to_ids(ea.item_rows).tolist() == ["sku-5", "sku-2", "sku-6", "sku-3"]
    assert ea.users.to_ids(ea.user_rows).tolist() == ["bo", "ana", "cy", "bo"]
    assert catalog.counts()["events"] == 5  # still stored


def test_since_keeps_events_at_or_after(catalog: Store) -> None:
    _events(catalog)
    ea = catalog.event_arrays(since=_t(20))
    assert ea.items.to_ids(ea.item_rows).tolist() == ["sku-6", "sku-3"]
    assert len(ea.users) == 3  # the id maps are always whole
    naive = catalog.event_arrays(since=datetime(2024, 3, 1, 12, 20))  # naive means UTC
    assert naive.item_rows.tolist() == ea.item_rows.tolist()


def test_event_arrays_of_an_empty_store(store: Store) -> None:
    ea = store.event_arrays()
    assert len(ea) == 0 and len(ea.items) == 0 and ea.kind.dtype == np.int8


def test_appending_items_keeps_existing_rows(catalog: Store) -> None:
    _events(catalog)
    before = catalog.event_arrays()
    catalog.upsert_items([Item("sku-7", "New arrival")])
    after = catalog.event_arrays()
    assert np.array_equal(before.item_rows, after.item_rows) and after.items.row("sku-7") == 6


def test_event_arrays_is_the_shared_container(catalog: Store) -> None:
    _events(catalog)
    assert isinstance(catalog.event_arrays(), EventArrays)


def test_sub_second_times_floor_to_the_second_and_keep_their_order(catalog: Store) -> None:
    catalog.append_events(
        [
            Event("ana", "sku-1", "click", T0 + timedelta(seconds=1, microseconds=900_000)),
            Event("ana", "sku-2", "click", T0 + timedelta(seconds=1, microseconds=100_000)),
            Event("ana", "sku-3", "click", T0 - timedelta(microseconds=1)),
            Event("ana", "sku-4", "view", datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)),
        ]
    )
    ea = catalog.event_arrays()
    start = int(T0.timestamp())
    assert ea.items.to_ids(ea.item_rows).tolist() == ["sku-4", "sku-3", "sku-2", "sku-1"]
    assert ea.timestamp.tolist() == [-1, start - 1, start + 1, start + 1]  # floored, before 1970 too
