"""``lookbook bench collaborative``: training time on a world and the real-time fold-in cost."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lookbook.cli._common import default_cache, print_json


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "collaborative",
        help="preference-model training time and user-vector update latency",
        description="Train ALS, the two-tower model and the Lookbook blend on a demo world's events "
        "(content vectors from the feature cache), then fold in single events one by one. Targets: "
        "the Lookbook model trains in under 60 s on the default world; an update takes under 1 ms.",
    )
    parser.add_argument("--world", type=Path, required=True, help="a demo world folder")
    parser.add_argument("--cache", type=Path, default=None, help="feature cache (default runs/cache)")
    parser.add_argument("--updates", type=int, default=10_000, help="single-event updates to time")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lookbook.evaluation.bench_collaborative import (
        CollaborativeBenchConfig,
        run_collaborative_benchmark,
        world_data,
    )

    data = world_data(args.world, args.cache or default_cache(), show_progress=args.show_progress)
    r = run_collaborative_benchmark(
        data, CollaborativeBenchConfig(updates=args.updates), show_progress=args.show_progress
    )
    if args.json:
        print_json(r)
        return 0
    met = {True: "met", False: "MISSED"}
    lines = [
        f"collaborative benchmark: {r['users']:,} users, {r['items']:,} items, {r['events']:,} events",
        f"  ALS fit (one config)        {r['als_fit_s']:>8.2f} s",
        f"  two-tower fit               {r['two_tower_fit_s']:>8.2f} s",
        f"  Lookbook fit (with tuning)  {r['lookbook_fit_s']:>8.2f} s  "
        f"(target < {r['train_target_s']:.0f} s: {met[r['lookbook_meets_train_target']]})",
        f"  fold-in update              {r['fold_in_median_ms']:>8.4f} ms median, "
        f"{r['fold_in_p99_ms']:.4f} ms p99 (target < {r['fold_in_target_ms']:.0f} ms: "
        f"{met[r['fold_in_meets_target']]})",
        f"  scoring                     {r['score_users_per_s']:>8,} users/s (all items each)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
