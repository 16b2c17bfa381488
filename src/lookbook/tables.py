"""Arrow layouts of the data-model tables, derived from the field specs in ``lookbook.schema``,
and ``EventArrays``, the one columnar form of an event log.

One definition for every layer that moves tables: dataset loaders return them, worlds are written
in them (so ``lookbook ingest items WORLD/items.parquet`` needs no column mapping) and the store
reads and writes them. It sits beside ``schema`` at the bottom of the layers because ``schema``
itself stays free of pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import SchemaError
from lookbook.schema import (
    EVENT_FIELDS,
    ITEM_FIELDS,
    ITEMSET_FIELDS,
    USER_FIELDS,
    EventKind,
    FieldSpec,
    IdMap,
)

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
#: A world's logged impressions (``impressions.parquet`` of a generated world: simulated slates and
#: their clicks, what the build's ranker stage learns from). Not the store's impressions table.
WORLD_IMPRESSIONS_SCHEMA = pa.schema(
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

#: The store's impressions (``Store.append_impressions`` / ``impressions_table``): one row per item of
#: a served slate. ``request_id`` is the slate's id, which events send back (``Event.request_id``);
#: ``user_id`` is null for an anonymous shopper; ``config_version`` names the settings that served it
#: and ``arm`` the experiment arm (null outside an experiment); ``position`` is 0-based.
IMPRESSIONS_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("user_id", pa.string()),
        pa.field("touchpoint", pa.string(), nullable=False),
        pa.field("config_version", pa.string(), nullable=False),
        pa.field("arm", pa.string()),
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("score", pa.float32()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
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


@dataclass(frozen=True, eq=False)
class EventArrays:
    """An event log as parallel integer arrays, one entry per event: what training and ranking read.

    ``user_rows`` index ``users`` and ``item_rows`` index ``items`` (``IdMap``s: string ids at the
    edges, integer rows inside). ``kind`` holds ``EventKind`` storage codes (the enum's order,
    ``schema.EVENT_KIND_CODES``); ``timestamp`` is **epoch seconds** (UTC, floored); ``position``
    is the 0-based slot the item was shown at, -1 where the event has none.

    Why seconds: every consumer reasons in seconds (recency decay and day windows, the reranker's
    purchase window and impression log, trending and popularity, ``InteractionData.timestamp``),
    so converting once here spares each of them its own division. The store keeps microseconds
    where they matter (event identity, and the time order it returns events in), so sub-second
    order survives as array order.

    The arrays are checked once here (1-D, one length, integer dtypes, rows inside their maps, kind
    codes known, positions >= -1) and stored as contiguous ``int32`` / ``int8`` / ``int64``; arrays
    already in those dtypes are kept without a copy, so wrapping a million events costs a few
    ``min``/``max`` passes. There is no Python object per event. Ordering is the producer's to
    state: ``Store.event_arrays`` sorts by time (ties in arrival order).
    """

    user_rows: npt.NDArray[np.int32]
    item_rows: npt.NDArray[np.int32]
    kind: npt.NDArray[np.int8]
    timestamp: npt.NDArray[np.int64]
    position: npt.NDArray[np.int32]
    users: IdMap
    items: IdMap

    def __post_init__(self) -> None:
        for name in ("users", "items"):
            if not isinstance(getattr(self, name), IdMap):
                raise SchemaError(
                    f"EventArrays.{name}: expected an IdMap, got {type(getattr(self, name)).__name__}"
                )
        n = -1
        for name, dtype, lo, hi in (
            ("user_rows", np.int32, 0, len(self.users)),
            ("item_rows", np.int32, 0, len(self.items)),
            ("kind", np.int8, 0, len(EventKind)),
            ("timestamp", np.int64, None, None),
            ("position", np.int32, -1, None),
        ):
            arr = np.asarray(getattr(self, name))
            if arr.ndim != 1:
                raise SchemaError(f"EventArrays.{name}: expected a 1-D array, got shape {arr.shape}")
            if n >= 0 and arr.shape[0] != n:
                raise SchemaError(
                    f"EventArrays.{name}: expected {n} entries like user_rows, got {arr.shape[0]}"
                )
            n = arr.shape[0]
            if arr.size == 0:
                arr = arr.astype(dtype)
            elif not np.issubdtype(arr.dtype, np.integer):
                raise SchemaError(f"EventArrays.{name}: expected integers, got dtype {arr.dtype}")
            elif lo is not None:
                a_min, a_max = int(arr.min()), int(arr.max())
                if a_min < lo or (hi is not None and a_max >= hi):
                    expected = f"in [{lo}, {hi})" if hi is not None else f">= {lo}"
                    raise SchemaError(f"EventArrays.{name}: expected values {expected}, got {a_min}..{a_max}")
            object.__setattr__(self, name, np.ascontiguousarray(arr, dtype=dtype))

    def __len__(self) -> int:
        return int(self.user_rows.size)
