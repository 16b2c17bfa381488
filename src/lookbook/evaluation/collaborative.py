"""The collaborative-filtering harness: every recommender ranked and counted the same way.

Three protocols share one core (``evaluate_models``):

* **the contract** (``evaluate_contract``): two CSVs ``user_id,item_id,timestamp``, train and test,
  as an outside party would hand them over. Items are those seen in train.
* **H&M** (``evaluate_hm``): the purchases, split per user in time (last 20% to test), then
  scored exactly like the contract.
* **a demo world** (``evaluate_world``): every event kind, split per user in time, the whole
  catalog rankable, plus two numbers only a world with a truth can give: NDCG against the users'
  true taste, and recall on items nobody touched in training.

Definitions (one place; ``lookbook.metrics`` does the counting and ``score_fitted`` in
``lookbook.models.collaborative.tuning``, which the models' own tuning shares, does the ranking):

* A user's **train items** are the items they have any training event with (views and returns
  included): they are never recommended back (``Recommender.recommend`` leaves them out).
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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import LookbookError
from lookbook.metrics import ndcg_at_k, recall_at_k
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.baselines import PopularityRecommender
from lookbook.models.collaborative.data import EventWeights, InteractionData
from lookbook.models.collaborative.loading import (
    DEFAULT_WEIGHTS,
    interactions_from_arrays,
    interactions_from_world,
    seconds,
    temporal_split,
    unique_in_order,
)
from lookbook.models.collaborative.topk import rank_items, seen_matrix
from lookbook.models.collaborative.tuning import (
    EvalContext,
    ExtraMetric,
    Targets,
    TunedALS,
    TunedEASE,
    score_fitted,
)
from lookbook.schema import EVENT_KIND_CODES, EventKind, IdMap
from lookbook.tables import EventArrays

log = logging.getLogger(__name__)

__all__ = [
    "MODEL_NAMES",
    "default_models",
    "evaluate_contract",
    "evaluate_hm",
    "evaluate_logs",
    "evaluate_models",
    "evaluate_world",
    "events_from_csv",
    "events_from_data",
    "format_table",
    "true_relevance",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: The models ``default_models`` knows by name, in report order.
MODEL_NAMES: tuple[str, ...] = ("popularity", "als", "ease", "lookbook")
#: Depth of the ranked list the cold-item recall of the world protocol reads.
COLD_ITEM_K = 50


# --------------------------------------------------------------------------------------------------
# Every model, ranked and counted the same way
# --------------------------------------------------------------------------------------------------


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


def events_from_csv(path: Path | str) -> EventArrays:
    """Read ``user_id,item_id,timestamp`` (ids as strings; ISO dates or epoch seconds) as
    ``EventArrays``: one side of a contract split.

    Other columns are read as the reader reads them (a ``kind`` column is checked, missing kinds are
    ``purchase``) but the contract uses only users, items and times: every row is a positive
    interaction. Errors name the file and line.
    """
    from lookbook.datasets.interactions import load_interactions

    events = load_interactions(Path(path)).events
    user_ids = events.column("user_id").to_numpy(zero_copy_only=False).astype(str)
    item_ids = events.column("item_id").to_numpy(zero_copy_only=False).astype(str)
    kinds = events.column("kind").to_numpy(zero_copy_only=False).astype(str)
    users, user_rows = np.unique(user_ids, return_inverse=True)
    items, item_rows = np.unique(item_ids, return_inverse=True)
    kind_names, kind_rows = np.unique(kinds, return_inverse=True)
    kind_codes = np.asarray([EVENT_KIND_CODES[name] for name in kind_names.tolist()], dtype=np.int8)
    return EventArrays(
        user_rows=user_rows.ravel(),
        item_rows=item_rows.ravel(),
        kind=kind_codes[kind_rows.ravel()],
        timestamp=seconds(events.column("timestamp")),
        position=np.full(user_ids.size, -1, dtype=np.int32),
        users=IdMap(users, name="user_id"),
        items=IdMap(items, name="item_id"),
    )


def events_from_data(data: InteractionData) -> EventArrays:
    """``InteractionData``'s events as ``EventArrays`` over the same user and item rows.

    Logs without kinds (``data.kind is None``) become purchases, as the interaction reader's
    default kind; the contract reads no kinds anyway.
    """
    kind = data.kind
    if kind is None:
        kind = np.full(data.user.size, EVENT_KIND_CODES[EventKind.PURCHASE.value], dtype=np.int8)
    return EventArrays(
        user_rows=data.user,
        item_rows=data.item,
        kind=kind,
        timestamp=data.timestamp,
        position=np.full(data.user.size, -1, dtype=np.int32),
        users=data.user_ids,
        items=data.item_ids,
    )


def evaluate_logs(
    train: EventArrays,
    test: EventArrays,
    k: int = 10,
    models: Mapping[str, Recommender] | Sequence[str] | None = None,
    *,
    weights: EventWeights = DEFAULT_WEIGHTS,
    seed: int = 0,
    show_progress: bool = False,
    item_content: tuple[npt.NDArray[np.str_], F32] | None = None,
) -> dict[str, Any]:
    """The contract on two event logs: items = those seen in ``train``, users = both sides.

    Only each event's user id, item id and time are read (kinds and positions are not: in the
    contract every row is a positive interaction), so the two sides may use different id maps.

    ``item_content`` (item ids, their content vectors) gives models that use content (the Lookbook
    model) each training item's vector; items it does not cover get zeros.

    Test rows of items never seen in train are kept as unrankable keys: they can never be hit but
    count in their user's ``|test items|``. Training rows are plain positives (weight 1, decayed by
    ``weights.half_life_days`` from the newest training event).
    """
    if len(train) == 0:
        raise LookbookError("contract: the training events are empty")
    if len(test) == 0:
        raise LookbookError("contract: the test events are empty")
    train_users, train_items = train.users.to_ids(train.user_rows), train.items.to_ids(train.item_rows)
    test_users, test_items = test.users.to_ids(test.user_rows), test.items.to_ids(test.item_rows)
    data = interactions_from_arrays(
        train_users,
        train_items,
        train.timestamp,
        None,
        weights,
        unique_in_order(train_items),
        user_universe=unique_in_order(np.concatenate([train_users, test_users])),
    )
    if item_content is not None:
        content_ids, content = item_content
        rows = data.item_ids.lookup(np.asarray(content_ids).astype(str), missing=-1)
        aligned = np.zeros((data.n_items, content.shape[1]), dtype=np.float32)
        aligned[rows[rows >= 0]] = content[rows >= 0]
        data = dataclasses.replace(data, item_features=aligned)
    user_rows = data.user_ids.lookup(test_users)
    item_rows = data.item_ids.lookup(test_items, missing=-1)
    unseen = item_rows < 0
    if unseen.any():
        _, code = np.unique(test_items[unseen], return_inverse=True)
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
    result["n_test"] = len(test)
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
    train = events_from_csv(Path(train_csv))
    test = events_from_csv(Path(test_csv))
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
        events_from_data(train),
        events_from_data(test),
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
    """The oracle's affinity as a scorer (``score`` only), so ``rank_items`` ranks truth exactly as
    ``Recommender.recommend`` ranks a model: train items left out, ties to the lower item row."""

    name = "truth"

    def __init__(self, oracle: Any, user_ids: Any, item_ids: Any, known: npt.NDArray[np.bool_]) -> None:
        self.oracle, self.user_ids, self.item_ids, self.known = oracle, user_ids, item_ids, known

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
