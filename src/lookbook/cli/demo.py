"""``lookbook demo``: the README's main job.

It generates the default fashion world (or reuses it when its config is unchanged), draws its
contact sheet, builds a project from it (``lookbook build``: ingest, encode, train every model, fill
the embedded index; resumable), evaluates the compatibility and preference models on held-out
data beside their baselines, prints the summary and serves the shop page (``--no-serve`` stops
after the summary).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from lookbook.cli._common import default_cache, emit, print_json, print_summary

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
    parser.add_argument("--no-serve", action="store_true", help="stop after the summary")
    parser.add_argument("--port", type=int, default=8000, help="port of the shop page (127.0.0.1)")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from lookbook.datasets.contact_sheet import draw_contact_sheet
    from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
    from lookbook.datasets.synthetic.generate import GENERATOR_VERSION
    from lookbook.datasets.world import load_world
    from lookbook.pipeline.build import BuildConfig, build_project

    cfg = WorldConfig(domain=args.domain, n_items=args.items, n_users=args.users, seed=args.seed)
    world_dir = args.workdir / f"world-{cfg.domain.value}"
    project = args.workdir / "project"
    meta_path = world_dir / "world.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    reuse = (
        not args.fresh
        and meta.get("config") == cfg.to_dict()
        and meta.get("generator_version") == GENERATOR_VERSION
    )
    if reuse:
        log.info("reusing the world in %s (same config and generator; --fresh regenerates it)", world_dir)
        world = load_world(world_dir)
    else:
        world = make_synthetic_world(cfg, world_dir, overwrite=True, show_progress=args.show_progress).world
        if project.exists():  # the demo project mirrors the world: a new world gets a new project
            log.info("removing %s, built from the previous world", project)
            shutil.rmtree(project)
    sheet = draw_contact_sheet(world_dir, world_dir / "contact_sheet.png")

    started = time.perf_counter()
    build = build_project(
        world,
        project,
        BuildConfig(cache_dir=default_cache(), seed=args.seed),
        show_progress=args.show_progress,
    )
    counts = build["ingest"]["counts"]
    build_s = time.perf_counter() - started

    compatibility, features = _train_compatibility(world, world_dir, args)
    collaborative = _train_collaborative(world_dir, features, args)
    shop_the_look = None
    if "detector" in build:  # the world has labelled photos: score shop the look on its held-out ones
        from lookbook.evaluation.shop_the_look import evaluate_world as evaluate_looks

        shop_the_look = evaluate_looks(
            world_dir, project, users=5, ndcg_photos=20, show_progress=args.show_progress
        )

    summary = world.summary() | {
        "path": str(world_dir),
        "contact_sheet": str(sheet),
        "project": str(project),
        "store": counts,
        "ingest": {
            t: build["ingest"][t] for t in ("items", "users", "events", "sets") if t in build["ingest"]
        },
        "build": {
            stage: r.get("seconds") if not r.get("skipped") else "up to date" for stage, r in build.items()
        },
        "build_s": round(build_s, 2),
        "compatibility": compatibility,
        "collaborative": collaborative,
        "shop_the_look": shop_the_look,
    }
    if args.json:
        print_json(summary)
    else:
        _print(summary, sheet, project, counts, build_s)
    if not args.no_serve:
        _serve(project, args.port)
    return 0


def _serve(project: Path, port: int) -> None:
    from lookbook.serving import ServeConfig, create_app
    from lookbook.serving.server import run
    from lookbook.touchpoints.factory import open_shop
    from lookbook.touchpoints.threads import limit_math_threads

    limit_math_threads()
    with open_shop(project) as shop:
        emit(f"shop page: http://127.0.0.1:{port}/  (Ctrl-C stops it)")
        run(create_app(shop, ServeConfig(api_key=None, port=port, demo=True)), host="127.0.0.1", port=port)


def _print(
    summary: dict[str, Any], sheet: Path, project: Path, counts: dict[str, int], build_s: float
) -> None:
    print_summary(summary)
    emit(f"contact sheet: {sheet}")
    stored = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    emit(f"project: {project} ({stored}; built in {build_s:.1f} s)")
    compatibility, collaborative = summary["compatibility"], summary["collaborative"]
    emit("compatibility (held-out sets of the world):")
    for name, row in compatibility["models"].items():
        emit(f"  {name:<15} FITB {row['fitb']:.3f}  AUC {row['auc']:.3f}")
    emit(f"  held-out style model saved to {compatibility['model']}")
    emit("preference (last 20% of each user's positive events held out):")
    for name, row in collaborative["models"].items():
        emit(
            f"  {name:<15} NDCG@10 {row['ndcg']:.4f}  true-taste NDCG@10 {row['true_ndcg']:.3f}  "
            f"new-item recall@50 {row['cold_item_recall@50'] or 0.0:.3f}"
        )
    emit(f"  held-out preference model saved to {collaborative['model']}")
    looks = summary.get("shop_the_look")
    if looks:
        emit(f"shop the look ({looks['photos']} held-out photos, {looks['garments']} garments):")
        emit(
            f"  detection mAP@0.5 {looks['map50']:.3f}  anchor recall@5 {looks['anchor_recall5']:.3f}  "
            f"NDCG@20 {looks['ndcg']:.3f} at alpha {looks['alpha']}"
        )


def _train_collaborative(world_dir: Path, features: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Train the preference models on the first 80% of each user's events, score them against the
    held-out 20% and the world's true taste, and save the Lookbook model."""
    from lookbook.evaluation.collaborative import evaluate_world
    from lookbook.models.collaborative.baselines import PopularityRecommender
    from lookbook.models.collaborative.hybrid import LookbookRecommender
    from lookbook.models.collaborative.tuning import TunedALS

    lookbook = LookbookRecommender()
    models = {"popularity": PopularityRecommender(), "als": TunedALS(seed=args.seed), "lookbook": lookbook}
    result = evaluate_world(world_dir, models=models, item_features=features.fused, seed=args.seed)
    out = lookbook.save(args.workdir / "models" / "preference")
    keep = ("recall", "ndcg", "true_ndcg", "cold_item_recall@50", "coverage", "fit_s")
    return {
        "models": {name: {k: row.get(k) for k in keep} for name, row in result["models"].items()},
        "model": str(out),
    }


def _train_compatibility(world: Any, world_dir: Path, args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """Encode the catalog (cached), train the compatibility model on the world's training sets,
    compare it with the untrained baselines on the held-out sets, and save it."""
    from lookbook.datasets.synthetic.oracle import Oracle
    from lookbook.encoders.content import encode_items
    from lookbook.evaluation.compatibility_suite import SuiteConfig, prepare_world, run_suite

    features = encode_items(
        world.items, world.root, cache_dir=default_cache(), show_progress=args.show_progress
    )
    cfg = SuiteConfig(variants=("random", "content_cosine", "full"), seed=args.seed)
    data = prepare_world(world, features.fused, oracle=Oracle.load(world_dir), cfg=cfg)
    result, models = run_suite(data, cfg, show_progress=args.show_progress)
    out = args.workdir / "models" / "compatibility"
    models["full"].save(out / "model")
    if features.fusion is not None:
        features.fusion.save(out / "fusion")
    return {
        "models": {k: {"fitb": v["fitb"], "auc": v["auc"]} for k, v in result["models"].items()},
        "model": str(out),
        "encoding_s": round(features.timings.get("total_s", 0.0), 1),
    }, features
