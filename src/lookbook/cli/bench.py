"""``lookbook bench ...``: every performance target lives in a command that prints its figures.

Each target area registers its own sub-verb from a sibling module (``bench_store``, ``bench_world``)
so that benchmarks stay next to the code they measure, and print a table or, with ``--json``, one
JSON object. ``lookbook.cli`` adds those modules to the group that ``register`` returns, so no verb
module imports another.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """Add ``bench``; returns its target group, which the ``bench_*`` modules add to."""
    parser = sub.add_parser("bench", help="run a benchmark and print its figures")
    return parser.add_subparsers(dest="bench", metavar="TARGET", required=True)
