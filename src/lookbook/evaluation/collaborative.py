"""The collaborative-filtering harness: every recommender ranked and counted the same way.

Three protocols share one core (``evaluate_models``):

* **the contract** (``evaluate_contract``): two CSVs ``user_id,item_id,timestamp``, train and test,
  as an outside party would hand them over. Items are those seen in train.
* **H&M** (``evaluate_hm``): the purchases, split per user in time (last 20% to test), then
  scored exactly like the contract.
* **a demo world** (``evaluate_world``): every event kind, split per user in time, the whole
  catalog rankable, plus two numbers only a world with a truth can give: NDCG against the users'
  true taste, and recall on items nobody touched in training.

Definitions (one place; ``lookbook.evaluation.metrics`` does the counting):

* A user's **train items** are the items they have any training event with (views and returns
  included): they are never recommended back (``rank_items`` sets their score to ``-inf``).
* A user's **test items** are the distinct items of their test events. ``Recall@k`` is
  ``hits / |test items|`` and ``NDCG@k`` uses binary gains with the ideal DCG over
  ``min(|test items|, k)``, both averaged over test users. Every test item is in the denominator,
  even one the model cannot rank (never seen in train, or already a train item of the user):
  ``recall_ceiling`` says how much of the metric is reachable at all.
* **Cold users** (test users without a training event) are ranked by popularity for every
  model alike, so models differ only where they can differ.
* ``coverage``: share of the item universe in at least one top-k list. ``popularity_percentile``:
  mean over all recommended items of the item's popularity CDF (share of items whose summed
  positive training weight is at most its own), so 1.0 = only the most popular items; a
  measure of popularity bias.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import scipy.sparse as sp
import scipy.stats

from lookbook.errors import DimensionMismatch, LookbookError
from lookbook.evaluation.metrics import coverage, ndcg_at_k, recall_at_k
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.baselines import PopularityRecommender, TunedALS, TunedEASE
from lookbook.models.collaborative.data import EventWeights, InteractionData
from lookbook.models.collaborative.loading import (
    DEFAULT_WEIGHTS,
    interactions_from_arrays,
    interactions_from_world,
    seconds,
    temporal_split,
    unique_in_order,
)

log = logging.getLogger(__name__)

__all__ = [
    "MODEL_NAMES",
    "EvalContext",
    "EventLog",
    "ExtraMetric",
    "Targets",
    "default_models",
    "evaluate_contract",
    "evaluate_hm",
    "evaluate_logs",
    "evaluate_models",
    "evaluate_world",
    "format_table",
    "rank_items",
    "score_fitted",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: The models ``default_models`` knows by name, in report order.
MODEL_NAMES: tuple[str, ...] = ("popularity", "als", "ease", "lookbook")
#: Depth of the ranked list the cold-item recall of the world protocol reads.
COLD_ITEM_K = 50


# --------------------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------------------


def seen_matrix(data: InteractionData) -> sp.csr_matrix:
    """(n_users, n_items) boolean: the items each user has any event with (the "train items")."""
    m = sp.csr_matrix(
        (np.ones(data.user.size, dtype=np.float32), (data.user, data.item)),
        shape=(data.n_users, data.n_items),
    )
    m.sum_duplicates()
    return m.astype(bool)


def rank_items(
    model: Recommender, users: npt.ArrayLike, train_matrix: sp.spmatrix, k: int, *, batch_size: int = 1024
) -> I64:
    """``(len(users), k)`` item rows, best first, never one of the user's train items.

    ``train_matrix`` is ``(n_users, n_items)``; its nonzeros are the items to leave out (their score
    becomes ``-inf``, as do NaN scores). Users are scored ``batch_size`` at a time so memory stays
    at ``batch_size * n_items`` floats. Ties are broken by the lower item row, so a ranking is
    reproducible. A row with fewer than ``k`` rankable items is padded with ``-1``.
    """
    users = np.asarray(users, dtype=np.int64)
    if k < 1:
        raise LookbookError(f"rank_items k: expected >= 1, got {k}")
    train = sp.csr_matrix(train_matrix)
    n_items = train.shape[1]
    width = min(k, n_items)
    out = np.full((users.size, k), -1, dtype=np.int64)
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        scores = np.array(model.score(batch), dtype=np.float32, copy=True)
        if scores.shape != (batch.size, n_items):
            raise DimensionMismatch(
                f"{getattr(model, 'name', type(model).__name__)}.score: expected shape "
                f"({batch.size}, {n_items}), got {scores.shape}"
            )
        scores[np.isnan(scores)] = -np.inf
        sub = train[batch]
        scores[np.repeat(np.arange(batch.size), np.diff(sub.indptr)), sub.indices] = -np.inf
        # The width-th best score per row; every item above it is in, and of the items tied with
        # it, the lowest rows fill what is left (argpartition alone would pick tied items at random).
        kth = np.partition(scores, n_items - width, axis=1)[:, n_items - width, None]
        above = scores > kth
        tied = scores == kth
        take = above | (tied & (np.cumsum(tied, axis=1) <= width - above.sum(axis=1, keepdims=True)))
        top = np.nonzero(take)[1].reshape(batch.size, width)
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -top_scores))
        ranked = np.take_along_axis(top, order, axis=1)
        ranked[np.take_along_axis(top_scores, order, axis=1) == -np.inf] = -1
        out[start : start + batch.size, :width] = ranked
    return out


# --------------------------------------------------------------------------------------------------
# Test targets and the shared context
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
        item_popularity = self.popularity.score(np.zeros(1, dtype=np.int64))[0]
        n = max(self.train.n_items, 1)
        self.popularity_cdf = scipy.stats.rankdata(item_popularity, method="max") / n
        self.cold = np.diff(self.seen.indptr)[self.targets.users] == 0

    def rank(self, model: Recommender, width: int) -> I64:
        """Top ``width`` of every test user (rows follow ``targets.users``); cold users by popularity."""
        users = self.targets.users
        ranked = np.full((users.size, width), -1, dtype=np.int64)
        warm = ~self.cold
        if warm.any():
            ranked[warm] = rank_items(model, users[warm], self.seen, width)
        if self.cold.any():
            ranked[self.cold] = rank_items(self.popularity, users[self.cold], self.seen, width)
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
    """Rank with a fitted model and count: ``recall``, ``ndcg``, ``coverage``, ``popularity_percentile``.

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


def evaluate_models(
    models: Mapping[str, Recommender],
    train: InteractionData,
    test: InteractionData | Targets,
    k: int = 10,
    *,
    extra: Sequence[ExtraMetric] = (),
    show_progress: bool = False,
) -> dict[str, Any]:
    """Fit every model on ``train``, rank for every test user, and count (see the module docstring).

    ``test`` is the held-out events over the same rows as ``train`` (or prepared ``Targets``). Each
    model's entry has ``recall``, ``ndcg``, ``coverage``, ``popularity_percentile``, ``fit_s`` and
    ``score_s``, any ``extra`` metric, and what a tuned model reports about itself (``info``).
    Beside ``k`` and ``models``: ``n_users``, ``n_items`` (the item universe), ``n_train`` (events),
    ``n_test_users``, ``n_test_pairs`` (distinct user-item test pairs), ``cold_users``,
    ``test_pairs_outside_train`` (pairs of items no model can rank) and ``recall_ceiling``.
    """
    if _rows_differ(train, test):
        raise LookbookError("evaluate_models: train and test must share the same user and item rows")
    targets = test if isinstance(test, Targets) else Targets.from_data(test)
    if targets.users.size == 0:
        raise LookbookError("evaluate_models: the test has no events to evaluate on")
    ctx = EvalContext(train, targets, k)
    result: dict[str, Any] = {"k": k, "models": {}, **ctx.summary()}
    for name, model in models.items():
        log.info("fitting %s on %d training events", name, train.user.size)
        started = time.perf_counter()
        model.fit(train, show_progress=show_progress)
        fit_s = time.perf_counter() - started
        row = score_fitted(model, train, targets, k, context=ctx, extra=extra)
        row["fit_s"] = round(fit_s, 3)
        info = getattr(model, "info", None)
        if info:
            row["info"] = info
        log.info("%s: %s", name, {key: v for key, v in row.items() if key != "info"})
        result["models"][name] = row
    return result


def _rows_differ(train: InteractionData, test: InteractionData | Targets) -> bool:
    """True when ``test`` is ``InteractionData`` over other user or item rows than ``train``."""
    if isinstance(test, Targets):
        return False
    return (
        test.n_users != train.n_users
        or test.n_items != train.n_items
        or not np.array_equal(test.user_ids.ids, train.user_ids.ids)
        or not np.array_equal(test.item_ids.ids, train.item_ids.ids)
    )


# --------------------------------------------------------------------------------------------------
# Models by name
# --------------------------------------------------------------------------------------------------


def default_models(
    names: Sequence[str] | None = None, *, k: int = 10, seed: int = 0
) -> dict[str, Recommender]:
    """Fresh models by name: ``popularity``, ``als`` (tuned), ``ease`` (tuned), ``lookbook``.

    ``names=None`` gives all of them.
    """
    if names is None:
        names = list(MODEL_NAMES)
    out: dict[str, Recommender] = {}
    for name in names:
        if name == "popularity":
            out[name] = PopularityRecommender()
        elif name == "als":
            out[name] = TunedALS(k=k, seed=seed)
        elif name == "ease":
            out[name] = TunedEASE(k=k, seed=seed)
        elif name == "lookbook":
            from lookbook.models.collaborative.hybrid import LookbookRecommender

            out[name] = LookbookRecommender()
        else:
            raise LookbookError(f"models: expected names from {list(MODEL_NAMES)}, got {name!r}")
    return out


def _models(
    models: Mapping[str, Recommender] | Sequence[str] | None, k: int, seed: int
) -> dict[str, Recommender]:
    """Models given as a mapping are used as they are; names (or None) go through ``default_models``."""
    if isinstance(models, Mapping):
        return dict(models)
    return default_models(None if models is None else list(models), k=k, seed=seed)


# --------------------------------------------------------------------------------------------------
# The contract (two CSVs) and H&M
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventLog:
    """Aligned arrays of string user and item ids and epoch seconds: one side of a contract split."""

    user_ids: npt.NDArray[np.str_]
    item_ids: npt.NDArray[np.str_]
    timestamps: I64

    @classmethod
    def from_csv(cls, path: Path) -> EventLog:
        """Read ``user_id,item_id,timestamp`` (ids as strings; ISO dates or epoch seconds).

        Other columns are ignored (a ``kind`` column is still checked by the reader but not used:
        in the contract every row is a positive interaction). Errors name the file and line.
        """
        from lookbook.datasets.interactions import load_interactions

        events = load_interactions(Path(path)).events
        return cls(
            events.column("user_id").to_numpy(zero_copy_only=False).astype(str),
            events.column("item_id").to_numpy(zero_copy_only=False).astype(str),
            seconds(events.column("timestamp")),
        )

    @classmethod
    def from_data(cls, data: InteractionData) -> EventLog:
        return cls(data.user_ids.to_ids(data.user), data.item_ids.to_ids(data.item), data.timestamp)


def evaluate_logs(
    train: EventLog,
    test: EventLog,
    k: int = 10,
    models: Mapping[str, Recommender] | Sequence[str] | None = None,
    *,
    weights: EventWeights = DEFAULT_WEIGHTS,
    seed: int = 0,
    show_progress: bool = False,
    item_content: tuple[npt.NDArray[np.str_], F32] | None = None,
) -> dict[str, Any]:
    """The contract on id arrays: items = those seen in ``train``, users = both sides.

    ``item_content`` (item ids, their content vectors) gives models that use content (the Lookbook
    model) each training item's vector; items it does not cover get zeros.

    Test rows of items never seen in train are kept as unrankable keys: they can never be hit but
    count in their user's ``|test items|``. Training rows are plain positives (weight 1, decayed by
    ``weights.half_life_days`` from the newest training event).
    """
    if train.user_ids.size == 0:
        raise LookbookError("contract: the training events are empty")
    if test.user_ids.size == 0:
        raise LookbookError("contract: the test events are empty")
    data = interactions_from_arrays(
        train.user_ids,
        train.item_ids,
        train.timestamps,
        None,
        weights,
        unique_in_order(train.item_ids),
        user_universe=unique_in_order(np.concatenate([train.user_ids, test.user_ids])),
    )
    if item_content is not None:
        content_ids, content = item_content
        rows = data.item_ids.lookup(np.asarray(content_ids).astype(str), missing=-1)
        aligned = np.zeros((data.n_items, content.shape[1]), dtype=np.float32)
        aligned[rows[rows >= 0]] = content[rows >= 0]
        data = dataclasses.replace(data, item_features=aligned)
    user_rows = data.user_ids.lookup(test.user_ids)
    item_rows = data.item_ids.lookup(test.item_ids, missing=-1)
    unseen = item_rows < 0
    if unseen.any():
        _, code = np.unique(test.item_ids[unseen], return_inverse=True)
        item_rows[unseen] = data.n_items + code.ravel()
        log.info(
            "contract: %d test rows (%d items) are of items never seen in train; they count as misses",
            int(unseen.sum()), int(code.max()) + 1,
        )  # fmt: skip
    result = evaluate_models(
        _models(models, k, seed),
        data,
        Targets.from_pairs(user_rows, item_rows),
        k,
        show_progress=show_progress,
    )
    result["n_test"] = int(test.user_ids.size)
    result["test_rows_unseen_item"] = int(unseen.sum())
    return result


def evaluate_contract(
    train_csv: Path | str,
    test_csv: Path | str,
    k: int = 10,
    models: Mapping[str, Recommender] | Sequence[str] | None = None,
    *,
    seed: int = 0,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Evaluate on two CSVs ``user_id,item_id,timestamp`` (see ``evaluate_logs`` for the semantics).

    Returns ``{"k", "models": {name: {"recall", "ndcg", "coverage", "popularity_percentile",
    "fit_s", "score_s", ...}}, "n_train", "n_test_users", "cold_users", ...}``.
    """
    train = EventLog.from_csv(Path(train_csv))
    test = EventLog.from_csv(Path(test_csv))
    result = evaluate_logs(train, test, k, models, seed=seed, show_progress=show_progress)
    result["protocol"] = {"name": "contract", "train": str(train_csv), "test": str(test_csv)}
    return result


def evaluate_hm(
    path: Path | str,
    k: int = 10,
    models: Mapping[str, Recommender] | Sequence[str] | None = None,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    show_progress: bool = False,
    cache_dir: Path | str | None = None,
) -> dict[str, Any]:
    """H&M purchases, split per user in time (last ``test_fraction`` to test), then the contract.

    With ``cache_dir`` the purchased articles' content vectors (photo + text, cached there) are
    computed and given to the models that use content.
    """
    from lookbook.datasets.hm import load_hm

    world = load_hm(Path(path))
    data = interactions_from_world(world)
    train, test = temporal_split(data, test_fraction)
    item_content = None
    if cache_dir is not None:
        import pyarrow.compute as pc

        from lookbook.encoders.content import encode_items

        sold = np.unique(data.item_ids.to_ids(data.item))
        items = world.items.filter(pc.is_in(world.items.column("item_id"), pa.array(sold)))
        fused = encode_items(items, world.root, cache_dir=Path(cache_dir), show_progress=show_progress).fused
        item_content = (np.asarray(items.column("item_id").to_pylist()), fused)
    result = evaluate_logs(
        EventLog.from_data(train),
        EventLog.from_data(test),
        k,
        models,
        seed=seed,
        show_progress=show_progress,
        item_content=item_content,
    )
    result["protocol"] = {
        "name": "hm",
        "path": str(path),
        "split": f"per-user temporal, last {test_fraction:.0%} of each user's purchases",
        "items": "items purchased in train",
    }
    return result


# --------------------------------------------------------------------------------------------------
# Demo worlds
# --------------------------------------------------------------------------------------------------


def true_relevance(oracle: Any, train: InteractionData, users: I64, k: int, *, batch_size: int = 1024) -> I64:
    """``(len(users), k)`` each user's top ``k`` items by true affinity (the oracle's, at the end).

    Candidates are the items with at least one training event (by anyone) that the user has no
    training event with: what a collaborative model could know about and is allowed to show.
    Never-seen items are left to ``cold_item_recall@50``, so the two numbers split the catalog.
    """
    known = np.bincount(train.item, minlength=train.n_items) > 0
    truth = _TrueScorer(oracle, train.user_ids.ids, train.item_ids.ids, known)
    return rank_items(truth, users, seen_matrix(train), k, batch_size=batch_size)


class _TrueScorer:
    """The oracle's affinity as a ``Recommender``-shaped scorer, so truth is ranked like a model."""

    name = "truth"

    def __init__(self, oracle: Any, user_ids: Any, item_ids: Any, known: npt.NDArray[np.bool_]) -> None:
        self.oracle, self.user_ids, self.item_ids, self.known = oracle, user_ids, item_ids, known

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> _TrueScorer:
        return self

    def score(self, users: I64) -> F32:
        scores = np.asarray(
            self.oracle.affinity_matrix(self.user_ids[users].tolist(), self.item_ids.tolist()),
            dtype=np.float32,
        )
        scores[:, ~self.known] = -np.inf
        return scores


def _cold_item_targets(train: InteractionData, targets: Targets) -> I64:
    """``targets.relevant`` keeping only items with no training event at all (others -> -1)."""
    cold = np.bincount(train.item, minlength=train.n_items) == 0
    rel = targets.relevant
    keep = (rel >= 0) & (rel < train.n_items)
    keep[keep] = cold[rel[keep]]
    return np.where(keep, rel, -1)


def evaluate_world(
    world_dir: Path | str,
    k: int = 10,
    models: Mapping[str, Recommender] | Sequence[str] | None = None,
    *,
    test_fraction: float = 0.2,
    weights: EventWeights = DEFAULT_WEIGHTS,
    item_features: F32 | None = None,
    seed: int = 0,
    show_progress: bool = False,
    position_debias: bool = False,
) -> dict[str, Any]:
    """A demo world: every event kind weighted, a per-user temporal split, the truth as a referee.

    ``position_debias`` weights training clicks by their inverse examination propensity
    (``models.collaborative.position_bias``), estimated from the world's logged impressions.

    The split holds out each user's last ``test_fraction`` of positive events (``temporal_split``);
    the item universe is the whole catalog, so items nobody touched in training can be ranked.
    Besides the shared numbers, each model gets:

    * ``true_ndcg``: NDCG@k of its top k against each test user's true top k (``true_relevance``:
      the oracle's end-of-simulation affinity among items with training events that the user has
      not touched). It asks "does the model know the user's taste", free of what the user
      happened to click in the test weeks.
    * ``cold_item_recall@50``: Recall@50 counting only test items with no training event at all
      (users without one are left out). Only a model that reads content can find these.
    """
    from lookbook.datasets.synthetic.oracle import Oracle
    from lookbook.datasets.world import load_world

    world_dir = Path(world_dir)
    world = load_world(world_dir)
    oracle = Oracle.load(world_dir)
    data = interactions_from_world(
        world, weights, item_features=item_features, position_debias=position_debias
    )
    train, test = temporal_split(data, test_fraction)
    targets = Targets.from_data(test)
    started = time.perf_counter()
    ideal = true_relevance(oracle, train, targets.users, k)
    log.info("true top-%d of %d test users from the oracle in %.2fs", k, targets.users.size,
             time.perf_counter() - started)  # fmt: skip
    cold_targets = _cold_item_targets(train, targets)
    has_cold = (cold_targets >= 0).any(axis=1)

    def cold_recall(ranked: I64) -> float | None:
        if not has_cold.any():
            return None
        return recall_at_k(ranked[has_cold], cold_targets[has_cold], COLD_ITEM_K)

    extra = (
        ExtraMetric("true_ndcg", k, lambda ranked: ndcg_at_k(ranked, ideal, k)),
        ExtraMetric(f"cold_item_recall@{COLD_ITEM_K}", COLD_ITEM_K, cold_recall),
    )
    result = evaluate_models(
        _models(models, k, seed), train, targets, k, extra=extra, show_progress=show_progress
    )
    result["n_test"] = int(test.user.size)
    result["cold_items"] = int((np.bincount(train.item, minlength=train.n_items) == 0).sum())
    result["cold_item_test_users"] = int(has_cold.sum())
    result["protocol"] = {
        "name": "world",
        "world": str(world_dir),
        "split": f"per-user temporal, last {test_fraction:.0%} of each user's positive events",
        "items": "whole catalog",
    }
    return result


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def format_table(result: Mapping[str, Any]) -> str:
    """A fixed-width table of the models' numbers, for people (the CLI's ``--json`` is for machines)."""
    k = result["k"]
    rows = result["models"]
    extra_cols = [
        c for c in ("true_ndcg", f"cold_item_recall@{COLD_ITEM_K}") if any(c in r for r in rows.values())
    ]
    cols = [("recall", f"recall@{k}"), ("ndcg", f"ndcg@{k}")]
    cols += [(c, c) for c in extra_cols]
    cols += [("coverage", "coverage"), ("popularity_percentile", "pop_pct"), ("fit_s", "fit_s")]
    name_w = max([5, *(len(n) for n in rows)])
    widths = [max(8, len(label)) for _, label in cols]
    lines = [
        f"{'model':<{name_w}}  "
        + "  ".join(f"{label:>{w}}" for (_, label), w in zip(cols, widths, strict=True))
    ]
    for name, row in rows.items():
        cells = []
        for (key, _), w in zip(cols, widths, strict=True):
            value = row.get(key)
            cells.append(f"{'-':>{w}}" if value is None else f"{value:>{w}.4f}")
        lines.append(f"{name:<{name_w}}  " + "  ".join(cells))
    lines.append(
        f"{result['n_test_users']} test users ({result['cold_users']} cold), {result['n_train']} training "
        f"events, {result['n_items']} items; best possible recall@{k}: {result['recall_ceiling']}"
    )
    return "\n".join(lines)
