"""Apply validated rows (``__good``) to the store tables; runs inside the ingest's transaction.

Items, users and sets are *upserted by id*: a row for an existing id updates only the fields the
input carries (a file of ``item_id,price`` changes prices and nothing else), and a field that is
present but empty in a row keeps the stored value. Uniqueness of ids is enforced here rather
than by an index: the merged rows are computed, changed rows are deleted and re-inserted with
their original sequence number. Rows whose merged values equal the stored ones are left alone,
which makes re-running a file a no-op that writes nothing.

Events are *appended*: each gets an ``event_key`` (see ``event_key_sql``) and only keys not
already stored are inserted, with an anti-join, so re-running an events file inserts nothing.
Users that events mention and the store does not know are created with an empty profile.

Item vectors (``write_item_vectors``) are written right after the item rows, in the same
transaction, keyed by ``(item_id, space)``: a vector replaces the item's previous one in that space,
and an item and its vectors commit together or not at all.
"""

from __future__ import annotations

import logging

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.errors import DimensionMismatch
from lookbook.schema import FieldSpec
from lookbook.store.sql import TABLE_FIELDS, fetch_one, ident
from lookbook.store.validate import Staged

log = logging.getLogger(__name__)

__all__ = ["WriteCounts", "append_events", "event_key_sql", "upsert_rows", "write_item_vectors"]

WriteCounts = tuple[int, int, int]  # inserted, updated, unchanged

_EMPTY_MAP = "CAST(MAP {} AS MAP(VARCHAR, VARCHAR))"
#: Values a new row gets for fields its input does not give (the record classes' defaults).
_DEFAULTS: dict[str, dict[str, str]] = {
    "items": {
        "description": "''",
        "category": "''",
        "slot": "'other'",
        "brand": "''",
        "price": "0.0",
        "sizes": "CAST([] AS VARCHAR[])",
        "in_stock": "true",
        "attributes": _EMPTY_MAP,
    },
    "users": {"sizes": _EMPTY_MAP, "region": "''", "attributes": _EMPTY_MAP},
    "sets": {"source": "'stylist'"},
}
_KEYS: dict[str, tuple[str, str]] = {
    "items": ("item_id", "item_seq"),
    "users": ("user_id", "user_seq"),
    "sets": ("set_id", "set_seq"),
}


def _merge_expr(table: str, spec: FieldSpec, staged: Staged) -> str:
    name = ident(spec.name)
    default = _DEFAULTS.get(table, {}).get(spec.name)
    if spec.name == "attributes" and "attributes" in staged.present:
        base = f"coalesce(g.{name}, e.{name}, {_EMPTY_MAP})"
        return f"map_concat({base}, g.__folded)"
    if table == "items" and spec.name == "image":
        if "image" in staged.present:
            return "coalesce(im.stored, e.image)"
        return "e.image"
    parts = [f"g.{name}", f"e.{name}"] if spec.name in staged.present else [f"e.{name}"]
    if default is not None:
        parts.append(default)
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def upsert_rows(con: duckdb.DuckDBPyConnection, staged: Staged) -> WriteCounts:
    """Upsert ``__good`` into items, users or sets by id (see the module doc)."""
    table = staged.table
    id_name, seq_name = _KEYS[table]
    fields = TABLE_FIELDS[table]
    exprs = [f"g.{ident(id_name)} AS {ident(id_name)}"]
    exprs += [f"{_merge_expr(table, f, staged)} AS {ident(f.name)}" for f in fields if f.name != id_name]
    base = f"(SELECT coalesce(max({seq_name}), -1) FROM {table})"
    exprs.append(f"coalesce(e.{seq_name}, {base} + row_number() OVER (ORDER BY g.__row)) AS {seq_name}")
    joins = f"__good g LEFT JOIN {table} e ON g.{ident(id_name)} = e.{ident(id_name)}"
    extra_cols = [seq_name]
    if table == "items":
        if "image" in staged.present:
            joins += " LEFT JOIN __images im ON g.image = im.value"
            exprs.append(
                "CASE WHEN im.stored IS NOT NULL THEN im.sha256 ELSE e.image_sha256 END AS image_sha256"
            )
        else:
            exprs.append("e.image_sha256 AS image_sha256")
        extra_cols.append("image_sha256")
    columns = [f.name for f in fields] + extra_cols
    cols_sql = ", ".join(ident(c) for c in columns)
    m_row = ", ".join(f"m.{ident(c)}" for c in columns)
    e_row = ", ".join(f"e.{ident(c)}" for c in columns)
    con.execute(
        f"CREATE TEMP TABLE __merged AS SELECT m.*, e.{ident(id_name)} IS NULL AS __new, "
        f"(e.{ident(id_name)} IS NULL OR row({m_row}) IS DISTINCT FROM row({e_row})) AS __changed "
        f"FROM (SELECT {', '.join(exprs)} FROM {joins}) m "
        f"LEFT JOIN {table} e ON m.{ident(id_name)} = e.{ident(id_name)}"
    )
    inserted, updated, unchanged = fetch_one(
        con,
        "SELECT count(*) FILTER (__new), count(*) FILTER (__changed AND NOT __new), "
        "count(*) FILTER (NOT __changed) FROM __merged",
    )
    if updated:
        fetch_one(
            con,
            f"DELETE FROM {table} WHERE {ident(id_name)} IN "
            f"(SELECT {ident(id_name)} FROM __merged WHERE __changed AND NOT __new)",
        )
    if inserted or updated:
        fetch_one(
            con,
            f"INSERT INTO {table} ({cols_sql}) "
            f"SELECT {cols_sql} FROM __merged WHERE __changed ORDER BY {seq_name}",
        )
    return int(inserted), int(updated), int(unchanged)


def event_key_sql() -> str:
    """SQL for ``event_key`` over ``__good`` rows carrying ``__occ`` (see below): a stable 64-bit id.

    With an ``event_id`` the key is ``md5_number_upper(event_id)``. Without one, it hashes every
    field of the event (the timestamp as epoch microseconds, absent context distinct from empty
    context) plus the occurrence number of identical rows within the input: two identical rows in
    one file stay two events, re-ingesting the file (or a later export that repeats it) adds none.
    A ``request_id`` enters the hash only when present (``concat_ws`` skips a NULL), so the keys of
    events without one are the keys version 1 stored, and old files stay idempotent.
    md5 rather than DuckDB's ``hash()`` because the key is stored, and must not change with the
    engine's version.
    """

    def opt(col: str) -> str:
        return f"coalesce('=' || CAST({ident(col)} AS VARCHAR), '-')"

    fields = ", ".join(
        [
            "user_id",
            "item_id",
            "CAST(kind AS VARCHAR)",
            "CAST(epoch_us(timestamp) AS VARCHAR)",
            *(opt(c) for c in ("device", "region", "touchpoint", "position")),
        ]
    )
    fields += ", 'r=' || request_id"
    return (
        f"CASE WHEN event_id IS NOT NULL THEN md5_number_upper(event_id) "
        f"WHEN __occ = 1 THEN md5_number_upper(concat_ws(chr(31), {fields})) "
        f"ELSE md5_number_upper(concat_ws(chr(31), {fields}, CAST(__occ AS VARCHAR))) END"
    )


def append_events(con: duckdb.DuckDBPyConnection, staged: Staged) -> tuple[int, int, int]:
    """Insert new events from ``__good``, creating unknown users; returns (inserted, skipped, new users)."""
    users = fetch_one(
        con,
        "INSERT INTO users (user_id, sizes, region, attributes, user_seq) "
        f"SELECT n.user_id, {_EMPTY_MAP}, '', {_EMPTY_MAP}, "
        "(SELECT coalesce(max(user_seq), -1) FROM users) + row_number() OVER (ORDER BY n.first_row) "
        "FROM (SELECT user_id, min(__row) AS first_row FROM __good GROUP BY user_id) n "
        "ANTI JOIN users u ON n.user_id = u.user_id",
    )[0]
    cols = [ident(f.name) for f in TABLE_FIELDS["events"]]
    occ = (
        "row_number() OVER (PARTITION BY event_id IS NULL, user_id, item_id, kind, timestamp, device, "
        "region, touchpoint, position, request_id ORDER BY __row)"
    )
    keyed = f"SELECT *, {event_key_sql()} AS event_key FROM (SELECT *, {occ} AS __occ FROM __good)"
    inserted = fetch_one(
        con,
        f"INSERT INTO events ({', '.join(cols)}, event_key, event_seq) "
        f"SELECT {', '.join('k.' + c for c in cols)}, k.event_key, "
        "(SELECT coalesce(max(event_seq), -1) FROM events) + row_number() OVER (ORDER BY k.__row) "
        f"FROM ({keyed}) k ANTI JOIN events e ON k.event_key = e.event_key",
    )[0]
    good = fetch_one(con, "SELECT count(*) FROM __good")[0]
    return int(inserted), int(good) - int(inserted), int(users)


def write_item_vectors(con: duckdb.DuckDBPyConnection, vectors: pa.Table) -> int:
    """Upsert the vectors of the items written from ``__good``; returns how many were written.

    ``vectors`` has ``__row`` (the input row of the item), ``space`` and ``vector`` (float32
    little-endian bytes); rows whose item was rejected are skipped with it. A space's vectors all
    have one width: a vector of another width than those already stored raises
    ``DimensionMismatch`` (the transaction, item rows included, is rolled back). Kept to one
    read (a single row per space) and one insert straight from the Arrow table, because every live
    upsert of one item runs this.
    """
    lengths = pc.binary_length(vectors.column("vector"))
    spaces = vectors.column("space").unique().to_pylist()
    # one stored row tells a space's width (they all share it); LIMIT 1 reads no more, and one
    # query asks every space at once (a query costs ~2 ms; an item has ten spaces)
    probes = " UNION ALL ".join(
        "(SELECT space, octet_length(vector) FROM item_vectors WHERE space = ? LIMIT 1)" for _ in spaces
    )
    stored_widths = dict(con.execute(probes, spaces).fetchall()) if spaces else {}
    for space in spaces:
        width = pc.max(pc.filter(lengths, pc.equal(vectors.column("space"), space))).as_py()
        stored = stored_widths.get(space)
        if stored is not None and stored != width:
            raise DimensionMismatch(
                f"vectors[{space!r}]: expected {stored // 4} dimensions like the stored vectors of that "
                f"space, got {width // 4}"
            )
    con.register("__vectors_in", vectors)
    try:
        log.debug("storing vectors of %d rows with the items", vectors.num_rows)
        n = fetch_one(
            con,
            "INSERT OR REPLACE INTO item_vectors SELECT g.item_id, v.space, v.vector "
            "FROM __vectors_in v JOIN __good g ON v.__row = g.__row",
        )[0]
    finally:
        con.unregister("__vectors_in")
    return int(n)
