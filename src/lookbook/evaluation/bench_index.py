"""Vector-index benchmark: every backend on the same seeded catalog, side by side with numpy.

The catalog is ``n`` random unit vectors with item payloads (20 categories, 200 brands, 8 sizes,
price, in stock). For each backend it measures build throughput, single-query latency (p50 / p99)
and recall@10 against the exact numpy scan, unfiltered and under 1 % and 10 % filters (with the
count of short results: a filtered search must return k whenever k items match), 1,000 upserts
and 1,000 deletes and whether they are visible at once, reopen time for persistent backends, and
the resident memory the build added. The JSON keys are a contract other tools read.
"""

from __future__ import annotations

import gc
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.index.base import VectorIndex
from lookbook.index.filters import Eq, Filter, In
from lookbook.index.numpy_backend import NumpyIndex

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL")


@dataclass(frozen=True)
class IndexBenchConfig:
    n: int = 100_000
    dim: int = 128
    queries: int = 200
    k: int = 10
    batch: int = 10_000
    seed: int = 0


def synthetic_catalog(n: int, dim: int, seed: int) -> tuple[list[str], F32, list[dict[str, Any]]]:
    """Seeded unit vectors and payloads: 20 categories, 200 brands, 2 of 8 sizes, price, 90 % in stock."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    category = rng.integers(0, 20, n)
    brand = rng.integers(0, 200, n)
    sizes = rng.integers(0, len(SIZES), (n, 2))
    price = np.round(rng.lognormal(3.5, 0.6, n), 2)
    stock = rng.random(n) < 0.9
    ids = [f"it{i:08d}" for i in range(n)]
    payloads = [
        {
            "category": f"c{category[i]:02d}",
            "brand": f"b{brand[i]:03d}",
            "sizes": sorted({SIZES[sizes[i, 0]], SIZES[sizes[i, 1]]}),
            "price": float(price[i]),
            "in_stock": bool(stock[i]),
            "created_at": 1_700_000_000 + i,
        }
        for i in range(n)
    ]
    return ids, x, payloads


#: 1 %: one category (5 %) and a fifth of the brands; 10 %: two categories.
FILTERS: dict[str, Filter] = {
    "filter_1pct": Eq("category", "c03") & In("brand", [f"b{j:03d}" for j in range(0, 200, 5)]),
    "filter_10pct": In("category", ["c01", "c02"]),
}


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _recall(got: npt.NDArray[np.str_], want: npt.NDArray[np.str_]) -> float:
    hits = total = 0
    for g, w in zip(got, want, strict=True):
        truth = {x for x in w if x}
        hits += len(truth & {x for x in g if x})
        total += len(truth)
    return hits / max(total, 1)


def _latency(
    index: VectorIndex, q: F32, k: int, f: Filter | None
) -> tuple[list[float], npt.NDArray[np.str_]]:
    times, rows = [], []
    for i in range(q.shape[0]):  # one query at a time: the latency a request sees
        t0 = time.perf_counter()
        res = index.search(q[i : i + 1], k, filter=f)
        times.append(time.perf_counter() - t0)
        rows.append(res.ids[0])
    return times, np.asarray(rows)


def bench_backend(
    name: str,
    make: Callable[[int, Path], VectorIndex],
    persistent: bool,
    data: tuple[list[str], F32, list[dict[str, Any]]],
    truth: NumpyIndex,
    cfg: IndexBenchConfig,
    workdir: Path,
) -> dict[str, Any]:
    ids, x, payloads = data
    path = workdir / name
    gc.collect()
    rss0 = _rss_mb()
    index = make(cfg.dim, path)
    t0 = time.perf_counter()
    for s in range(0, len(ids), cfg.batch):
        index.upsert(ids[s : s + cfg.batch], x[s : s + cfg.batch], payloads[s : s + cfg.batch])
    finish = getattr(index, "optimize", None)
    if callable(finish):
        finish()
    build_s = time.perf_counter() - t0
    out: dict[str, Any] = {"build_items_per_s": round(len(ids) / build_s), "build_s": round(build_s, 2)}
    rng = np.random.default_rng(cfg.seed + 1)
    q = x[rng.choice(len(ids), cfg.queries, replace=False)] + 0.1 * rng.normal(
        size=(cfg.queries, cfg.dim)
    ).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    for key, f in {"unfiltered": None, **FILTERS}.items():
        times, got = _latency(index, q, cfg.k, f)
        want = truth.search(q, cfg.k, filter=f).ids
        expected = np.minimum(cfg.k, truth.count(f))
        short = int(sum(len([x for x in row if x]) < expected for row in got))
        ms = np.asarray(times) * 1e3
        out[key] = {
            "p50_ms": round(float(np.median(ms)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "qps": round(1e3 / float(np.mean(ms))),
            "recall": round(_recall(got, want), 4),
            "short": short,
        }
    # 1,000 new items in one call, then 1,000 deletes: timed, and checked visible at once
    new_ids = [f"new{i:06d}" for i in range(1000)]
    new_x = rng.normal(size=(1000, cfg.dim)).astype(np.float32)
    new_x /= np.linalg.norm(new_x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    index.upsert(new_ids, new_x, [payloads[i % len(payloads)] for i in range(1000)])
    out["upsert_1000_s"] = round(time.perf_counter() - t0, 4)
    found = index.search(new_x[:50], 1)
    visible = all(found.ids[i, 0] == new_ids[i] for i in range(50))
    t0 = time.perf_counter()
    index.delete(new_ids)
    out["delete_1000_s"] = round(time.perf_counter() - t0, 4)
    gone = index.search(new_x[:50], 5)
    visible = visible and not (set(gone.ids.ravel()) & set(new_ids))
    out["visible"] = bool(visible and index.count() == len(ids))
    out["rss_mb"] = round(_rss_mb() - rss0, 1)
    if persistent:
        index.close()
        t0 = time.perf_counter()
        index = make(cfg.dim, path)
        index.count()
        out["reopen_s"] = round(time.perf_counter() - t0, 3)
    else:
        out["reopen_s"] = None
    index.close()
    return out


def run_index_benchmark(
    backends: dict[str, tuple[Callable[[int, Path], VectorIndex], bool]],
    cfg: IndexBenchConfig = IndexBenchConfig(),
    *,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """``{"n", "dim", "raw_vectors_mb", "backends": {name: figures}}``; a backend that fails reports
    ``{"error": message}`` instead of stopping the others."""
    data = synthetic_catalog(cfg.n, cfg.dim, cfg.seed)
    truth = NumpyIndex(cfg.dim)
    for s in range(0, cfg.n, cfg.batch):
        truth.upsert(data[0][s : s + cfg.batch], data[1][s : s + cfg.batch], data[2][s : s + cfg.batch])
    result: dict[str, Any] = {
        "n": cfg.n,
        "dim": cfg.dim,
        "raw_vectors_mb": round(cfg.n * cfg.dim * 4 / 2**20, 1),
        "backends": {},
    }
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="lookbook-bench-index-")) if own else Path(workdir)
    try:
        for name, (make, persistent) in backends.items():
            log.info("benchmarking %s on %d x %d", name, cfg.n, cfg.dim)
            try:
                result["backends"][name] = bench_backend(name, make, persistent, data, truth, cfg, root)
            except Exception as exc:  # one engine failing must not hide the others' figures
                log.exception("backend %s failed", name)
                result["backends"][name] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
    return result
