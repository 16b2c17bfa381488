"""Arrow layouts of the data-model tables, derived from the field specs in ``lookbook.schema``.

One definition for every layer that moves tables: dataset loaders return them, worlds are written
in them (so ``lookbook ingest items WORLD/items.parquet`` needs no column mapping) and the store
reads and writes them. It sits beside ``schema`` at the bottom of the layers because ``schema``
itself stays free of pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from lookbook.errors import SchemaError
from lookbook.schema import EVENT_FIELDS, ITEM_FIELDS, ITEMSET_FIELDS, USER_FIELDS, FieldSpec

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "string_list": pa.list_(pa.string()),
    "string_map": pa.map_(pa.string(), pa.string()),
}


def arrow_schema(fields: Sequence[FieldSpec]) -> pa.Schema:
    """The Arrow schema of a data-model table."""
    return pa.schema([pa.field(f.name, _ARROW_TYPES[f.kind], nullable=not f.required) for f in fields])


ITEMS_SCHEMA = arrow_schema(ITEM_FIELDS)
USERS_SCHEMA = arrow_schema(USER_FIELDS)
EVENTS_SCHEMA = arrow_schema(EVENT_FIELDS)
SETS_SCHEMA = arrow_schema(ITEMSET_FIELDS)

GARMENT_TYPE = pa.struct(
    [
        ("x0", pa.float32()),
        ("y0", pa.float32()),
        ("x1", pa.float32()),
        ("y1", pa.float32()),
        ("slot", pa.string()),
        ("item_id", pa.string()),
    ]
)
PHOTOS_SCHEMA = pa.schema(
    [
        pa.field("photo_id", pa.string(), nullable=False),
        pa.field("image", pa.string(), nullable=False),
        pa.field("split", pa.string()),
        pa.field("garments", pa.list_(GARMENT_TYPE)),
    ]
)
IMPRESSIONS_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("session_id", pa.int64()),
        pa.field("touchpoint", pa.string()),
        pa.field("position", pa.int32()),
        pa.field("clicked", pa.bool_()),
    ]
)


def conform(table: pa.Table, schema: pa.Schema, *, name: str) -> pa.Table:
    """Return ``table`` with exactly ``schema``'s columns, in order; absent optional ones as nulls.

    Raises ``SchemaError`` naming the table and column when a required column is missing or a column
    cannot be cast (a loader bug, not user input: user files go through ingest validation).
    """
    columns = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            if col.type != f.type:
                try:
                    col = col.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaError(f"{name} {f.name}: cannot be read as {f.type}: {exc}") from None
            columns.append(col)
        elif not f.nullable:
            raise SchemaError(f"{name} {f.name}: required column is missing")
        else:
            columns.append(pa.nulls(table.num_rows, type=f.type))
    return pa.Table.from_arrays(columns, schema=schema)
