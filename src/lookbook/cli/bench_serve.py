"""``lookbook bench serve``: touchpoint latency in process and over HTTP, and home-feed quality."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lookbook.cli._common import print_json


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "serve",
        help="home feed / similar items latency (in process and HTTP) and home-feed quality",
        description="Targets (default fashion world): in-process home feed p99 <= 10 ms; HTTP with 32 "
        "concurrent clients >= 300 requests/s and p99 <= 50 ms; home NDCG@20 >= 1.3 x popularity and "
        "above the collaborative ranking alone. Writes the alpha-sweep PNG.",
    )
    parser.add_argument("--project", type=Path, required=True, help="a project made by `lookbook build`")
    parser.add_argument("--world", type=Path, default=None, help="its world (default: the build's source)")
    parser.add_argument("--users", type=int, default=200, help="users sampled for latency and quality")
    parser.add_argument("--seconds", type=float, default=10.0, help="HTTP load duration per endpoint")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP part")
    parser.add_argument("--only-http", action="store_true", help="skip latency in process and quality")
    parser.add_argument(
        "--plot", type=Path, default=None, help="alpha-sweep PNG (default PROJECT/alpha_sweep.png)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from lookbook.evaluation.bench_serve import (
        alpha_sweep,
        home_quality,
        inprocess_latency,
        photo_anchor_sets,
        plot_alpha_sweep,
    )
    from lookbook.touchpoints.factory import open_shop
    from lookbook.touchpoints.threads import limit_math_threads

    record = json.loads((args.project / "build.json").read_text())["stages"]
    world = args.world or Path(record["ingest"]["report"].get("source") or "")
    result: dict[str, object] = {"project": str(args.project)}
    limit_math_threads()  # as a serving process runs: one BLAS thread per request
    with open_shop(args.project) as shop:
        rng = np.random.default_rng(0)
        users = [str(u) for u in rng.permutation(shop.users.users())[: args.users]]
        if not args.only_http:
            result["inprocess"] = inprocess_latency(shop, users)
        if (world / "truth").exists() and not args.only_http:
            from lookbook.datasets.synthetic.oracle import Oracle

            oracle = Oracle.load(world)
            result["quality"] = home_quality(shop, oracle, users)
            photos = photo_anchor_sets(world, oracle, n=len(users))
            sweep = alpha_sweep(shop, oracle, photos, users, (0.0, 0.2, 0.4, 0.6, 0.8, 1.0))
            result["alpha_sweep"] = sweep
            result["alpha_sweep_png"] = str(
                plot_alpha_sweep(sweep, args.plot or args.project / "alpha_sweep.png")
            )
    if not args.no_http:
        from lookbook.evaluation.http_load import http_benchmark

        load = {"seconds": args.seconds, "concurrency": args.concurrency}
        result["http"] = http_benchmark(args.project, users, **load)  # type: ignore[arg-type]
        # the same load with the response cache off: every request computes every stage
        result["http_uncached"] = http_benchmark(args.project, users, cache_seconds=0.0, **load)  # type: ignore[arg-type]
    if args.json:
        print_json(result)
        return 0
    print_json(result)  # the figures are nested; JSON is the readable form too
    sys.stdout.flush()
    return 0
