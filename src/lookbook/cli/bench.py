"""``lookbook bench ...``: every performance target lives in a command that prints its figures.

Each target area registers its own sub-verb from a sibling module (``bench_store``, ``bench_world``)
so that benchmarks stay next to the code they measure, and print a table or, with ``--json``, one
JSON object.
"""

from __future__ import annotations

import argparse

from lookbook.cli import (
    bench_collaborative,
    bench_encode,
    bench_index,
    bench_look,
    bench_rank,
    bench_serve,
    bench_store,
    bench_world,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench_sub = parser.add_subparsers(dest="bench", metavar="TARGET", required=True)
    bench_collaborative.register(bench_sub)
    bench_encode.register(bench_sub)
    bench_index.register(bench_sub)
    bench_look.register(bench_sub)
    bench_rank.register(bench_sub)
    bench_serve.register(bench_sub)
    bench_store.register(bench_sub)
    bench_world.register(bench_sub)
