"""Evaluation metrics, each defined once, over arrays, with numpy only.

Every function here takes the outputs of a model as plain arrays and returns one float: the
harnesses (``compatibility.py``, the recommender evaluation) decide *what* to score and call these
to decide *how* to count. Keeping the counting in one place means FITB accuracy, AUC or NDCG mean
the same thing in every report, and each is tested against a hand-worked example and a slow
reference loop (``tests/evaluation/test_metrics.py``).

Shapes and conventions
----------------------
* ``ranked``: ``(users, width)`` int item rows, best first, padded with ``-1`` (implicit's
  ``recommend`` contract). A row lists each item at most once.
* ``relevant``: the items that count as hits for each row, in any of three forms: a sequence of
  1-D int arrays (ragged), a ``(users, m)`` int array padded with ``-1``, or a ``(users, n_items)``
  boolean mask. Rows with no relevant item are left out of the mean (there is nothing to find).
* Ties are never broken by position: AUC counts a tied (positive, negative) pair as half right and
  FITB gives a question whose right answer ties with ``t - 1`` others ``1 / t``. Both are the
  expected value under a random tie-break, so a constant scorer scores chance, not 100%.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import LookbookError

log = logging.getLogger(__name__)

__all__ = [
    "auc",
    "colour_dominance",
    "coverage",
    "fitb_accuracy",
    "mrr",
    "ndcg_at_k",
    "recall_at_k",
]

Relevant = Sequence[npt.ArrayLike] | npt.NDArray[Any]


# --------------------------------------------------------------------------------------------------
# Input checks (boundaries) and the shared hit matrix
# --------------------------------------------------------------------------------------------------


def _check_k(k: Any, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise LookbookError(f"{name}: expected an int >= 1, got {k!r}")
    return int(k)


def _scores_1d(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise LookbookError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise LookbookError(
            f"{name}: expected finite numbers, got NaN or inf at positions "
            f"{np.flatnonzero(~np.isfinite(arr))[:5].tolist()}"
        )
    return arr


def _int_array(values: npt.ArrayLike, name: str, ndim: int) -> npt.NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.ndim != ndim:
        raise LookbookError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise LookbookError(f"{name}: expected integer item rows, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _ranked(ranked: npt.ArrayLike, k: int | None) -> npt.NDArray[np.int64]:
    """The first ``k`` columns of ``ranked`` (all when ``k`` is None), checked for repeats."""
    arr = _int_array(ranked, "ranked", 2)
    if k is not None:
        arr = arr[:, :k]
    if arr.shape[1] > 1:
        ordered = np.sort(arr, axis=1)
        repeat = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
        if repeat.any():
            user, col = np.argwhere(repeat)[0]
            raise LookbookError(
                f"ranked: expected each row to list an item once, got item {ordered[user, col + 1]} "
                f"twice in row {user}"
            )
    return arr


def _padded(values: Relevant, name: str, n_rows: int | None = None) -> npt.NDArray[np.int64]:
    """A ragged sequence of 1-D int arrays or a padded 2-D int array as a ``-1``-padded 2-D array."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        arr = _int_array(values, name, 2)
    else:
        rows = [np.asarray(v) for v in values]
        for i, row in enumerate(rows):
            if row.ndim != 1 or (row.size and not np.issubdtype(row.dtype, np.integer)):
                raise LookbookError(f"{name}[{i}]: expected a 1-D array of int item rows, got {row!r}")
        width = max((row.size for row in rows), default=0)
        arr = np.full((len(rows), width), -1, dtype=np.int64)
        lengths = np.array([row.size for row in rows], dtype=np.int64)
        if width:
            arr[np.arange(width)[None, :] < lengths[:, None]] = np.concatenate(rows).astype(np.int64)
    if n_rows is not None and arr.shape[0] != n_rows:
        raise LookbookError(f"{name}: expected {n_rows} rows (one per ranked row), got {arr.shape[0]}")
    return arr


def _hits(
    ranked: npt.NDArray[np.int64], relevant: Relevant
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """``hits[u, j]``: is ``ranked[u, j]`` relevant to row ``u``; and the number of relevant items per row.

    Membership is one ``np.isin`` over ``row * n + item`` keys, so it costs a sort of all the
    entries rather than a Python loop over users.
    """
    n_users = ranked.shape[0]
    valid = ranked >= 0
    if isinstance(relevant, np.ndarray) and relevant.dtype == bool:
        if relevant.ndim != 2 or relevant.shape[0] != n_users:
            raise LookbookError(
                f"relevant: expected a boolean mask of shape ({n_users}, n_items), got {relevant.shape}"
            )
        if (ranked >= relevant.shape[1]).any():
            raise LookbookError(
                f"ranked: item rows must be < {relevant.shape[1]} (the mask's width), got {ranked.max()}"
            )
        hits = np.zeros(ranked.shape, dtype=bool)
        users = np.broadcast_to(np.arange(n_users)[:, None], ranked.shape)
        hits[valid] = relevant[users[valid], ranked[valid]]
        return hits, relevant.sum(axis=1).astype(np.int64)
    rel = _padded(relevant, "relevant", n_users)
    rel_user, rel_col = np.nonzero(rel >= 0)
    rel_item = rel[rel_user, rel_col]
    span = int(max(ranked.max(initial=0), rel_item.max(initial=0))) + 1
    rel_keys = np.unique(rel_user * span + rel_item)
    n_relevant = np.bincount(rel_keys // span, minlength=n_users).astype(np.int64)
    keys = np.arange(n_users, dtype=np.int64)[:, None] * span + ranked
    hits = np.isin(keys, rel_keys) & valid
    return hits, n_relevant


def _mean_over_users(values: npt.NDArray[np.float64], n_relevant: npt.NDArray[np.int64]) -> float:
    has = n_relevant > 0
    if not has.any():
        raise LookbookError("relevant: expected at least one row with a relevant item, got none")
    return float(values[has].mean())


# --------------------------------------------------------------------------------------------------
# Outfit metrics
# --------------------------------------------------------------------------------------------------


def fitb_accuracy(scores: npt.ArrayLike, answer_index: npt.ArrayLike) -> float:
    """Fill-in-the-blank accuracy: the share of questions whose right candidate scores highest.

    Parameters
    ----------
    scores:
        ``(questions, choices)`` score of each candidate; higher = fits the outfit better.
    answer_index:
        ``(questions,)`` column of the right candidate.

    Returns
    -------
    float
        Mean over questions of ``1 / t`` when the right candidate is among the ``t`` candidates tied
        for the top score, else 0. Ties count fractionally, so a scorer that gives every candidate
        the same score gets ``1 / choices`` (chance), whatever order the candidates come in.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] < 2:
        raise LookbookError(f"scores: expected a (questions, choices >= 2) array, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise LookbookError("scores: expected finite numbers, got NaN or inf")
    answer = _int_array(answer_index, "answer_index", 1)
    if answer.shape[0] != s.shape[0]:
        raise LookbookError(
            f"answer_index: expected {s.shape[0]} entries (one per question), got {answer.shape[0]}"
        )
    if answer.size and (answer.min() < 0 or answer.max() >= s.shape[1]):
        raise LookbookError(
            f"answer_index: expected columns in [0, {s.shape[1]}), got {answer.min()}..{answer.max()}"
        )
    top = s == s.max(axis=1, keepdims=True)
    right = top[np.arange(s.shape[0]), answer]
    return float(np.mean(right / top.sum(axis=1)))


def auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve, from ranks: the chance a random positive outscores a random negative.

    Computed as the Mann-Whitney U statistic with average ranks for ties, so a tied
    (positive, negative) pair counts half. This is exact (no thresholds, no interpolation) and
    costs one sort.

    Parameters
    ----------
    scores:
        ``(n,)`` score of each example; higher = more likely positive.
    labels:
        ``(n,)`` 1 (or True) for positives, 0 (or False) for negatives. Both must occur.
    """
    s = _scores_1d(scores, "scores")
    y = np.asarray(labels)
    if y.shape != s.shape:
        raise LookbookError(f"labels: expected shape {s.shape} like scores, got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise LookbookError(f"labels: expected 0/1 values, got {np.unique(y)[:5].tolist()}")
    pos = y.astype(bool)
    n_pos = int(pos.sum())
    n_neg = s.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise LookbookError(f"labels: expected both positives and negatives, got {n_pos} and {n_neg}")
    order = np.argsort(s, kind="stable")
    ordered = s[order]
    bounds = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])
    starts, ends = bounds[:-1], bounds[1:]
    # Positions start..end-1 hold ranks start+1..end; a tie group shares their mean.
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


# --------------------------------------------------------------------------------------------------
# Ranking metrics
# --------------------------------------------------------------------------------------------------


def recall_at_k(ranked: npt.ArrayLike, relevant: Relevant, k: int) -> float:
    """Share of each row's relevant items found in its top ``k``, averaged over rows.

    ``|hits in top k| / |relevant|``: a row with 20 relevant items can reach at most ``k / 20``,
    which is what recall should say about a short list. Rows with no relevant item are skipped.
    ``ranked`` may be narrower than ``k`` (missing columns count as misses).
    """
    k = _check_k(k)
    top = _ranked(ranked, k)
    hits, n_relevant = _hits(top, relevant)
    found = hits.sum(axis=1)
    return _mean_over_users(found / np.maximum(n_relevant, 1), n_relevant)


def ndcg_at_k(ranked: npt.ArrayLike, relevant: Relevant, k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with binary gains, averaged over rows.

    ``DCG = sum_j hit_j / log2(j + 2)`` over the top ``k`` (``j`` from 0). The ideal DCG puts
    ``min(|relevant|, k)`` hits first, so a row with fewer relevant items than ``k`` can still reach
    1.0 by ranking all of them first.
    """
    k = _check_k(k)
    top = _ranked(ranked, k)
    hits, n_relevant = _hits(top, relevant)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg = hits.astype(np.float64) @ discount[: hits.shape[1]]
    ideal_cum = np.r_[0.0, np.cumsum(discount)]
    idcg = ideal_cum[np.minimum(n_relevant, k)]
    return _mean_over_users(dcg / np.where(idcg > 0, idcg, 1.0), n_relevant)


def mrr(ranked: npt.ArrayLike, relevant: Relevant, k: int | None = None) -> float:
    """Mean reciprocal rank: ``1 / (position of the first hit, from 1)``, 0 when none is ranked.

    Only the first ``k`` columns count when ``k`` is given (MRR@k); all of them otherwise. Rows
    with no relevant item are skipped.
    """
    if k is not None:
        k = _check_k(k)
    top = _ranked(ranked, k)
    hits, n_relevant = _hits(top, relevant)
    any_hit = hits.any(axis=1)
    first = np.argmax(hits, axis=1)
    return _mean_over_users(np.where(any_hit, 1.0 / (first + 1.0), 0.0), n_relevant)


def coverage(ranked: npt.ArrayLike, n_items: int, k: int | None = None) -> float:
    """Share of the catalog that appears in at least one row's top ``k`` (all columns if ``k`` is None).

    Padding (``-1``) is ignored. Coverage says whether a model recommends the whole catalog or
    keeps showing the same popular corner of it.
    """
    n_items = _check_k(n_items, "n_items")
    if k is not None:
        k = _check_k(k)
    top = _int_array(ranked, "ranked", 2)
    if k is not None:
        top = top[:, :k]
    if top.size and top.max() >= n_items:
        raise LookbookError(f"ranked: item rows must be < n_items={n_items}, got {top.max()}")
    return float(np.unique(top[top >= 0]).size / n_items)


# --------------------------------------------------------------------------------------------------
# Colour dominance (case study 004: "the model over-relies on monochrome similarity")
# --------------------------------------------------------------------------------------------------


def _same_colour_share(
    colours: npt.NDArray[np.int64], anchor_colour: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per row: the share of valid entries of ``rows`` with the anchor's colour, and how many are valid."""
    valid = rows >= 0
    same = valid & (colours[np.where(valid, rows, 0)] == anchor_colour[:, None])
    n_valid = valid.sum(axis=1)
    return same.sum(axis=1) / np.maximum(n_valid, 1), n_valid


def colour_dominance(
    colours: npt.ArrayLike,
    anchors: npt.ArrayLike,
    model_top: npt.ArrayLike,
    truly_compatible: Relevant,
) -> float | None:
    """How much more often a model pairs an item with its own colour than the truth does.

    For each anchor, the share of its model top-k (``model_top``) that has the anchor's colour,
    averaged over anchors, divided by the same share among its truly compatible items. 1.0 means
    the model matches colours exactly as often as real outfits do; 2.0 means twice as often (the
    "monochrome" failure of case study 004); below 1.0 means it avoids matching colours.

    Anchors whose colour is unknown (``-1``) are skipped, as are anchors with no valid entry in
    either list (both averages run over the same anchors, so the ratio compares like with like).
    A candidate of unknown colour counts as "not the anchor's colour" in both shares.

    Parameters
    ----------
    colours:
        ``(n_items,)`` int colour code of each item row, ``-1`` when unknown.
    anchors:
        ``(n,)`` item rows.
    model_top:
        ``(n, k)`` the model's top-k item rows for each anchor, padded with ``-1``.
    truly_compatible:
        The truly compatible item rows of each anchor: ragged 1-D arrays or a ``-1``-padded
        ``(n, m)`` array.

    Returns
    -------
    float or None
        None when no colour is known, when no anchor is left, or when the truly compatible items
        never share the anchor's colour (the ratio is undefined; a warning says so).
    """
    colour = _int_array(colours, "colours", 1)
    anchor = _int_array(anchors, "anchors", 1)
    top = _int_array(model_top, "model_top", 2)
    if top.shape[0] != anchor.size:
        raise LookbookError(f"model_top: expected {anchor.size} rows (one per anchor), got {top.shape[0]}")
    truth = _padded(truly_compatible, "truly_compatible", anchor.size)
    for name, rows in (("anchors", anchor), ("model_top", top), ("truly_compatible", truth)):
        if rows.size and rows.max() >= colour.size:
            raise LookbookError(f"{name}: item rows must be < {colour.size} (len(colours)), got {rows.max()}")
    if anchor.size and anchor.min() < 0:
        raise LookbookError(f"anchors: expected item rows >= 0, got {anchor.min()}")
    if not (colour >= 0).any():
        return None
    anchor_colour = colour[anchor]
    model_share, model_n = _same_colour_share(colour, anchor_colour, top)
    true_share, true_n = _same_colour_share(colour, anchor_colour, truth)
    keep = (anchor_colour >= 0) & (model_n > 0) & (true_n > 0)
    if not keep.any():
        return None
    baseline = float(true_share[keep].mean())
    if baseline == 0.0:
        log.warning(
            "colour_dominance: undefined, the truly compatible items of %d anchors never share the "
            "anchor's colour",
            int(keep.sum()),
        )
        return None
    return float(model_share[keep].mean()) / baseline
