"""One ingest = read, validate, place images, write: all inside one DuckDB transaction.

``run_ingest`` is the single pipeline behind ``ingest_file`` and the store's ``upsert_*`` /
``append_events`` methods; only the loader differs (a file, or an Arrow table). Atomicity comes
from the transaction: DuckDB writes the changes to its write-ahead log and makes them visible only
at ``COMMIT``, so a process killed at any moment leaves the store either exactly as before (killed
before the commit record reached the log; the next open discards the partial work) or exactly as
after (the log is replayed). Images are placed under content addresses before the commit; a kill
leaves at most unreferenced images, which nothing reads.

Without ``strict``, good rows load and bad rows are reported. With ``strict``, one bad row rolls
the whole ingest back: the report says so (``committed=False``) and nothing changes.

Items may come with their vectors (``ingest_rows(..., vectors=...)``): they are written after the
item rows inside the same transaction, so an item and its vectors commit together or not at all.
Events are checked against the store's clock (``WritableStore.event_time_limit``), read once per
ingest; item images against the store's pixel limit (``max_image_pixels``).

This module does not know the ``Store`` class: it takes anything shaped like ``WritableStore``
(a folder for images and a write transaction), so the store can call it for its ``upsert_*``
methods without the two modules importing each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from time import perf_counter
from typing import Any, Protocol

import duckdb
import numpy.typing as npt
import pyarrow as pa
from tqdm.auto import tqdm

from lookbook.errors import IngestError, SchemaError
from lookbook.store.columns import plan_columns
from lookbook.store.images import place_images
from lookbook.store.records import records_to_arrow
from lookbook.store.report import IngestReport
from lookbook.store.sources import Source, load_arrow, load_file
from lookbook.store.sql import TABLE_FIELDS, Transaction
from lookbook.store.validate import build_stage, collect_errors, make_good_view
from lookbook.store.vectors import check_vectors, vectors_to_arrow
from lookbook.store.write import append_events, upsert_rows, write_item_vectors

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_ERRORS", "WritableStore", "ingest_file", "ingest_rows", "run_ingest"]

#: Errors kept in a report (all are counted): enough to fix a file, bounded for a file of garbage.
DEFAULT_MAX_ERRORS = 10_000

Loader = Callable[[duckdb.DuckDBPyConnection], Source]


class WritableStore(Protocol):
    """What an ingest needs from a store (``lookbook.store.Store`` is one).

    ``root`` is the project folder that stored images go under; ``transaction()`` checks the store
    is writable (raising ``LookbookError`` otherwise) and opens one write transaction on its
    connection (see ``lookbook.store.sql.transaction``). ``max_image_pixels`` is the largest item
    image accepted; ``event_time_limit()`` the latest event time accepted now (naive UTC), or
    ``None`` for no limit.
    """

    root: Path
    max_image_pixels: int

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def event_time_limit(self) -> datetime | None: ...


_TEMP_VIEWS = ("__good", "__src")
_TEMP_TABLES = ("__merged", "__errors", "__stage", "__images", "__src_data", "__json")


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    for name in _TEMP_VIEWS:
        con.execute(f"DROP VIEW IF EXISTS temp.main.{name}")
    for name in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")


def _check_table(table: str) -> None:
    if table not in TABLE_FIELDS:
        raise IngestError(f"ingest table: expected one of {list(TABLE_FIELDS)}, got {table!r}")


def run_ingest(
    store: WritableStore,
    table: str,
    load: Loader,
    *,
    label: str,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    show_progress: bool = False,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
    vectors: pa.Table | None = None,
) -> IngestReport:
    """Run the pipeline (see the module doc) with ``load`` creating the ``__src`` view.

    ``vectors`` (items only; ``lookbook.store.vectors.vectors_to_arrow``'s layout) are written
    with the item rows they belong to.
    """
    _check_table(table)
    if vectors is not None and table != "items":
        raise IngestError(f"ingest {table}: vectors belong to items, not {table}")
    t0 = perf_counter()
    bar: Any = None
    try:
        with store.transaction() as tx:  # checks writability before anything else happens
            con = tx.connection
            bar = tqdm(total=4, desc=f"ingest {table}", unit="step", disable=not show_progress)
            _drop_temps(con)
            bar.set_postfix_str("read")
            source = load(con)
            label = source.name
            plan = plan_columns(table, list(source.columns), mapping, source=source.name)
            staged = build_stage(con, table, source, plan)
            bar.update()
            bar.set_postfix_str("validate")
            if table == "items" and "image" in staged.present:
                values = [
                    r[0]
                    for r in con.execute(
                        "SELECT DISTINCT image FROM __stage WHERE image IS NOT NULL"
                    ).fetchall()
                ]
                images = place_images(
                    values,
                    base_dir=source.base_dir,
                    root=store.root,
                    show_progress=show_progress,
                    max_pixels=store.max_image_pixels,
                )
                con.register("__images_in", images)
                con.execute("CREATE TEMP TABLE __images AS SELECT * FROM __images_in")
                con.unregister("__images_in")
            latest = store.event_time_limit() if table == "events" else None
            errors, n_errors, n_bad = collect_errors(
                con, staged, source, plan, max_errors=max_errors, latest_event=latest
            )
            bar.update()
            report = IngestReport(
                source=source.name,
                table=table,
                rows=staged.rows,
                rejected=n_bad,
                errors=errors,
                error_count=n_errors,
                strict=strict,
                ignored_columns=list(plan.ignored),
            )
            if strict and n_bad:
                tx.rollback()
                report.committed = False
                report.seconds = perf_counter() - t0
                log.warning("%s", report.summary())
                return report
            make_good_view(con, any_bad=n_bad > 0)
            bar.set_postfix_str("write")
            log.info("writing %d %s rows from %s to the store", staged.rows - n_bad, table, source.name)
            if table == "events":
                report.inserted, report.unchanged, report.users_created = append_events(con, staged)
            else:
                report.inserted, report.updated, report.unchanged = upsert_rows(con, staged)
            if vectors is not None:
                report.vectors = write_item_vectors(con, vectors)
            report.loaded = staged.rows - n_bad
            bar.update()
            _drop_temps(con)
            bar.set_postfix_str("commit")
            tx.commit()
            bar.update()
    except duckdb.Error as exc:  # the transaction has been rolled back
        raise IngestError(f"{label}: ingest into {table} failed: {exc}") from exc
    finally:
        if bar is not None:
            bar.close()
    report.seconds = perf_counter() - t0
    if n_bad:
        log.warning(
            "%s: %d of %d rows rejected; first: %s",
            source.name,
            n_bad,
            staged.rows,
            errors[0] if errors else "",
        )
    log.info("%s", report.summary())
    return report


def ingest_file(
    store: WritableStore,
    table: str,
    path: Path | str,
    *,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    show_progress: bool = True,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
) -> IngestReport:
    """Ingest a CSV, Parquet or JSON Lines file into ``table`` (``items``, ``users``, ``events``, ``sets``).

    Parameters
    ----------
    store
        An open, writable store.
    table
        Which table the file feeds. Items should come before the events and sets that mention them.
    path
        The file; its format comes from its suffix. Relative image paths resolve against its folder.
    mapping
        Input column -> field renames (``{"price_eur": "price", "hue": "attributes.colour"}``).
    strict
        Load nothing if any row is bad (the report has ``committed=False``).
    show_progress
        Show tqdm progress bars.
    max_errors
        How many row errors to keep in the report (``None``: all); all are counted.

    Returns
    -------
    IngestReport
        Counts, timing and the row errors. File-level problems (unreadable file, a required column
        missing) raise ``IngestError`` instead and change nothing.
    """
    path = Path(path)
    return run_ingest(
        store,
        table,
        lambda con: load_file(con, path),
        label=path.name,
        mapping=mapping,
        strict=strict,
        show_progress=show_progress,
        max_errors=max_errors,
    )


def ingest_rows(
    store: WritableStore,
    table: str,
    rows: Sequence[Any] | pa.Table,
    *,
    strict: bool = False,
    base_dir: Path | None = None,
    show_progress: bool = False,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
    vectors: Mapping[str, npt.ArrayLike] | None = None,
) -> IngestReport:
    """Ingest records or an Arrow table (any column layout a file could have) through the same pipeline.

    ``vectors`` (items only): ``{space: (n_rows, dim) float32}``, row ``i`` the vector of input row
    ``i``; checked before anything is written (``lookbook.store.vectors.check_vectors``), then
    stored with the item rows in one transaction. A rejected row's vectors are not stored.
    """
    _check_table(table)
    if isinstance(rows, pa.Table):
        arrow, label = rows, f"{table} table"
    else:
        arrow, label = records_to_arrow(table, rows), f"{table} records"
    vector_table = None
    if vectors is not None:
        if table != "items":
            raise SchemaError(f"{table} vectors: only items have vectors")
        vector_table = vectors_to_arrow(check_vectors(vectors, arrow.num_rows))
    return run_ingest(
        store,
        table,
        lambda con: load_arrow(con, arrow, name=label, base_dir=base_dir),
        label=label,
        strict=strict,
        show_progress=show_progress,
        max_errors=max_errors,
        vectors=vector_table,
    )
