"""``lookbook train ...``: fit a model on a world or data set and save it for serving."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from lookbook.cli._common import add_source_arguments, emit, load_source, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("train", help="train a model and save it")
    train_sub = parser.add_subparsers(dest="train", metavar="MODEL", required=True)
    compat = train_sub.add_parser(
        "compatibility",
        help="train the type-aware triplet compatibility model on every set",
        description="Encode the catalog (images cached by content hash), fit the content fusion and the "
        "compatibility model on all sets, and save both (safetensors + JSON) to --out.",
    )
    add_source_arguments(compat)
    compat.add_argument("--out", type=Path, default=Path("runs/models/compatibility"), help="model folder")
    compat.add_argument("--epochs", type=int, help="training epochs")
    compat.set_defaults(func=_train_compatibility)
    ranker = train_sub.add_parser(
        "ranker",
        help="train the LightGBM lambdarank reranker on a world's logged impressions",
        description="Features of every logged impression as the shop knew them at the time (collaborative "
        "affinity and distance from models refitted at each snapshot, popularity, price band, brand "
        "affinity, age, slot); labels from clicks and purchases, position-debiased; trained on the early "
        "weeks, validated on the last. Saved into the project (or --out), where `lookbook serve` finds it.",
    )
    target = ranker.add_mutually_exclusive_group(required=True)
    target.add_argument("--project", type=Path, help="a built project: its source world, saved into it")
    target.add_argument("--world", type=Path, help="a world folder (save with --out)")
    ranker.add_argument("--out", type=Path, default=None, help="model folder (default PROJECT/models/ranker)")
    ranker.add_argument("--seed", type=int, default=0)
    ranker.add_argument("--json", action="store_true", help="print the validation report as JSON")
    ranker.set_defaults(func=_train_ranker)
    detector = train_sub.add_parser(
        "detector",
        help="train the garment box detector on labelled photos (a CSV: image,x0,y0,x1,y1,slot)",
        description="Train the small CNN box detector on labelled photos a user brings (one CSV row per "
        "garment; images relative to the CSV), score it on --holdout of the photos (mAP@0.5, precision, "
        "recall) and save it into --project (shop the look then uses it) or --out.",
    )
    detector.add_argument("--labels", type=Path, required=True, help="CSV: image,x0,y0,x1,y1,slot")
    where = detector.add_mutually_exclusive_group(required=True)
    where.add_argument("--project", type=Path, help="save as this project's detector")
    where.add_argument("--out", type=Path, help="save to this folder")
    detector.add_argument("--epochs", type=int, default=None, help="training epochs (default 40)")
    detector.add_argument("--holdout", type=float, default=0.2, help="share of photos held out (default 0.2)")
    detector.add_argument("--seed", type=int, default=0)
    detector.add_argument("--json", action="store_true", help="print the report as JSON")
    detector.set_defaults(func=_train_detector, _parser=detector)


def _train_detector(args: argparse.Namespace) -> int:
    import numpy as np

    from lookbook.project.detector import detector_path
    from lookbook.project.layout import ProjectPaths
    from lookbook.vision.boxnet import BoxDetector, BoxDetectorConfig
    from lookbook.vision.data import labelled_photos_csv
    from lookbook.vision.evaluate import detection_metrics

    if not 0.0 <= args.holdout < 1.0:
        args._parser.error(f"--holdout: expected a share in [0, 1), got {args.holdout}")
    if args.epochs is not None and args.epochs < 1:
        args._parser.error(f"--epochs: expected an int >= 1, got {args.epochs}")
    photos = labelled_photos_csv(args.labels)
    order = np.random.default_rng(args.seed).permutation(len(photos))
    n_test = round(args.holdout * len(photos)) if len(photos) > 1 else 0
    test = [photos[i] for i in order[:n_test]]
    train = [photos[i] for i in order[n_test:]]
    config = BoxDetectorConfig(random_state=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    detector = BoxDetector(config).fit(train, show_progress=args.show_progress)
    out = detector_path(ProjectPaths(args.project)) if args.project is not None else args.out
    detector.save(out)
    report: dict = {"photos": len(train), "held_out": len(test), "slots": [str(s) for s in detector.slots_],
                    "fit_s": round(detector.fit_seconds_, 1), "saved": str(out)}  # fmt: skip
    if test:
        found = [detector.detect(p.image, min_confidence=0.05) for p in test]
        metrics = detection_metrics(found, test, score_threshold=config.min_confidence)
        report |= {k: metrics[k] for k in ("map", "precision", "recall")}
    if args.json:
        print_json(report)
    else:
        held = f"; held-out mAP@0.5 {report['map']:.3f}" if test else ""
        emit(f"detector trained on {len(train)} photos in {report['fit_s']} s, saved to {out}{held}")
    return 0


def _train_ranker(args: argparse.Namespace) -> int:
    from lookbook.datasets.world import load_world
    from lookbook.errors import LookbookError
    from lookbook.pipeline.ranker import train_project_ranker
    from lookbook.project.layout import ProjectPaths

    if args.project is not None:
        record = json.loads((args.project / "build.json").read_text())["stages"]
        source = record["ingest"]["report"].get("source")
        if not source:
            raise LookbookError(f"--project {args.project}: built from a source with no logged impressions")
        world = load_world(Path(source))
        out = args.out or ProjectPaths(args.project).ranker
    else:
        world = load_world(args.world)
        if args.out is None:
            raise LookbookError("--out: required with --world")
        out = args.out
    report = train_project_ranker(world, out, seed=args.seed, show_progress=args.show_progress)
    if args.json:
        print_json(report)
    elif report.get("trained"):
        ndcg = report["ndcg"]
        emit(f"reranker saved to {out}; validation NDCG: {json.dumps(ndcg)}")
    else:
        emit(f"reranker not trained: {report.get('reason')}")
    return 0 if report.get("trained") else 1


def _train_compatibility(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from lookbook.models.compatibility import CompatibilityConfig, CompatibilityModel
    from lookbook.models.compatibility_labels import catalog_sets, item_labels
    from lookbook.schema import IdMap

    started = time.perf_counter()
    world, _, features = load_source(args)
    ids = IdMap(world.items.column("item_id").to_pylist(), name="item_id")
    slots, colours, materials, vocab = item_labels(world.items)
    _, sets = catalog_sets(world, ids)
    config = CompatibilityConfig()
    if args.epochs:
        config = dataclasses.replace(config, epochs=args.epochs)
    model = CompatibilityModel(config).fit(
        sets,
        features.fused,
        slots,
        vocab,
        colours=colours,
        materials=materials,
        show_progress=args.show_progress,
    )
    out = Path(args.out)
    model.save(out / "model")
    if features.fusion is not None:
        features.fusion.save(out / "fusion")
    np.save(out / "style_vectors.npy", model.embed(features.fused))
    (out / "item_ids.json").write_text(json.dumps(features.item_ids))
    total = time.perf_counter() - started
    encoding = features.timings.get("total_s", float("nan"))
    emit(
        f"compatibility model trained on {len(sets):,} sets of {len(ids):,} items in {total:.1f} s "
        f"(encoding {encoding:.1f} s, training {model.fit_seconds_:.1f} s); saved to {out}"
    )
    return 0
