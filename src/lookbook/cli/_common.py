"""Helpers shared by the CLI verbs, and the one home for them.

A verb's result goes to stdout and logs go to stderr. The flags and defaults that several verbs share
(the feature cache, a world or real data set as the source, the real photos) live here too, so that a
verb module imports only this module and the library, never another verb: ``lookbook.cli`` wires the
verbs together and nothing else does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

#: The real full-body photos beside this repository (``../shared/data/photos``), the default of the
#: shop-the-look evaluation and benchmark.
REAL_PHOTOS = Path("../shared/data/photos")


def emit(text: str) -> None:
    """Write a verb's human-readable result to stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_json(obj: Any) -> None:
    """Write one JSON object to stdout: the machine-readable result of a verb."""
    emit(json.dumps(obj, indent=2, sort_keys=False, default=str))


def print_summary(summary: dict) -> None:  # type: ignore[type-arg]
    """A world's short human-readable block: counts, then the breakdowns (``world`` and ``demo``)."""
    lines = [f"world {summary.get('path', '')} ({summary.get('domain')})"]
    for key in ("items", "users", "events", "sets", "photos", "impressions"):
        lines.append(f"  {key:<12} {summary.get(key, 0):>12,}")
    if "items_by_slot" in summary:
        lines.append(
            "  items by slot: " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary["items_by_slot"].items()))
        )
    if "events_by_kind" in summary:
        lines.append(
            "  events by kind: " + ", ".join(f"{k} {v:,}" for k, v in summary["events_by_kind"].items())
        )
    if "price_median" in summary:
        lines.append(
            f"  median price {summary['price_median']:.2f}, in stock {summary['in_stock_share']:.1%}"
        )
    if "first_event" in summary:
        lines.append(f"  events from {summary['first_event']} to {summary['last_event']}")
    if "timings_s" in summary:
        lines.append("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["timings_s"].items()))
    emit("\n".join(lines))


def default_cache() -> Path:
    """Where encoder features are cached: ``$LOOKBOOK_CACHE`` or ``runs/cache``."""
    return Path(os.environ.get("LOOKBOOK_CACHE", "runs/cache"))


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--world DIR | --dataset hm|polyvore --path P`` plus the feature cache."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--world", type=Path, help="a demo world folder (truth from its oracle)")
    source.add_argument("--dataset", choices=["hm", "polyvore"], help="a real data set (needs --path)")
    parser.add_argument("--path", type=Path, help="the real data set's folder")
    parser.add_argument(
        "--cache", type=Path, default=None, help="feature cache (default $LOOKBOOK_CACHE or runs/cache)"
    )
    parser.add_argument(
        "--resolution", type=int, default=128, help="image encoder input size in pixels (default 128)"
    )


def load_source(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(world, oracle or None, content features) for the source the flags name."""
    from lookbook.datasets import load_dataset, load_world
    from lookbook.encoders.content import encode_items
    from lookbook.encoders.image import ImageEncoderConfig
    from lookbook.errors import LookbookError

    oracle = None
    if args.world is not None:
        world = load_world(args.world)
        if (args.world / "truth").exists():
            from lookbook.datasets.synthetic.oracle import Oracle

            oracle = Oracle.load(args.world)
    else:
        if args.path is None:
            raise LookbookError(f"--path: required with --dataset {args.dataset}")
        world = load_dataset(args.dataset, args.path)
    features = encode_items(
        world.items,
        world.root,
        cache_dir=args.cache or default_cache(),
        image_config=ImageEncoderConfig(resolution=args.resolution),
        show_progress=args.show_progress,
    )
    return world, oracle, features
