"""Vector-index benchmark: every backend on the same seeded catalog, side by side with numpy.

The catalog is ``n`` random unit vectors with item payloads (20 categories, 200 brands, 8 sizes,
price, in stock). ``catalog="random"`` (the issue's contract) draws them uniformly on the sphere, the
hardest case for any graph index: in 128 dimensions every point's ten nearest neighbours are barely
nearer than the rest. ``catalog="clustered"`` draws them around 256 centres, closer to what trained
embeddings look like (low intrinsic dimension), so both are reported.

For each backend it measures build throughput, single-query latency (p50 / p99) and recall@10
against the exact numpy scan, unfiltered and under 1 % and 10 % filters (with the count of short
results: a filtered search must return k whenever k items match), 1,000 upserts and 1,000 deletes
and whether they are visible at once, reopen time for persistent backends, and resident memory:
``rss_mb`` is what a fresh process needs to open the embedded index and serve (``build_rss_mb``,
what the building process grew by, for every backend; a Milvus server's own memory is outside this
process and not counted). The JSON keys are a contract other tools read.
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import subprocess
import sys
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
    catalog: str = "random"

    def __post_init__(self) -> None:
        if self.catalog not in CATALOGS:
            raise ValueError(f"IndexBenchConfig.catalog: expected one of {CATALOGS}, got {self.catalog!r}")


CATALOGS = ("random", "clustered")


def synthetic_catalog(
    n: int, dim: int, seed: int, catalog: str = "random"
) -> tuple[list[str], F32, list[dict[str, Any]]]:
    """Seeded unit vectors and payloads: 20 categories, 200 brands, 2 of 8 sizes, price, 90 % in stock."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    if catalog == "clustered":  # 256 centres; an item is its centre plus noise of a third its norm
        centres = rng.normal(size=(256, dim)).astype(np.float32)
        x = centres[rng.integers(0, 256, n)] + x / np.float32(3.0)
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


def _queries(x: F32, cfg: IndexBenchConfig, rng: np.random.Generator) -> F32:
    """Catalog vectors moved by noise of a third of their norm: near items, but not on them."""
    q = x[rng.choice(x.shape[0], cfg.queries, replace=False)]
    noise = rng.normal(size=q.shape).astype(np.float32)
    q = q + noise / np.linalg.norm(noise, axis=1, keepdims=True) / np.float32(3.0)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


_SERVE_SCRIPT = """
import json, sys, time
import numpy as np
from pathlib import Path
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
from lookbook.index.spaces import open_space_index
q = np.load(sys.argv[3])
before = rss()
index = open_space_index("embedded:" + sys.argv[1], sys.argv[2], q.shape[1])
for i in range(q.shape[0]):
    index.search(q[i : i + 1], 10)
print(json.dumps({"rss_mb": rss() - before}))
"""


def _serving_rss_mb(path: Path, q: F32) -> float:
    """Resident memory a fresh process needs to open the embedded index and serve queries.

    Measured in a new process because the building process's RSS also holds the payload objects
    and allocator slack of the bulk load, which a serving replica never has."""
    queries = path.parent / f"{path.name}-queries.npy"
    np.save(queries, q)
    out = subprocess.run(
        [sys.executable, "-c", _SERVE_SCRIPT, str(path.parent), path.name, str(queries)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rss_mb"])


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
    q = _queries(x, cfg, rng)
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
    out["build_rss_mb"] = round(_rss_mb() - rss0, 1)
    out["rss_mb"] = out["build_rss_mb"]
    if persistent:
        index.close()
        t0 = time.perf_counter()
        index = make(cfg.dim, path)
        index.count()
        out["reopen_s"] = round(time.perf_counter() - t0, 3)
    else:
        out["reopen_s"] = None
    index.close()
    if name == "embedded":
        out["rss_mb"] = round(_serving_rss_mb(path, q), 1)
    elif name == "milvus":  # the vectors live in the server process: this process's RSS says nothing
        out["rss_mb"] = out["build_rss_mb"] = None
    return out


def run_index_benchmark(
    backends: dict[str, tuple[Callable[[int, Path], VectorIndex], bool]],
    cfg: IndexBenchConfig = IndexBenchConfig(),
    *,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """``{"n", "dim", "raw_vectors_mb", "backends": {name: figures}}``; a backend that fails reports
    ``{"error": message}`` instead of stopping the others."""
    data = synthetic_catalog(cfg.n, cfg.dim, cfg.seed, cfg.catalog)
    truth = NumpyIndex(cfg.dim)
    for s in range(0, cfg.n, cfg.batch):
        truth.upsert(data[0][s : s + cfg.batch], data[1][s : s + cfg.batch], data[2][s : s + cfg.batch])
    result: dict[str, Any] = {
        "n": cfg.n,
        "dim": cfg.dim,
        "catalog": cfg.catalog,
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
