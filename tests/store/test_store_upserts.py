"""Re-running a file changes nothing; partial updates touch only their columns; sell, delete, events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lookbook.errors import NotFound
from lookbook.schema import Event, Item
from lookbook.store import Store, ingest_file

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
EVENT_HEADER = ["user_id", "item_id", "kind", "timestamp", "device", "position"]


def _snapshot(store: Store) -> tuple[dict[str, int], list[pa.Table], int]:
    key_sum = int(store.connection.execute("SELECT coalesce(sum(event_key), 0) FROM events").fetchall()[0][0])
    tables = [store.items_table(), store.users_table(), store.events_table(), store.sets_table()]
    return store.counts(), tables, key_sum


def _assert_same(
    a: tuple[dict[str, int], list[pa.Table], int], b: tuple[dict[str, int], list[pa.Table], int]
) -> None:
    assert a[0] == b[0] and a[2] == b[2]
    for x, y in zip(a[1], b[1], strict=True):
        assert x.equals(y)


def test_rerunning_items_events_and_sets_files_is_idempotent(
    store: Store, tmp_path: Path, write_csv: Any, make_image: Any
) -> None:
    make_image(tmp_path / "img" / "a.jpg", b"a")
    items = write_csv(
        tmp_path / "items.csv",
        ["item_id", "title", "price", "sizes", "colour", "image"],
        [
            ["a", "A", "1", "S|M", "red", "img/a.jpg"],
            ["b", "B", "2", "", "", ""],
            ["c", "C", "3", "", "", ""],
        ],
    )
    events = write_csv(
        tmp_path / "events.csv",
        EVENT_HEADER,
        [
            ["u1", "a", "view", "2024-03-01T12:00:00Z", "web", "1"],
            ["u1", "a", "view", "2024-03-01T12:00:00Z", "web", "1"],
            ["u2", "b", "purchase", "2024-03-01T13:00:00Z", "", ""],
        ],
    )
    sets = write_csv(tmp_path / "sets.csv", ["set_id", "item_ids"], [["s1", "a|b"], ["s2", "b|c"]])
    files = [("items", items), ("events", events), ("sets", sets)]
    first = [ingest_file(store, table, path, show_progress=False) for table, path in files]
    assert [r.inserted for r in first] == [3, 3, 2]  # two identical rows in one file are two events
    snap = _snapshot(store)
    second = [ingest_file(store, table, path, show_progress=False) for table, path in files]
    assert [r.inserted for r in second] == [0, 0, 0] and [r.updated for r in second] == [0, 0, 0]
    assert [r.unchanged for r in second] == [3, 3, 2]
    _assert_same(snap, _snapshot(store))


def test_a_later_export_that_repeats_events_adds_only_the_new_ones(
    catalog: Store, tmp_path: Path, write_csv: Any
) -> None:
    rows = [["u1", "sku-1", "view", "2024-03-01T12:00:00Z", "web", "1"]] * 2
    ingest_file(catalog, "events", write_csv(tmp_path / "day1.csv", EVENT_HEADER, rows), show_progress=False)
    more = [*rows, rows[0], ["u1", "sku-2", "click", "2024-03-02", "", ""]]
    report = ingest_file(
        catalog, "events", write_csv(tmp_path / "day2.csv", EVENT_HEADER, more), show_progress=False
    )
    assert (report.inserted, report.unchanged) == (2, 2)  # the third identical view and the click
    assert catalog.counts()["events"] == 4


def test_events_with_ids_deduplicate_by_id(catalog: Store) -> None:
    e = Event("u1", "sku-1", "purchase", T0, event_id="order-1")
    assert catalog.append_events([e]).inserted == 1
    again = Event(
        "u1", "sku-1", "purchase", T0.replace(hour=14), event_id="order-1"
    )  # same id, re-sent later
    assert catalog.append_events([again]).inserted == 0
    report = catalog.append_events(
        [Event("u1", "sku-2", "view", T0, event_id="x"), Event("u1", "sku-3", "view", T0, event_id="x")]
    )
    assert report.inserted == 1 and report.errors[0].field == "event_id"


def test_csv_and_parquet_of_the_same_events_give_the_same_keys(
    catalog: Store, tmp_path: Path, write_csv: Any
) -> None:
    import pyarrow.parquet as pq

    ingest_file(
        catalog,
        "events",
        write_csv(
            tmp_path / "e.csv",
            EVENT_HEADER,
            [["u1", "sku-1", "view", "2024-03-01T13:00:00+01:00", "web", "2"]],
        ),
        show_progress=False,
    )
    table = pa.table(
        {
            "user_id": ["u1"],
            "item_id": ["sku-1"],
            "kind": ["view"],
            "timestamp": pa.array([T0], pa.timestamp("us", tz="UTC")),
            "device": ["web"],
            "position": [2],
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    assert ingest_file(catalog, "events", tmp_path / "e.parquet", show_progress=False).inserted == 0


def test_partial_update_changes_only_the_given_columns(
    catalog: Store, tmp_path: Path, write_csv: Any
) -> None:
    before = {i: catalog.get_item(i) for i in ("sku-1", "sku-2")}
    path = write_csv(tmp_path / "prices.csv", ["item_id", "price"], [["sku-1", "12.5"], ["sku-2", ""]])
    report = ingest_file(catalog, "items", path, show_progress=False)
    assert (report.updated, report.unchanged, report.inserted) == (1, 1, 0)
    after = catalog.get_item("sku-1")
    assert after.price == 12.5
    assert after == Item(**{**before["sku-1"].__dict__, "price": 12.5})
    assert catalog.get_item("sku-2") == before["sku-2"]  # an empty cell keeps the stored value

    stock = write_csv(tmp_path / "stock.csv", ["item_id", "in_stock"], [["sku-3", "true"], ["sku-1", "0"]])
    ingest_file(catalog, "items", stock, show_progress=False)
    assert catalog.get_item("sku-3").in_stock and not catalog.get_item("sku-1").in_stock
    assert list(catalog.item_ids().ids) == [f"sku-{i}" for i in range(1, 7)]  # rows did not move


def test_partial_update_of_one_attribute_keeps_the_others(
    catalog: Store, tmp_path: Path, write_csv: Any
) -> None:
    path = write_csv(tmp_path / "colours.csv", ["item_id", "colour"], [["sku-4", "grey"]])
    ingest_file(catalog, "items", path, show_progress=False)
    assert catalog.get_item("sku-4").attributes == {"material": "linen", "colour": "grey"}


def test_a_new_item_in_a_partial_file_still_needs_a_title(
    catalog: Store, tmp_path: Path, write_csv: Any
) -> None:
    path = write_csv(tmp_path / "prices.csv", ["item_id", "price"], [["sku-1", "3"], ["sku-new", "4"]])
    report = ingest_file(catalog, "items", path, show_progress=False)
    assert report.updated == 1 and report.rejected == 1
    assert str(report.errors[0]) == "prices.csv line 3, field title: is required for a new item"


def test_mark_sold(catalog: Store) -> None:
    assert catalog.mark_sold(["sku-1", "sku-2", "sku-1"]) == 2
    assert catalog.counts()["in_stock"] == 3
    assert [r["item_id"] for r in catalog.items_table(in_stock_only=True).to_pylist()] == [
        "sku-4",
        "sku-5",
        "sku-6",
    ]


def test_unknown_ids_change_nothing(catalog: Store) -> None:
    before = catalog.items_table()
    with pytest.raises(NotFound, match=r"mark_sold item_ids: unknown ids \['ghost'\]"):
        catalog.mark_sold(["sku-1", "ghost"])
    with pytest.raises(NotFound, match=r"delete_items item_ids: unknown ids \['ghost'\]"):
        catalog.delete_items(["sku-2", "ghost"])
    assert catalog.items_table().equals(before)


def test_delete_keeps_events_and_shifts_later_rows(catalog: Store) -> None:
    catalog.append_events([Event("u1", "sku-2", "view", T0), Event("u1", "sku-3", "view", T0)])
    assert catalog.delete_items(["sku-2"]) == 1
    assert catalog.counts() == {"items": 5, "in_stock": 4, "users": 1, "events": 2, "sets": 0}
    assert list(catalog.item_ids().ids) == ["sku-1", "sku-3", "sku-4", "sku-5", "sku-6"]
    with pytest.raises(NotFound):
        catalog.get_item("sku-2")
    # re-adding a deleted item puts it at the end
    catalog.upsert_items([Item("sku-2", "Blue jeans again")])
    assert catalog.item_ids().row("sku-2") == 5
