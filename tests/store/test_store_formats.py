"""CSV, Parquet and JSON Lines read the same; world-style typed Parquet, mappings, images, timestamps."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lookbook.errors import IngestError, SchemaError
from lookbook.store import Store, ingest_file, open_store
from lookbook.tables import EVENTS_SCHEMA, ITEMS_SCHEMA, SETS_SCHEMA, USERS_SCHEMA

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ROWS = [
    {
        "item_id": "a",
        "title": "Linen shirt",
        "price": "39.9",
        "slot": "top",
        "sizes": "S|M",
        "colour": "white",
        "attributes": '{"material": "linen"}',
        "in_stock": "true",
        "created_at": "2024-03-01T13:00:00+01:00",
    },
    {
        "item_id": "b",
        "title": "Wool rug",
        "price": "120",
        "slot": "RUG",
        "sizes": '["2x3"]',
        "colour": "",
        "attributes": "",
        "in_stock": "no",
        "created_at": "2024-03-01",
    },
]


def _expected() -> list[dict[str, Any]]:
    return [
        {
            "item_id": "a",
            "title": "Linen shirt",
            "description": "",
            "category": "",
            "slot": "top",
            "brand": "",
            "price": 39.9,
            "sizes": ["S", "M"],
            "in_stock": True,
            "attributes": [("material", "linen"), ("colour", "white")],
            "image": None,
            "created_at": T0,
        },
        {
            "item_id": "b",
            "title": "Wool rug",
            "description": "",
            "category": "",
            "slot": "rug",
            "brand": "",
            "price": 120.0,
            "sizes": ["2x3"],
            "in_stock": False,
            "attributes": [],
            "image": None,
            "created_at": datetime(2024, 3, 1, tzinfo=UTC),
        },
    ]


def _write(fmt: str, folder: Path, write_csv: Any, write_jsonl: Any) -> Path:
    if fmt == "csv":
        return write_csv(folder / "items.csv", list(ROWS[0]), [list(r.values()) for r in ROWS])
    if fmt == "jsonl":
        return write_jsonl(folder / "items.jsonl", ROWS)
    path = folder / "items.parquet"
    pq.write_table(pa.table({k: [r[k] for r in ROWS] for k in ROWS[0]}), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_text_inputs_of_every_format_read_the_same(
    store: Store, tmp_path: Path, write_csv: Any, write_jsonl: Any, fmt: str
) -> None:
    report = ingest_file(store, "items", _write(fmt, tmp_path, write_csv, write_jsonl), show_progress=False)
    assert (report.inserted, report.rejected) == (2, 0), [str(e) for e in report.errors]
    assert store.items_table().to_pylist() == _expected()


def test_jsonl_with_typed_values_and_keys_on_some_lines(
    store: Store, tmp_path: Path, write_jsonl: Any
) -> None:
    rows = [
        {"item_id": "a", "title": "A", "price": 12.5, "sizes": ["S", "M"], "attributes": {"colour": "red"}},
        {"item_id": "b", "title": "B", "in_stock": False, "created_at": 1709294400},
    ]
    report = ingest_file(store, "items", write_jsonl(tmp_path / "items.ndjson", rows), show_progress=False)
    assert report.inserted == 2 and report.rejected == 0
    a, b = store.get_item("a"), store.get_item("b")
    assert a.price == 12.5 and a.sizes == ("S", "M") and a.attributes == {"colour": "red"}
    assert b.in_stock is False and b.created_at == T0


def _world(folder: Path, make_image: Any) -> None:
    """A world folder as ``save_world`` writes it: typed Parquet in the data-model layouts."""
    make_image(folder / "images" / "a.png", b"\x89PNG a")
    make_image(folder / "images" / "b.png", b"\x89PNG b")
    items = pa.table(
        {
            "item_id": ["a", "b", "c"],
            "title": ["Tee", "Skirt", "Boots"],
            "description": ["", "midi", ""],
            "category": ["tee", "skirt", "boots"],
            "slot": ["top", "bottom", "shoes"],
            "brand": ["x", "y", "z"],
            "price": [10.0, 20.0, 30.0],
            "sizes": [["S", "M"], [], None],
            "in_stock": [True, True, False],
            "attributes": pa.array([[("colour", "red")], [], None], pa.map_(pa.string(), pa.string())),
            "image": ["images/a.png", "images/b.png", None],
            "created_at": [T0, T0, None],
        },
        schema=ITEMS_SCHEMA,
    )
    users = pa.table(
        {"user_id": ["u1"], "sizes": [[("top", "M")]], "region": ["fr"], "attributes": [[]]},
        schema=USERS_SCHEMA,
    )
    events = pa.table(
        {
            "user_id": ["u1", "u2"],
            "item_id": ["a", "c"],
            "kind": ["view", "purchase"],
            "timestamp": [T0, T0],
            "event_id": [None, "o-1"],
            "device": ["web", None],
            "region": [None, None],
            "touchpoint": [None, "home"],
            "position": [3, None],
            "request_id": [None, "r-1"],
        },
        schema=EVENTS_SCHEMA,
    )
    sets = pa.table(
        {"set_id": ["s1"], "item_ids": [["a", "b", "c"]], "source": ["stylist"]}, schema=SETS_SCHEMA
    )
    for name, table in {"items": items, "users": users, "events": events, "sets": sets}.items():
        pq.write_table(table, folder / f"{name}.parquet")


def test_world_style_parquet_ingests_with_images(store: Store, tmp_path: Path, make_image: Any) -> None:
    world = tmp_path / "world"
    _world(world, make_image)
    for table in ("items", "users", "events", "sets"):
        report = ingest_file(store, table, world / f"{table}.parquet", show_progress=False)
        assert report.rejected == 0, [str(e) for e in report.errors]
    assert store.counts() == {"items": 3, "in_stock": 2, "users": 2, "events": 2, "sets": 1}
    a = store.get_item("a")
    source = (world / "images" / "a.png").read_bytes()
    sha = hashlib.sha256(source).hexdigest()
    assert a.image == f"images/{sha[:2]}/{sha}.png" and a.attributes == {"colour": "red"}
    assert store.image_path("a") == store.root / a.image and store.image_path("a").read_bytes() == source
    assert store.get_item("c").image is None and store.get_item("c").sizes == ()
    got = store.events_table().to_pylist()
    assert got[0]["position"] == 3 and got[1]["event_id"] == "o-1" and got[1]["timestamp"] == T0
    assert got[0]["request_id"] is None and got[1]["request_id"] == "r-1"
    assert store.users_table().to_pylist()[0]["sizes"] == [("top", "M")]


def test_same_image_twice_is_stored_once_and_tables_read_back_upsert_again(
    store: Store, tmp_path: Path, write_csv: Any, make_image: Any
) -> None:
    make_image(tmp_path / "x" / "one.JPG", b"same bytes")
    make_image(tmp_path / "y" / "two.jpg", b"same bytes")
    rows = [
        ["i1", "One", "x/one.JPG"],
        ["i2", "Two", str(tmp_path / "y" / "two.jpg")],
        ["i3", "Three", "https://cdn/x.jpg"],
    ]
    report = ingest_file(
        store,
        "items",
        write_csv(tmp_path / "items.csv", ["item_id", "title", "image"], rows),
        show_progress=False,
    )
    assert report.rejected == 0
    stored = list((store.root / "images").rglob("*.*"))
    assert len(stored) == 1 and stored[0].suffix == ".jpg"
    assert store.get_item("i1").image == store.get_item("i2").image
    assert store.get_item("i3").image == "https://cdn/x.jpg" and store.image_path("i3") is None
    again = store.upsert_items([store.get_item("i1")])  # image is now a project path; still valid
    assert (again.rejected, again.unchanged) == (0, 1)


def test_column_mapping_renames_and_fills_attributes(store: Store, tmp_path: Path, write_csv: Any) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        ["SKU", "Name", "Price EUR", "Hue", "fabric", "attributes.season", "Fit"],
        [["a", "Shirt", "10", "blue", "cotton", "summer", "slim"]],
    )
    mapping = {
        "SKU": "item_id",
        "Name": "title",
        "Price EUR": "price",
        "Hue": "attributes.colour",
        "fabric": "attributes.material",
    }
    report = ingest_file(store, "items", path, mapping=mapping, show_progress=False)
    assert report.inserted == 1 and report.ignored_columns == []
    item = store.get_item("a")
    assert item.price == 10.0
    assert item.attributes == {"colour": "blue", "material": "cotton", "season": "summer", "fit": "slim"}


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"nope": "item_id"}, r"has no column 'nope'; columns found: \['sku', 'title'\]"),
        ({"sku": "sku_code"}, r"'sku_code' is not a field of items"),
        ({"sku": "item_id", "title": "item_id"}, r"item_id: fed by both column"),
    ],
)
def test_bad_mappings_are_file_errors(
    store: Store, tmp_path: Path, write_csv: Any, mapping: dict[str, str], match: str
) -> None:
    path = write_csv(tmp_path / "items.csv", ["sku", "title"], [["a", "A"]])
    with pytest.raises(IngestError, match=match):
        ingest_file(store, "items", path, mapping=mapping, show_progress=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T12:00:00Z", T0),
        ("2024-03-01T14:00:00+02:00", T0),
        ("2024-03-01 07:00:00-05:00", T0),
        ("2024-03-01T12:00:00", T0),
        ("2024-03-01T12:00:00.250000Z", T0.replace(microsecond=250_000)),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("1709294400", T0),
        ("1709294400.5", T0.replace(microsecond=500_000)),
    ],
)
def test_timestamps_parse_to_utc(
    catalog: Store, tmp_path: Path, write_csv: Any, text: str, expected: datetime
) -> None:
    path = write_csv(
        tmp_path / "ev.csv", ["user_id", "item_id", "kind", "timestamp"], [["u", "sku-1", "view", text]]
    )
    report = ingest_file(catalog, "events", path, show_progress=False)
    assert report.inserted == 1, [str(e) for e in report.errors]
    assert catalog.events_table().column("timestamp").to_pylist() == [expected]


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "1709294400000", "03/01/2024"])
def test_unreadable_timestamps_are_row_errors(
    catalog: Store, tmp_path: Path, write_csv: Any, text: str
) -> None:
    path = write_csv(
        tmp_path / "ev.csv", ["user_id", "item_id", "kind", "timestamp"], [["u", "sku-1", "view", text]]
    )
    report = ingest_file(catalog, "events", path, show_progress=False)
    assert report.rejected == 1 and report.errors[0].field == "timestamp" and report.errors[0].value == text


def test_sets_from_csv_accept_json_or_pipes_and_keep_member_order(
    catalog: Store, tmp_path: Path, write_csv: Any
) -> None:
    rows = [["s1", "sku-3|sku-1 | sku-2", "community"], ["s2", json.dumps(["sku-4", "sku-5", "sku-4"]), ""]]
    report = ingest_file(
        catalog,
        "sets",
        write_csv(tmp_path / "sets.csv", ["set_id", "item_ids", "source"], rows),
        show_progress=False,
    )
    assert report.inserted == 2 and report.rejected == 0
    assert catalog.sets_table().to_pylist() == [
        {"set_id": "s1", "item_ids": ["sku-3", "sku-1", "sku-2"], "source": "community"},
        {"set_id": "s2", "item_ids": ["sku-4", "sku-5"], "source": "stylist"},
    ]


def test_a_store_reopens_with_its_content(catalog: Store, project: Path) -> None:
    table = catalog.items_table()
    catalog.close()
    with open_store(project) as again:
        assert again.items_table().equals(table)


def test_items_table_of_some_ids_reads_only_them_in_insertion_order(catalog: Store) -> None:
    everything = catalog.items_table().column("item_id").to_pylist()
    wanted = [everything[-1], "no-such-item", everything[0]]
    some = catalog.items_table(item_ids=wanted)
    assert some.column("item_id").to_pylist() == [everything[0], everything[-1]]
    assert some.schema == catalog.items_table().schema
    assert catalog.items_table(item_ids=[]).num_rows == 0
    with pytest.raises(SchemaError, match="item_ids"):
        catalog.items_table(item_ids=everything[0])
