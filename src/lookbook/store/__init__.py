"""The catalog, users, events, sets, impressions and item vectors of a project, on disk, and the
validated ingest that fills them.

``open_store(project)`` gives a ``Store`` backed by one DuckDB file plus content-addressed images
(see ``lookbook.store.duckdb_store`` for why DuckDB). ``ingest_file`` loads a CSV, Parquet or
JSON Lines file; the store's ``upsert_*`` / ``append_events`` load records or Arrow tables. Both go
through one SQL validation pipeline (``lookbook.store.validate``) and one transaction per ingest
(``Store.transaction``). ``Store.event_arrays`` returns ``lookbook.tables.EventArrays``.
Served slates go in with ``Store.append_impressions``; item vectors with the items
(``Store.upsert_items(..., vectors=...)``, one transaction) and come back with ``Store.item_vectors``.
"""

from __future__ import annotations

from lookbook.store.columns import parse_mapping
from lookbook.store.duckdb_store import DEFAULT_MAX_SKEW, Clock, Store, open_store
from lookbook.store.images import DEFAULT_MAX_IMAGE_PIXELS
from lookbook.store.ingest import DEFAULT_MAX_ERRORS, ingest_file
from lookbook.store.report import IngestReport, RowError
from lookbook.store.sql import DB_FILE, IMAGES_DIR, SCHEMA_VERSION

__all__ = [
    "DB_FILE",
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_MAX_SKEW",
    "IMAGES_DIR",
    "SCHEMA_VERSION",
    "Clock",
    "IngestReport",
    "RowError",
    "Store",
    "ingest_file",
    "open_store",
    "parse_mapping",
]
