"""Each kind of bad row is reported with its file, line and field, and the good rows still load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lookbook.errors import IngestError
from lookbook.store import Store, ingest_file

ITEM_HEADER = ["item_id", "title", "price", "slot", "image"]
EVENT_HEADER = ["user_id", "item_id", "kind", "timestamp", "position"]
GOOD_EVENT = ["u1", "sku-1", "view", "2024-03-01T12:00:00Z", "1"]

# (table, header, bad row, field, message fragment). The file is: header (line 1), a good row
# (line 2), the bad row (line 3), another good row (line 4).
CASES: list[tuple[str, list[str], list[str], str, str]] = [
    ("items", ITEM_HEADER, ["", "No id", "1", "top", ""], "item_id", "is required"),
    ("items", ITEM_HEADER, ["new-1", "", "1", "top", ""], "title", "is required for a new item"),
    ("items", ITEM_HEADER, ["new-1", "Neg", "-3", "top", ""], "price", "must be >= 0"),
    ("items", ITEM_HEADER, ["new-1", "NaN", "nan", "top", ""], "price", "must be a finite number"),
    ("items", ITEM_HEADER, ["new-1", "Bad slot", "1", "hat", ""], "slot", "must be one of"),
    ("items", ITEM_HEADER, ["new-1", "No image", "1", "top", "nowhere.jpg"], "image", "file must exist"),
    ("items", ITEM_HEADER, ["good-a", "Dup", "1", "top", ""], "item_id", "duplicate of line 2"),
    ("events", EVENT_HEADER, ["u2", "sku-1", "like", "2024-03-01", ""], "kind", "must be one of"),
    ("events", EVENT_HEADER, ["u2", "sku-1", "view", "last tuesday", ""], "timestamp", "ISO-8601"),
    ("events", EVENT_HEADER, ["u2", "sku-1", "view", "2024-03-01", "-2"], "position", "must be >= 0"),
    ("events", EVENT_HEADER, ["u2", "sku-1", "view", "2024-03-01", "2.5"], "position", "whole number"),
    ("events", EVENT_HEADER, ["u2", "ghost", "view", "2024-03-01", ""], "item_id", "must be in the catalog"),
    ("events", EVENT_HEADER, ["", "sku-1", "view", "2024-03-01", ""], "user_id", "is required"),
    ("sets", ["set_id", "item_ids"], ["s-bad", "sku-1|ghost"], "item_ids", "member must be in the catalog"),
    ("sets", ["set_id", "item_ids"], ["s-bad", "sku-1|sku-1"], "item_ids", "at least 2 distinct items"),
    ("sets", ["set_id", "item_ids"], ["s-bad", '["sku-1", "sku-2"'], "item_ids", "JSON list"),
]


def _good_rows(table: str) -> tuple[list[str], list[str]]:
    if table == "items":
        return ["good-a", "A", "1", "top", ""], ["good-b", "B", "2.5", "", ""]
    if table == "events":
        return GOOD_EVENT, ["u3", "sku-2", "click", "1709294400", ""]
    return ["s-a", "sku-1|sku-2"], ["s-b", '["sku-3", "sku-4"]']


@pytest.mark.parametrize(
    ("table", "header", "bad", "field", "fragment"), CASES, ids=[f"{c[0]}-{c[3]}-{c[4][:18]}" for c in CASES]
)
def test_bad_row_is_reported_and_good_rows_load(
    catalog: Store,
    tmp_path: Path,
    write_csv: Any,
    table: str,
    header: list[str],
    bad: list[str],
    field: str,
    fragment: str,
) -> None:
    first, last = _good_rows(table)
    path = write_csv(tmp_path / f"{table}.csv", header, [first, bad, last])
    before = catalog.counts()[table]
    report = ingest_file(catalog, table, path, show_progress=False)
    assert report.rejected == 1 and report.loaded == 2 and report.committed
    matching = [e for e in report.errors if e.field == field]
    assert matching, [str(e) for e in report.errors]
    err = matching[0]
    assert (err.source, err.line, err.unit) == (f"{table}.csv", 3, "line")
    assert fragment in err.message
    assert str(err).startswith(f"{table}.csv line 3, field {field}: ")
    assert catalog.counts()[table] == before + 2


def test_error_text_quotes_the_value(catalog: Store, tmp_path: Path, write_csv: Any) -> None:
    path = write_csv(
        tmp_path / "items.csv", ITEM_HEADER, [["a", "A", "1", "", ""]] * 5 + [["x", "X", "-3", "", ""]]
    )
    report = ingest_file(catalog, "items", path, show_progress=False)
    errors = [str(e) for e in report.errors]
    assert "items.csv line 7, field price: must be >= 0, got '-3'" in errors
    assert "items.csv line 3, field item_id: duplicate of line 2, got 'a'" in errors


def test_strict_loads_nothing(catalog: Store, tmp_path: Path, write_csv: Any) -> None:
    before = catalog.items_table()
    rows = [
        ["new-1", "One", "1", "top", ""],
        ["new-2", "Two", "-1", "top", ""],
        ["sku-1", "Renamed", "", "", ""],
    ]
    path = write_csv(tmp_path / "items.csv", ITEM_HEADER, rows)
    report = ingest_file(catalog, "items", path, strict=True, show_progress=False)
    assert not report.committed and report.loaded == 0 and report.rejected == 1
    assert "nothing loaded" in report.summary()
    assert catalog.items_table().equals(before)


def test_strict_with_clean_input_loads(catalog: Store, tmp_path: Path, write_csv: Any) -> None:
    path = write_csv(tmp_path / "items.csv", ITEM_HEADER, [["new-1", "One", "1", "top", ""]])
    report = ingest_file(catalog, "items", path, strict=True, show_progress=False)
    assert report.committed and report.inserted == 1


def test_every_error_of_a_row_is_reported(catalog: Store, tmp_path: Path, write_csv: Any) -> None:
    path = write_csv(tmp_path / "ev.csv", EVENT_HEADER, [["u1", "ghost", "like", "soon", "-1"]])
    report = ingest_file(catalog, "events", path, show_progress=False)
    assert report.rejected == 1 and report.error_count == 4
    assert sorted(e.field for e in report.errors) == ["item_id", "kind", "position", "timestamp"]


def test_max_errors_caps_the_list_not_the_count(catalog: Store, tmp_path: Path, write_csv: Any) -> None:
    path = write_csv(tmp_path / "ev.csv", EVENT_HEADER, [["u1", "ghost", "view", "2024-01-01", ""]] * 50)
    report = ingest_file(catalog, "events", path, show_progress=False, max_errors=10)
    assert len(report.errors) == 10 and report.error_count == 50 and report.rejected == 50
    assert [e.line for e in report.errors] == list(range(2, 12))


def test_missing_required_column_is_a_file_error(catalog: Store, tmp_path: Path, write_csv: Any) -> None:
    path = write_csv(tmp_path / "ev.csv", ["user", "item_id", "kind", "timestamp"], [GOOD_EVENT[:4]])
    with pytest.raises(IngestError, match=r"required column 'user_id'.*columns found: \['user', 'item_id'"):
        ingest_file(catalog, "events", path, show_progress=False)
    assert catalog.counts()["events"] == 0


def test_unreadable_file_is_a_file_error(catalog: Store, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(catalog, "items", tmp_path / "missing.csv", show_progress=False)
    (tmp_path / "items.xlsx").write_bytes(b"PK")
    with pytest.raises(IngestError, match="unsupported file type"):
        ingest_file(catalog, "items", tmp_path / "items.xlsx", show_progress=False)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(IngestError, match=r"bad\.parquet"):
        ingest_file(catalog, "items", tmp_path / "bad.parquet", show_progress=False)
    assert catalog.counts()["items"] == 6


def test_unknown_table_is_an_ingest_error(catalog: Store, tmp_path: Path, write_csv: Any) -> None:
    path = write_csv(tmp_path / "x.csv", ["a"], [["1"]])
    with pytest.raises(IngestError, match="ingest table: expected one of"):
        ingest_file(catalog, "photos", path, show_progress=False)


def test_unknown_columns_are_ignored_with_one_warning(
    catalog: Store, tmp_path: Path, write_csv: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(
        tmp_path / "items.csv", ["item_id", "title", "colur", "stock_level"], [["n1", "N", "red", "3"]]
    )
    report = ingest_file(catalog, "items", path, show_progress=False)
    assert report.ignored_columns == ["colur", "stock_level"] and report.inserted == 1
    warnings = [r for r in caplog.records if "ignoring" in r.getMessage()]
    assert len(warnings) == 1 and "colur" in warnings[0].getMessage()


def test_jsonl_and_parquet_errors_point_at_lines_and_rows(
    catalog: Store, tmp_path: Path, write_jsonl: Any
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"item_id": "j1", "title": "J"}, {"item_id": "j2", "title": "K", "price": -1}]
    report = ingest_file(catalog, "items", write_jsonl(tmp_path / "items.jsonl", rows), show_progress=False)
    assert str(report.errors[0]).startswith("items.jsonl line 2, field price")
    pq.write_table(
        pa.table({"item_id": ["p1", "p2"], "title": ["P", "Q"], "price": [None, -1]}),
        tmp_path / "items.parquet",
    )
    report = ingest_file(catalog, "items", tmp_path / "items.parquet", show_progress=False)
    assert str(report.errors[0]) == "items.parquet row 2, field price: must be >= 0, got '-1'"


def test_unknown_users_are_created_with_an_empty_profile(
    catalog: Store, tmp_path: Path, write_csv: Any
) -> None:
    path = write_csv(
        tmp_path / "ev.csv", EVENT_HEADER, [GOOD_EVENT, ["u9", "sku-2", "view", "2024-03-02", ""]]
    )
    report = ingest_file(catalog, "events", path, show_progress=False)
    assert report.users_created == 2
    assert catalog.users_table().to_pylist()[1] == {
        "user_id": "u9",
        "sizes": [],
        "region": "",
        "attributes": [],
    }
