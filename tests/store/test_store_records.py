"""Records and Arrow tables go in and come back unchanged; the store's layouts are the data model's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.schema import Event, EventKind, Item, ItemSet, Slot, User
from lookbook.store import SCHEMA_VERSION, Store, open_store
from lookbook.tables import EVENTS_SCHEMA, ITEMS_SCHEMA, SETS_SCHEMA, USERS_SCHEMA

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_items_round_trip_as_records(catalog: Store, six_items: list[Item]) -> None:
    assert [catalog.get_item(i.item_id) for i in six_items] == six_items
    assert catalog.items_table().column("item_id").to_pylist() == [i.item_id for i in six_items]


def test_tables_use_the_data_model_layouts(catalog: Store) -> None:
    catalog.upsert_users([User("u1", sizes={"top": "M"}, region="fr")])
    catalog.append_events([Event("u1", "sku-1", EventKind.VIEW, T0)])
    catalog.upsert_sets([ItemSet("s1", ("sku-1", "sku-2"))])
    assert catalog.items_table().schema == ITEMS_SCHEMA
    assert catalog.users_table().schema == USERS_SCHEMA
    assert catalog.events_table().schema == EVENTS_SCHEMA
    assert catalog.sets_table().schema == SETS_SCHEMA


def test_users_events_sets_round_trip(catalog: Store) -> None:
    users = [
        User("u1", sizes={"top": "M", "shoes": "39"}, region="fr", attributes={"tier": "gold"}),
        User("u2"),
    ]
    events = [
        Event("u1", "sku-1", "view", T0, device="ios", touchpoint="home", position=3),
        Event("u2", "sku-2", "purchase", T0.replace(hour=13), event_id="order-7"),
    ]
    sets = [ItemSet("s1", ("sku-1", "sku-2", "sku-3"), source="community"), ItemSet("s2", ("sku-4", "sku-5"))]
    assert catalog.upsert_users(users).inserted == 2
    assert catalog.append_events(events).inserted == 2
    assert catalog.upsert_sets(sets).inserted == 2

    got_users = catalog.users_table().to_pylist()
    assert got_users[0] == {
        "user_id": "u1",
        "sizes": [("top", "M"), ("shoes", "39")],
        "region": "fr",
        "attributes": [("tier", "gold")],
    }
    got_events = [Event(**row) for row in catalog.events_table().to_pylist()]
    assert got_events == events
    got_sets = [
        ItemSet(r["set_id"], tuple(r["item_ids"]), r["source"]) for r in catalog.sets_table().to_pylist()
    ]
    assert got_sets == sets


def test_arrow_tables_upsert_like_records(store: Store, six_items: list[Item]) -> None:
    table = pa.table(
        {
            "item_id": ["a", "b"],
            "title": ["A", "B"],
            "slot": ["top", "bottom"],
            "price": pa.array([1, 2], pa.int32()),  # integer prices are fine for a float field
            "sizes": pa.array([["S"], None], pa.list_(pa.string())),
            "created_at": pa.array([T0, None], pa.timestamp("ms", tz="Europe/Paris")),
        }
    )
    report = store.upsert_items(table)
    assert (report.inserted, report.rejected) == (2, 0)
    a, b = store.get_item("a"), store.get_item("b")
    assert a.price == 1.0 and a.sizes == ("S",) and a.created_at == T0 and a.slot is Slot.TOP
    assert b.sizes == () and b.created_at is None


def test_get_item_and_image_path_raise_not_found(catalog: Store) -> None:
    with pytest.raises(NotFound, match="nope"):
        catalog.get_item("nope")
    with pytest.raises(NotFound, match="nope"):
        catalog.image_path("nope")
    assert catalog.image_path("sku-1") is None


def test_item_ids_follow_insertion_order_and_stay_put_when_appending(catalog: Store) -> None:
    before = catalog.item_ids()
    catalog.upsert_items([Item("sku-0", "Added later"), Item("sku-1", "Renamed tee")])
    after = catalog.item_ids()
    assert list(after.ids[: len(before)]) == list(before.ids)
    assert after.row("sku-0") == len(before)
    assert catalog.get_item("sku-1").title == "Renamed tee"


def test_wrong_record_type_is_a_schema_error(store: Store) -> None:
    with pytest.raises(SchemaError, match=r"items records\[0\]: expected a Item"):
        store.upsert_items([User("u1")])  # type: ignore[list-item]


def test_missing_store_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"lookbook\.duckdb"):
        open_store(tmp_path / "none", create=False)
    assert not (tmp_path / "none").exists()


def test_read_only_store_refuses_writes(catalog: Store, project: Path) -> None:
    catalog.close()
    with open_store(project, read_only=True) as ro:
        assert ro.counts()["items"] == 6
        with pytest.raises(LookbookError, match="read-only"):
            ro.mark_sold(["sku-1"])
        with pytest.raises(LookbookError, match="read-only"):
            ro.upsert_items([Item("x", "X")])


def test_a_store_of_another_schema_version_is_refused(store: Store, project: Path) -> None:
    store.connection.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(SchemaError, match=f"schema_version: expected 1 to {SCHEMA_VERSION}, got 999"):
        open_store(project)


def test_counts(catalog: Store) -> None:
    assert catalog.counts() == {"items": 6, "in_stock": 5, "users": 0, "events": 0, "sets": 0}
