"""``lookbook world generate|show|summary``: the synthetic demo worlds."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lookbook.cli._common import emit, print_json, print_summary

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("world", help="generate and inspect synthetic demo worlds (with ground truth)")
    world_sub = parser.add_subparsers(dest="world_verb", metavar="ACTION", required=True)

    gen = world_sub.add_parser(
        "generate",
        help="build a synthetic shop from a hidden taste model",
        description="Build a synthetic shop (catalog with rendered images, users, weeks of events, "
        "outfits or room scenes, community photos) from a hidden taste model, deterministic for a seed. "
        "The truth lives in OUT/truth/ and is read only by evaluation.",
    )
    gen.add_argument("--domain", choices=["fashion", "home"], default="fashion")
    gen.add_argument("--items", type=int, default=5_000, help="catalog size (default 5000)")
    gen.add_argument("--users", type=int, default=2_000, help="number of shoppers (default 2000)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--weeks", type=int, default=12, help="simulated weeks of activity (default 12)")
    gen.add_argument(
        "--events-per-user", type=float, default=100.0, help="mean events per user (default 100)"
    )
    gen.add_argument("--out", type=Path, required=True, help="folder to create")
    gen.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    gen.add_argument("--workers", type=int, default=2, help="processes for image rendering (default 2)")
    gen.add_argument("--json", action="store_true", help="print the summary as JSON")
    gen.set_defaults(func=_generate)

    show = world_sub.add_parser("show", help="draw a contact sheet PNG of a world")
    show.add_argument("world", type=Path, help="world folder")
    show.add_argument("--out", type=Path, help="PNG to write (default WORLD/contact_sheet.png)")
    show.set_defaults(func=_show)

    imp = world_sub.add_parser(
        "import",
        help="turn a real data set (H&M, Polyvore, interaction logs) into a world folder",
        description="Load a real data set and write it as a world folder of Parquet tables "
        "in the data-model layouts, ready for `lookbook ingest`; images stay where they are.",
    )
    imp.add_argument("dataset", choices=["hm", "polyvore", "interactions"])
    imp.add_argument("path", type=Path, help="the data set's folder (hm, polyvore) or interaction file")
    imp.add_argument("--out", type=Path, required=True, help="world folder to write")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=_import)

    summary = world_sub.add_parser("summary", help="print the counts of a world")
    summary.add_argument("world", type=Path, help="world folder")
    summary.add_argument("--json", action="store_true")
    summary.set_defaults(func=_summary)


def _generate(args: argparse.Namespace) -> int:
    from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world

    cfg = WorldConfig(
        domain=args.domain,
        n_items=args.items,
        n_users=args.users,
        seed=args.seed,
        weeks=args.weeks,
        events_per_user=args.events_per_user,
    )
    report = make_synthetic_world(
        cfg, args.out, overwrite=args.overwrite, show_progress=args.show_progress, workers=args.workers
    )
    summary = report.world.summary() | {"path": str(report.path), "timings_s": report.timings}
    if args.json:
        print_json(summary)
    else:
        print_summary(summary)
    return 0


def _import(args: argparse.Namespace) -> int:
    from lookbook.datasets import import_dataset

    world = import_dataset(args.dataset, args.path, args.out)
    summary = world.summary() | {"path": str(args.out), "source": world.meta.get("source")}
    if args.json:
        print_json(summary)
    else:
        print_summary(summary)
    return 0


def _show(args: argparse.Namespace) -> int:
    from lookbook.datasets.contact_sheet import draw_contact_sheet

    out = args.out or args.world / "contact_sheet.png"
    path = draw_contact_sheet(args.world, out)
    log.info("contact sheet written to %s", path)
    emit(str(path))
    return 0


def _summary(args: argparse.Namespace) -> int:
    from lookbook.datasets.world import load_world

    summary = load_world(args.world).summary() | {"path": str(args.world)}
    if args.json:
        print_json(summary)
    else:
        print_summary(summary)
    return 0
