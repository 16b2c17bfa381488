"""``lookbook build``: a world or data set in, a servable project out (resumable)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lookbook.cli._common import default_cache, emit, print_json

if TYPE_CHECKING:
    from lookbook.datasets.synthetic import WorldConfig
    from lookbook.datasets.world import World

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "build",
        help="ingest, encode, train every model and fill the index of a project",
        description="Build a project from a demo world (an existing folder, or generated from --world "
        "fashion|home) or a real data set. A second run only redoes the stages whose inputs changed "
        "(build.json records them).",
    )
    parser.add_argument(
        "--world", help="a world folder, or 'fashion' / 'home' to generate one inside the project"
    )
    parser.add_argument("--dataset", choices=["hm", "polyvore", "interactions"], help="a real data set")
    parser.add_argument("--path", type=Path, help="the real data set's folder (with --dataset)")
    parser.add_argument("--items", type=int, default=5_000, help="items of a generated world")
    parser.add_argument("--users", type=int, default=2_000, help="users of a generated world")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--project", type=Path, required=True, help="the project folder")
    parser.add_argument("--index", default=None, help="vector index URI (default: embedded in the project)")
    parser.add_argument("--cache", type=Path, default=None, help="feature cache (default runs/cache)")
    parser.add_argument(
        "--resolution", type=int, default=128, help="image encoder input size in pixels (default 128)"
    )
    parser.add_argument("--json", action="store_true", help="print the per-stage report as JSON")
    parser.set_defaults(func=run)


def load_build_source(args: argparse.Namespace) -> World:
    """The World the flags name (generating a demo world when asked)."""
    from lookbook.datasets import load_dataset, load_world
    from lookbook.errors import LookbookError

    if (args.world is None) == (args.dataset is None):
        raise LookbookError("build: give exactly one of --world and --dataset")
    if args.dataset is not None:
        if args.path is None:
            raise LookbookError(f"--path: required with --dataset {args.dataset}")
        return load_dataset(args.dataset, args.path)
    if args.world in ("fashion", "home"):
        from lookbook.datasets.synthetic import WorldConfig

        cfg = WorldConfig(domain=args.world, n_items=args.items, n_users=args.users, seed=args.seed)
        return ensure_world(cfg, args.project / f"world-{args.world}", args.show_progress)
    return load_world(Path(args.world))


def ensure_world(cfg: WorldConfig, world_dir: Path, show_progress: bool) -> World:
    """The generated world in ``world_dir``, reused when its config and generator are unchanged."""
    import json

    from lookbook.datasets.synthetic import make_synthetic_world
    from lookbook.datasets.synthetic.generate import GENERATOR_VERSION
    from lookbook.datasets.world import load_world

    meta_path = world_dir / "world.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if meta.get("config") == cfg.to_dict() and meta.get("generator_version") == GENERATOR_VERSION:
        log.info("reusing the world in %s", world_dir)
        return load_world(world_dir)
    return make_synthetic_world(cfg, world_dir, overwrite=True, show_progress=show_progress).world


def run(args: argparse.Namespace) -> int:
    from lookbook.pipeline.build import BuildConfig, build_project

    world = load_build_source(args)
    cfg = BuildConfig(
        index_uri=args.index,
        cache_dir=args.cache or default_cache(),
        seed=args.seed,
        resolution=args.resolution,
    )
    report = build_project(world, args.project, cfg, show_progress=args.show_progress)
    if args.json:
        print_json(report)
        return 0
    for stage, r in report.items():
        state = "up to date" if r.get("skipped") else f"{r.get('seconds', 0):.1f} s"
        emit(f"  {stage:<14} {state}")
    emit(f"project ready: {args.project} (serve it with `lookbook serve --project {args.project}`)")
    return 0
