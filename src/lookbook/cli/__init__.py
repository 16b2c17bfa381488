"""``lookbook <verb>``: the one entry point.

Each verb lives in its own module under ``lookbook.cli`` with a ``register(subparsers)`` function
that adds its parser and sets ``func``. A verb with sub-verbs in sibling modules (``evaluate``,
``bench``) returns its sub-verb group from ``register``, and this module adds the siblings to it: the
wiring lives here only, so a verb module imports the shared helpers (``_common``) and the library,
never another verb. This module also sets up logging, progress and exit codes, once, so that library
code never configures handlers.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from lookbook import __version__
from lookbook.cli import (
    bench,
    bench_collaborative,
    bench_encode,
    bench_index,
    bench_live,
    bench_look,
    bench_rank,
    bench_serve,
    bench_store,
    bench_world,
    build,
    demo,
    evaluate,
    evaluate_search,
    evaluate_shop_the_look,
    experiment,
    ingest,
    models,
    retrain,
    serve,
    settings,
    shop_the_look,
    train,
    world,
)
from lookbook.errors import IngestError, LookbookError, NotFound

log = logging.getLogger("lookbook")

#: Every verb in ``--help`` order, each with the sibling modules that add sub-verbs to the group its
#: ``register`` returns (in their ``--help`` order).
_VERBS: tuple[tuple[ModuleType, tuple[ModuleType, ...]], ...] = (
    (world, ()),
    (ingest, ()),
    (build, ()),
    (train, ()),
    (evaluate, (evaluate_search, evaluate_shop_the_look)),
    (demo, ()),
    (
        bench,
        (
            bench_collaborative,
            bench_encode,
            bench_index,
            bench_live,
            bench_look,
            bench_rank,
            bench_serve,
            bench_store,
            bench_world,
        ),
    ),
    (retrain, ()),
    (models, ()),
    (experiment, ()),
    (serve, ()),
    (settings, ()),
    (shop_the_look, ()),
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by the tests to check every verb has ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="lookbook",
        description="Lookbook: one embedding space for every touchpoint of a fashion or home shop.",
    )
    parser.add_argument("--version", action="version", version=f"lookbook {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail (timings)")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, siblings in _VERBS:
        group = verb.register(sub)
        for sibling in siblings:
            sibling.register(group)
    return parser


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the process exit code (0 ok, 1 rejected input, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    args.show_progress = not args.no_progress
    try:
        return int(args.func(args) or 0)
    except (IngestError, NotFound) as exc:
        log.error("%s", exc)
        return 1
    except LookbookError as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        log.warning("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
