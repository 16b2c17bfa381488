"""The store's on-disk layout: one DuckDB file's tables, their SQL types and their Arrow layouts,
and the connection helpers every store module shares (``connect``, ``fetch_one``, ``transaction``).

Every column is derived from the field specs in ``lookbook.schema`` (``ITEM_FIELDS``, ...), so a
field added to the data model appears here without restating it. Each table carries a little more
than the data model:

* ``items.item_seq``, ``users.user_seq``, ``sets.set_seq``: insertion order. Integer rows handed
  to models (``Store.item_ids()``) follow it, so appending items never moves existing rows.
* ``items.image_sha256``: the content address of the item's image under ``images/``.
* ``events.event_key``: a 64-bit hash that identifies an event (events have no natural id), which
  makes re-running the same events file a no-op; ``events.event_seq`` keeps arrival order to break
  timestamp ties.
* ``events.kind`` is an ENUM in ``EventKind`` order, so ``enum_code(kind)`` *is* the storage code
  that training reads, with no string comparison per event.

Two tables are not data-model records: ``impressions`` (one row per item of a served slate, in the
``lookbook.tables.IMPRESSIONS_SCHEMA`` layout) and ``item_vectors`` (one float32 little-endian BLOB
per item and vector space, keyed by ``(item_id, space)``), written with the items in one
transaction so an item and its vectors exist together or not at all.

A file written by an older version (``meta.schema_version`` below ``SCHEMA_VERSION``) is migrated
when opened for writing (``migrate_schema``: each step adds what its version lacks, in one
transaction); opened read-only, it is read as it is (``OLDEST_READABLE_VERSION``).

Timestamps are stored as naive ``TIMESTAMP`` holding UTC. Fetching ``TIMESTAMPTZ`` values into
Python needs pytz, which Lookbook does not depend on; storing naive UTC and converting in SQL
(``epoch_us``) or in Arrow keeps every read path free of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from lookbook.schema import EVENT_FIELDS, ITEM_FIELDS, ITEMSET_FIELDS, USER_FIELDS, EventKind, FieldSpec
from lookbook.tables import IMPRESSIONS_SCHEMA, arrow_schema

log = logging.getLogger(__name__)

__all__ = [
    "DB_FILE",
    "IMAGES_DIR",
    "OLDEST_READABLE_VERSION",
    "SCHEMA_VERSION",
    "TABLE_FIELDS",
    "Transaction",
    "arrow_layout",
    "connect",
    "create_schema",
    "fetch_one",
    "ident",
    "literal",
    "migrate_schema",
    "sql_type",
    "transaction",
]

#: Bumped whenever a table changes shape. 2: ``events.request_id``, ``impressions``, ``item_vectors``.
#: ``open_store`` migrates an older file opened for writing and refuses a newer one.
SCHEMA_VERSION = 2
#: The oldest version ``open_store`` reads (read-only opens read it without migrating).
OLDEST_READABLE_VERSION = 1
DB_FILE = "lookbook.duckdb"
IMAGES_DIR = "images"

#: Data-model fields of each store table, in column order.
TABLE_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "items": ITEM_FIELDS,
    "users": USER_FIELDS,
    "events": EVENT_FIELDS,
    "sets": ITEMSET_FIELDS,
}

_SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "string_list": "VARCHAR[]",
    "string_map": "MAP(VARCHAR, VARCHAR)",
}


def ident(name: str) -> str:
    """Quote an SQL identifier (column names such as ``timestamp`` and ``position`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """Quote a string as an SQL literal (used for file paths, which table functions take as constants)."""
    return "'" + value.replace("'", "''") + "'"


def sql_type(spec: FieldSpec) -> str:
    """The DuckDB type of a data-model field (``events.kind`` is the ``event_kind`` ENUM instead)."""
    return _SQL_TYPES[spec.kind]


def arrow_layout(fields: Sequence[FieldSpec]) -> pa.Schema:
    """The Arrow schema of a data-model table: the one shared definition in ``lookbook.tables``."""
    return arrow_schema(fields)


def _columns(fields: Sequence[FieldSpec], overrides: dict[str, str] | None = None) -> list[str]:
    overrides = overrides or {}
    out = []
    for f in fields:
        not_null = " NOT NULL" if f.required else ""
        out.append(f"{ident(f.name)} {overrides.get(f.name, sql_type(f))}{not_null}")
    return out


_ARROW_SQL: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.float32(): "REAL",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
}


def _impressions_ddl() -> str:
    cols = [
        f"{ident(f.name)} {_ARROW_SQL[f.type]}{'' if f.nullable else ' NOT NULL'}" for f in IMPRESSIONS_SCHEMA
    ]
    return f"CREATE TABLE impressions ({', '.join(cols)})"


_ITEM_VECTORS_DDL = (
    "CREATE TABLE item_vectors (item_id VARCHAR NOT NULL, space VARCHAR NOT NULL, vector BLOB NOT NULL, "
    "PRIMARY KEY (item_id, space))"
)


def _ddl() -> list[str]:
    kinds = ", ".join(literal(k.value) for k in EventKind)
    items = [*_columns(ITEM_FIELDS), "item_seq BIGINT NOT NULL", "image_sha256 VARCHAR"]
    users = [*_columns(USER_FIELDS), "user_seq BIGINT NOT NULL"]
    events = [
        *_columns(EVENT_FIELDS, {"kind": "event_kind", "position": "INTEGER"}),
        "event_key UBIGINT NOT NULL",
        "event_seq BIGINT NOT NULL",
    ]
    sets = [*_columns(ITEMSET_FIELDS), "set_seq BIGINT NOT NULL"]
    return [
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        f"CREATE TYPE event_kind AS ENUM ({kinds})",
        f"CREATE TABLE items ({', '.join(items)})",
        f"CREATE TABLE users ({', '.join(users)})",
        f"CREATE TABLE events ({', '.join(events)})",
        f"CREATE TABLE sets ({', '.join(sets)})",
        _impressions_ddl(),
        _ITEM_VECTORS_DDL,
    ]


#: Statements that bring a file of version ``v`` to ``v + 1``, keyed by ``v``.
_MIGRATIONS: dict[int, list[str]] = {
    1: [
        f"ALTER TABLE events ADD COLUMN {ident('request_id')} VARCHAR",
        _impressions_ddl(),
        _ITEM_VECTORS_DDL,
    ],
}


def connect(path: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file with the session settings every store connection needs.

    ``TimeZone='UTC'`` makes casts from offset-less text and from ``TIMESTAMPTZ`` to ``TIMESTAMP``
    mean UTC whatever the machine's zone is, so the same file ingests to the same instants anywhere.
    """
    con = duckdb.connect(path, read_only=read_only)
    con.execute("SET TimeZone='UTC'")
    return con


def fetch_one(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> tuple[Any, ...]:
    """The first row of a query, fully draining the result.

    DuckDB 2's Python client refuses new work on a connection while a result is unfinished, and
    ``fetchone`` leaves the result open, so every single-row read in the store goes through here.
    A query that returns no row gives an empty tuple.
    """
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return tuple(rows[0]) if rows else ()


class Transaction:
    """One open DuckDB transaction on a connection, as ``transaction`` yields it.

    Work runs on ``connection``. ``commit`` and ``rollback`` end it explicitly (a strict ingest
    that finds bad rows rolls back and still returns its report); whatever is left open when the
    ``with`` block ends is committed, or rolled back if the block raised.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.active = True

    def commit(self) -> None:
        """Make the work durable and visible (DuckDB writes the commit record to its WAL)."""
        self.connection.execute("COMMIT")
        self.active = False

    def rollback(self) -> None:
        """Discard the work. Tolerates a transaction that is already gone (e.g. a failed commit)."""
        self.active = False
        try:
            self.connection.execute("ROLLBACK")
        except duckdb.Error:
            log.debug("rollback: no transaction to roll back")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[Transaction]:
    """Run a block inside one transaction on ``con``: committed on a normal exit unless the block
    ended it, rolled back on any exception (``KeyboardInterrupt`` included) and re-raised.

    A process killed inside the block leaves nothing: DuckDB discards work without a commit record
    when the file is next opened.
    """
    con.execute("BEGIN TRANSACTION")
    tx = Transaction(con)
    try:
        yield tx
        if tx.active:
            tx.commit()
    except BaseException:
        if tx.active:
            tx.rollback()
        raise


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table in one transaction, so a store is either complete or absent."""
    with transaction(con):
        for stmt in _ddl():
            con.execute(stmt)
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def migrate_schema(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Bring a file of schema ``version`` to ``SCHEMA_VERSION`` in one transaction.

    Each step only adds (a nullable column, empty tables), so rows already stored keep their
    meaning and their event keys; a process killed midway leaves the file at its old version.
    """
    with transaction(con):
        for v in range(version, SCHEMA_VERSION):
            for stmt in _MIGRATIONS[v]:
                con.execute(stmt)
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
