"""``lookbook train ...``: fit a model on a world or data set and save it for serving."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from lookbook.cli._common import emit
from lookbook.cli.evaluate import add_source_arguments, load_source

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


def _train_compatibility(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from lookbook.evaluation.compatibility_suite import _labels, _sets
    from lookbook.models.compatibility import CompatibilityConfig, CompatibilityModel
    from lookbook.schema import IdMap

    started = time.perf_counter()
    world, _, features = load_source(args)
    ids = IdMap(world.items.column("item_id").to_pylist(), name="item_id")
    slots, colours, materials, vocab = _labels(world.items)
    _, sets = _sets(world, ids)
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
