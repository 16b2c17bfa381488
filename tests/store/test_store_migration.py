"""A store written by schema version 1 (before impressions, item vectors and ``request_id``) still opens:
read-only as it is, and migrated in place when opened for writing.

The old file is built here from version 1's DDL, kept verbatim below, with rows as version 1 wrote
them (the event's key is the one version 1 computed), so the test does not depend on old code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from lookbook.schema import Event, Item
from lookbook.store import DB_FILE, SCHEMA_VERSION, ingest_file, open_store
from lookbook.tables import IMPRESSIONS_SCHEMA

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
#: ``event_key`` of the event below as version 1 computed it (md5 of its fields, no request id).
V1_EVENT_KEY = 766519035721225801

V1_DDL = [
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    "CREATE TYPE event_kind AS ENUM ('view', 'click', 'add_to_bag', 'save', 'purchase', 'return', 'dislike')",
    'CREATE TABLE items ("item_id" VARCHAR NOT NULL, "title" VARCHAR NOT NULL, "description" VARCHAR, '
    '"category" VARCHAR, "slot" VARCHAR, "brand" VARCHAR, "price" DOUBLE, "sizes" VARCHAR[], '
    '"in_stock" BOOLEAN, "attributes" MAP(VARCHAR, VARCHAR), "image" VARCHAR, "created_at" TIMESTAMP, '
    "item_seq BIGINT NOT NULL, image_sha256 VARCHAR)",
    'CREATE TABLE users ("user_id" VARCHAR NOT NULL, "sizes" MAP(VARCHAR, VARCHAR), "region" VARCHAR, '
    '"attributes" MAP(VARCHAR, VARCHAR), user_seq BIGINT NOT NULL)',
    'CREATE TABLE events ("user_id" VARCHAR NOT NULL, "item_id" VARCHAR NOT NULL, '
    '"kind" event_kind NOT NULL, "timestamp" TIMESTAMP NOT NULL, "event_id" VARCHAR, "device" VARCHAR, '
    '"region" VARCHAR, "touchpoint" VARCHAR, "position" INTEGER, event_key UBIGINT NOT NULL, '
    "event_seq BIGINT NOT NULL)",
    'CREATE TABLE sets ("set_id" VARCHAR NOT NULL, "item_ids" VARCHAR[] NOT NULL, "source" VARCHAR, '
    "set_seq BIGINT NOT NULL)",
    "INSERT INTO meta VALUES ('schema_version', '1')",
    "INSERT INTO items VALUES ('sku-1', 'White tee', '', '', 'top', '', 15.0, ['S'], true, MAP {}, NULL, "
    "NULL, 0, NULL), ('sku-2', 'Jeans', '', '', 'bottom', '', 40.0, [], true, MAP {}, NULL, NULL, 1, NULL)",
    "INSERT INTO users VALUES ('u1', MAP {}, '', MAP {}, 0)",
    "INSERT INTO events VALUES ('u1', 'sku-1', 'view', TIMESTAMP '2024-03-01 12:00:00', NULL, 'web', NULL, "
    f"NULL, 3, {V1_EVENT_KEY}, 0)",
]


@pytest.fixture
def old_project(tmp_path: Path) -> Path:
    """A project folder whose store is a version 1 file with two items, a user and an event."""
    project = tmp_path / "old"
    project.mkdir()
    con = duckdb.connect(str(project / DB_FILE))
    for stmt in V1_DDL:
        con.execute(stmt)
    con.close()
    return project


def _version(project: Path) -> str:
    con = duckdb.connect(str(project / DB_FILE), read_only=True)
    try:
        return str(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
    finally:
        con.close()


def _tables(project: Path) -> set[str]:
    con = duckdb.connect(str(project / DB_FILE), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def test_a_read_only_open_reads_an_old_store_as_it_is(old_project: Path) -> None:
    with open_store(old_project, read_only=True) as store:
        assert store.schema_version == 1
        assert store.counts() == {"items": 2, "in_stock": 2, "users": 1, "events": 1, "sets": 0}
        events = store.events_table()
        assert events.column("request_id").to_pylist() == [None]
        assert events.column("item_id").to_pylist() == ["sku-1"]
        assert len(store.event_arrays()) == 1
        assert store.impressions_table().schema == IMPRESSIONS_SCHEMA
        assert store.impressions_table().num_rows == 0
        assert store.vector_spaces() == []
        assert store.get_item("sku-2").title == "Jeans"
    assert _version(old_project) == "1" and "impressions" not in _tables(old_project)


def test_a_writable_open_migrates_and_keeps_every_row(old_project: Path) -> None:
    with open_store(old_project) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.counts() == {"items": 2, "in_stock": 2, "users": 1, "events": 1, "sets": 0}
        assert store.item_ids().ids.tolist() == ["sku-1", "sku-2"]
    assert _version(old_project) == str(SCHEMA_VERSION)
    assert {"impressions", "item_vectors"} <= _tables(old_project)
    with open_store(old_project, read_only=True) as store:  # and a second open finds nothing to do
        assert store.schema_version == SCHEMA_VERSION


def test_a_migrated_store_takes_the_new_writes(old_project: Path) -> None:
    with open_store(old_project) as store:
        report = store.upsert_items(
            [Item("sku-3", "Boots")], vectors={"content": np.ones((1, 4), np.float32)}
        )
        assert report.inserted == 1 and report.vectors == 1
        assert store.item_vectors("content")[0] == ["sku-3"]
        store.append_events([Event("u1", "sku-2", "click", T0, request_id="r-1")])
        assert store.events_table().column("request_id").to_pylist() == [None, "r-1"]
        n = store.append_impressions(
            pa.table(
                {
                    "request_id": ["r-1"],
                    "touchpoint": ["home"],
                    "config_version": ["c1"],
                    "item_id": ["sku-2"],
                    "position": pa.array([0], pa.int32()),
                    "timestamp": pa.array([T0], pa.timestamp("us", tz="UTC")),
                }
            )
        )
        assert n == 1 and store.impressions_table().num_rows == 1


def test_events_stored_by_version_1_keep_their_keys(
    old_project: Path, tmp_path: Path, write_csv: Any
) -> None:
    """Re-ingesting the export an old store was filled from adds nothing after the migration."""
    path = write_csv(
        tmp_path / "events.csv",
        ["user_id", "item_id", "kind", "timestamp", "device", "position"],
        [["u1", "sku-1", "view", "2024-03-01T12:00:00Z", "web", "3"]],
    )
    with open_store(old_project) as store:
        report = ingest_file(store, "events", path, show_progress=False)
        assert (report.inserted, report.unchanged) == (0, 1)
        keys = store.connection.execute("SELECT event_key FROM events").fetchall()
    assert keys == [(V1_EVENT_KEY,)]
