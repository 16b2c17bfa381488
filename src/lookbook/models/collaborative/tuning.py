"""Choosing settings on a validation split: the scoring every search uses, and the tuned baselines.

A model's settings are chosen the way its final numbers are measured, so the search and the
harness (``lookbook.evaluation.collaborative``) share one scorer: ``score_fitted`` ranks each test
user's top k with ``Recommender.recommend`` (the user's training items left out, cold users ranked
by popularity for every model alike) and counts recall, NDCG, coverage and popularity bias. It
lives here, below the evaluation layer, because the models' own ``fit`` (tuned ALS and EASE, the
Lookbook blend) needs it.

``tuned_als`` and ``tuned_ease`` search a small grid on a temporal validation split cut from the
training events (never the test events) and refit the best setting on all of them; ``TunedALS`` /
``TunedEASE`` wrap that as ``Recommender``s, so the harness times tuning as part of fitting.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.stats

from lookbook.errors import DimensionMismatch, LookbookError
from lookbook.metrics import coverage, ndcg_at_k, recall_at_k
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.baselines import (
    ALSConfig,
    ALSRecommender,
    EASEConfig,
    EASERecommender,
    PopularityRecommender,
)
from lookbook.models.collaborative.data import InteractionData
from lookbook.models.collaborative.loading import temporal_split
from lookbook.models.collaborative.topk import seen_matrix

log = logging.getLogger(__name__)

__all__ = [
    "ALS_GRID",
    "EASE_GRID",
    "EvalContext",
    "ExtraMetric",
    "Targets",
    "TunedALS",
    "TunedEASE",
    "score_fitted",
    "tune",
    "tuned_als",
    "tuned_ease",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
C = TypeVar("C")
#: Layout of a saved ``TunedALS`` / ``TunedEASE`` folder (``model.json`` plus the inner model).
FORMAT_VERSION = 1


# --------------------------------------------------------------------------------------------------
# Targets, the shared context and the scorer
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """What the test asks for: each test user's distinct test items.

    ``relevant`` is ``(len(users), width)`` padded with ``-1``. Item keys at or above the model's
    ``n_items`` stand for test items outside the item universe (never seen in train): no ranking
    can hit them, but they count in the recall denominator.
    """

    users: I64
    relevant: I64

    @classmethod
    def from_pairs(cls, user: npt.ArrayLike, item_key: npt.ArrayLike) -> Targets:
        """From aligned (user row, item key) arrays, duplicates removed; users come out sorted."""
        user = np.asarray(user, dtype=np.int64)
        key = np.asarray(item_key, dtype=np.int64)
        if user.size == 0:
            return cls(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.int64))
        span = int(key.max()) + 1
        pairs = np.unique(user * span + key)
        pair_user, pair_item = pairs // span, pairs % span
        users, starts, counts = np.unique(pair_user, return_index=True, return_counts=True)
        relevant = np.full((users.size, int(counts.max())), -1, dtype=np.int64)
        row = np.repeat(np.arange(users.size), counts)
        relevant[row, np.arange(pairs.size) - starts[row]] = pair_item
        return cls(users, relevant)

    @classmethod
    def from_data(cls, test: InteractionData) -> Targets:
        return cls.from_pairs(test.user, test.item)

    @property
    def n_pairs(self) -> int:
        return int((self.relevant >= 0).sum())


@dataclass
class EvalContext:
    """Everything about one (train, test) pair that does not depend on the model, computed once."""

    train: InteractionData
    targets: Targets
    k: int
    seen: sp.csr_matrix = field(init=False)
    popularity: PopularityRecommender = field(init=False)
    popularity_cdf: F64 = field(init=False)
    cold: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        self.seen = seen_matrix(self.train)
        self.popularity = PopularityRecommender().fit(self.train)
        item_popularity = self.popularity.item_scores
        n = max(self.train.n_items, 1)
        self.popularity_cdf = scipy.stats.rankdata(item_popularity, method="max") / n
        self.cold = np.diff(self.seen.indptr)[self.targets.users] == 0

    def rank(self, model: Recommender, width: int) -> I64:
        """Top ``width`` of every test user (rows follow ``targets.users``); cold users by popularity.

        ``model`` must be fitted on ``train``: its ``recommend`` leaves out the items each user has
        any training event with, as the metrics' definitions require.
        """
        model._check_fitted()
        if (model.n_users_, model.n_items_) != (self.train.n_users, self.train.n_items):
            raise DimensionMismatch(
                f"{type(model).__name__}: fitted on ({model.n_users_} users, {model.n_items_} items), "
                f"scored against training data of ({self.train.n_users}, {self.train.n_items})"
            )
        users = self.targets.users
        ranked = np.full((users.size, width), -1, dtype=np.int64)
        warm = ~self.cold
        if warm.any():
            ranked[warm] = model.recommend(users[warm], width)[0]
        if self.cold.any():
            ranked[self.cold] = self.popularity.recommend(users[self.cold], width)[0]
        return ranked

    def recall_ceiling(self) -> float:
        """Mean over test users of ``min(reachable, k) / |test items|``: the best Recall@k possible.

        Reachable test items are in the item universe and not among the user's train items.
        """
        rel = self.targets.relevant
        if rel.shape[0] == 0:
            return float("nan")
        n_items = self.train.n_items
        in_universe = (rel >= 0) & (rel < n_items)
        users = np.broadcast_to(self.targets.users[:, None], rel.shape)
        already = np.zeros(rel.shape, dtype=bool)
        already[in_universe] = np.asarray(self.seen[users[in_universe], rel[in_universe]]).ravel()
        reachable = (in_universe & ~already).sum(axis=1)
        return float(np.mean(np.minimum(reachable, self.k) / np.maximum((rel >= 0).sum(axis=1), 1)))

    def summary(self) -> dict[str, Any]:
        rel = self.targets.relevant
        return {
            "n_users": self.train.n_users,
            "n_items": self.train.n_items,
            "n_train": int(self.train.user.size),
            "n_test_users": int(self.targets.users.size),
            "n_test_pairs": self.targets.n_pairs,
            "cold_users": int(self.cold.sum()),
            "test_pairs_outside_train": int((rel >= self.train.n_items).sum()),
            "recall_ceiling": round(self.recall_ceiling(), 4),
        }


@dataclass(frozen=True)
class ExtraMetric:
    """A protocol-specific number read off each model's ranked lists (rows follow ``targets.users``).

    ``width`` is how deep a list it needs; the harness ranks once, at the deepest width any metric
    needs, and every metric reads a prefix of that one ranking.
    """

    name: str
    width: int
    compute: Callable[[I64], float | None]


def score_fitted(
    model: Recommender,
    train: InteractionData,
    targets: Targets,
    k: int,
    *,
    context: EvalContext | None = None,
    extra: Sequence[ExtraMetric] = (),
    digits: int | None = 4,
) -> dict[str, Any]:
    """Rank with a model fitted on ``train`` and count: ``recall``, ``ndcg``, ``coverage``,
    ``popularity_percentile`` (and ``score_s``, the ranking time).

    Values are rounded to ``digits`` for reports; ``None`` keeps full precision (model selection
    must not see two settings as tied because their fifth digits were cut off).
    """
    ctx = context if context is not None else EvalContext(train, targets, k)
    width = max([k, *(e.width for e in extra)])
    started = time.perf_counter()
    ranked = ctx.rank(model, width)
    score_s = time.perf_counter() - started
    top = ranked[:, :k]
    recommended = ctx.popularity_cdf[top[top >= 0]]
    values: dict[str, float | None] = {
        "recall": recall_at_k(top, targets.relevant, k),
        "ndcg": ndcg_at_k(top, targets.relevant, k),
        "coverage": coverage(top, max(train.n_items, 1), k),
        "popularity_percentile": float(recommended.mean()) if recommended.size else None,
    }
    for metric in extra:
        values[metric.name] = metric.compute(ranked[:, : metric.width])
    out: dict[str, Any] = {name: _round(value, digits) for name, value in values.items()}
    out["score_s"] = round(score_s, 3)
    return out


def _round(value: float | None, digits: int | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(value) if digits is None else round(float(value), digits)


# --------------------------------------------------------------------------------------------------
# Grid search
# --------------------------------------------------------------------------------------------------

#: The ALS search space of ``tuned_als`` (27 settings, subsampled to ``max_configs``).
ALS_GRID: dict[str, tuple[float, ...]] = {
    "factors": (32, 64, 128),
    "regularization": (0.01, 0.1, 1.0),
    "alpha": (1.0, 5.0, 20.0),
}
#: The EASE search space of ``tuned_ease``.
EASE_GRID: tuple[float, ...] = (10.0, 50.0, 200.0, 500.0, 2000.0)


def tune(
    factory: Callable[[C], Recommender],
    configs: Sequence[C],
    train: InteractionData,
    valid: InteractionData,
    k: int = 10,
    metric: Literal["ndcg", "recall"] = "ndcg",
) -> tuple[C, list[dict[str, Any]]]:
    """Fit ``factory(config)`` on ``train`` for each config, score it on ``valid``; return the best.

    Scoring is ``score_fitted``'s (the harness's): top ``k`` of the items the user has no
    ``train`` event with. Ties go to the earlier config. Returns ``(best_config, table)`` with one
    row per config: its fields, ``recall``, ``ndcg`` and ``fit_s``.
    """
    if not configs:
        raise LookbookError("tune configs: expected at least one config, got none")
    if metric not in ("ndcg", "recall"):
        raise LookbookError(f"tune metric: expected 'ndcg' or 'recall', got {metric!r}")
    targets = Targets.from_data(valid)
    table: list[dict[str, Any]] = []
    achieved: list[float] = []
    for config in configs:
        started = time.perf_counter()
        model = factory(config).fit(train)
        fit_s = time.perf_counter() - started
        result = score_fitted(model, train, targets, k, digits=None)
        achieved.append(result[metric])
        row = {
            **_fields(config),
            "recall": round(result["recall"], 4),
            "ndcg": round(result["ndcg"], 4),
            "fit_s": round(fit_s, 3),
        }
        log.info("tune %s: %s", model.name, row)
        table.append(row)
    return configs[int(np.argmax(achieved))], table


def _fields(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {"config": repr(config)}


def _validation_split(train: InteractionData) -> tuple[InteractionData, InteractionData] | None:
    """The last 20% of each user's positive training events as a validation set (None if empty)."""
    fit_part, valid = temporal_split(train, 0.2)
    if valid.user.size == 0:
        log.warning("tuning: no user has 2 positive training events; using the default config untuned")
        return None
    return fit_part, valid


def tuned_als(
    train: InteractionData, *, k: int = 10, seed: int = 0, max_configs: int = 12, iterations: int = 15
) -> ALSRecommender:
    """ALS tuned on a temporal validation split of ``train``, refitted on all of ``train``.

    The grid is ``ALS_GRID`` (factors x regularization x alpha, 27 settings); at most ``max_configs``
    of them are tried, drawn without replacement by ``seed`` (so a run is reproducible) and tried
    in grid order. The chosen config and the search table are kept on the model (``config``,
    ``tuning``).
    """
    split = _validation_split(train)
    if split is None:
        return _refit(ALSRecommender(ALSConfig(iterations=iterations, random_state=seed)), train, [], None)
    fit_part, valid = split
    grid = [
        ALSConfig(factors=int(f), regularization=r, alpha=a, iterations=iterations, random_state=seed)
        for f, r, a in itertools.product(*ALS_GRID.values())
    ]
    if len(grid) > max_configs:
        picked = np.sort(np.random.default_rng(seed).choice(len(grid), size=max_configs, replace=False))
        grid = [grid[i] for i in picked]
    best, table = tune(ALSRecommender, grid, fit_part, valid, k=k)
    return _refit(ALSRecommender(best), train, table, valid)


def tuned_ease(train: InteractionData, *, k: int = 10, binary: bool = True) -> EASERecommender:
    """EASE with ``l2`` chosen from ``EASE_GRID`` on a temporal validation split of ``train``, refitted."""
    split = _validation_split(train)
    if split is None:
        return _refit(EASERecommender(EASEConfig(binary=binary)), train, [], None)
    fit_part, valid = split
    grid = [EASEConfig(l2=l2, binary=binary) for l2 in EASE_GRID]
    best, table = tune(EASERecommender, grid, fit_part, valid, k=k)
    return _refit(EASERecommender(best), train, table, valid)


M = TypeVar("M", ALSRecommender, EASERecommender)


def _refit(model: M, train: InteractionData, table: list[dict[str, Any]], valid: InteractionData | None) -> M:
    started = time.perf_counter()
    model.fit(train)
    model.tuning = {
        "table": table,
        "validation_users": 0 if valid is None else int(np.unique(valid.user).size),
        "refit_s": round(time.perf_counter() - started, 3),
    }
    log.info("chose %s (refit on all training events in %.2fs)", model.config, model.tuning["refit_s"])
    return model


# --------------------------------------------------------------------------------------------------
# Tuned baselines as recommenders
# --------------------------------------------------------------------------------------------------


class _Tuned(Recommender):
    """A baseline whose ``fit`` is "tune on a validation split of the data, then refit the best";
    subclasses say how to tune. Scoring, similarity and files delegate to the refitted model."""

    name = "tuned"
    #: The class of the tuned model (to read it back).
    inner: ClassVar[type[ALSRecommender] | type[EASERecommender]]

    def __init__(self, k: int = 10, seed: int = 0) -> None:
        self.k = k
        self.seed = seed
        self.model: ALSRecommender | EASERecommender | None = None
        self.info: dict[str, Any] = {}

    @abc.abstractmethod
    def _tune(self, data: InteractionData) -> ALSRecommender | EASERecommender:
        """The tuned, refitted model for ``data``."""

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        started = time.perf_counter()
        self.model = self._tune(data)
        tuning = self.model.tuning or {}
        refit_s = float(tuning.get("refit_s", 0.0))
        self.info = {
            "config": dataclasses.asdict(self.model.config),
            "tuning_s": round(time.perf_counter() - started - refit_s, 3),
            "refit_s": refit_s,
            "validation_users": tuning.get("validation_users"),
            "tuning": tuning.get("table", []),
        }
        self._record_fit(data)
        return self

    def score(self, users: npt.ArrayLike) -> F32:
        rows = self._user_rows(users, "score")
        assert self.model is not None
        return self.model.score(rows)

    def _similar_scores(self, items: I64) -> F32:
        assert self.model is not None
        return self.model._similar_scores(items)

    def _save(self, folder: Path) -> None:
        assert self.model is not None
        self._write_meta(folder, FORMAT_VERSION, k=self.k, seed=self.seed, info=self.info)
        self.model.save(folder / "model")

    @classmethod
    def _load(cls, folder: Path) -> Self:
        meta = cls._read_meta(folder, FORMAT_VERSION)
        tuned = cls(k=int(meta["k"]), seed=int(meta["seed"]))
        tuned.info = meta["info"]
        tuned.model = cls.inner.load(folder / "model")
        return tuned


class TunedALS(_Tuned):
    """``tuned_als`` as a ``Recommender``: ``fit`` tunes on a validation split, then refits."""

    name = "als"
    inner = ALSRecommender

    def _tune(self, data: InteractionData) -> ALSRecommender:
        return tuned_als(data, k=self.k, seed=self.seed)


class TunedEASE(_Tuned):
    """``tuned_ease`` as a ``Recommender``: ``fit`` tunes on a validation split, then refits."""

    name = "ease"
    inner = EASERecommender

    def _tune(self, data: InteractionData) -> EASERecommender:
        return tuned_ease(data, k=self.k)
