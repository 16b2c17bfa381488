"""Events later than the store's clock plus its skew (5 minutes) are rejected, naming ``timestamp``,
on every ingest path (files, Arrow tables, records), whatever clock the store runs on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lookbook.schema import Event
from lookbook.store import DEFAULT_MAX_SKEW, Store, ingest_file, open_store

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
HEADER = ["user_id", "item_id", "kind", "timestamp"]


@pytest.fixture
def clocked(project: Path, six_items: Any) -> Any:
    """The six-item catalog in a store whose clock reads ``NOW``."""
    with open_store(project, clock=lambda: NOW.timestamp()) as store:
        store.upsert_items(six_items)
        yield store


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def test_the_default_skew_is_five_minutes() -> None:
    assert timedelta(minutes=5) == DEFAULT_MAX_SKEW


def test_a_file_event_past_the_skew_is_rejected_naming_the_field(
    clocked: Store, tmp_path: Path, write_csv: Any
) -> None:
    rows = [
        ["u1", "sku-1", "view", _iso(NOW - timedelta(days=3))],
        ["u1", "sku-2", "view", _iso(NOW + timedelta(minutes=4))],  # a client clock slightly ahead: fine
        ["u1", "sku-3", "view", _iso(NOW + timedelta(minutes=6))],
        ["u2", "sku-4", "click", "2099-12-31"],
    ]
    report = ingest_file(clocked, "events", write_csv(tmp_path / "ev.csv", HEADER, rows), show_progress=False)
    assert report.loaded == 2 and report.rejected == 2
    assert [(e.line, e.field) for e in report.errors] == [(4, "timestamp"), (5, "timestamp")]
    assert "must not be in the future" in report.errors[0].message
    assert report.errors[1].value == "2099-12-31"
    assert clocked.counts()["events"] == 2


def test_append_events_records_and_tables_are_checked_the_same(clocked: Store) -> None:
    late = Event("u1", "sku-1", "click", NOW + timedelta(hours=1))
    report = clocked.append_events([late])
    assert report.rejected == 1 and report.errors[0].field == "timestamp"
    table = pa.table(
        {
            "user_id": ["u1"],
            "item_id": ["sku-1"],
            "kind": ["view"],
            "timestamp": pa.array([NOW + timedelta(days=1)], pa.timestamp("us", tz="UTC")),
        }
    )
    strict = clocked.append_events(table, strict=True)
    assert not strict.committed and strict.errors[0].field == "timestamp"
    assert clocked.counts()["events"] == 0


def test_the_limit_follows_the_clock_and_the_skew(project: Path, six_items: Any) -> None:
    now = [NOW]
    with open_store(project, clock=lambda: now[0], max_skew=0) as store:
        store.upsert_items(six_items)
        event = Event("u1", "sku-1", "view", NOW + timedelta(seconds=1))
        assert store.append_events([event]).rejected == 1
        now[0] = NOW + timedelta(seconds=1)  # the clock moved: the same event is on time now
        assert store.append_events([event]).inserted == 1


def test_the_default_clock_is_the_wall_clock(catalog: Store) -> None:
    wall = datetime.now(UTC)
    assert abs((catalog.now() - wall).total_seconds()) < 60
    report = catalog.append_events(
        [Event("u1", "sku-1", "view", wall), Event("u1", "sku-2", "view", datetime(2099, 12, 31, tzinfo=UTC))]
    )
    assert (report.inserted, report.rejected) == (1, 1) and report.errors[0].field == "timestamp"
