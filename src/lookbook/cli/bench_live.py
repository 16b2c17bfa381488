"""``lookbook bench live``: durable writes, restarts, freshness, retrain and swap on a real server."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from lookbook.cli._common import emit, print_json


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "live",
        help="kill cycles, restart time, upsert latency, freshness, retrain and swap under load",
        description="Targets (default fashion world, 2 cores): zero acknowledged writes lost over 20 kill -9 "
        "cycles; restart <= 10 s; an event changes the next feed; trending moves within 60 s; retrain <= 3 "
        "min; zero failed requests and max latency <= 200 ms during the swap under 8 clients; impression "
        "logging p99 <= 0.5 ms; one item upsert with its image p99 <= 150 ms. Runs on a private copy "
        "of the project.",
    )
    parser.add_argument("--project", type=Path, required=True, help="a project made by `lookbook build`")
    parser.add_argument("--cycles", type=int, default=20, help="kill -9 cycles (default 20)")
    parser.add_argument("--upserts", type=int, default=50, help="timed item upserts with images")
    parser.add_argument("--clients", type=int, default=8, help="concurrent readers during the swap")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the copy goes (default: a temp dir)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lookbook.evaluation.bench_live import LiveBenchConfig, live_benchmark

    config = LiveBenchConfig(cycles=args.cycles, upserts=args.upserts, clients=args.clients)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        result = live_benchmark(args.project, Path(tmp), config)
    if args.json:
        print_json(result)
        return 0
    r = result
    emit(
        f"kill cycles {r['kill_cycles']}: {r['lost_writes']} of {r['acknowledged_writes']} acknowledged "
        f"writes lost; restart median {r['restart_s_median']} s, max {r['restart_s_max']} s"
    )
    emit(f"item upsert with image: p50 {r['item_upsert_ms_p50']} ms, p99 {r['item_upsert_ms_p99']} ms")
    emit(f"event changes next feed: {r['event_changes_next_feed']}; trending in {r['trending_moves_s']} s")
    emit(
        f"retrain {r['retrain_s']} s; swap {r['swap']}: {r['swap_failed_requests']} failed requests, "
        f"max latency {r['swap_max_latency_ms']} ms"
    )
    emit(f"impression logging p99 {r['impression_log_ms_p99']} ms")
    return 0
