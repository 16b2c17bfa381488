"""``lookbook evaluate search``: BM25, dense and hybrid text search scored on a demo world's truth.

A sibling module of ``evaluate`` (as the ``bench_*`` modules are of ``bench``) so that the search
evaluation's flags live next to nothing else; ``lookbook.cli`` adds it to the group that
``evaluate.register`` returns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lookbook.cli._common import default_cache, emit, print_json


def register(eval_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = eval_sub.add_parser(
        "search",
        help="NDCG@10 of BM25, dense and hybrid text search against a demo world's truth",
        description="Build seeded search queries from the world's hidden item truth (colour, pattern, "
        "material, shape, style and category, in the vocabulary's own words; and again with the colour in "
        "another word), grade every item from the truth (2 = category and every named attribute, 1 = "
        "partly) and report NDCG@10, lenient NDCG@10 and recall@50 for BM25 only, dense only (MiniLM), "
        "hybrid with RRF and hybrid with weighted fusion (weight chosen on separate validation queries).",
    )
    parser.add_argument(
        "--world", type=Path, required=True, help="a generated demo world folder (with truth/)"
    )
    parser.add_argument(
        "--queries", type=int, default=300, help="test queries in canonical words (default 300)"
    )
    parser.add_argument(
        "--validation-queries",
        type=int,
        default=150,
        help="canonical validation queries that choose the weighted fusion (default 150)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the queries (default 0)")
    parser.add_argument("--k", type=int, default=10, help="NDCG cut-off (default 10)")
    parser.add_argument(
        "--dense-text",
        choices=["title", "full"],
        default="title",
        help="what the dense side embeds: title and attributes (default) or the full BM25 text",
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="feature cache (default $LOOKBOOK_CACHE or runs/cache)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run, _parser=parser)


def _run(args: argparse.Namespace) -> int:
    from lookbook.evaluation.search import evaluate_search, format_table

    for flag, value in (("--queries", args.queries), ("--validation-queries", args.validation_queries)):
        if value < 1:
            args._parser.error(f"{flag}: expected an int >= 1, got {value}")
    if args.k < 1:
        args._parser.error(f"--k: expected an int >= 1, got {args.k}")
    if not (args.world / "truth").is_dir():
        args._parser.error(f"--world: expected a generated demo world with a truth/ folder, got {args.world}")
    result = evaluate_search(
        args.world,
        cache_dir=args.cache or default_cache(),
        queries=args.queries,
        validation_queries=args.validation_queries,
        seed=args.seed,
        k=args.k,
        recall_k=max(50, args.k),
        dense_text=args.dense_text,
        show_progress=args.show_progress,
    )
    if args.json:
        print_json(result)
    else:
        emit(format_table(result))
    return 0
