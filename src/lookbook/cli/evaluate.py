"""``lookbook evaluate ...``: measure models against the truth (demo worlds) or real data.

This module adds the ``compatibility`` and ``collaborative`` models; the sibling modules
``evaluate_search`` and ``evaluate_shop_the_look`` add theirs to the group that ``register`` returns
(``lookbook.cli`` wires them), so no verb module imports another.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from lookbook.cli._common import add_source_arguments, default_cache, emit, load_source, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """Add ``evaluate`` and its two models; returns the model group the sibling modules add to."""
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

    collab = eval_sub.add_parser(
        "collaborative",
        help="Recall@k and NDCG@k of popularity, tuned ALS, tuned EASE and the Lookbook model",
        description="Fit each recommender on the training events and rank every item for each test user "
        "(never one they already have). --train/--test: two CSVs user_id,item_id,timestamp (items = those "
        "seen in train); --dataset hm: the purchases split per user in time (last 20 percent to test); "
        "--world: a demo world, split the same way, also scored against the true taste and on never-seen "
        "items.",
    )
    source = collab.add_mutually_exclusive_group(required=True)
    source.add_argument("--train", type=Path, help="training events CSV (user_id,item_id,timestamp)")
    source.add_argument("--world", type=Path, help="a demo world folder (truth from its oracle)")
    source.add_argument("--dataset", choices=["hm"], help="a real data set (needs --path)")
    collab.add_argument("--test", type=Path, help="test events CSV (with --train)")
    collab.add_argument("--path", type=Path, help="the real data set's folder (with --dataset)")
    collab.add_argument("--k", type=int, default=10, help="length of each recommendation list (default 10)")
    collab.add_argument("--json", action="store_true", help="print one JSON object")
    collab.add_argument(
        "--models", nargs="+", choices=["popularity", "als", "ease", "lookbook"], help="only these models"
    )
    collab.add_argument("--seed", type=int, default=0, help="seed of the ALS grid sample and initialisation")
    collab.add_argument(
        "--position-debias",
        action="store_true",
        help="--world only: weight training clicks by their inverse position propensity (from impressions)",
    )
    collab.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="feature cache for --world (default $LOOKBOOK_CACHE or runs/cache)",
    )
    collab.set_defaults(func=_evaluate_collaborative, _parser=collab)
    return eval_sub


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


def _evaluate_collaborative(args: argparse.Namespace) -> int:
    from lookbook.evaluation.collaborative import evaluate_contract, evaluate_hm, evaluate_world, format_table

    if args.k < 1:
        args._parser.error(f"--k: expected an int >= 1, got {args.k}")
    if args.train is not None and args.test is None:
        args._parser.error("--test: required with --train")
    if args.test is not None and args.train is None:
        args._parser.error("--test: only with --train")
    if args.dataset is not None and args.path is None:
        args._parser.error(f"--path: required with --dataset {args.dataset}")
    common = {"k": args.k, "models": args.models, "seed": args.seed, "show_progress": args.show_progress}
    if args.train is not None:
        result = evaluate_contract(args.train, args.test, **common)
    elif args.dataset == "hm":
        result = evaluate_hm(args.path, cache_dir=args.cache or default_cache(), **common)
    else:
        features = None
        if args.models is None or "lookbook" in args.models:
            features = _world_features(args)
        result = evaluate_world(
            args.world, item_features=features, position_debias=args.position_debias, **common
        )
    if args.json:
        print_json(result)
    else:
        emit(format_table(result))
        for name, row in result["models"].items():
            info = row.get("info") or {}
            if "config" in info:
                emit(f"{name}: {info['config']} (tuned in {info['tuning_s']}s)")
            elif "w" in info:
                emit(f"{name}: two-tower share of the blend w={info['w']}, EASE l2={info['l2']}")
    return 0


def _world_features(args: argparse.Namespace) -> Any:
    """The world's fused content vectors, for the Lookbook model's cold-start path."""
    from lookbook.datasets import load_world
    from lookbook.encoders.content import encode_items

    world = load_world(args.world)
    return encode_items(
        world.items, world.root, cache_dir=args.cache or default_cache(), show_progress=args.show_progress
    ).fused
