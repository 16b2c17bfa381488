"""The baselines every collaborative model must beat: popularity, ALS and EASE, each tuned fairly.

A new model is only worth its complexity if it beats a *tuned* matrix factorisation (ALS) and a
tuned linear item-item model (EASE, often the strongest simple baseline on implicit feedback), not
their defaults. ``tuned_als`` and ``tuned_ease`` therefore search a small grid on a validation
split cut from the training events (never the test events) and refit the best setting on all of
them; ``TunedALS`` / ``TunedEASE`` wrap that in the ``Recommender`` protocol so that the harness
times tuning as part of fitting.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.linalg.lapack
import threadpoolctl

from lookbook.errors import LookbookError, NotFittedError
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.data import InteractionData
from lookbook.models.collaborative.loading import temporal_split

log = logging.getLogger(__name__)

__all__ = [
    "ALS_GRID",
    "EASE_GRID",
    "ALSConfig",
    "ALSRecommender",
    "EASEConfig",
    "EASERecommender",
    "PopularityRecommender",
    "TunedALS",
    "TunedEASE",
    "tune",
    "tuned_als",
    "tuned_ease",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
C = TypeVar("C")


class PopularityRecommender:
    """Every user gets the same list: items by summed positive weight (``data.matrix()`` column sums).

    Weighted rather than counted, so recent purchases outrank old views: this is the "trending"
    list a shop would show anyone it knows nothing about, and the fallback for cold users.
    """

    name = "popularity"

    def __init__(self) -> None:
        self.item_scores: F32 | None = None

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        self.item_scores = np.asarray(data.matrix().sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, users: I64) -> F32:
        if self.item_scores is None:
            raise NotFittedError("PopularityRecommender: call fit() before score()")
        return np.broadcast_to(self.item_scores, (len(users), self.item_scores.size)).copy()


# --------------------------------------------------------------------------------------------------
# ALS
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ALSConfig:
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) as ``implicit`` implements it.

    The confidence of a (user, item) pair is ``alpha * data.matrix()`` (kind and recency weights
    already applied); unobserved pairs count as "no" with confidence 1.
    """

    factors: int = 64
    regularization: float = 0.1
    alpha: float = 5.0
    iterations: int = 15
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise LookbookError(f"ALSConfig: factors and iterations must be >= 1, got {self}")
        if self.regularization < 0 or self.alpha <= 0:
            raise LookbookError(f"ALSConfig: expected regularization >= 0 and alpha > 0, got {self}")


class ALSRecommender:
    """Matrix factorisation: ``score(u, i) = user_factors[u] . item_factors[i]``."""

    name = "als"

    def __init__(self, config: ALSConfig = ALSConfig()) -> None:
        self.config = config
        self.user_factors: F32 | None = None
        self.item_factors: F32 | None = None
        #: Set by ``tuned_als``: the search table, the validation users and the refit time.
        self.tuning: dict[str, Any] | None = None

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares

        cfg = self.config
        # implicit runs its own threads; a multi-threaded BLAS underneath makes it many times slower.
        with threadpoolctl.threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=cfg.factors,
                regularization=cfg.regularization,
                alpha=cfg.alpha,
                iterations=cfg.iterations,
                random_state=cfg.random_state,
                num_threads=0,
                dtype=np.float32,
            )
            model.fit(data.matrix(), show_progress=show_progress)
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, users: I64) -> F32:
        if self.user_factors is None or self.item_factors is None:
            raise NotFittedError("ALSRecommender: call fit() before score()")
        return self.user_factors[np.asarray(users, dtype=np.int64)] @ self.item_factors.T


# --------------------------------------------------------------------------------------------------
# EASE
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EASEConfig:
    """EASE (Steck 2019): a linear item-item model with a zero diagonal, in closed form.

    ``binary`` fits on "did the user interact" (the paper's setting, robust to a few heavy users);
    otherwise on the kind- and recency-weighted matrix. ``max_items`` guards the dense
    ``(n_items, n_items)`` inverse: 30,000 items already need 7 GB in float64. ``blas_threads``
    caps BLAS threads during the inverse (``None``: the BLAS default). It is 1 because OpenBLAS's
    thread pool collapses on a shared machine: a 5,000-item inverse took 29 s with 2 threads and
    4 s with 1 on two busy cores; raise it on a large idle machine.
    """

    l2: float = 200.0
    binary: bool = True
    max_items: int = 30_000
    blas_threads: int | None = 1

    def __post_init__(self) -> None:
        if not self.l2 > 0:
            raise LookbookError(f"EASEConfig.l2: expected > 0, got {self.l2}")


def _spd_inverse(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Inverse of a symmetric positive definite matrix by Cholesky (half the work of LU), in place."""
    factor, info = scipy.linalg.lapack.dpotrf(a, lower=False, overwrite_a=True)
    if info != 0:
        raise LookbookError(f"EASE: the regularised Gram matrix is not positive definite (LAPACK {info})")
    inv, info = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise LookbookError(f"EASE: inverting the Gram matrix failed (LAPACK info {info})")
    upper = np.triu(inv)
    return upper + np.triu(upper, 1).T


class EASERecommender:
    """``B = I - P / diag(P)`` with ``P = (X^T X + l2 I)^-1``; ``score(u) = X_u B``."""

    name = "ease"

    def __init__(self, config: EASEConfig = EASEConfig()) -> None:
        self.config = config
        self.item_weights: F32 | None = None
        self._x: Any = None
        #: Set by ``tuned_ease``: the search table, the validation users and the refit time.
        self.tuning: dict[str, Any] | None = None

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        cfg = self.config
        if data.n_items > cfg.max_items:
            raise LookbookError(
                f"EASE: {data.n_items} items is above EASEConfig.max_items={cfg.max_items}; the dense "
                f"item-item inverse would need {8 * data.n_items**2 / 1e9:.0f} GB. Restrict the catalog "
                "(e.g. to items with events) or raise max_items"
            )
        x = data.matrix()
        if cfg.binary:
            x.data = np.ones_like(x.data)
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += cfg.l2
        with threadpoolctl.threadpool_limits(cfg.blas_threads, "blas"):
            p = _spd_inverse(gram)
        b = p / (-np.diag(p))[None, :]
        b[np.diag_indices_from(b)] = 0.0
        self.item_weights = b.astype(np.float32)
        self._x = x.astype(np.float32)
        return self

    def score(self, users: I64) -> F32:
        if self.item_weights is None:
            raise NotFittedError("EASERecommender: call fit() before score()")
        rows = self._x[np.asarray(users, dtype=np.int64)]
        return np.asarray(rows @ self.item_weights, dtype=np.float32)


# --------------------------------------------------------------------------------------------------
# Tuning
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

    Scoring is the evaluation harness's (``lookbook.evaluation.collaborative``): top ``k`` of the
    items the user has no ``train`` event with. Ties go to the earlier config. Returns
    ``(best_config, table)`` with one row per config: its fields, ``recall``, ``ndcg`` and ``fit_s``.
    """
    # Imported here: evaluation sits above models and imports these baselines itself.
    from lookbook.evaluation.collaborative import Targets, score_fitted

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
        log.info("tune %s: %s", getattr(model, "name", type(model).__name__), row)
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


class _Tuned(abc.ABC):
    """A baseline whose ``fit`` is "tune on a validation split of the data, then refit the best";
    subclasses say how to tune."""

    name = "tuned"

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
        return self

    def score(self, users: I64) -> F32:
        if self.model is None:
            raise NotFittedError(f"{type(self).__name__}: call fit() before score()")
        return self.model.score(users)


class TunedALS(_Tuned):
    """``tuned_als`` as a ``Recommender``: ``fit`` tunes on a validation split, then refits."""

    name = "als"

    def _tune(self, data: InteractionData) -> ALSRecommender:
        return tuned_als(data, k=self.k, seed=self.seed)


class TunedEASE(_Tuned):
    """``tuned_ease`` as a ``Recommender``: ``fit`` tunes on a validation split, then refits."""

    name = "ease"

    def _tune(self, data: InteractionData) -> EASERecommender:
        return tuned_ease(data, k=self.k)
