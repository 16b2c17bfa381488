"""The catalog, users, events and sets of a project, on disk, and the validated ingest that fills them.

``open_store(project)`` gives a ``Store`` backed by one DuckDB file plus content-addressed images
(see ``lookbook.store.duckdb_store`` for why DuckDB). ``ingest_file`` loads a CSV, Parquet or
JSON Lines file; the store's ``upsert_*`` / ``append_events`` load records or Arrow tables. Both go
through one SQL validation pipeline (``lookbook.store.validate``) and one transaction per ingest
(``Store.transaction``). ``Store.event_arrays`` returns ``lookbook.tables.EventArrays``.
"""

from __future__ import annotations

from lookbook.store.columns import parse_mapping
from lookbook.store.duckdb_store import Store, open_store
from lookbook.store.ingest import DEFAULT_MAX_ERRORS, ingest_file
from lookbook.store.report import IngestReport, RowError
from lookbook.store.sql import DB_FILE, IMAGES_DIR, SCHEMA_VERSION

__all__ = [
    "DB_FILE",
    "DEFAULT_MAX_ERRORS",
    "IMAGES_DIR",
    "SCHEMA_VERSION",
    "IngestReport",
    "RowError",
    "Store",
    "ingest_file",
    "open_store",
    "parse_mapping",
]
