"""``EventArrays``: the one container for an event log's parallel arrays, checked where it is built;
and the store's impressions layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from lookbook.errors import SchemaError
from lookbook.schema import EVENT_KIND_CODES, EventKind, IdMap
from lookbook.tables import EVENTS_SCHEMA, IMPRESSIONS_SCHEMA, EventArrays

USERS = IdMap(["ana", "bo"], name="user_id")
ITEMS = IdMap(["sku-1", "sku-2", "sku-3"], name="item_id")


def _arrays(**change: Any) -> EventArrays:
    fields: dict[str, Any] = {
        "user_rows": np.asarray([0, 1, 1], dtype=np.int32),
        "item_rows": np.asarray([2, 0, 1], dtype=np.int32),
        "kind": np.asarray([EVENT_KIND_CODES["view"], EVENT_KIND_CODES["purchase"], 0], dtype=np.int8),
        "timestamp": np.asarray([10, 20, 20], dtype=np.int64),
        "position": np.asarray([-1, 0, 3], dtype=np.int32),
        "users": USERS,
        "items": ITEMS,
    }
    fields.update(change)
    return EventArrays(**fields)


def test_arrays_in_the_stored_dtypes_are_kept_without_a_copy() -> None:
    rows = np.asarray([0, 1, 1], dtype=np.int32)
    ea = _arrays(user_rows=rows)
    assert ea.user_rows is rows and len(ea) == 3


def test_other_integer_dtypes_are_converted() -> None:
    ea = _arrays(user_rows=[0, 1, 1], item_rows=np.asarray([2, 0, 1]), timestamp=[10, 20, 20])
    dtypes = (ea.user_rows.dtype, ea.item_rows.dtype, ea.kind.dtype, ea.timestamp.dtype, ea.position.dtype)
    assert dtypes == (np.int32, np.int32, np.int8, np.int64, np.int32)
    assert ea.item_rows.tolist() == [2, 0, 1]


def test_an_empty_log() -> None:
    ea = _arrays(user_rows=[], item_rows=[], kind=[], timestamp=[], position=[])
    assert len(ea) == 0 and ea.timestamp.dtype == np.int64 and ea.kind.dtype == np.int8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"user_rows": [0, 2, 1]}, r"EventArrays\.user_rows: expected values in \[0, 2\), got 0\.\.2"),
        ({"item_rows": [-1, 0, 1]}, r"EventArrays\.item_rows: expected values in \[0, 3\)"),
        ({"kind": [0, len(EventKind), 0]}, r"EventArrays\.kind: expected values in \[0, 7\)"),
        ({"position": [-2, 0, 0]}, r"EventArrays\.position: expected values >= -1, got -2\.\.0"),
        ({"item_rows": [0, 1]}, r"EventArrays\.item_rows: expected 3 entries like user_rows, got 2"),
        ({"timestamp": [[10, 20, 20]]}, r"EventArrays\.timestamp: expected a 1-D array"),
        ({"timestamp": [1.5, 2.0, 3.0]}, r"EventArrays\.timestamp: expected integers, got dtype float64"),
        ({"kind": ["view", "view", "view"]}, r"EventArrays\.kind: expected integers"),
        ({"users": ["ana", "bo"]}, r"EventArrays\.users: expected an IdMap, got list"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        _arrays(**change)


def test_the_store_impressions_layout_is_the_contract() -> None:
    """One row per shown item of a served slate; user and arm may be null, the rest may not."""
    expected = [
        ("request_id", pa.string(), False),
        ("user_id", pa.string(), True),
        ("touchpoint", pa.string(), False),
        ("config_version", pa.string(), False),
        ("arm", pa.string(), True),
        ("item_id", pa.string(), False),
        ("position", pa.int32(), False),
        ("score", pa.float32(), True),
        ("timestamp", pa.timestamp("us", tz="UTC"), False),
    ]
    assert [(f.name, f.type, f.nullable) for f in IMPRESSIONS_SCHEMA] == expected


def test_events_carry_an_optional_request_id() -> None:
    field = EVENTS_SCHEMA.field("request_id")
    assert field.nullable and str(field.type) == "string"
