"""``lookbook ingest``, ``items``, ``store stats`` and ``bench store``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lookbook.cli import main
from lookbook.store import open_store

ITEMS = [["a", "Tee", "10", "white"], ["b", "Skirt", "-3", "black"], ["c", "Boots", "60", "brown"]]


@pytest.fixture
def items_csv(tmp_path: Path, write_csv: Any) -> Path:
    return write_csv(tmp_path / "items.csv", ["item_id", "title", "price", "colour"], ITEMS)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--no-progress", *argv])
    return code, capsys.readouterr().out


def test_ingest_prints_a_summary_and_the_errors(
    tmp_path: Path, items_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, "ingest", "items", str(items_csv), "--project", str(tmp_path / "p"))
    assert code == 0
    assert "items.csv -> items: 2 loaded, 1 rejected (2 inserted, 0 updated, 0 unchanged)" in out
    assert "rows/s" in out
    assert "items.csv line 3, field price: must be >= 0, got '-3'" in out


def test_strict_rejection_exits_1_and_loads_nothing(
    tmp_path: Path, items_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    code, out = _run(capsys, "ingest", "items", str(items_csv), "--project", str(project), "--strict")
    assert code == 1 and "nothing loaded" in out
    with open_store(project) as store:
        assert store.counts()["items"] == 0


def test_json_report_lists_every_error(
    tmp_path: Path, items_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, "ingest", "items", str(items_csv), "--project", str(tmp_path / "p"), "--json")
    report = json.loads(out)
    assert code == 0 and report["loaded"] == 2 and report["rejected"] == 1 and report["committed"]
    assert report["errors"] == [
        {
            "line": 3,
            "field": "price",
            "message": "must be >= 0",
            "value": "-3",
            "source": "items.csv",
            "unit": "line",
            "text": "items.csv line 3, field price: must be >= 0, got '-3'",
        }
    ]


def test_map_flag(tmp_path: Path, write_csv: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "x.csv", ["sku", "name", "hue"], [["a", "Tee", "red"]])
    project = tmp_path / "p"
    code, _ = _run(
        capsys,
        "ingest",
        "items",
        str(path),
        "--project",
        str(project),
        "--map",
        "sku=item_id",
        "--map",
        "name=title",
        "--map",
        "hue=attributes.colour",
    )
    assert code == 0
    code, out = _run(capsys, "items", "show", "a", "--project", str(project))
    shown = json.loads(out)
    assert code == 0 and shown["attributes"] == {"colour": "red"} and shown["slot"] == "other"


def test_file_level_problems_exit_1_naming_the_column(
    tmp_path: Path, write_csv: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(tmp_path / "x.csv", ["sku", "title"], [["a", "Tee"]])
    code, _ = _run(capsys, "ingest", "items", str(path), "--project", str(tmp_path / "p"))
    assert code == 1 and "required column 'item_id'" in caplog.text and "['sku', 'title']" in caplog.text
    code, _ = _run(capsys, "ingest", "items", str(tmp_path / "nope.csv"), "--project", str(tmp_path / "p"))
    assert code == 1 and "no such file" in caplog.text
    code, _ = _run(capsys, "ingest", "items", str(path), "--project", str(tmp_path / "p"), "--map", "oops")
    assert code == 1 and "--map: expected SRC=DST" in caplog.text


def test_items_sell_delete_show_and_store_stats(
    tmp_path: Path, items_csv: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    project = str(tmp_path / "p")
    _run(capsys, "ingest", "items", str(items_csv), "--project", project)
    assert _run(capsys, "items", "sell", "a", "--project", project) == (0, "marked 1 item(s) as sold\n")
    code, _ = _run(capsys, "items", "delete", "c", "ghost", "--project", project)
    assert code == 1 and "ghost" in caplog.text
    assert _run(capsys, "items", "delete", "c", "--project", project) == (
        0,
        "deleted 1 item(s) from the catalog\n",
    )
    code, out = _run(capsys, "items", "show", "a", "--project", project)
    assert code == 0 and json.loads(out)["in_stock"] is False
    code, out = _run(capsys, "store", "stats", "--project", project, "--json")
    stats = json.loads(out)
    assert code == 0 and (stats["items"], stats["in_stock"], stats["events"]) == (1, 0, 0)
    code, out = _run(capsys, "store", "stats", "--project", project)
    assert code == 0 and "in_stock" in out
    code, _ = _run(capsys, "store", "stats", "--project", str(tmp_path / "none"))
    assert code == 1 and "no lookbook.duckdb" in caplog.text


def test_bench_store_reports_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(
        capsys,
        "bench",
        "store",
        "--events",
        "5000",
        "--items",
        "300",
        "--users",
        "200",
        "--repeats",
        "2",
        "--json",
    )
    result = json.loads(out)
    assert code == 0
    assert result["event_arrays_events"] == 5000 and result["events_csv_inserted"] == 5000
    assert result["events_parquet_inserted"] == 5000
    for key in ("items_csv_rows_per_s", "events_csv_rows_per_s", "events_parquet_rows_per_s", "db_size_mb"):
        assert result[key] > 0
    code, out = _run(
        capsys, "bench", "store", "--events", "2000", "--items", "100", "--users", "50", "--repeats", "1"
    )
    assert code == 0 and "events -> arrays" in out
