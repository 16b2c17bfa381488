"""``Store.append_impressions`` / ``impressions_table``: served slates in, the same rows out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lookbook.errors import LookbookError, SchemaError
from lookbook.store import Store, open_store
from lookbook.tables import IMPRESSIONS_SCHEMA

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _slate(rid: str, items: list[str], when: datetime, **extra: Any) -> pa.Table:
    n = len(items)
    columns: dict[str, Any] = {
        "request_id": [rid] * n,
        "user_id": ["u1"] * n,
        "touchpoint": ["home"] * n,
        "config_version": ["c1"] * n,
        "arm": [None] * n,
        "item_id": items,
        "position": list(range(n)),
        "score": [1.0 - 0.1 * i for i in range(n)],
        "timestamp": [when] * n,
    }
    columns.update(extra)
    return pa.table(columns)


def test_impressions_round_trip_in_the_impressions_layout(store: Store) -> None:
    first = _slate("r-1", ["sku-2", "sku-1", "sku-3"], T0)
    second = _slate("r-2", ["sku-4"], T0 + timedelta(seconds=5), user_id=[None], arm=["b"])
    assert store.append_impressions(second) == 1
    assert store.append_impressions(first) == 3
    got = store.impressions_table()
    assert got.schema == IMPRESSIONS_SCHEMA
    rows = got.to_pylist()
    assert [(r["request_id"], r["item_id"], r["position"]) for r in rows] == [
        ("r-1", "sku-2", 0),
        ("r-1", "sku-1", 1),
        ("r-1", "sku-3", 2),
        ("r-2", "sku-4", 0),
    ]
    assert rows[0]["timestamp"] == T0 and rows[0]["score"] == pytest.approx(1.0)
    assert rows[0]["user_id"] == "u1" and rows[0]["arm"] is None and rows[0]["config_version"] == "c1"
    assert rows[3]["user_id"] is None and rows[3]["arm"] == "b"
    assert store.impressions_table(since=T0 + timedelta(seconds=1)).column("request_id").to_pylist() == [
        "r-2"
    ]


def test_optional_columns_may_be_absent_and_ids_are_normalised(store: Store) -> None:
    table = pa.table(
        {
            "request_id": [" r-9 "],
            "touchpoint": ["similar"],
            "config_version": ["c2"],
            "item_id": ["\tsku-1"],
            "position": [4],
            "timestamp": [T0],
        }
    )
    assert store.append_impressions(table) == 1
    row = store.impressions_table().to_pylist()[0]
    assert (row["request_id"], row["item_id"], row["user_id"], row["score"]) == ("r-9", "sku-1", None, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"position": [0, -1]}, "position"),
        ({"item_id": ["sku-1", "  "]}, "item_id"),
        ({"request_id": ["r-1", "r\x00-1"]}, "request_id"),
        ({"touchpoint": ["home", None]}, "touchpoint"),
    ],
)
def test_a_bad_batch_names_the_column_and_writes_nothing(
    store: Store, change: dict[str, Any], field: str
) -> None:
    table = _slate("r-1", ["sku-1", "sku-2"], T0, **change)
    with pytest.raises(SchemaError, match=f"impressions {field}"):
        store.append_impressions(table)
    assert store.impressions_table().num_rows == 0


def test_a_missing_required_column_is_named(store: Store) -> None:
    table = _slate("r-1", ["sku-1"], T0).drop_columns(["config_version"])
    with pytest.raises(SchemaError, match="impressions config_version: required column is missing"):
        store.append_impressions(table)


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    assert store.append_impressions(IMPRESSIONS_SCHEMA.empty_table()) == 0


def test_a_read_only_store_refuses_impressions(store: Store, project: Path) -> None:
    store.close()
    with open_store(project, read_only=True) as ro, pytest.raises(LookbookError, match="read-only"):
        ro.append_impressions(_slate("r-1", ["sku-1"], T0))
