"""``lookbook bench rank``: every ranking stage for one page, on synthetic catalogs of any size."""

from __future__ import annotations

import argparse
import dataclasses

from lookbook.cli._common import emit, print_json


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "rank",
        help="ranking latency of one page (candidates in, k out, every stage) at several catalog sizes",
        description="From search results to a ranked, explained page: candidates with provenance, the "
        "affinity product, dedupe, constraints, blend, the reranker, diversity (MMR) and explanations. "
        "Target: 500 candidates in, 20 out, p99 <= 10 ms at 5k items and <= 20 ms at 100k.",
    )
    parser.add_argument("--items", type=int, nargs="+", default=[5_000, 100_000], help="catalog sizes")
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--trees", type=int, nargs="+", default=[0, 300], help="reranker sizes (0: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from lookbook.ranking.bench import bench_rank

    rows = []
    with threadpool_limits(limits=1):  # as the server runs (lookbook.touchpoints.shop)
        for n in args.items:
            for trees in args.trees:
                r = bench_rank(n, args.candidates, args.k, args.repeats, reranker_trees=trees)
                rows.append(dataclasses.asdict(r))
    if args.json:
        print_json({"runs": rows})
        return 0
    emit(f"  {'items':>8} {'trees':>6} {'p50 ms':>8} {'p99 ms':>8} {'cpu p50':>8} {'cpu p99':>8}")
    for r in rows:
        emit(
            f"  {r['n_items']:>8,} {r['reranker_trees']:>6} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} "
            f"{r.get('cpu_p50_ms', float('nan')):>8.3f} {r.get('cpu_p99_ms', float('nan')):>8.3f}"
        )
    return 0
