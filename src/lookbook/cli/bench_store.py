"""``lookbook bench store``: ingest rows/s per format and the time to load events into arrays."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lookbook.cli._common import print_json


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "store",
        help="ingest throughput and event loading of the embedded store",
        description="Generate a synthetic catalog and events (CSV and Parquet) in a temporary folder, "
        "ingest them into fresh projects, and time loading every event into arrays. "
        "Target: 1,000,000 events into arrays in under 2 s.",
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)"
    )
    parser.add_argument("--items", type=int, default=20_000, help="catalog size (default 20,000)")
    parser.add_argument("--users", type=int, default=50_000, help="distinct users (default 50,000)")
    parser.add_argument("--repeats", type=int, default=5, help="array loads to time; the median is reported")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic files")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files and projects here")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lookbook.evaluation.bench_store import StoreBenchConfig, run_store_benchmark

    config = StoreBenchConfig(
        n_events=args.events, n_items=args.items, n_users=args.users, repeats=args.repeats, seed=args.seed
    )
    result = run_store_benchmark(config, workdir=args.workdir, show_progress=args.show_progress)
    if args.json:
        print_json(result)
        return 0
    r = result
    met = "met" if r["event_arrays_meets_target"] else "MISSED"
    lines = [
        f"store benchmark: {config.n_items:,} items, {config.n_events:,} events, {config.n_users:,} users",
        f"  ingest items CSV      {r['items_csv_rows_per_s']:>12,} rows/s  ({r['items_csv_s']:.2f} s)",
        f"  ingest events CSV     {r['events_csv_rows_per_s']:>12,} rows/s  ({r['events_csv_s']:.2f} s)",
        f"  ingest events Parquet {r['events_parquet_rows_per_s']:>12,} rows/s  "
        f"({r['events_parquet_s']:.2f} s)",
        f"  events -> arrays      {r['event_arrays_median_s']:>12.3f} s median of {config.repeats} "
        f"({r['event_arrays_events']:,} events; "
        f"target < {r['event_arrays_target_s']:.0f} s per million: {met})",
        f"  database size         {r['db_size_mb']:>12.1f} MB ({r['db_bytes_per_event']:.0f} bytes/event)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
