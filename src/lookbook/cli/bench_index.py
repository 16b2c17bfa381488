"""``lookbook bench index``: every vector-index backend on one seeded catalog, beside numpy."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lookbook.cli._common import print_json

BACKEND_NAMES = ("embedded", "milvus", "numpy")


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "index",
        help="vector-index build, latency, recall, filters, updates and reopen per backend",
        description="Seeded random unit vectors with item payloads; per backend: build items/s, "
        "unfiltered and 1%% / 10%% filtered p50 / p99 and recall@10 against numpy's exact scan, "
        "1,000 upserts and deletes, reopen time and memory. Targets (embedded, 100k x 128): "
        "recall >= 0.98 and p50 <= 1 ms unfiltered; filtered recall >= 0.99, p50 <= 2 / 5 ms.",
    )
    parser.add_argument("--n", type=int, default=100_000, help="items (default 100,000)")
    parser.add_argument("--dim", type=int, default=128, help="vector dimension (default 128)")
    parser.add_argument("--queries", type=int, default=200, help="single queries timed per tier")
    parser.add_argument(
        "--backend", nargs="+", choices=BACKEND_NAMES, default=list(BACKEND_NAMES), help="backends to run"
    )
    parser.add_argument(
        "--milvus-uri", default=None, help="a running Milvus (default: start the bundled server locally)"
    )
    parser.add_argument(
        "--catalog",
        choices=("random", "clustered"),
        default="random",
        help="uniform random unit vectors (the contract; hardest for graph indexes) or 256 clusters "
        "(closer to trained embeddings)",
    )
    parser.add_argument(
        "--search-ef", type=int, default=None, help="HNSW beam width of approximate searches (default 128)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep the indexes here")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _backends(
    names: list[str], milvus_uri: str | None, search_ef: int | None = None
) -> Iterator[dict[str, tuple[Callable[..., Any], bool]]]:
    from lookbook.index.numpy_backend import NumpyIndex

    out: dict[str, tuple[Callable[..., Any], bool]] = {}
    with contextlib.ExitStack() as stack:
        for name in names:
            if name == "numpy":
                out[name] = (lambda dim, path: NumpyIndex(dim), False)
            elif name == "embedded":
                from lookbook.index.qdrant_edge import QdrantEdgeIndex

                ef = {} if search_ef is None else {"search_ef": search_ef}
                out[name] = (lambda dim, path, ef=ef: QdrantEdgeIndex(dim, path, **ef), True)
            elif name == "milvus":
                from lookbook.index.milvus import MilvusIndex

                uri = milvus_uri
                if uri is None:
                    import tempfile

                    from lookbook.index.milvus_server import local_milvus

                    base = stack.enter_context(tempfile.TemporaryDirectory(prefix="lookbook-milvus-"))
                    uri = stack.enter_context(local_milvus(Path(base)))

                def make(dim: int, path: Path, uri: str = uri) -> Any:
                    ef = {} if search_ef is None else {"search_ef": search_ef}
                    return MilvusIndex(dim, uri, collection="bench_" + path.name, **ef)

                out[name] = (make, True)
        yield out


def run(args: argparse.Namespace) -> int:
    from lookbook.evaluation.bench_index import IndexBenchConfig, run_index_benchmark

    cfg = IndexBenchConfig(n=args.n, dim=args.dim, queries=args.queries, catalog=args.catalog)
    with _backends(list(args.backend), args.milvus_uri, args.search_ef) as backends:
        result = run_index_benchmark(backends, cfg, workdir=args.workdir)
    if args.json:
        print_json(result)
        return 0
    lines = [
        f"index benchmark: {cfg.n:,} x {cfg.dim}, {cfg.catalog} catalog "
        f"(raw vectors {result['raw_vectors_mb']} MB)"
    ]
    head = f"  {'backend':<10} {'tier':<13} {'p50 ms':>8} {'p99 ms':>8} {'QPS':>7} {'recall':>7} {'short':>6}"
    lines.append(head)
    for name, r in result["backends"].items():
        if "error" in r:
            lines.append(f"  {name:<10} failed: {r['error']}")
            continue
        for tier in ("unfiltered", "filter_1pct", "filter_10pct"):
            t = r[tier]
            lines.append(
                f"  {name:<10} {tier:<13} {t['p50_ms']:>8.3f} {t['p99_ms']:>8.3f} {t['qps']:>7,} "
                f"{t['recall']:>7.4f} {t['short']:>6}"
            )
        reopen = "-" if r["reopen_s"] is None else f"{r['reopen_s']:.3f} s"
        lines.append(
            f"  {name:<10} build {r['build_items_per_s']:,} items/s; "
            f"1,000 upserts {r['upsert_1000_s']:.3f} s, deletes {r['delete_1000_s']:.3f} s, "
            f"visible {r['visible']}; reopen {reopen}; "
            + (
                "memory in the server"
                if r["rss_mb"] is None
                else f"serving RSS {r['rss_mb']} MB ({r['rss_mb'] / result['raw_vectors_mb']:.1f}x raw), "
                f"build +{r['build_rss_mb']} MB"
            )
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
