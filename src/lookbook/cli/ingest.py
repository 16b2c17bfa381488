"""``lookbook ingest``, ``lookbook items`` and ``lookbook store``: fill and inspect a project store.

* ``lookbook ingest items|users|events|sets FILE --project DIR``: validated, atomic load of a CSV,
  Parquet or JSON Lines file. Exit 1 when the file is unreadable, misses a required column, or
  ``--strict`` rejected it.
* ``lookbook items sell|delete|show``: the real-time catalog operations.
* ``lookbook store stats``: what a project holds.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from lookbook.cli._common import emit, print_json

log = logging.getLogger(__name__)

_TABLES = ("items", "users", "events", "sets")
_SHOWN_ERRORS = 20


def _add_project(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("LOOKBOOK_PROJECT")
    parser.add_argument(
        "--project",
        type=Path,
        default=Path(default) if default else None,
        required=default is None,
        help="project folder holding lookbook.duckdb (default: $LOOKBOOK_PROJECT)",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from lookbook.store import DEFAULT_MAX_ERRORS

    ingest = sub.add_parser(
        "ingest",
        help="load a CSV, Parquet or JSON Lines file into a project store",
        description="Validate FILE and load it into the project's TABLE in one transaction: good rows "
        "load, bad rows are reported with their line and field (with --strict, one bad row loads "
        "nothing). Items, users and sets are upserted by id, so a file with only some columns "
        "(e.g. item_id,price) updates those columns; events are appended and re-running a file adds "
        "nothing. Ingest items before the events and sets that mention them.",
    )
    ingest.add_argument("table", choices=_TABLES, help="which table FILE feeds")
    ingest.add_argument("file", type=Path, help="a .csv, .parquet or .jsonl file")
    _add_project(ingest)
    ingest.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SRC=DST",
        help="read column SRC as field DST (DST may be attributes.KEY); repeatable",
    )
    ingest.add_argument("--strict", action="store_true", help="load nothing if any row is bad (exit 1)")
    ingest.add_argument("--json", action="store_true", help="print the full report (every error) as JSON")
    ingest.add_argument(
        "--max-errors",
        type=int,
        default=DEFAULT_MAX_ERRORS,
        help=f"row errors to keep in the report (default {DEFAULT_MAX_ERRORS:,}; all are counted)",
    )
    ingest.set_defaults(func=_ingest)

    items = sub.add_parser("items", help="sell, delete or show catalog items")
    items_sub = items.add_subparsers(dest="items_verb", metavar="ACTION", required=True)
    sell = items_sub.add_parser("sell", help="mark items as sold (out of stock); they stay in history")
    sell.add_argument("ids", nargs="+", metavar="ID", help="item ids")
    _add_project(sell)
    sell.set_defaults(func=_sell)
    delete = items_sub.add_parser("delete", help="remove items from the catalog (their events remain)")
    delete.add_argument("ids", nargs="+", metavar="ID", help="item ids")
    _add_project(delete)
    delete.set_defaults(func=_delete)
    show = items_sub.add_parser("show", help="print one item as JSON")
    show.add_argument("id", metavar="ID", help="item id")
    _add_project(show)
    show.set_defaults(func=_show)

    store = sub.add_parser("store", help="inspect a project store")
    store_sub = store.add_subparsers(dest="store_verb", metavar="ACTION", required=True)
    stats = store_sub.add_parser("stats", help="counts, time range and size of a project store")
    _add_project(stats)
    stats.add_argument("--json", action="store_true", help="print the stats as one JSON object")
    stats.set_defaults(func=_stats)


def _ingest(args: argparse.Namespace) -> int:
    from lookbook.store import ingest_file, open_store, parse_mapping

    mapping = parse_mapping(args.map)
    if args.max_errors < 0:
        raise SystemExit(f"lookbook ingest: error: --max-errors: expected an int >= 0, got {args.max_errors}")
    with open_store(args.project) as store:
        report = ingest_file(
            store,
            args.table,
            args.file,
            mapping=mapping,
            strict=args.strict,
            show_progress=args.show_progress,
            max_errors=args.max_errors,
        )
    if args.json:
        print_json(report.to_dict())
    else:
        lines = [report.summary()]
        if report.ignored_columns:
            lines.append(f"ignored columns: {', '.join(report.ignored_columns)}")
        if report.error_count:
            shown = report.errors[:_SHOWN_ERRORS]
            lines.append(f"errors (first {len(shown)} of {report.error_count:,}; --json lists all kept):")
            lines += [f"  {e}" for e in shown]
        emit("\n".join(lines))
    return 0 if report.committed else 1


def _sell(args: argparse.Namespace) -> int:
    from lookbook.store import open_store

    with open_store(args.project, create=False) as store:
        n = store.mark_sold(args.ids)
    emit(f"marked {n} item(s) as sold")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from lookbook.store import open_store

    with open_store(args.project, create=False) as store:
        n = store.delete_items(args.ids)
    emit(f"deleted {n} item(s) from the catalog")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _show(args: argparse.Namespace) -> int:
    from lookbook.store import open_store

    with open_store(args.project, create=False, read_only=True) as store:
        item = store.get_item(args.id)
        image = store.image_path(args.id)
    out = _jsonable(asdict(item))
    out["image_file"] = str(image) if image is not None else None
    print_json(out)
    return 0


def _stats(args: argparse.Namespace) -> int:
    from lookbook.store import open_store
    from lookbook.store.sql import fetch_one

    with open_store(args.project, create=False, read_only=True) as store:
        stats: dict[str, Any] = {"project": str(store.root), **store.counts()}
        con = store.connection
        first, last = fetch_one(
            con, "SELECT CAST(min(timestamp) AS VARCHAR), CAST(max(timestamp) AS VARCHAR) FROM events"
        )
        stats["first_event"], stats["last_event"] = first, last
        by_kind = con.execute(
            "SELECT CAST(kind AS VARCHAR), count(*) FROM events GROUP BY kind ORDER BY kind"
        ).fetchall()
        stats["events_by_kind"] = {k: int(n) for k, n in by_kind}
        stats["images"] = int(fetch_one(con, "SELECT count(DISTINCT image_sha256) FROM items")[0])
        stats["db_bytes"] = sum(
            p.stat().st_size for p in store.root.glob(f"{store.db_path.name}*") if p.is_file()
        )
    if args.json:
        print_json(stats)
        return 0
    width = max(len(k) for k in stats)
    lines = []
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:,}" for k, v in value.items()) or "-"
        elif isinstance(value, int):
            value = f"{value:,}"
        lines.append(f"{key:<{width}}  {value}")
    emit("\n".join(lines))
    return 0
