"""``lookbook bench world``: how long a demo world takes to generate, and how big it is."""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
from pathlib import Path

from lookbook.cli._common import emit, print_json


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "world",
        help="time the generation of a demo world",
        description="Generate a world in a temporary folder and report seconds per stage, size on disk "
        "and peak memory. The issue's figures: default size (5,000 items / 2,000 users) and "
        "--items 100000 --users 100000.",
    )
    parser.add_argument("--domain", choices=["fashion", "home"], default="fashion")
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the world at this path instead of deleting it")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_bench_world)


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _bench_world(args: argparse.Namespace) -> int:
    from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world

    cfg = WorldConfig(domain=args.domain, n_items=args.items, n_users=args.users, seed=args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="lookbook-bench-world-"))
    out = args.keep or tmp / "world"
    try:
        report = make_synthetic_world(cfg, out, overwrite=True, show_progress=args.show_progress)
        world = report.world
        result = {
            "domain": cfg.domain.value,
            "items": world.items.num_rows,
            "users": world.users.num_rows,
            "events": world.events.num_rows,
            "impressions": world.impressions.num_rows,
            "sets": world.sets.num_rows,
            "photos": world.photos.num_rows,
            "seconds": report.timings,
            "disk_mb": round(_dir_size(out) / 2**20, 1),
            "peak_rss_mb": round(
                max(
                    resource.getrusage(who).ru_maxrss
                    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                )
                / 1024,
                1,
            ),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print_json(result)
    else:
        emit(
            f"{result['domain']} world: {result['items']:,} items, {result['users']:,} users, "
            f"{result['events']:,} events, {result['impressions']:,} impressions, {result['sets']:,} sets, "
            f"{result['photos']:,} photos"
        )
        emit("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result["seconds"].items()))
        emit(f"disk {result['disk_mb']:.1f} MB, peak memory {result['peak_rss_mb']:.0f} MB")
    return 0
