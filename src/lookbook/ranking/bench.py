"""Latency of one ranked page: ``from_search`` + affinity + ``rank`` on synthetic arrays.

The target (issue 6) is a home feed for one user, about 500 candidates in and 20 out through
every stage, at p99 <= 10 ms in process, and <= 20 ms with a 100k-item catalog. Only the per-request
work is timed: turning the index's ids into candidates, the user's affinity to each candidate
(one matrix-vector product), and the whole ``rank`` call (dedupe, constraints, blend, LightGBM
reranker, MMR with caps, explanations). Building the catalog, the vectors, the user context and
the reranker is setup. The ANN queries themselves are the index's benchmark (``lookbook bench
index``), not this one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import SchemaError
from lookbook.index.base import SearchResult
from lookbook.ranking.candidates import Anchor, Relation, from_search
from lookbook.ranking.catalog import CatalogArrays
from lookbook.ranking.constraints import Constraints
from lookbook.ranking.context import UserContext
from lookbook.ranking.diversity import DiversityConfig
from lookbook.ranking.features import FEATURES
from lookbook.ranking.logs import ImpressionLog, RankerTrainingData
from lookbook.ranking.pipeline import RankConfig, rank
from lookbook.ranking.reranker import RankerConfig, Reranker

log = logging.getLogger(__name__)

__all__ = ["BenchResult", "bench_rank"]

F32 = npt.NDArray[np.float32]

_SLOTS = ("top", "bottom", "dress", "outerwear", "shoes", "bag", "accessory")
_CLOTHING = ("XS", "S", "M", "L", "XL")
_SHOES = ("36", "37", "38", "39", "40", "41", "42", "43")


@dataclass(frozen=True)
class BenchResult:
    """Milliseconds per page over ``repeats`` requests (after warm-up).

    ``p50_ms`` / ``p99_ms`` are wall-clock latency. ``cpu_*`` are the calling thread's CPU time
    (the reranker predicts on that thread): what the work itself costs, and the figures to read
    on a shared machine, where other processes stretch the wall clock.
    """

    n_items: int
    n_candidates: int
    k: int
    repeats: int
    reranker_trees: int
    mmr_lambda: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    cpu_p50_ms: float
    cpu_p99_ms: float
    mean_eligible: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def synthetic_catalog(n_items: int, rng: np.random.Generator) -> CatalogArrays:
    """A fashion-like catalog: 7 slots, 4 categories per slot, 40 brands, sizes by slot."""
    slot = rng.integers(0, len(_SLOTS), n_items)
    category = np.char.add(np.asarray(_SLOTS)[slot], np.char.mod("-%d", rng.integers(0, 4, n_items)))
    brand = np.char.mod("brand%02d", rng.integers(0, 40, n_items))
    # sizes: clothing slots get 3-5 consecutive clothing sizes, shoes 4-8 shoe sizes, the rest ONE
    scale = np.where(slot <= 3, 0, np.where(slot == 4, 1, 2))
    width = np.where(
        scale == 0, rng.integers(3, 6, n_items), np.where(scale == 1, rng.integers(4, 9, n_items), 1)
    )
    room = np.where(scale == 0, len(_CLOTHING), np.where(scale == 1, len(_SHOES), 1)) - width + 1
    start = (rng.random(n_items) * room).astype(np.int64)
    labels = np.asarray([*_CLOTHING, *_SHOES, "ONE"])
    base = np.where(scale == 0, 0, np.where(scale == 1, len(_CLOTHING), len(_CLOTHING) + len(_SHOES)))
    offsets = np.concatenate([[0], np.cumsum(width)]).astype(np.int32)
    within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], width)
    values = labels[np.repeat(base + start, width) + within]
    now = 1_767_225_600
    table = pa.table(
        {
            "item_id": np.char.mod("it%07d", np.arange(n_items)),
            "category": category,
            "slot": np.asarray(_SLOTS)[slot],
            "brand": brand,
            "price": np.exp(rng.normal(4.0, 0.6, n_items)),
            "sizes": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)),
            "in_stock": rng.random(n_items) > 0.05,
            "created_at": pa.array(now - rng.integers(0, 120 * 86_400, n_items), pa.int64()),
        }
    )
    return CatalogArrays.from_items(table, popularity=rng.gamma(0.5, 20.0, n_items))


def synthetic_reranker(trees: int, rng: np.random.Generator) -> Reranker:
    """A reranker fitted on synthetic slates, with exactly ``trees`` trees (no early stopping)."""
    n_groups, size = 2_000, 20
    n = n_groups * size
    x = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    x[:, FEATURES.index("slot")] = rng.integers(0, len(_SLOTS), n)
    x[rng.random(x.shape) < 0.05] = np.nan
    utility = np.nan_to_num(x[:, 1] - 0.5 * x[:, 0] + 0.3 * x[:, 3]) + rng.normal(0, 1, n)
    labels = (utility > 1.5).astype(np.int32) + (utility > 2.5)
    group = np.repeat(np.arange(n_groups), size)
    imp = ImpressionLog(
        group, group, np.zeros(n, np.int64), np.tile(np.arange(size), n_groups), group * 10, labels > 0
    )
    data = RankerTrainingData(x, imp, labels, valid_from=int(0.8 * n_groups) * 10)
    cfg = RankerConfig(n_estimators=trees, early_stopping_fraction=0.0, num_threads=1, min_data_in_leaf=20)
    return Reranker(cfg).fit(data)


def bench_rank(
    n_items: int = 5_000,
    n_candidates: int = 500,
    k: int = 20,
    repeats: int = 500,
    *,
    dim: int = 64,
    n_anchors: int = 5,
    reranker_trees: int = 300,
    mmr_lambda: float = 0.7,
    warmup: int = 20,
    seed: int = 0,
) -> BenchResult:
    """p50 / p99 milliseconds of one home-feed page (``n_candidates`` in, ``k`` out, all stages).

    ``n_anchors`` queries return ``n_candidates / n_anchors`` ids each, drawn from an overlapping
    neighbourhood so that about a fifth are duplicates across anchors (as recent items of one
    shopper overlap). ``reranker_trees=0`` times the pipeline without the reranker.
    """
    for name, value, low in (
        ("n_items", n_items, 1),
        ("n_candidates", n_candidates, n_anchors),
        ("k", k, 1),
        ("repeats", repeats, 1),
    ):
        if value < low:
            raise SchemaError(f"bench_rank {name}: expected >= {low}, got {value}")
    rng = np.random.default_rng(seed)
    catalog = synthetic_catalog(n_items, rng)
    vectors = rng.normal(size=(n_items, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    history = rng.integers(0, n_items, 60)
    kinds = rng.choice(
        np.asarray(["view", "click", "save", "purchase", "dislike"]), 60, p=[0.4, 0.35, 0.1, 0.1, 0.05]
    )
    user = UserContext.build(
        catalog,
        sizes={"top": "M", "bottom": "S", "shoes": "38"},
        history_rows=history,
        history_kinds=kinds,
        now=1_767_225_600,
    )
    user_vector = vectors[history[:10]].mean(axis=0)
    user_vector /= np.linalg.norm(user_vector)
    reranker = synthetic_reranker(reranker_trees, rng) if reranker_trees > 0 else None
    anchors = (
        *(Anchor(Relation.SIMILAR, f"the item you saved #{j}") for j in range(n_anchors - 1)),
        Anchor(Relation.FOR_YOU),
    )
    config = RankConfig(
        k=k,
        alpha=0.3,
        constraints=Constraints(exclude_brands=("brand07",)),
        diversity=DiversityConfig(max_per_category=4, max_per_brand=3, max_run=2, mmr_lambda=mmr_lambda),
    )

    per = n_candidates // n_anchors
    requests = []
    for _ in range(min(repeats + warmup, 64)):  # a pool of distinct requests, cycled
        hood = rng.choice(n_items, size=int(per * n_anchors * 0.8), replace=False)
        ids = catalog.ids.ids[rng.choice(hood, size=(n_anchors, per))]
        scores = np.sort(rng.uniform(0.2, 0.95, (n_anchors, per)).astype(np.float32), axis=1)[:, ::-1]
        requests.append(SearchResult(ids, np.ascontiguousarray(scores)))

    times = np.empty(repeats, dtype=np.float64)
    cpu = np.empty(repeats, dtype=np.float64)
    eligible = np.empty(repeats, dtype=np.float64)
    for r in range(warmup + repeats):
        result = requests[r % len(requests)]
        t0, c0 = time.perf_counter(), time.thread_time()
        c = from_search(result, catalog, anchors)
        c = c.with_affinity(vectors[c.rows] @ user_vector)
        page = rank(c, catalog, user, config, vectors=vectors, reranker=reranker)
        elapsed, used = time.perf_counter() - t0, time.thread_time() - c0
        if r >= warmup:
            times[r - warmup] = elapsed * 1e3
            cpu[r - warmup] = used * 1e3
            eligible[r - warmup] = page.n_eligible
    out = BenchResult(
        n_items=n_items,
        n_candidates=n_candidates,
        k=k,
        repeats=repeats,
        reranker_trees=reranker_trees,
        mmr_lambda=mmr_lambda,
        p50_ms=round(float(np.percentile(times, 50)), 3),
        p99_ms=round(float(np.percentile(times, 99)), 3),
        mean_ms=round(float(times.mean()), 3),
        max_ms=round(float(times.max()), 3),
        cpu_p50_ms=round(float(np.percentile(cpu, 50)), 3),
        cpu_p99_ms=round(float(np.percentile(cpu, 99)), 3),
        mean_eligible=round(float(eligible.mean()), 1),
    )
    log.info("bench rank: %s", out)
    return out
