"""The embedded store: a project folder with one DuckDB file and content-addressed images.

::

    PROJECT/
      lookbook.duckdb          items, users, events, sets, impressions, item_vectors, meta
      images/ab/ab12...ef.jpg  item images, named by the SHA-256 of their bytes

Why DuckDB: it is an embedded database (no server to run) with ACID transactions over a
write-ahead log, so an ingest killed midway is rolled back when the file is next opened; its
storage is columnar, so the million events a model trains on come back as numpy arrays in a
fraction of a second (``Store.event_arrays``); it reads CSV, Parquet and JSON natively, which the
ingest validates in SQL; and the same SQL serves later analytics.

A store is used by one process for writing at a time (DuckDB's file lock enforces this); any
number of read-only opens may share it when nothing is writing. A ``Store`` object is not
thread-safe: give each thread its own, or serialise calls.

The store has a clock (``Store.clock``, the wall clock unless ``open_store`` is given another):
events later than its "now" plus ``max_skew`` (5 minutes) are rejected on every ingest path, so
one client's wrong clock cannot put an event in the future that outlives it. Ids are normalised
by ``lookbook.schema.normalise_id``'s rule everywhere they come in, reads included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.schema import ID_CONTROL_PATTERN, Event, IdMap, Item, ItemSet, User, normalise_id
from lookbook.store.images import DEFAULT_MAX_IMAGE_PIXELS, is_uri
from lookbook.store.ingest import ingest_rows
from lookbook.store.parse import id_expr
from lookbook.store.records import row_to_record
from lookbook.store.report import IngestReport
from lookbook.store.sql import (
    DB_FILE,
    OLDEST_READABLE_VERSION,
    SCHEMA_VERSION,
    TABLE_FIELDS,
    Transaction,
    arrow_layout,
    connect,
    create_schema,
    fetch_one,
    ident,
    literal,
    migrate_schema,
    transaction,
)
from lookbook.store.vectors import arrow_to_vectors, check_vectors, vectors_to_arrow
from lookbook.tables import IMPRESSIONS_SCHEMA, EventArrays, conform

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_SKEW", "Clock", "Store", "open_store"]

#: What the store's clock returns: epoch seconds (like ``time.time``) or a datetime (naive = UTC).
Clock = Callable[[], float | datetime]
#: How far past the store's "now" an event's timestamp may be (clients' clocks drift a little).
DEFAULT_MAX_SKEW = timedelta(minutes=5)

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


def _as_datetime(value: float | datetime, name: str) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
        return datetime.fromtimestamp(float(value), tz=UTC)
    raise SchemaError(f"{name}: expected epoch seconds or a datetime, got {value!r}")


def _as_skew(value: float | timedelta) -> timedelta:
    skew = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    if not skew >= timedelta(0):
        raise SchemaError(f"open_store max_skew: expected a duration >= 0, got {value!r}")
    return skew


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

    def __init__(
        self,
        root: Path,
        connection: duckdb.DuckDBPyConnection,
        *,
        read_only: bool,
        schema_version: int = SCHEMA_VERSION,
        clock: Clock | None = None,
        max_skew: float | timedelta = DEFAULT_MAX_SKEW,
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    ) -> None:
        self.root = root
        self.connection = connection
        self.read_only = read_only
        #: The file's ``meta.schema_version``: below ``SCHEMA_VERSION`` only for a read-only open
        #: of an old file, whose missing tables read as empty.
        self.schema_version = schema_version
        #: The store's "now" (epoch seconds or a datetime): the future limit of event times.
        self.clock: Clock = clock if clock is not None else time.time
        self.max_skew = _as_skew(max_skew)
        #: Largest item image accepted, in pixels (decoded before it is accepted).
        self.max_image_pixels = int(max_image_pixels)

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

    def now(self) -> datetime:
        """The store's clock as a UTC datetime."""
        return _as_datetime(self.clock(), "Store.clock()")

    def event_time_limit(self) -> datetime:
        """The latest event time accepted now (naive UTC): the clock plus ``max_skew``."""
        return _naive_utc(self.now() + self.max_skew)

    @property
    def _migrated(self) -> bool:
        return self.schema_version >= SCHEMA_VERSION

    # -- reads ---------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Row counts: ``items``, ``in_stock`` (items), ``users``, ``events``, ``sets``."""
        row = fetch_one(
            self.connection,
            "SELECT (SELECT count(*) FROM items), (SELECT count(*) FILTER (in_stock) FROM items), "
            "(SELECT count(*) FROM users), (SELECT count(*) FROM events), (SELECT count(*) FROM sets)",
        )
        return dict(zip(("items", "in_stock", "users", "events", "sets"), (int(v) for v in row), strict=True))

    def items_table(self, *, in_stock_only: bool = False, item_ids: Sequence[str] | None = None) -> pa.Table:
        """The catalog in the ``ITEMS`` layout, in insertion order (row ``i`` is ``item_ids()`` row ``i``
        when ``in_stock_only`` is false and ``item_ids`` is None). ``image`` is relative to ``root``.

        ``item_ids``: only those items (unknown ids are left out), still in insertion order: a live
        write reads back the few rows it touched, not the whole catalog."""
        cols = ", ".join(ident(f.name) for f in TABLE_FIELDS["items"])
        conditions = ["in_stock"] if in_stock_only else []
        params: list[Any] = []
        if item_ids is not None:
            if isinstance(item_ids, str):
                raise SchemaError(f"items_table item_ids: expected a sequence of ids, got {item_ids!r}")
            conditions.append("item_id IN (SELECT unnest(?::VARCHAR[]))")
            params.append([str(i) for i in item_ids])
        where = " WHERE " + " AND ".join(conditions) if conditions else ""
        sql = f"SELECT {cols} FROM items{where} ORDER BY item_seq"
        return _to_layout(self._arrow(sql, params or None), "items")

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

        def col(name: str) -> str:
            if name == "kind":
                return "CAST(kind AS VARCHAR) AS kind"
            if name == "request_id" and not self._migrated:  # a read-only open of a version 1 file
                return "CAST(NULL AS VARCHAR) AS request_id"
            return ident(name)

        cols = ", ".join(col(f.name) for f in TABLE_FIELDS["events"])
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
        """One item as a record; raises ``NotFound`` for an unknown id (normalised first)."""
        item_id = normalise_id(item_id, owner="get_item", name="item_id")
        cols = ", ".join(ident(f.name) for f in TABLE_FIELDS["items"])
        rows = self._arrow(f"SELECT {cols} FROM items WHERE item_id = ?", [item_id]).to_pylist()
        if not rows:
            raise NotFound(f"item_id: unknown id {item_id!r}")
        return row_to_record("items", rows[0])  # type: ignore[no-any-return]

    def image_path(self, item_id: str) -> Path | None:
        """Absolute path of an item's stored image (``None``: no image, or a URI kept as given)."""
        item_id = normalise_id(item_id, owner="image_path", name="item_id")
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
        self,
        items: Sequence[Item] | pa.Table,
        *,
        strict: bool = False,
        vectors: Mapping[str, npt.ArrayLike] | None = None,
        base_dir: Path | None = None,
    ) -> IngestReport:
        """Add or update items by ``item_id`` (validated like a file; relative image paths resolve
        against ``base_dir``, default the working directory; images are decoded first, at most
        ``max_image_pixels``).

        ``vectors`` (``{space: (n_items, dim) float32}``, row ``i`` for the ``i``-th item given) are
        stored in the same transaction as the item rows, replacing the items' previous vectors in
        those spaces: an item and its vectors commit together or not at all (with ``strict``, a bad
        row writes neither; without it, a rejected item's vectors are dropped with it). Every
        vector of a space has one width (``DimensionMismatch`` otherwise). ``report.vectors``
        counts the vectors written.
        """
        return ingest_rows(self, "items", items, strict=strict, base_dir=base_dir, vectors=vectors)

    def upsert_users(self, users: Sequence[User] | pa.Table, *, strict: bool = False) -> IngestReport:
        """Add or update users by ``user_id``."""
        return ingest_rows(self, "users", users, strict=strict)

    def append_events(self, events: Sequence[Event] | pa.Table, *, strict: bool = False) -> IngestReport:
        """Append events (already stored ones are skipped; unknown users are created; events later
        than the store's clock plus ``max_skew`` are rejected, naming ``timestamp``)."""
        return ingest_rows(self, "events", events, strict=strict)

    def upsert_sets(self, sets: Sequence[ItemSet] | pa.Table, *, strict: bool = False) -> IngestReport:
        """Add or update sets by ``set_id`` (every member must be in the catalog)."""
        return ingest_rows(self, "sets", sets, strict=strict)

    def _update_items(self, item_ids: Sequence[str], statements: Sequence[str], verb: str) -> int:
        """Run ``statements`` (the first one's count is returned) on known ids, in one transaction."""
        self._check_writable()
        if isinstance(item_ids, str):
            raise SchemaError(f"{verb} item_ids: expected a sequence of ids, got the string {item_ids!r}")
        normal = [normalise_id(str(i), owner=verb, name="item_ids") for i in item_ids]
        ids = pa.table({"item_id": pa.array(normal, pa.string())})
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
                counts = [
                    fetch_one(con, stmt.format(ids="(SELECT DISTINCT item_id FROM __ids_in)"))[0]
                    for stmt in statements
                ]
                n = counts[0]
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
            item_ids, ["UPDATE items SET in_stock = false WHERE item_id IN {ids}"], "mark_sold"
        )

    def delete_items(self, item_ids: Sequence[str]) -> int:
        """Remove items from the catalog, with their vectors; their events and impressions stay
        (``event_arrays`` skips them). Returns how many were removed. Any unknown id raises
        ``NotFound`` and changes nothing."""
        return self._update_items(
            item_ids,
            ["DELETE FROM items WHERE item_id IN {ids}", "DELETE FROM item_vectors WHERE item_id IN {ids}"],
            "delete_items",
        )

    # -- impressions ---------------------------------------------------------------------------------

    def append_impressions(self, table: pa.Table) -> int:
        """Append served slates, one row per shown item, in one transaction; returns the rows added.

        ``table`` has the columns of ``lookbook.tables.IMPRESSIONS_SCHEMA`` (optional ones may be
        absent; types are cast). Checked as a whole before anything is written: required values
        present, ``position >= 0``, ids (``request_id``, ``user_id``, ``item_id``) by
        ``normalise_id``'s rule, applied in SQL. A bad batch raises ``SchemaError`` naming the
        column and the first bad row, and writes nothing. Impressions are a log: a batch given
        twice is stored twice (the batcher that calls this sends each once).
        """
        self._check_writable()
        if not isinstance(table, pa.Table):
            raise SchemaError(f"impressions: expected a pyarrow Table, got {type(table).__name__}")
        imp = conform(table, IMPRESSIONS_SCHEMA, name="impressions")
        for f in IMPRESSIONS_SCHEMA:
            missing = imp.column(f.name).null_count
            if not f.nullable and missing:
                raise SchemaError(f"impressions {f.name}: is required, got {missing} missing values")
        if imp.num_rows == 0:
            return 0
        ids = ("request_id", "user_id", "item_id")
        norm = {name: id_expr(ident(name), "VARCHAR") for name in ids}
        pattern = literal(ID_CONTROL_PATTERN)
        checks = [
            f"SELECT {literal(name)}, __row, {ident(name)} FROM __imp WHERE {ident(name)} IS NOT NULL "
            f"AND ({norm[name]} IS NULL OR regexp_matches({norm[name]}, {pattern}))"
            for name in ids
        ]
        checks.append("SELECT 'position', __row, CAST(position AS VARCHAR) FROM __imp WHERE position < 0")
        cols = [f.name for f in IMPRESSIONS_SCHEMA]
        select = [
            norm[c] if c in norm else "CAST(timestamp AS TIMESTAMP)" if c == "timestamp" else ident(c)
            for c in cols
        ]
        numbered = imp.append_column("__row", pa.array(np.arange(1, imp.num_rows + 1, dtype=np.int64)))
        with self.transaction() as tx:
            con = tx.connection
            con.register("__imp", numbered)
            try:
                bad = con.execute(f"{' UNION ALL '.join(checks)} ORDER BY 2, 1 LIMIT 1").fetchall()
                if bad:
                    name, row, value = bad[0]
                    expected = "an int >= 0" if name == "position" else "an id without control characters"
                    raise SchemaError(f"impressions {name}: expected {expected}, got {value!r} (row {row})")
                n = fetch_one(
                    con,
                    f"INSERT INTO impressions ({', '.join(ident(c) for c in cols)}) "
                    f"SELECT {', '.join(select)} FROM __imp",
                )[0]
            finally:
                con.unregister("__imp")
        log.debug("appended %d impressions", n)
        return int(n)

    def impressions_table(self, since: datetime | None = None) -> pa.Table:
        """Impressions (all, or those at or after ``since``) in ``IMPRESSIONS_SCHEMA``, sorted by
        time, then request and position (a slate's rows together, in the order they were shown)."""
        if not self._migrated:
            return IMPRESSIONS_SCHEMA.empty_table()
        cols = ", ".join(ident(f.name) for f in IMPRESSIONS_SCHEMA)
        where, params = ("WHERE timestamp >= ?", [_naive_utc(since)]) if since is not None else ("", [])
        got = self._arrow(
            f"SELECT {cols} FROM impressions {where} ORDER BY timestamp, request_id, position", params
        )
        columns = [got.column(f.name).cast(f.type) for f in IMPRESSIONS_SCHEMA]
        return pa.Table.from_arrays(columns, schema=IMPRESSIONS_SCHEMA)

    # -- item vectors --------------------------------------------------------------------------------

    def vector_spaces(self) -> list[str]:
        """Names of the spaces that have stored item vectors, sorted."""
        if not self._migrated:
            return []
        return [
            str(r[0])
            for r in self.connection.execute(
                "SELECT DISTINCT space FROM item_vectors ORDER BY space"
            ).fetchall()
        ]

    def item_vectors(self, space: str) -> tuple[list[str], npt.NDArray[np.float32]]:
        """The stored vectors of ``space``: item ids and an ``(n, dim)`` float32 matrix, row ``i``
        for ``ids[i]``, in catalog (``item_ids()``) order. Raises ``NotFound`` naming the known
        spaces when ``space`` has none."""
        got = (
            self._arrow(
                "SELECT v.item_id, v.vector FROM item_vectors v LEFT JOIN items i ON v.item_id = i.item_id "
                "WHERE v.space = ? ORDER BY i.item_seq NULLS LAST, v.item_id",
                [space],
            )
            if self._migrated
            else None
        )
        if got is None or got.num_rows == 0:
            raise NotFound(
                f"item_vectors space: no vectors stored for {space!r}; spaces: {self.vector_spaces()}"
            )
        return got.column(0).to_pylist(), arrow_to_vectors(got.column(1), space=space)

    def replace_item_vectors(self, space: str, item_ids: Sequence[str], vectors: npt.ArrayLike) -> int:
        """Replace every stored vector of ``space`` with ``vectors`` (row ``i`` for ``item_ids[i]``),
        in one transaction; the width may change (a new encoder or model version). Every id must be
        in the catalog (``NotFound`` otherwise, nothing changed). Returns how many were written."""
        self._check_writable()
        if isinstance(item_ids, str):
            raise SchemaError(f"replace_item_vectors item_ids: expected a sequence of ids, got {item_ids!r}")
        ids = [normalise_id(str(i), owner="replace_item_vectors", name="item_ids") for i in item_ids]
        if len(set(ids)) != len(ids):
            raise SchemaError("replace_item_vectors item_ids: an id appears twice")
        table = vectors_to_arrow(check_vectors({space: vectors}, len(ids)))
        table = table.append_column("item_id", pa.array(ids, pa.string()))
        with self.transaction() as tx:
            con = tx.connection
            con.register("__vec_in", table)
            try:
                unknown = con.execute(
                    "SELECT v.item_id FROM __vec_in v ANTI JOIN items i ON v.item_id = i.item_id "
                    "ORDER BY v.__row LIMIT 5"
                ).fetchall()
                if unknown:
                    raise NotFound(
                        f"replace_item_vectors item_ids: not in the catalog: {[u[0] for u in unknown]}; "
                        "nothing was changed"
                    )
                fetch_one(con, "DELETE FROM item_vectors WHERE space = ?", [space])
                n = fetch_one(
                    con, "INSERT INTO item_vectors SELECT item_id, space, vector FROM __vec_in ORDER BY __row"
                )[0]
            finally:
                con.unregister("__vec_in")
        log.info("replaced the vectors of space %s: %d items", space, n)
        return int(n)

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (DuckDB also does this on its own)."""
        self._check_writable()
        self.connection.execute("CHECKPOINT")


def open_store(
    path: Path | str,
    *,
    create: bool = True,
    read_only: bool = False,
    clock: Clock | None = None,
    max_skew: float | timedelta = DEFAULT_MAX_SKEW,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> Store:
    """Open the store in project folder ``path``, creating it (folder and tables) when ``create``.

    A file written by an older version is migrated to ``SCHEMA_VERSION`` when opened for writing
    (one transaction that only adds: ``events.request_id``, ``impressions``, ``item_vectors``);
    opened read-only it is read as it is, the missing tables reading as empty.

    Parameters
    ----------
    clock
        The store's "now", epoch seconds or a datetime (default: the wall clock, ``time.time``);
        events later than it plus ``max_skew`` are rejected. A shop on a replay or manual clock
        passes its own (it can also be set later: ``store.clock = ...``).
    max_skew
        How far in the future an event may be (seconds or a ``timedelta``; default 5 minutes).
    max_image_pixels
        Largest item image accepted (default 40 million pixels, like photo uploads).

    Raises ``NotFound`` when there is no store and ``create`` is false (or ``read_only``), and
    ``SchemaError`` when the file was written by a newer (or unknown) version of Lookbook.
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
        version = _open_schema(con, root, read_only=read_only)
    except BaseException:
        con.close()
        raise
    return Store(
        root.resolve(),
        con,
        read_only=read_only,
        schema_version=version,
        clock=clock,
        max_skew=max_skew,
        max_image_pixels=max_image_pixels,
    )


def _open_schema(con: duckdb.DuckDBPyConnection, root: Path, *, read_only: bool) -> int:
    """Create, check or migrate the tables; returns the schema version the connection sees."""
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
        return SCHEMA_VERSION
    row = fetch_one(con, "SELECT value FROM meta WHERE key = 'schema_version'")
    text = row[0] if row else None
    version = int(text) if text is not None and str(text).isdigit() else None
    if version is None or not OLDEST_READABLE_VERSION <= version <= SCHEMA_VERSION:
        raise SchemaError(
            f"store {root} schema_version: expected {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}, "
            f"got {text}; this file was written by another version of Lookbook (re-ingest into a new project)"
        )
    if version < SCHEMA_VERSION and not read_only:
        migrate_schema(con, version)
        log.info("store %s: migrated schema version %d -> %d", root, version, SCHEMA_VERSION)
        return SCHEMA_VERSION
    if version < SCHEMA_VERSION:
        log.info("store %s: schema version %d read as it is (open it for writing to migrate)", root, version)
    return version
