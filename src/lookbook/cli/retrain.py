"""``lookbook retrain``: new models from the project's store, promoted when not worse."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lookbook.cli._common import emit, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "retrain",
        help="train a new model version from the project's store and promote it when not worse",
        description="Read the project's store (every item, live ones included, every event, user and set; "
        "a running `lookbook serve` may keep writing to it), train a new model version beside the serving "
        "one and score both on the latest held-out time window (NDCG@10 of the preference model, on events "
        "the serving version never learned from). The new version is promoted when it is not worse beyond "
        "noise, or with --force; a running `lookbook serve` swaps the promoted version in without a restart.",
    )
    parser.add_argument("--project", type=Path, required=True, help="the project folder")
    parser.add_argument(
        "--stages",
        default=None,
        help="comma-separated stages among preference,compatibility,ranker (default all; preference "
        "always runs, the others are kept from the serving version when left out)",
    )
    parser.add_argument("--force", action="store_true", help="promote even when worse or not comparable")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lookbook.pipeline.retrain import RetrainConfig, retrain

    stages = None if args.stages is None else [s for s in args.stages.split(",") if s.strip()]
    report = retrain(
        args.project,
        stages=stages,
        force=args.force,
        show_progress=args.show_progress,
        config=RetrainConfig(seed=args.seed),
    )
    if args.json:
        print_json(report)
        return 0
    metrics = report.get("metrics", {})
    store = report.get("store", {})
    emit(
        f"model version {report['version']} trained from {store.get('items', 0):,} items, "
        f"{store.get('events', 0):,} events ({store.get('read')}) in {report['seconds']:.1f} s"
    )
    for stage, r in report.get("stages", {}).items():
        what = "trained" if r.get("trained") else f"kept ({r.get('reason', '')})"
        emit(f"  {stage:<14} {what}")
    if "candidate_ndcg" in metrics:
        emit(
            f"  NDCG@{metrics['k']} on the held-out window: new {metrics['candidate_ndcg']:.4f}, "
            f"serving {report['serving']} {metrics['serving_ndcg']:.4f} ({metrics['test_users']} users)"
        )
    state = "promoted" if report["promoted"] else "not promoted"
    emit(f"{report['version']} {state}: {report['reason']}")
    return 0
