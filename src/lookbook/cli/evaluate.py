"""``lookbook evaluate ...``: measure models against the truth (demo worlds) or real data."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from lookbook.cli._common import emit, print_json

log = logging.getLogger(__name__)


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


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("evaluate", help="measure models against the truth or real data")
    eval_sub = parser.add_subparsers(dest="evaluate", metavar="MODEL", required=True)
    compat = eval_sub.add_parser(
        "compatibility",
        help="FITB, AUC and colour dominance of every compatibility model side by side",
        description="Hold out a fifth of the sets, train each compatibility variant on the rest and score "
        "all of them on the same questions: random, same-colour, content-cosine, triplet without "
        "type-awareness, the full model and the full model minus each auxiliary head or popularity balance.",
    )
    add_source_arguments(compat)
    compat.add_argument("--json", action="store_true", help="print one JSON object")
    compat.add_argument("--plot", type=Path, help="write a UMAP plot of the full model's style space here")
    compat.add_argument("--variants", nargs="+", help="only these variants (default: all)")
    compat.add_argument("--epochs", type=int, help="training epochs of every trained variant")
    compat.add_argument("--seed", type=int, default=0)
    compat.set_defaults(func=_evaluate_compatibility)


def _evaluate_compatibility(args: argparse.Namespace) -> int:
    import dataclasses

    from lookbook.evaluation.compatibility import format_table
    from lookbook.evaluation.compatibility_suite import (
        ALL_VARIANTS,
        SuiteConfig,
        prepare_polyvore,
        prepare_world,
        run_suite,
    )

    world, oracle, features = load_source(args)
    cfg = SuiteConfig(seed=args.seed, variants=tuple(args.variants or ALL_VARIANTS))
    if args.epochs:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, epochs=args.epochs))
    if args.dataset == "polyvore":
        data = prepare_polyvore(world, features.fused, cfg=cfg)
    else:
        data = prepare_world(world, features.fused, oracle=oracle, cfg=cfg)
    result, _ = run_suite(data, cfg, show_progress=args.show_progress, plot=args.plot)
    result["encoding_s"] = {k: round(v, 2) for k, v in features.timings.items()}
    if args.json:
        print_json(result)
    else:
        emit(format_table(result))
        emit("protocol: " + ", ".join(f"{k} {v}" for k, v in result["protocol"].items()))
        if "plot" in result:
            emit(f"plot: {result['plot']}")
    return 0
