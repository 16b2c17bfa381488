"""The baselines every collaborative model must beat: popularity, ALS and EASE.

A new model is only worth its complexity if it beats a *tuned* matrix factorisation (ALS) and a
tuned linear item-item model (EASE, often the strongest simple baseline on implicit feedback), not
their defaults; the tuning lives in ``lookbook.models.collaborative.tuning``. Each model here keeps
the ``Recommender`` contract (``base.py``): it writes ``fit``, ``score``, its item-item similarity
and its files; ranking, checks and the seen-items mask come from the base.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse as sp
import threadpoolctl

from lookbook.errors import LookbookError
from lookbook.models.collaborative.base import ARRAYS_FILE, Recommender
from lookbook.models.collaborative.data import InteractionData
from lookbook.weights import load_arrays, save_arrays

log = logging.getLogger(__name__)

__all__ = [
    "ALSConfig",
    "ALSRecommender",
    "EASEConfig",
    "EASERecommender",
    "PopularityRecommender",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
#: Layout of the files ``save`` writes (``model.json``, ``arrays.npz``) for the three models here.
FORMAT_VERSION = 1


def _config_from(cls: type[Any], data: dict[str, Any]) -> Any:
    """A config dataclass from its saved dict, ignoring fields this version does not know."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


def _unit_rows(x: F32) -> F32:
    """Rows scaled to unit length (zero rows stay zero): dot products become cosines."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class PopularityRecommender(Recommender):
    """Every user gets the same list: items by summed positive weight (``data.matrix()`` column sums).

    Weighted rather than counted, so recent purchases outrank old views: this is the "trending"
    list a shop would show anyone it knows nothing about, and the fallback for cold users. Its
    "similar items" are the most popular items too: popularity knows nothing about pairs.
    """

    name = "popularity"

    def __init__(self) -> None:
        self.item_scores: F32 | None = None

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        self.item_scores = np.asarray(data.matrix().sum(axis=0), dtype=np.float32).ravel()
        self._record_fit(data)
        return self

    def score(self, users: npt.ArrayLike) -> F32:
        rows = self._user_rows(users, "score")
        assert self.item_scores is not None  # fitted (checked above)
        return np.broadcast_to(self.item_scores, (rows.size, self.item_scores.size)).copy()

    def _similar_scores(self, items: I64) -> F32:
        assert self.item_scores is not None
        return np.broadcast_to(self.item_scores, (items.size, self.item_scores.size)).copy()

    def _save(self, folder: Path) -> None:
        assert self.item_scores is not None
        self._write_meta(folder, FORMAT_VERSION)
        save_arrays(folder / ARRAYS_FILE, {"item_scores": self.item_scores}, FORMAT_VERSION)

    @classmethod
    def _load(cls, folder: Path) -> Self:
        cls._read_meta(folder, FORMAT_VERSION)
        model = cls()
        model.item_scores = load_arrays(folder / ARRAYS_FILE, FORMAT_VERSION, owner=cls.__name__)[
            "item_scores"
        ]
        return model


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


class ALSRecommender(Recommender):
    """Matrix factorisation: ``score(u, i) = user_factors[u] . item_factors[i]``.

    Similar items are the cosine neighbours of ``item_factors``.
    """

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
        self._record_fit(data)
        return self

    def score(self, users: npt.ArrayLike) -> F32:
        rows = self._user_rows(users, "score")
        assert self.user_factors is not None and self.item_factors is not None
        return self.user_factors[rows] @ self.item_factors.T

    def _similar_scores(self, items: I64) -> F32:
        assert self.item_factors is not None
        unit = _unit_rows(self.item_factors)
        return unit[items] @ unit.T

    def _save(self, folder: Path) -> None:
        assert self.user_factors is not None and self.item_factors is not None
        self._write_meta(folder, FORMAT_VERSION, config=dataclasses.asdict(self.config), tuning=self.tuning)
        save_arrays(
            folder / ARRAYS_FILE,
            {"user_factors": self.user_factors, "item_factors": self.item_factors},
            FORMAT_VERSION,
        )

    @classmethod
    def _load(cls, folder: Path) -> Self:
        meta = cls._read_meta(folder, FORMAT_VERSION)
        model = cls(_config_from(ALSConfig, meta["config"]))
        model.tuning = meta.get("tuning")
        arrays = load_arrays(folder / ARRAYS_FILE, FORMAT_VERSION, owner=cls.__name__)
        model.user_factors = arrays["user_factors"]
        model.item_factors = arrays["item_factors"]
        return model


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


class EASERecommender(Recommender):
    """``B = I - P / diag(P)`` with ``P = (X^T X + l2 I)^-1``; ``score(u) = X_u B``.

    Similar items of ``i`` are the items ``i`` predicts most strongly: row ``B[i]``.
    """

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
        self._record_fit(data)
        return self

    def score(self, users: npt.ArrayLike) -> F32:
        rows = self._user_rows(users, "score")
        assert self.item_weights is not None
        return np.asarray(self._x[rows] @ self.item_weights, dtype=np.float32)

    def _similar_scores(self, items: I64) -> F32:
        assert self.item_weights is not None
        return np.array(self.item_weights[items], dtype=np.float32)

    def _save(self, folder: Path) -> None:
        assert self.item_weights is not None
        self._write_meta(folder, FORMAT_VERSION, config=dataclasses.asdict(self.config), tuning=self.tuning)
        save_arrays(
            folder / ARRAYS_FILE, {"item_weights": self.item_weights, **csr_parts(self._x)}, FORMAT_VERSION
        )

    @classmethod
    def _load(cls, folder: Path) -> Self:
        meta = cls._read_meta(folder, FORMAT_VERSION)
        model = cls(_config_from(EASEConfig, meta["config"]))
        model.tuning = meta.get("tuning")
        arrays = load_arrays(folder / ARRAYS_FILE, FORMAT_VERSION, owner=cls.__name__)
        model.item_weights = arrays["item_weights"]
        model._x = csr_from_parts(arrays)
        return model


def csr_parts(x: sp.spmatrix) -> dict[str, npt.NDArray[Any]]:
    """A CSR matrix as plain arrays (``x_indptr``, ``x_indices``, ``x_data``, ``x_shape``)."""
    m = sp.csr_matrix(x)
    return {
        "x_indptr": m.indptr.astype(np.int64),
        "x_indices": m.indices.astype(np.int64),
        "x_data": m.data.astype(np.float32),
        "x_shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_from_parts(arrays: dict[str, npt.NDArray[Any]]) -> sp.csr_matrix:
    """The inverse of ``csr_parts``."""
    shape = tuple(int(v) for v in arrays["x_shape"])
    return sp.csr_matrix((arrays["x_data"], arrays["x_indices"], arrays["x_indptr"]), shape=shape)
