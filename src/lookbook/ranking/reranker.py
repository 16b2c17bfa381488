"""The learned reranker: LightGBM lambdarank on logged impressions, position-debiased.

Each logged slate (one user, one session) is a query; its impressions are the documents, labelled
from what the user did next (purchase 2 > click 1 > nothing 0). Two things make logged clicks a
biased teacher, and both are handled here:

- **Position.** Users click what is shown first whatever it is, so a click at position 7 says more
  than a click at position 0. With ``Debias.IPS`` (the default) each positive impression is
  weighted by the inverse of its position's examination propensity, estimated from the training
  impressions' click rates (``lookbook.models.collaborative.position_bias``) and clipped. LightGBM
  applies a row weight to that row's summed lambda gradient (``rank_objective.hpp``: after the
  pairwise pass, ``lambdas[i] *= weights[i]``), so weighting the clicked rows scales each pair by
  the propensity of its clicked member on that member's side, the pairwise IPS of Joachims et al.
  (2017), up to the unclicked side, which keeps weight 1. ``Debias.POSITION_AWARE`` instead hands
  LightGBM the positions and lets it learn the bias factors jointly (unbiased LambdaMART, Hu et
  al. 2019; LightGBM >= 4.1), and ``Debias.NONE`` trusts the clicks.
- **Time.** A ranker is asked about next week, so it is validated on the latest slates (at or
  after ``valid_from``) and trained on earlier ones; early stopping uses the last part of the
  training period, never the validation slates, so the reported figures are not selected on.
  Early stopping reads the IPS-weighted NDCG (``ips_ndcg``) of those slates, not LightGBM's own
  NDCG of the raw clicks, which rewards learning where things used to be shown.

The report compares, on the validation slates, the ranker with the order the logging policy
showed, with the plain ``alpha`` blend of ``d`` and ``a`` and with a random order, in NDCG@k of
the logged labels and in the IPS-weighted NDCG@k. Read the second: the logged-label NDCG favours
the logging order, whose top positions collected the clicks because they were on top (on the demo
world the logging order scores 0.69 there and a random order 0.54, while their IPS figures are
equal, as they should be for a policy that places items at random positions).
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from lookbook.errors import LookbookError, NotFittedError, SchemaError
from lookbook.metrics import grouped_ndcg, ips_ndcg
from lookbook.models.collaborative.position_bias import inverse_propensity, position_propensity
from lookbook.ranking.candidates import Candidates
from lookbook.ranking.catalog import SLOT_VOCAB, CatalogArrays
from lookbook.ranking.context import UserContext
from lookbook.ranking.features import CATEGORICAL, FEATURES, candidate_features
from lookbook.ranking.logs import RankerTrainingData

log = logging.getLogger(__name__)

__all__ = [
    "FORMAT_VERSION",
    "Debias",
    "NDCGScores",
    "RankerConfig",
    "RankerReport",
    "Reranker",
    "fit_ranker",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

FORMAT_VERSION = 1
MODEL_FILE = "model.txt"
META_FILE = "reranker.json"


class Debias(enum.StrEnum):
    """How training corrects for position bias (see the module docstring)."""

    IPS = "ips"
    POSITION_AWARE = "position_aware"
    NONE = "none"


@dataclass(frozen=True)
class RankerConfig:
    """Settings of ``Reranker``; validated on creation.

    Trees are small (``num_leaves`` 15, learning rate 0.05) because eight features and noisy
    clicks do not support deep ones: on the default fashion world the validation figures peak
    within a few dozen trees and slowly decline after (``early_stopping_rounds`` 50 finds the
    peak); ``min_data_in_leaf`` 200 keeps leaves from memorising single users. ``eval_at`` is
    the page depth the objective and the report optimise (lambdarank's truncation level).
    ``purchase_window_s`` is how long after an impression a purchase of the item still labels
    it 2. ``baseline_alpha`` is the ``alpha`` of the blend the report compares with.
    ``num_threads`` is 1 by default: the training sets here are small and the machines shared
    (and one thread keeps a seed's model identical); raise it on a large idle machine.
    """

    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 200
    feature_fraction: float = 1.0
    eval_at: int = 10
    debias: Debias = Debias.IPS
    propensity_floor: float = 0.05
    propensity_clip: float = 10.0
    early_stopping_rounds: int = 50
    early_stopping_fraction: float = 0.15
    purchase_window_s: int = 86_400
    baseline_alpha: float = 0.5
    num_threads: int = 1
    random_state: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "debias", _enum(Debias, self.debias, "debias"))
        for name in ("n_estimators", "num_leaves", "min_data_in_leaf", "eval_at", "early_stopping_rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchemaError(f"RankerConfig.{name}: expected an int >= 1, got {value!r}")
        if (
            isinstance(self.num_threads, bool)
            or not isinstance(self.num_threads, int)
            or self.num_threads < 0
        ):
            raise SchemaError(
                f"RankerConfig.num_threads: expected an int >= 0 (0: all cores), got {self.num_threads!r}"
            )
        for name, lo, hi, open_low in (
            ("learning_rate", 0.0, 1.0, True),
            ("feature_fraction", 0.0, 1.0, True),
            ("propensity_floor", 0.0, 1.0, True),
            ("early_stopping_fraction", 0.0, 0.9, False),
            ("baseline_alpha", 0.0, 1.0, False),
        ):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi
            if not ok or (open_low and value == lo):
                bounds = f"{'(' if open_low else '['}{lo}, {hi}]"
                raise SchemaError(f"RankerConfig.{name}: expected a number in {bounds}, got {value!r}")
        if not self.propensity_clip >= 1.0:
            raise SchemaError(f"RankerConfig.propensity_clip: expected >= 1, got {self.propensity_clip!r}")
        if self.purchase_window_s < 0:
            raise SchemaError(
                f"RankerConfig.purchase_window_s: expected >= 0, got {self.purchase_window_s!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["debias"] = self.debias.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankerConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _enum(kind: type[enum.StrEnum], value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise SchemaError(
            f"RankerConfig.{name}: expected one of {[e.value for e in kind]}, got {value!r}"
        ) from None


@dataclass(frozen=True)
class NDCGScores:
    """Mean NDCG@k over validation slates of the ranker and its baselines."""

    ranker: float
    logging_order: float
    blend: float
    random: float


@dataclass(frozen=True)
class RankerReport:
    """What fitting found; saved next to the model."""

    k: int
    n_train_rows: int
    n_train_groups: int
    n_valid_rows: int
    n_valid_groups: int
    best_iteration: int
    ndcg: NDCGScores
    ips_ndcg: NDCGScores
    feature_importance: dict[str, float]
    propensity: tuple[float, ...]
    fit_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankerReport:
        d = dict(data)
        d["ndcg"] = NDCGScores(**d["ndcg"])
        d["ips_ndcg"] = NDCGScores(**d["ips_ndcg"])
        d["propensity"] = tuple(d["propensity"])
        return cls(**d)


# --------------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------------


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise LookbookError(
            "the learned reranker needs LightGBM: pip install lookbook (it is a core dependency)"
        ) from exc
    return lightgbm


@dataclass(frozen=True)
class _Slates:
    """Rows of one split in slate order, and where each slate starts."""

    rows: I64
    starts: I64
    sizes: I64


def _slates(data: RankerTrainingData, config: RankerConfig) -> tuple[_Slates, _Slates, _Slates]:
    """Train, early-stopping and validation slates: rows sorted by (slate start time, slate,
    position), slates split by their start time."""
    imp = data.impressions
    o = np.lexsort((imp.position, imp.group))
    g_sorted = imp.group[o]
    first = np.ones(o.size, dtype=bool)
    first[1:] = g_sorted[1:] != g_sorted[:-1]
    starts = np.flatnonzero(first)
    gidx = np.cumsum(first) - 1
    g_time = np.minimum.reduceat(imp.timestamp[o], starts)
    g_rank = np.empty(starts.size, dtype=np.int64)
    by_time = np.argsort(g_time, kind="stable")
    g_rank[by_time] = np.arange(starts.size)
    order = o[np.lexsort((imp.position[o], g_rank[gidx]))]
    sizes_by_rank = np.diff(np.append(starts, o.size))[by_time]
    starts_by_rank = np.concatenate([[0], np.cumsum(sizes_by_rank)[:-1]]).astype(np.int64)
    time_by_rank = g_time[by_time]

    # slates with a positive label (others carry no ranking signal and no NDCG)
    pos_per = (
        np.add.reduceat((data.labels[order] > 0).astype(np.int64), starts_by_rank)
        if order.size
        else np.zeros(0, np.int64)
    )
    useful = (pos_per > 0) & (sizes_by_rank > 1)
    valid = time_by_rank >= data.valid_from
    train_idx = np.flatnonzero(~valid & useful)
    n_stop = round(config.early_stopping_fraction * train_idx.size)
    stop_idx, train_idx = train_idx[train_idx.size - n_stop :], train_idx[: train_idx.size - n_stop]

    def split(groups: I64) -> _Slates:
        sz = sizes_by_rank[groups]
        rows = order[np.repeat(starts_by_rank[groups], sz) + _ranges(sz)]
        return _Slates(rows, np.concatenate([[0], np.cumsum(sz)[:-1]]).astype(np.int64), sz.astype(np.int64))

    return split(train_idx), split(stop_idx), split(np.flatnonzero(valid & useful))


def _ranges(sizes: I64) -> I64:
    """``concat(arange(s) for s in sizes)``, vectorised."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    return np.arange(total, dtype=np.int64) - np.repeat(starts, sizes)


class Reranker:
    """LightGBM lambdarank over ``FEATURES``; ``fit`` on logged impressions, then ``score``.

    Learned state ends in ``_`` (``booster_``, ``report_``); ``fit`` starts fresh every call.
    """

    def __init__(self, config: RankerConfig = RankerConfig()) -> None:
        self.config = config
        self.booster_: Any = None
        self.feature_names_: tuple[str, ...] | None = None
        self.slot_vocab_: tuple[str, ...] | None = None
        self.report_: RankerReport | None = None

    # ---------------------------------------------------------------------------------- fitting
    def fit(
        self,
        data: RankerTrainingData,
        *,
        show_progress: bool = False,
        callback: Callable[[int, float, dict[str, float]], None] | None = None,
    ) -> Self:
        """Train on the slates before ``data.valid_from`` and report on the ones after."""
        lgb = _lightgbm()
        cfg = self.config
        if data.feature_names != FEATURES:
            raise SchemaError(f"Reranker.fit features: expected columns {FEATURES}, got {data.feature_names}")
        if len(data.impressions) == 0:
            raise LookbookError("Reranker.fit: no impressions to learn from")
        started = time.perf_counter()
        train, stop, valid = _slates(data, cfg)
        if train.sizes.size == 0:
            raise LookbookError("Reranker.fit: no training slate before valid_from has a click or purchase")
        if valid.sizes.size == 0:
            raise LookbookError(
                "Reranker.fit: no validation slate at or after valid_from has a click or purchase"
            )
        imp = data.impressions
        propensity = position_propensity(
            imp.position[train.rows], imp.clicked[train.rows], floor=cfg.propensity_floor
        )

        def dataset(split: _Slates, reference: Any = None) -> Any:
            labels = data.labels[split.rows]
            weight = None
            position = None
            if cfg.debias is Debias.IPS:
                w = inverse_propensity(imp.position[split.rows], propensity, clip=cfg.propensity_clip)
                weight = np.where(labels > 0, w, 1.0).astype(np.float32)
            elif cfg.debias is Debias.POSITION_AWARE:
                position = imp.position[split.rows].astype(np.int32)
            return lgb.Dataset(
                data.features[split.rows],
                label=labels,
                weight=weight,
                group=split.sizes,
                position=position,
                feature_name=list(FEATURES),
                categorical_feature=list(CATEGORICAL),
                reference=reference,
                free_raw_data=True,
            )

        params = {
            "objective": "lambdarank",
            "metric": "None",  # early stopping reads the debiased metric below
            "lambdarank_truncation_level": cfg.eval_at,
            "learning_rate": cfg.learning_rate,
            "num_leaves": cfg.num_leaves,
            "min_data_in_leaf": cfg.min_data_in_leaf,
            "feature_fraction": cfg.feature_fraction,
            "num_threads": cfg.num_threads,
            "seed": cfg.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        train_set = dataset(train)
        callbacks: list[Any] = []
        valid_sets: list[Any] = []
        feval = None
        if stop.sizes.size:
            valid_sets = [dataset(stop, reference=train_set)]
            callbacks.append(lgb.early_stopping(cfg.early_stopping_rounds, verbose=False))
            stop_gains = np.exp2(data.labels[stop.rows]) - 1.0
            stop_weights = (
                np.ones(stop.rows.size)
                if cfg.debias is Debias.NONE
                else inverse_propensity(imp.position[stop.rows], propensity, clip=cfg.propensity_clip)
            )

            def feval(preds: npt.NDArray[np.float64], _: Any) -> tuple[str, float, bool]:
                value = ips_ndcg(preds, stop_gains, stop_weights, stop.starts, stop.sizes, cfg.eval_at)
                return f"ips_ndcg@{cfg.eval_at}", value, True

        progress = _Progress(cfg.n_estimators, show_progress, callback, started)
        callbacks.append(progress)
        try:
            booster = lgb.train(
                params,
                train_set,
                num_boost_round=cfg.n_estimators,
                valid_sets=valid_sets,
                valid_names=["early_stopping"] if valid_sets else None,
                feval=feval,
                callbacks=callbacks,
            )
        finally:
            progress.close()
        best = int(booster.best_iteration or booster.current_iteration())
        self.booster_ = booster
        self.feature_names_ = FEATURES
        self.slot_vocab_ = SLOT_VOCAB
        ndcg, ips = self._evaluate(data, valid, propensity)
        gain = booster.feature_importance(importance_type="gain", iteration=best)
        self.report_ = RankerReport(
            k=cfg.eval_at,
            n_train_rows=int(train.rows.size),
            n_train_groups=int(train.sizes.size),
            n_valid_rows=int(valid.rows.size),
            n_valid_groups=int(valid.sizes.size),
            best_iteration=best,
            ndcg=ndcg,
            ips_ndcg=ips,
            feature_importance={f: round(float(g), 3) for f, g in zip(FEATURES, gain, strict=True)},
            propensity=tuple(round(float(p), 4) for p in propensity),
            fit_seconds=round(time.perf_counter() - started, 3),
        )
        log.info(
            "reranker: %d trees; validation NDCG@%d %.4f (logging order %.4f, blend %.4f); "
            "IPS NDCG %.4f (%.4f, %.4f)",
            best,
            cfg.eval_at,
            ndcg.ranker,
            ndcg.logging_order,
            ndcg.blend,
            ips.ranker,
            ips.logging_order,
            ips.blend,
        )
        return self

    def _evaluate(
        self, data: RankerTrainingData, valid: _Slates, propensity: F32
    ) -> tuple[NDCGScores, NDCGScores]:
        cfg = self.config
        rows = valid.rows
        imp = data.impressions
        gains = np.exp2(data.labels[rows]) - 1.0
        weights = inverse_propensity(imp.position[rows], propensity, clip=cfg.propensity_clip)
        x = data.features[rows]
        d = np.where(np.isnan(x[:, 0]), 1.0, x[:, 0])
        a = np.where(np.isnan(x[:, 1]), 0.0, x[:, 1])
        rng = np.random.default_rng(cfg.random_state)
        tie = rng.random(rows.size)
        scorers = {
            "ranker": self.score(x),
            "logging_order": -imp.position[rows].astype(np.float64),
            "blend": cfg.baseline_alpha * (1.0 - d) + (1.0 - cfg.baseline_alpha) * a,
            "random": rng.random(rows.size),
        }
        k, st, sz = cfg.eval_at, valid.starts, valid.sizes
        logged = {
            name: round(float(np.nanmean(grouped_ndcg(s, gains, st, sz, k, tie_break=tie))), 4)
            for name, s in scorers.items()
        }
        debiased = {
            name: round(ips_ndcg(s, gains, weights, st, sz, k, tie_break=tie), 4)
            for name, s in scorers.items()
        }
        return NDCGScores(**logged), NDCGScores(**debiased)

    # ---------------------------------------------------------------------------------- scoring
    def _check_fitted(self) -> None:
        if self.booster_ is None:
            raise NotFittedError("Reranker: call fit() or Reranker.load() before scoring")

    def score(self, features: F32) -> F32:
        """Ranking scores (higher first) of ``(n, len(FEATURES))`` feature rows."""
        self._check_fitted()
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(FEATURES):
            raise SchemaError(f"Reranker.score features: expected (n, {len(FEATURES)}), got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self.booster_.predict(x, num_threads=1), dtype=np.float32)

    def score_candidates(self, c: Candidates, catalog: CatalogArrays, user: UserContext) -> F32:
        """Ranking scores of one request's candidates (features built by ``candidate_features``)."""
        return self.score(candidate_features(c, catalog, user))

    # ------------------------------------------------------------------------------ persistence
    def save(self, path: Path | str) -> Path:
        """Write ``model.txt`` (LightGBM's text format) and ``reranker.json`` into folder ``path``."""
        self._check_fitted()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(out / MODEL_FILE), num_iteration=self.booster_.best_iteration or None)
        meta = {
            "format_version": FORMAT_VERSION,
            "feature_names": list(self.feature_names_ or FEATURES),
            "categorical": list(CATEGORICAL),
            "slot_vocab": list(self.slot_vocab_ or SLOT_VOCAB),
            "config": self.config.to_dict(),
            "report": None if self.report_ is None else self.report_.to_dict(),
        }
        (out / META_FILE).write_text(json.dumps(meta, indent=1))
        return out

    @classmethod
    def load(cls, path: Path | str) -> Reranker:
        """A reranker saved by ``save``; refuses other format versions and other feature layouts."""
        lgb = _lightgbm()
        folder = Path(path)
        meta_path = folder / META_FILE
        if not meta_path.is_file() or not (folder / MODEL_FILE).is_file():
            raise LookbookError(f"Reranker {folder}: expected {META_FILE} and {MODEL_FILE} there")
        meta = json.loads(meta_path.read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise SchemaError(
                f"Reranker {folder}: format_version {meta.get('format_version')} is not "
                f"{FORMAT_VERSION}; retrain it"
            )
        if (
            tuple(meta.get("feature_names", ())) != FEATURES
            or tuple(meta.get("slot_vocab", ())) != SLOT_VOCAB
        ):
            raise SchemaError(
                f"Reranker {folder}: trained on features {meta.get('feature_names')} and slots "
                f"{meta.get('slot_vocab')}; this version computes {list(FEATURES)}; retrain it"
            )
        model = cls(RankerConfig.from_dict(meta["config"]))
        model.booster_ = lgb.Booster(model_file=str(folder / MODEL_FILE))
        model.feature_names_ = FEATURES
        model.slot_vocab_ = SLOT_VOCAB
        model.report_ = None if meta.get("report") is None else RankerReport.from_dict(meta["report"])
        return model


class _Progress:
    """A LightGBM after-iteration callback: a tqdm bar and the caller's ``callback``."""

    order = 40  # after early stopping's check (30)
    before_iteration = False

    def __init__(
        self,
        total: int,
        show_progress: bool,
        callback: Callable[[int, float, dict[str, float]], None] | None,
        started: float,
    ) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="reranker", unit="tree", disable=not show_progress)
        self.callback = callback
        self.started = started

    def __call__(self, env: Any) -> None:
        self.bar.update(1)
        if self.callback is not None:
            metrics = {
                f"{name}:{metric}": float(value)
                for name, metric, value, *_ in env.evaluation_result_list or []
            }
            self.callback(env.iteration, time.perf_counter() - self.started, metrics)

    def close(self) -> None:
        self.bar.close()


def fit_ranker(
    data: RankerTrainingData,
    config: RankerConfig = RankerConfig(),
    *,
    show_progress: bool = False,
    callback: Callable[[int, float, dict[str, float]], None] | None = None,
) -> Reranker:
    """``Reranker(config).fit(data)``: its ``report_`` holds the validation figures."""
    return Reranker(config).fit(data, show_progress=show_progress, callback=callback)
