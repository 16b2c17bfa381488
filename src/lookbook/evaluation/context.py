"""Does a shopper's context help a shop that knows nothing else about them? Measured on the truth.

A visitor without events gets popularity. ``ContextPopularity`` (``lookbook.models.collaborative``)
narrows it to what sells in the visitor's context (device, region, part of the day), shrunk towards
the whole shop's popularity so that a thin context borrows from everyone. Whether that is better
than plain popularity is an empirical question, and a demo world can answer it against the truth:

* **Cold users.** A seeded ``cold_fraction`` of the users with events is treated as new: all their
  events leave training, so both models learn from the other users only.
* **Their context** is the one their first event carried (what their first request would send):
  its ``device`` and ``region`` columns, and its part of the day (``hour``: night, morning,
  afternoon, evening, in UTC). ``device+region`` combines two.
* **Truth.** Each cold user's top ``k`` items by the oracle's end-of-simulation affinity among the
  items with a training event (``true_relevance``, as ``evaluate_world``'s ``true_ndcg``: what a
  popularity model could know about), scored with binary NDCG@k.
* **Plain popularity** is the same counts without a context (``ContextPopularity``'s global share,
  the limit of an infinite prior), so a difference is the context's alone. ``popularity_model``
  adds the library's ``PopularityRecommender`` (net weight per user and item) for reference.

Each context gets its NDCG, the mean paired difference to plain popularity over the same users and
that difference's standard error; it ``helps`` when the difference is above two standard errors.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.errors import LookbookError
from lookbook.evaluation.collaborative import true_relevance
from lookbook.metrics import graded_ndcg, ndcg_at_k
from lookbook.models.collaborative.baselines import PopularityRecommender
from lookbook.models.collaborative.context import ContextPopularity
from lookbook.models.collaborative.data import EventWeights
from lookbook.models.collaborative.loading import DEFAULT_WEIGHTS, interactions_from_world
from lookbook.models.collaborative.topk import top_k

log = logging.getLogger(__name__)

__all__ = ["CONTEXTS", "evaluate_context_popularity", "event_contexts", "format_context"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: The contexts measured by default; ``+`` combines single ones.
CONTEXTS: tuple[str, ...] = ("device", "region", "hour", "device+region")
#: Event columns that are a context as they are; ``hour`` is derived from the timestamp.
_COLUMNS = ("device", "region")
_DAY_PARTS = np.asarray(["night", "morning", "afternoon", "evening"])
#: A difference counts when it is this many standard errors above zero.
_SIGNIFICANT_SE = 2.0


def event_contexts(events: pa.Table, name: str) -> npt.NDArray[np.str_]:
    """``(n_events,)`` the context value of each event: a column (``device``, ``region``; missing
    values are ``""``), ``hour`` (the part of the day, UTC) or several joined by ``+``."""
    parts = name.split("+")
    if not name or any(p not in (*_COLUMNS, "hour") for p in parts):
        raise LookbookError(
            f"contexts: expected {', '.join((*_COLUMNS, 'hour'))} or a '+' of them, got {name!r}"
        )
    values: list[npt.NDArray[np.str_]] = []
    for part in parts:
        if part == "hour":
            hour = pc.hour(events.column("timestamp")).to_numpy(zero_copy_only=False)
            values.append(_DAY_PARTS[np.asarray(hour, dtype=np.int64) // 6])
        else:
            if part not in events.column_names:
                raise LookbookError(f"contexts: the events have no {part!r} column")
            column = pc.fill_null(events.column(part).cast(pa.string()), "")
            values.append(np.asarray(column.to_numpy(zero_copy_only=False)).astype(str))
    out = values[0]
    for more in values[1:]:
        out = np.char.add(np.char.add(out, "|"), more)
    return out


def _codes(vocab: npt.NDArray[np.str_], values: npt.NDArray[np.str_]) -> I64:
    """Row of each value in the sorted ``vocab``; ``vocab.size`` (the global row) when absent."""
    if vocab.size == 0:
        return np.zeros(values.size, dtype=np.int64)
    pos = np.minimum(np.searchsorted(vocab, values), vocab.size - 1)
    return np.where(vocab[pos] == values, pos, vocab.size).astype(np.int64)


def _per_user_ndcg(ranked: I64, ideal: I64, k: int) -> F64:
    """NDCG@k of each row with binary gains (``ndcg_at_k`` without the mean), for paired errors."""
    hits = (ranked[:, :k, None] == ideal[:, None, :]).any(axis=2) & (ranked[:, :k] >= 0)
    n_relevant = np.minimum((ideal >= 0).sum(axis=1), k)
    best = (np.arange(k)[None, :] < n_relevant[:, None]).astype(np.float64)
    return graded_ndcg(hits.astype(np.float64), best, k)


def evaluate_context_popularity(
    world_dir: Path | str,
    *,
    k: int = 20,
    contexts: Sequence[str] = CONTEXTS,
    cold_fraction: float = 0.2,
    prior: float = 50.0,
    weights: EventWeights = DEFAULT_WEIGHTS,
    seed: int = 0,
) -> dict[str, Any]:
    """Context popularity against plain popularity for cold users of a demo world (see the module).

    Parameters
    ----------
    world_dir:
        A generated world (its ``truth/`` is read through the oracle).
    k:
        The page length scored (NDCG@k against each user's true top ``k``).
    contexts:
        Context names (``CONTEXTS``).
    cold_fraction:
        Share of the users with events treated as new, in (0, 1).
    prior:
        ``ContextPopularity``'s pseudo-events towards the global popularity.
    seed:
        Picks the cold users.

    Returns
    -------
    A JSON-ready dict: ``plain`` and ``popularity_model`` NDCG, one entry per context under
    ``contexts`` (``ndcg``, ``delta``, ``delta_se``, ``values``, ``helps``), ``helps`` (any
    context), ``best`` and the counts.
    """
    from lookbook.datasets.synthetic.oracle import Oracle
    from lookbook.datasets.world import load_world

    if not 0.0 < cold_fraction < 1.0:
        raise LookbookError(f"cold_fraction: expected a number in (0, 1), got {cold_fraction!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise LookbookError(f"k: expected an integer >= 1, got {k!r}")
    world_dir = Path(world_dir)
    world = load_world(world_dir)
    oracle = Oracle.load(world_dir)
    # events of items outside the catalog would be dropped while loading and misalign the contexts
    known = pc.is_in(world.events.column("item_id"), value_set=world.items.column("item_id"))
    events = world.events.filter(known)
    data = interactions_from_world(dataclasses.replace(world, events=events), weights)
    values = {name: event_contexts(events, name) for name in contexts}

    rng = np.random.default_rng(seed)
    active = np.flatnonzero(np.bincount(data.user, minlength=data.n_users) > 0)
    n_cold = max(1, round(cold_fraction * active.size))
    if n_cold >= active.size:
        raise LookbookError(f"cold_fraction: {cold_fraction} of {active.size} users leaves none to train on")
    cold = np.sort(rng.choice(active, size=n_cold, replace=False))
    is_cold = np.zeros(data.n_users, dtype=bool)
    is_cold[cold] = True
    cold_event = is_cold[data.user]
    train = data.subset(~cold_event)

    # each cold user's first event (by time; ties by file order) carries the context they arrive with
    idx = np.flatnonzero(cold_event)
    order = idx[np.lexsort((idx, data.timestamp[idx], data.user[idx]))]
    _, first = np.unique(data.user[order], return_index=True)
    first_event = order[first]  # aligned with ``cold``: both ascend by user row
    ideal = true_relevance(oracle, train, cold, k)

    plain_model = ContextPopularity(prior).fit(train, np.zeros(train.user.size, dtype=str))
    plain_ranked = np.broadcast_to(top_k(plain_model.scores(None)[None, :], k)[0], (cold.size, k))
    plain_rows = _per_user_ndcg(plain_ranked, ideal, k)
    pop = PopularityRecommender().fit(train)
    pop_ranked = np.broadcast_to(top_k(pop.score(np.zeros(1, np.int64)), k)[0], (cold.size, k))

    result: dict[str, Any] = {
        "k": k,
        "prior": prior,
        "n_cold_users": int(cold.size),
        "n_train_events": int(train.user.size),
        "plain": {"ndcg": ndcg_at_k(plain_ranked, ideal, k)},
        "popularity_model": {"ndcg": ndcg_at_k(pop_ranked, ideal, k)},
        "contexts": {},
    }
    for name, value in values.items():
        model = ContextPopularity(prior).fit(train, value[~cold_event])
        # one ranking per context value (a handful), gathered by each cold user's value
        table = np.vstack([model.scores(v) for v in model.contexts_.tolist()] + [model.scores(None)])
        ranked_by_value = top_k(table, k)[0]
        user_value = value[first_event]
        ranked = ranked_by_value[_codes(model.contexts_, user_value)]
        rows = _per_user_ndcg(ranked, ideal, k)
        diff = rows - plain_rows
        keep = ~np.isnan(diff)
        delta = float(diff[keep].mean())
        se = float(diff[keep].std(ddof=1) / np.sqrt(keep.sum())) if keep.sum() > 1 else float("nan")
        result["contexts"][name] = {
            "ndcg": ndcg_at_k(ranked, ideal, k),
            "delta": delta,
            "delta_se": se,
            "values": int(model.contexts_.size),
            "helps": bool(delta > _SIGNIFICANT_SE * se),
        }
        log.info("context %s: NDCG@%d %.4f (plain %.4f, %+.4f ± %.4f)", name, k,
                 result["contexts"][name]["ndcg"], result["plain"]["ndcg"], delta, se)  # fmt: skip
    rows_by_name = result["contexts"]
    helping = [n for n in rows_by_name if rows_by_name[n]["helps"]]
    result["helps"] = bool(helping)
    result["best"] = max(helping, key=lambda n: rows_by_name[n]["ndcg"]) if helping else "plain"
    result["protocol"] = {
        "world": str(world_dir),
        "cold_users": f"{cold_fraction:.0%} of the users with events (seed {seed}), every event held out",
        "context": "the cold user's first event",
        "truth": f"oracle's end-of-simulation top {k} among items with a training event",
    }
    return result


def format_context(result: Mapping[str, Any]) -> str:
    """A short table of ``evaluate_context_popularity``'s numbers, for people."""
    k = result["k"]
    lines = [
        f"NDCG@{k} against the truth for {result['n_cold_users']:,} cold users "
        f"({result['n_train_events']:,} training events)",
        f"  {'plain popularity':<22} {result['plain']['ndcg']:.4f}",
        f"  {'popularity model':<22} {result['popularity_model']['ndcg']:.4f}",
    ]
    for name, row in result["contexts"].items():
        verdict = "helps" if row["helps"] else "no gain"
        lines.append(
            f"  {'context ' + name:<22} {row['ndcg']:.4f}  {row['delta']:+.4f} ± {row['delta_se']:.4f}"
            f"  ({row['values']} values; {verdict})"
        )
    return "\n".join(lines)
