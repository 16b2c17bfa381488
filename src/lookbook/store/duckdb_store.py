"""The embedded store: a project folder with one DuckDB file and content-addressed images.

::

    PROJECT/
      lookbook.duckdb          items, users, events, sets, meta (schema version)
      images/ab/ab12...ef.jpg  item images, named by the SHA-256 of their bytes

Why DuckDB: it is an embedded database (no server to run) with ACID transactions over a
write-ahead log, so an ingest killed midway is rolled back when the file is next opened; its
storage is columnar, so the million events a model trains on come back as numpy arrays in a
fraction of a second (``Store.event_arrays``); it reads CSV, Parquet and JSON natively, which the
ingest validates in SQL; and the same SQL serves later analytics.

A store is used by one process for writing at a time (DuckDB's file lock enforces this); any
number of read-only opens may share it when nothing is writing. A ``Store`` object is not
thread-safe: give each thread its own, or serialise calls.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.schema import Event, IdMap, Item, ItemSet, User
from lookbook.store.images import is_uri
from lookbook.store.ingest import ingest_rows
from lookbook.store.records import row_to_record
from lookbook.store.report import IngestReport
from lookbook.store.sql import (
    DB_FILE,
    SCHEMA_VERSION,
    TABLE_FIELDS,
    Transaction,
    arrow_layout,
    connect,
    create_schema,
    fetch_one,
    ident,
    transaction,
)
from lookbook.tables import EventArrays

log = logging.getLogger(__name__)

__all__ = ["Store", "open_store"]

_LAYOUTS = {name: arrow_layout(fields) for name, fields in TABLE_FIELDS.items()}
_SEQ = {"items": "item_seq", "users": "user_seq", "sets": "set_seq", "events": "event_seq"}
_US_PER_S = 1_000_000


def _naive_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _to_layout(table: pa.Table, name: str) -> pa.Table:
    """Cast a fetched table to the data-model layout (naive UTC timestamps become UTC-aware)."""
    schema = _LAYOUTS[name]
    columns = [table.column(f.name).cast(f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _idmap(values: Any, name: str) -> IdMap:
    arr = np.asarray(values, dtype=object)
    return IdMap(arr.astype(str) if arr.size else np.asarray([], dtype=str), name=name)


class Store:
    """A project's catalog, users, events and sets in one DuckDB file (see the module doc).

    Build it with ``open_store``. Bulk writes (``upsert_*``, ``append_events``) share the file
    ingest's validation: pass records or an Arrow table in any layout a file could have, get an
    ``IngestReport`` back. Reads return Arrow tables in the layouts of ``lookbook.tables``,
    or arrays (``event_arrays``).
    """

    def __init__(self, root: Path, connection: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self.root = root
        self.connection = connection
        self.read_only = read_only

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the DuckDB connection (releases the file lock)."""
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, read_only={self.read_only})"

    @property
    def db_path(self) -> Path:
        """The DuckDB file."""
        return self.root / DB_FILE

    def _check_writable(self) -> None:
        if self.read_only:
            raise LookbookError(f"store {self.root}: opened read-only; open it with read_only=False to write")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction on the store: the surface every bulk write (``ingest``) goes through.

        Checks the store is writable (``LookbookError`` if it was opened read-only), then runs the
        block inside one DuckDB transaction on ``tx.connection``: committed when the block ends
        normally (or at ``tx.commit()``), rolled back at ``tx.rollback()`` or when it raises. A
        process killed inside leaves the store as before. Single-writer rules are DuckDB's: one
        process holds the file for writing, and one transaction at a time runs on a connection.
        """
        self._check_writable()
        with transaction(self.connection) as tx:
            yield tx

    def _arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self.connection.sql(sql, params=params).to_arrow_table()

    # -- reads ---------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Row counts: ``items``, ``in_stock`` (items), ``users``, ``events``, ``sets``."""
        row = fetch_one(
            self.connection,
            "SELECT (SELECT count(*) FROM items), (SELECT count(*) FILTER (in_stock) FROM items), "
            "(SELECT count(*) FROM users), (SELECT count(*) FROM events), (SELECT count(*) FROM sets)",
        )
        return dict(zip(("items", "in_stock", "users", "events", "sets"), (int(v) for v in row), strict=True))

    def items_table(self, *, in_stock_only: bool = False) -> pa.Table:
        """The catalog in the ``ITEMS`` layout, in insertion order (row ``i`` is ``item_ids()`` row ``i``
        when ``in_stock_only`` is false). ``image`` is relative to ``root``."""
        cols = ", ".join(ident(f.name) for f in TABLE_FIELDS["items"])
        where = " WHERE in_stock" if in_stock_only else ""
        return _to_layout(self._arrow(f"SELECT {cols} FROM items{where} ORDER BY item_seq"), "items")

    def users_table(self) -> pa.Table:
        """Users in the ``USERS`` layout, in insertion order."""
        cols = ", ".join(ident(f.name) for f in TABLE_FIELDS["users"])
        return _to_layout(self._arrow(f"SELECT {cols} FROM users ORDER BY user_seq"), "users")

    def sets_table(self) -> pa.Table:
        """Sets in the ``SETS`` layout, in insertion order."""
        cols = ", ".join(ident(f.name) for f in TABLE_FIELDS["sets"])
        return _to_layout(self._arrow(f"SELECT {cols} FROM sets ORDER BY set_seq"), "sets")

    def events_table(self) -> pa.Table:
        """Events in the ``EVENTS`` layout, sorted by time (for export and inspection; training
        should read ``event_arrays``)."""
        cols = ", ".join(
            "CAST(kind AS VARCHAR) AS kind" if f.name == "kind" else ident(f.name)
            for f in TABLE_FIELDS["events"]
        )
        return _to_layout(self._arrow(f"SELECT {cols} FROM events ORDER BY timestamp, event_seq"), "events")

    def item_ids(self) -> IdMap:
        """Item id <-> integer row, rows in insertion order (appending items keeps existing rows;
        deleting an item shifts the rows after it)."""
        ids = self._arrow("SELECT item_id FROM items ORDER BY item_seq").column(0).to_pylist()
        return _idmap(ids, "item_id")

    def user_ids(self) -> IdMap:
        """User id <-> integer row, rows in insertion order."""
        ids = self._arrow("SELECT user_id FROM users ORDER BY user_seq").column(0).to_pylist()
        return _idmap(ids, "user_id")

    def get_item(self, item_id: str) -> Item:
        """One item as a record; raises ``NotFound`` for an unknown id."""
        cols = ", ".join(ident(f.name) for f in TABLE_FIELDS["items"])
        rows = self._arrow(f"SELECT {cols} FROM items WHERE item_id = ?", [item_id]).to_pylist()
        if not rows:
            raise NotFound(f"item_id: unknown id {item_id!r}")
        return row_to_record("items", rows[0])  # type: ignore[no-any-return]

    def image_path(self, item_id: str) -> Path | None:
        """Absolute path of an item's stored image (``None``: no image, or a URI kept as given)."""
        row = fetch_one(self.connection, "SELECT image FROM items WHERE item_id = ?", [item_id])
        if not row:
            raise NotFound(f"item_id: unknown id {item_id!r}")
        image = row[0]
        if image is None or is_uri(image):
            return None
        return self.root / image

    def event_arrays(self, *, since: datetime | None = None) -> EventArrays:
        """All events (or those at or after ``since``) as ``lookbook.tables.EventArrays``.

        Sorted by time, ties in arrival order. ``items`` is the catalog in ``item_ids()`` order (so
        item rows agree with ``items_table()``) and ``users`` is ``user_ids()``, both whole even
        with ``since``. Events on items deleted from the catalog are dropped (they have no row).
        Timestamps come out as epoch seconds, floored (the store keeps microseconds).

        The join from string ids to rows, the sort and the conversion all run inside DuckDB on
        columns, and the three reads share one transaction so ids and rows agree.
        """
        where, params = "", []
        if since is not None:
            where, params = "WHERE e.timestamp >= ?", [_naive_utc(since)]
        with transaction(self.connection) as tx:
            con = tx.connection
            items = _idmap(
                self._arrow("SELECT item_id FROM items ORDER BY item_seq").column(0).to_pylist(), "item_id"
            )
            users = _idmap(
                self._arrow("SELECT user_id FROM users ORDER BY user_seq").column(0).to_pylist(), "user_id"
            )
            arrays = con.execute(
                "WITH it AS (SELECT item_id, CAST(row_number() OVER (ORDER BY item_seq) - 1 AS INTEGER) AS r "
                "FROM items), "
                "us AS (SELECT user_id, CAST(row_number() OVER (ORDER BY user_seq) - 1 AS INTEGER) AS r "
                "FROM users) "
                "SELECT us.r AS u, it.r AS i, CAST(enum_code(e.kind) AS TINYINT) AS k, "
                "epoch_us(e.timestamp) AS ts, CAST(coalesce(e.position, -1) AS INTEGER) AS p "
                "FROM events e JOIN it ON e.item_id = it.item_id JOIN us ON e.user_id = us.user_id "
                f"{where} ORDER BY e.timestamp, e.event_seq",
                params,
            ).fetchnumpy()
        # floored in numpy: DuckDB's integer ``//`` truncates towards zero (pre-1970 would round up)
        seconds = np.floor_divide(np.asarray(arrays["ts"], dtype=np.int64), _US_PER_S)
        return EventArrays(
            user_rows=np.ascontiguousarray(arrays["u"], dtype=np.int32),
            item_rows=np.ascontiguousarray(arrays["i"], dtype=np.int32),
            kind=np.ascontiguousarray(arrays["k"], dtype=np.int8),
            timestamp=seconds,
            position=np.ascontiguousarray(arrays["p"], dtype=np.int32),
            users=users,
            items=items,
        )

    # -- writes --------------------------------------------------------------------------------------

    def upsert_items(
        self, items: Sequence[Item] | pa.Table, *, strict: bool = False, base_dir: Path | None = None
    ) -> IngestReport:
        """Add or update items by ``item_id`` (validated like a file; relative image paths resolve
        against ``base_dir``, default the working directory)."""
        return ingest_rows(self, "items", items, strict=strict, base_dir=base_dir)

    def upsert_users(self, users: Sequence[User] | pa.Table, *, strict: bool = False) -> IngestReport:
        """Add or update users by ``user_id``."""
        return ingest_rows(self, "users", users, strict=strict)

    def append_events(self, events: Sequence[Event] | pa.Table, *, strict: bool = False) -> IngestReport:
        """Append events (already stored ones are skipped; unknown users are created)."""
        return ingest_rows(self, "events", events, strict=strict)

    def upsert_sets(self, sets: Sequence[ItemSet] | pa.Table, *, strict: bool = False) -> IngestReport:
        """Add or update sets by ``set_id`` (every member must be in the catalog)."""
        return ingest_rows(self, "sets", sets, strict=strict)

    def _update_items(self, item_ids: Sequence[str], statement: str, verb: str) -> int:
        self._check_writable()
        if isinstance(item_ids, str):
            raise SchemaError(f"{verb} item_ids: expected a sequence of ids, got the string {item_ids!r}")
        ids = pa.table({"item_id": pa.array([str(i) for i in item_ids], pa.string())})
        try:
            with self.transaction() as tx:
                con = tx.connection
                con.register("__ids_in", ids)
                unknown = con.execute(
                    "SELECT DISTINCT q.item_id FROM __ids_in q ANTI JOIN items i ON q.item_id = i.item_id "
                    "ORDER BY q.item_id LIMIT 6"
                ).fetchall()
                if unknown:
                    shown = [u[0] for u in unknown[:5]]
                    more = " and more" if len(unknown) > 5 else ""
                    raise NotFound(f"{verb} item_ids: unknown ids {shown}{more}; nothing was changed")
                n = fetch_one(con, statement.format(ids="(SELECT DISTINCT item_id FROM __ids_in)"))[0]
                con.unregister("__ids_in")
        except BaseException:
            self.connection.unregister("__ids_in")  # after the rollback, as the registration outlives it
            raise
        log.info("%s: %d items", verb, n)
        return int(n)

    def mark_sold(self, item_ids: Sequence[str]) -> int:
        """Set ``in_stock = false`` (the item stays in the catalog and in history); returns how many
        items matched. Any unknown id raises ``NotFound`` and changes nothing."""
        return self._update_items(
            item_ids, "UPDATE items SET in_stock = false WHERE item_id IN {ids}", "mark_sold"
        )

    def delete_items(self, item_ids: Sequence[str]) -> int:
        """Remove items from the catalog; their events stay (``event_arrays`` skips them). Returns
        how many were removed. Any unknown id raises ``NotFound`` and changes nothing."""
        return self._update_items(item_ids, "DELETE FROM items WHERE item_id IN {ids}", "delete_items")

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (DuckDB also does this on its own)."""
        self._check_writable()
        self.connection.execute("CHECKPOINT")


def open_store(path: Path | str, *, create: bool = True, read_only: bool = False) -> Store:
    """Open the store in project folder ``path``, creating it (folder and tables) when ``create``.

    Raises ``NotFound`` when there is no store and ``create`` is false (or ``read_only``), and
    ``SchemaError`` when the file was written by an incompatible version of Lookbook.
    """
    root = Path(path).expanduser()
    if root.suffix == ".duckdb":
        root = root.parent
    db = root / DB_FILE
    if not db.exists():
        if not create or read_only:
            hint = f"create one with `lookbook ingest items FILE --project {root}`"
            raise NotFound(f"store {root}: no {DB_FILE} here; {hint}")
        root.mkdir(parents=True, exist_ok=True)
    try:
        con = connect(str(db), read_only=read_only)
    except duckdb.Error as exc:
        raise LookbookError(f"store {root}: cannot open {DB_FILE}: {exc}") from None
    try:
        has_meta = fetch_one(
            con,
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta' AND schema_name = 'main' "
            "AND database_name = current_database()",
        )[0]
        if not has_meta:
            if read_only:
                raise NotFound(f"store {root}: {DB_FILE} has no Lookbook tables")
            create_schema(con)
            log.info("created store %s (schema version %d)", root, SCHEMA_VERSION)
        else:
            row = fetch_one(con, "SELECT value FROM meta WHERE key = 'schema_version'")
            version = row[0] if row else None
            if version != str(SCHEMA_VERSION):
                raise SchemaError(
                    f"store {root} schema_version: expected {SCHEMA_VERSION}, got {version}; "
                    "re-ingest into a new project"
                )
    except BaseException:
        con.close()
        raise
    return Store(root.resolve(), con, read_only=read_only)
