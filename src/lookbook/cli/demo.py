"""``lookbook demo``: the README's main job.

Today it generates the default fashion world (or reuses it when its config is unchanged), draws
its contact sheet, loads it into an embedded project store and prints what it made. Later stages
(training, indexing, serving) join this verb as they land.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from lookbook.cli._common import emit, print_json
from lookbook.cli.world import print_summary

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "demo",
        help="build the default fashion demo and print its summary",
        description="Generate the default fashion world (reused when unchanged), draw its contact sheet, "
        "ingest it into an embedded project and print the summary.",
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path("runs/demo"), help="where the world and project go"
    )
    parser.add_argument("--domain", choices=["fashion", "home"], default="fashion")
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fresh", action="store_true", help="regenerate the world even if it exists")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from lookbook.datasets.contact_sheet import draw_contact_sheet
    from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
    from lookbook.datasets.world import load_world
    from lookbook.store import ingest_file, open_store

    cfg = WorldConfig(domain=args.domain, n_items=args.items, n_users=args.users, seed=args.seed)
    world_dir = args.workdir / f"world-{cfg.domain.value}"
    project = args.workdir / "project"
    meta_path = world_dir / "world.json"
    reuse = (
        not args.fresh
        and meta_path.exists()
        and json.loads(meta_path.read_text()).get("config") == cfg.to_dict()
    )
    if reuse:
        log.info("reusing the world in %s (same config; --fresh regenerates it)", world_dir)
        world = load_world(world_dir)
    else:
        world = make_synthetic_world(cfg, world_dir, overwrite=True, show_progress=args.show_progress).world
    sheet = draw_contact_sheet(world_dir, world_dir / "contact_sheet.png")

    started = time.perf_counter()
    reports = []
    with open_store(project) as store:
        for table in ("items", "users", "events", "sets"):
            reports.append(
                ingest_file(store, table, world_dir / f"{table}.parquet", show_progress=args.show_progress)
            )
        counts = store.counts()
    ingest_s = time.perf_counter() - started

    summary = world.summary() | {
        "path": str(world_dir),
        "contact_sheet": str(sheet),
        "project": str(project),
        "store": counts,
        "ingest": {
            r.table: {"loaded": r.loaded, "rejected": r.rejected, "inserted": r.inserted} for r in reports
        },
        "ingest_s": round(ingest_s, 2),
    }
    if args.json:
        print_json(summary)
        return 0
    print_summary(summary)
    emit(f"contact sheet: {sheet}")
    stored = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    emit(f"project store: {project} ({stored}; ingested in {ingest_s:.1f} s)")
    return 0
