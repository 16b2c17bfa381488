"""Records (``Item``, ``User``, ``Event``, ``ItemSet``) to Arrow tables in the data-model layouts.

Programmatic upserts go through the same SQL validation as files; this module only changes their
shape. Each record has already checked itself, so the loop here is plain conversion.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pyarrow as pa

from lookbook.errors import SchemaError
from lookbook.schema import Event, Item, ItemSet, User
from lookbook.store.sql import TABLE_FIELDS, arrow_layout

__all__ = ["RECORD_TYPES", "records_to_arrow", "row_to_record"]

RECORD_TYPES: dict[str, type] = {"items": Item, "users": User, "events": Event, "sets": ItemSet}


def _plain(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.value
    if kind == "string_map":
        return list(dict(value).items())
    if kind == "string_list":
        return list(value)
    return value


def records_to_arrow(table: str, records: Sequence[Any]) -> pa.Table:
    """Arrow table of ``records`` in ``table``'s layout; a record of the wrong type is a ``SchemaError``."""
    cls = RECORD_TYPES[table]
    fields = TABLE_FIELDS[table]
    columns: dict[str, list[Any]] = {f.name: [] for f in fields}
    for i, rec in enumerate(records):
        if not isinstance(rec, cls):
            raise SchemaError(f"{table} records[{i}]: expected a {cls.__name__}, got {type(rec).__name__}")
        for f in fields:
            columns[f.name].append(_plain(getattr(rec, f.name), f.kind))
    schema = arrow_layout(fields)
    # Nullability is checked by validation, not by Arrow, so that errors name the row.
    schema = pa.schema([f.with_nullable(True) for f in schema])
    return pa.table(
        {name: pa.array(values, schema.field(name).type) for name, values in columns.items()}, schema=schema
    )


def row_to_record(table: str, row: dict[str, Any]) -> Any:
    """One row of a store table (Arrow ``to_pylist`` form) back to its record."""
    cls = RECORD_TYPES[table]
    kwargs: dict[str, Any] = {}
    for f in TABLE_FIELDS[table]:
        value = row.get(f.name)
        if f.kind == "string_map":
            value = dict(value or [])
        elif f.kind == "string_list":
            value = tuple(value or ())
        elif f.kind == "timestamp" and isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        kwargs[f.name] = value
    return cls(**kwargs)
