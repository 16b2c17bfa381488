"""One id rule (``schema.normalise_id``) on every path: records, Arrow tables, files, reads, sells.

``" it000011"`` once landed under two ids (the store stripped it, serving did not); now every path
strips the same whitespace and refuses the same control characters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lookbook.errors import SchemaError
from lookbook.schema import ID_SPACE_CHARS, Event, Item, ItemSet, normalise_id
from lookbook.store import Store, ingest_file

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

#: (raw id, what it normalises to, or None when it is refused)
CASES: list[tuple[str, str | None]] = [
    (" it000011", "it000011"),
    ("it000011 ", "it000011"),
    ("\tit000011\n", "it000011"),
    ("\u3000it000011\u00a0", "it000011"),
    ("\x85it000011\u2028", "it000011"),
    ("it 000011", "it 000011"),
    ("it\u00e9", "it\u00e9"),
    ("it\t000011", None),
    ("it\x00011", None),
    ("it\x9f", None),
]


def test_the_stripped_set_is_exactly_what_python_calls_whitespace() -> None:
    assert set(ID_SPACE_CHARS) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalise_id(raw: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(SchemaError, match="Item item_id: must not contain control characters"):
            normalise_id(raw, owner="Item", name="item_id")
    else:
        assert normalise_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", None, 7])
def test_empty_and_non_string_ids_are_refused(raw: Any) -> None:
    with pytest.raises(SchemaError, match="Item item_id: expected a non-empty string"):
        normalise_id(raw, owner="Item", name="item_id")


def test_the_sql_rule_agrees_with_the_python_rule(store: Store, tmp_path: Path, write_jsonl: Any) -> None:
    """Each case through a file (SQL) gives what ``normalise_id`` gives: the same id, or a row error."""
    rows = [{"item_id": raw, "title": f"T{i}"} for i, (raw, _) in enumerate(CASES)]
    report = ingest_file(store, "items", write_jsonl(tmp_path / "ids.jsonl", rows), show_progress=False)
    assert {e.field for e in report.errors} == {"item_id"}
    refused = {e.line for e in report.errors if "control characters" in e.message}
    assert refused == {i + 1 for i, (_, want) in enumerate(CASES) if want is None}
    # the five spellings of it000011 are one id: the second to fifth are duplicates of the first
    duplicates = {e.line for e in report.errors if e.message == "duplicate of line 1"}
    assert duplicates == {2, 3, 4, 5}
    stored = set(store.item_ids().ids.tolist())
    assert stored == {want for _, want in CASES if want is not None}
    assert report.inserted == len(stored) == 3


def test_a_padded_id_is_the_same_item_on_every_path(store: Store, tmp_path: Path, write_csv: Any) -> None:
    store.upsert_items([Item(" it000011", "Tee", price=10.0)])
    assert store.item_ids().ids.tolist() == ["it000011"]
    table = pa.table({"item_id": ["it000011\t"], "price": [12.0]})
    assert store.upsert_items(table).updated == 1
    path = write_csv(tmp_path / "items.csv", ["item_id", "price"], [["  it000011", "14"]])
    assert ingest_file(store, "items", path, show_progress=False).updated == 1
    assert store.get_item(" it000011").price == 14.0
    assert store.image_path("it000011 ") is None
    store.upsert_items([Item("it000012", "Skirt")])
    sets = store.upsert_sets([ItemSet("s1", (" it000011", "it000012 "))])
    assert sets.inserted == 1 and store.sets_table().column("item_ids").to_pylist() == [
        ["it000011", "it000012"]
    ]
    events = store.append_events([Event(" u1", " it000011", "view", T0, request_id=" r-1")])
    assert events.inserted == 1 and events.rejected == 0
    row = store.events_table().to_pylist()[0]
    assert (row["user_id"], row["item_id"], row["request_id"]) == ("u1", "it000011", "r-1")
    assert store.mark_sold([" it000011"]) == 1
    assert store.counts() == {"items": 2, "in_stock": 1, "users": 1, "events": 1, "sets": 1}


def test_a_control_character_in_an_id_is_a_row_error_or_a_schema_error(
    store: Store, tmp_path: Path, write_csv: Any
) -> None:
    path = write_csv(tmp_path / "items.csv", ["item_id", "title"], [["ok", "A"], ["b\x01ad", "B"]])
    report = ingest_file(store, "items", path, show_progress=False)
    assert report.rejected == 1 and report.errors[0].field == "item_id"
    assert report.errors[0].line == 3
    with pytest.raises(SchemaError, match="item_id"):
        Item("b\x01ad", "B")
    with pytest.raises(SchemaError, match="item_ids"):
        store.mark_sold(["ok\n1"])
