"""Every metric Lookbook reports, each defined once, over arrays, with numpy only.

This module sits on layer 2, beside ``tables``: it imports only ``lookbook.errors`` and numpy, so
every layer that measures something counts the same way: the reranker's early stopping
(``ranking``), the detector report (``vision``), the benchmarks and harnesses (``evaluation``).
Callers decide *what* to score and call these to decide *how* to count, so FITB accuracy, AUC or
NDCG mean the same thing in every report. Each metric is tested against a hand-worked example and a
slow reference loop written from its definition (``tests/test_metrics.py``).

Shapes and conventions
----------------------
* ``ranked``: ``(users, width)`` int item rows, best first, padded with ``-1`` (implicit's
  ``recommend`` contract), or a sequence of 1-D int rows of any lengths (padded here). A row lists
  each item at most once.
* ``relevant``: the items that count as hits for each row, in any of three forms: a sequence of
  1-D int arrays (ragged), a ``(users, m)`` int array padded with ``-1``, or a ``(users, n_items)``
  boolean mask. Rows with no relevant item are left out of the mean (there is nothing to find).
* Ties are never broken by position: AUC counts a tied (positive, negative) pair as half right and
  FITB gives a question whose right answer ties with ``t - 1`` others ``1 / t``. Both are the
  expected value under a random tie-break, so a constant scorer scores chance, not 100%.

NDCG, one definition
--------------------
``DCG@k = sum_{j < k} gain_j / log2(j + 2)``, positions ``j`` from 0, and ``NDCG@k = DCG@k / IDCG@k``
where the ideal DCG ranks the same candidates' gains best first. Every NDCG here goes through the
same two private helpers (``_dcg``, ``_ideal_dcg``); the public functions only say where the gains
come from:

* ``ndcg_at_k``: binary gains (an item is relevant or not) over ranked item rows, mean over rows.
* ``graded_ndcg``: graded gains given per row in ranked order, against each row's ideal pool.
* ``grouped_dcg`` / ``grouped_ndcg`` / ``ips_ndcg``: logged slates of different sizes ordered by a
  scorer, with graded (e.g. ``2**label - 1``) and, for ``ips_ndcg``, propensity-weighted gains.
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
    "average_precision",
    "colour_dominance",
    "coverage",
    "dcg_at_k",
    "fitb_accuracy",
    "graded_ndcg",
    "grouped_dcg",
    "grouped_ndcg",
    "ips_ndcg",
    "mrr",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
#: Ranked item rows, best first: a ``-1``-padded ``(users, width)`` int array or ragged 1-D int rows.
Ranked = Sequence[npt.ArrayLike] | npt.NDArray[Any]
#: Item rows per ranked row: ragged 1-D int arrays, a ``-1``-padded 2-D int array, or a boolean mask.
Relevant = Sequence[npt.ArrayLike] | npt.NDArray[Any]
#: Gains per row: a 2-D float array (every entry counts) or ragged 1-D float rows.
Gains = Sequence[npt.ArrayLike] | npt.NDArray[Any]


# --------------------------------------------------------------------------------------------------
# Input checks (boundaries) and the shared hit matrix
# --------------------------------------------------------------------------------------------------


def _check_k(k: Any, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise LookbookError(f"{name}: expected an int >= 1, got {k!r}")
    return int(k)


def _scores_1d(values: npt.ArrayLike, name: str) -> F64:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise LookbookError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise LookbookError(
            f"{name}: expected finite numbers, got NaN or inf at positions "
            f"{np.flatnonzero(~np.isfinite(arr))[:5].tolist()}"
        )
    return arr


def _int_array(values: npt.ArrayLike, name: str, ndim: int) -> I64:
    arr = np.asarray(values)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.ndim != ndim:
        raise LookbookError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise LookbookError(f"{name}: expected integer item rows, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _padded(values: Relevant, name: str, n_rows: int | None = None) -> I64:
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


def _ranked(ranked: Ranked, k: int | None) -> I64:
    """The first ``k`` columns of ``ranked`` (all when ``k`` is None), checked for repeats."""
    arr = _padded(ranked, "ranked")
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


def _hits(ranked: I64, relevant: Relevant) -> tuple[npt.NDArray[np.bool_], I64]:
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


def _mean_over_users(values: F64, n_relevant: I64) -> float:
    has = n_relevant > 0
    if not has.any():
        raise LookbookError("relevant: expected at least one row with a relevant item, got none")
    return float(values[has].mean())


def _gain_rows(values: Gains, name: str, fill: float) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Gains as a 2-D float array (ragged rows padded with ``fill``) and the mask of real entries."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        arr = values.astype(np.float64, copy=False)
        if arr.ndim != 2:
            raise LookbookError(
                f"{name}: expected a (rows, width) array or ragged rows, got shape {arr.shape}"
            )
        valid = np.ones(arr.shape, dtype=bool)
    else:
        rows = [np.asarray(v, dtype=np.float64) for v in values]
        for i, row in enumerate(rows):
            if row.ndim != 1:
                raise LookbookError(f"{name}[{i}]: expected a 1-D row of gains, got shape {row.shape}")
        width = max((row.size for row in rows), default=0)
        lengths = np.array([row.size for row in rows], dtype=np.int64)
        valid = np.arange(width)[None, :] < lengths[:, None]
        arr = np.full((len(rows), width), fill, dtype=np.float64)
        if width:
            arr[valid] = np.concatenate(rows)
    if not np.isfinite(arr[valid]).all():
        raise LookbookError(f"{name}: expected finite gains, got NaN or inf")
    return arr, valid


# --------------------------------------------------------------------------------------------------
# NDCG: one discount, one DCG, one ideal DCG
# --------------------------------------------------------------------------------------------------


def _discount(width: int) -> F64:
    """``1 / log2(j + 2)`` for positions ``j = 0 .. width - 1``: the one NDCG discount."""
    return 1.0 / np.log2(np.arange(width, dtype=np.float64) + 2.0)


def _dcg(gains: F64, k: int) -> F64:
    """DCG@k of each row of ``gains`` (ranked order, padding 0). Trusts its inputs."""
    top = gains[:, :k]
    return top @ _discount(top.shape[1])


def _ideal_dcg(pool: F64, k: int) -> F64:
    """DCG@k of each row of ``pool`` sorted best first; ``-inf`` marks padding (sorts last, gains 0).

    Only the best ``k`` of each row matter, so wide pools (a whole catalog slot) are cut with one
    ``np.partition`` before the sort.
    """
    if pool.shape[1] > k:
        pool = -np.partition(-pool, k - 1, axis=1)[:, :k]
    best = -np.sort(-pool, axis=1)
    return np.where(np.isneginf(best), 0.0, best) @ _discount(best.shape[1])


def _ratio(dcg: F64, idcg: F64) -> F64:
    """``dcg / idcg`` per row, NaN where the ideal DCG is not positive (nothing to find)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), np.nan)


def dcg_at_k(gains: Gains, k: int) -> F64:
    """Discounted cumulative gain at ``k`` of each row: ``sum_{j < k} gains[u, j] / log2(j + 2)``.

    The logarithmic discount (Järvelin and Kekäläinen 2002, the form trec_eval and LightGBM use)
    keeps the first position whole and makes each later one worth a little less, slowly, because
    shoppers scan a page top down but do not stop after the first row. The gains are used as given
    (linear): a caller that wants the exponential gain ``2**label - 1`` passes that.

    Parameters
    ----------
    gains:
        ``(rows, width)`` gain of each ranked position, best first, or ragged 1-D rows (shorter rows
        gain nothing past their end). Columns past ``k`` are ignored.
    k:
        Cut-off, >= 1.

    Returns
    -------
    ``(rows,)`` float64 DCG@k.
    """
    k = _check_k(k)
    g, _ = _gain_rows(gains, "gains", 0.0)
    return _dcg(g, k)


def graded_ndcg(gains: Gains, ideal: Gains, k: int) -> F64:
    """NDCG@k of each row with graded gains: ``DCG@k(gains) / DCG@k(ideal sorted best first)``.

    ``gains`` are the gains of what was shown, in ranked order; ``ideal`` the gains of everything
    that could have been shown (any order, any length), whose best ``k`` make the ideal DCG. Graded
    gains are what a truth with degrees needs, e.g. a user's true affinity to each item of the
    photo's slots (shop the look), where "relevant or not" would throw the degrees away.

    Returns
    -------
    ``(rows,)`` float64 NDCG@k; NaN where the ideal DCG is not positive (no gain to be had, so the
    ratio says nothing; the caller decides whether that row counts as 0 or is skipped).
    """
    k = _check_k(k)
    g, _ = _gain_rows(gains, "gains", 0.0)
    pool, valid = _gain_rows(ideal, "ideal", 0.0)
    if pool.shape[0] != g.shape[0]:
        raise LookbookError(f"ideal: expected {g.shape[0]} rows (one per gains row), got {pool.shape[0]}")
    return _ratio(_dcg(g, k), _ideal_dcg(np.where(valid, pool, -np.inf), k))


def ndcg_at_k(ranked: Ranked, relevant: Relevant, k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with binary gains, averaged over rows.

    ``DCG = sum_j hit_j / log2(j + 2)`` over the top ``k`` (``j`` from 0). The ideal DCG puts
    ``min(|relevant|, k)`` hits first, so a row with fewer relevant items than ``k`` can still reach
    1.0 by ranking all of them first. Binary gains because a held-out click or purchase says "this
    one", not "how much". Rows with no relevant item are skipped.
    """
    k = _check_k(k)
    top = _ranked(ranked, k)
    hits, n_relevant = _hits(top, relevant)
    ideal = (np.arange(k)[None, :] < n_relevant[:, None]).astype(np.float64)
    values = _ratio(_dcg(hits.astype(np.float64), k), _ideal_dcg(ideal, k))
    return _mean_over_users(values, n_relevant)


def _pad_groups(values: npt.ArrayLike, starts: I64, sizes: I64, fill: float) -> F64:
    """Rows ``starts[g] : starts[g] + sizes[g]`` of a flat array as one ``(groups, longest)`` matrix."""
    flat = np.asarray(values, dtype=np.float64)
    width = int(sizes.max(initial=1))
    idx = starts[:, None] + np.arange(width)[None, :]
    valid = np.arange(width)[None, :] < sizes[:, None]
    out = np.full((starts.size, width), fill, dtype=np.float64)
    out[valid] = flat[idx[valid]]
    return out


def grouped_dcg(
    scores: npt.ArrayLike,
    gains: npt.ArrayLike,
    starts: npt.ArrayLike,
    sizes: npt.ArrayLike,
    k: int,
    *,
    tie_break: npt.ArrayLike | None = None,
) -> tuple[F64, F64]:
    """DCG@k and ideal DCG@k of each group (flat rows ``starts[g] : starts[g] + sizes[g]``).

    For logged slates: each group is one slate, ``scores`` is what a ranker thinks of each row and
    ``gains`` the graded gains themselves (e.g. ``2**label - 1``). Each group is ordered by falling
    score; ties are broken by ``tie_break`` (higher first; default: row order), so that a scorer
    which cannot tell items apart is not credited with the order they were logged in. NaN scores
    rank last. Vectorised: the groups are padded into one ``(groups, longest)`` matrix and sorted
    row-wise, since the reranker's report covers tens of thousands of slates.
    """
    k = _check_k(k)
    starts = np.asarray(starts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    if starts.shape != sizes.shape or starts.ndim != 1:
        raise LookbookError(f"sizes: expected shape {starts.shape} like starts, got {sizes.shape}")
    s = _pad_groups(scores, starts, sizes, -np.inf)
    g = _pad_groups(gains, starts, sizes, 0.0)
    t = np.zeros_like(s) if tie_break is None else _pad_groups(tie_break, starts, sizes, 0.0)
    s = np.where(np.isnan(s), -np.inf, s)
    order = np.lexsort((-t, -s), axis=-1)
    shown = np.take_along_axis(g, order, axis=1)
    valid = np.arange(g.shape[1])[None, :] < sizes[:, None]
    return _dcg(shown, k), _ideal_dcg(np.where(valid, g, -np.inf), k)


def grouped_ndcg(
    scores: npt.ArrayLike,
    gains: npt.ArrayLike,
    starts: npt.ArrayLike,
    sizes: npt.ArrayLike,
    k: int,
    *,
    tie_break: npt.ArrayLike | None = None,
) -> F64:
    """NDCG@k of each group, NaN where the group has no gain (see ``grouped_dcg``)."""
    dcg, idcg = grouped_dcg(scores, gains, starts, sizes, k, tie_break=tie_break)
    return _ratio(dcg, idcg)


def ips_ndcg(
    scores: npt.ArrayLike,
    gains: npt.ArrayLike,
    weights: npt.ArrayLike,
    starts: npt.ArrayLike,
    sizes: npt.ArrayLike,
    k: int,
    *,
    tie_break: npt.ArrayLike | None = None,
) -> float:
    """Summed IPS-weighted DCG@k over summed ideal DCG@k of the same weighted gains.

    With ``weights`` the inverse examination propensities of the logged positions, the summed
    DCG is the unbiased IPS estimate of the relevance DCG a scorer would collect (Joachims et al.
    2017); the denominator is the same for every scorer, so comparisons are those of the unbiased
    estimate, scaled to [0, 1]. (A per-group NDCG would cancel the weights in every slate with one
    click, and so keep the bias.) NaN when no group has any gain.
    """
    g = np.asarray(gains, dtype=np.float64) * np.asarray(weights, dtype=np.float64)
    dcg, idcg = grouped_dcg(scores, g, starts, sizes, k, tie_break=tie_break)
    total = float(idcg.sum())
    return float(dcg.sum() / total) if total > 0 else float("nan")


# --------------------------------------------------------------------------------------------------
# Other ranking metrics
# --------------------------------------------------------------------------------------------------


def recall_at_k(ranked: Ranked, relevant: Relevant, k: int) -> float:
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


def precision_at_k(ranked: Ranked, relevant: Relevant, k: int) -> float:
    """Share of each row's top ``k`` that is relevant, ``|hits in top k| / k``, averaged over rows.

    The denominator is ``k`` itself, not the length of the list: a page of ``k`` slots with three
    items and seven empty slots shows three things, not a perfect page, so padding (``-1``) and
    missing columns count as misses. Rows with no relevant item are skipped, as in recall.
    """
    k = _check_k(k)
    top = _ranked(ranked, k)
    hits, n_relevant = _hits(top, relevant)
    return _mean_over_users(hits.sum(axis=1) / float(k), n_relevant)


def mrr(ranked: Ranked, relevant: Relevant, k: int | None = None) -> float:
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


def coverage(ranked: Ranked, n_items: int, k: int | None = None) -> float:
    """Share of the catalog that appears in at least one row's top ``k`` (all columns if ``k`` is None).

    Padding (``-1``) is ignored. Coverage says whether a model recommends the whole catalog or
    keeps showing the same popular corner of it.
    """
    n_items = _check_k(n_items, "n_items")
    if k is not None:
        k = _check_k(k)
    top = _padded(ranked, "ranked")
    if k is not None:
        top = top[:, :k]
    if top.size and top.max() >= n_items:
        raise LookbookError(f"ranked: item rows must be < n_items={n_items}, got {top.max()}")
    return float(np.unique(top[top >= 0]).size / n_items)


def average_precision(tp: npt.ArrayLike, n_truth: int) -> float:
    """All-point interpolated average precision of detections already sorted by falling score.

    The PASCAL VOC 2010+ definition: the area under the precision envelope (precision made
    monotone from the right) over recall, which does not depend on arbitrary recall sample points.
    ``tp`` is a 0/1 array, one entry per detection; ``n_truth`` the number of true objects. With no
    true objects AP is undefined and NaN is returned (the caller leaves that class out of mAP).
    """
    if n_truth <= 0:
        return float("nan")
    hits = np.asarray(tp, dtype=np.float64)
    if hits.size == 0:
        return 0.0
    ctp = np.cumsum(hits)
    recall = ctp / n_truth
    precision = ctp / np.arange(1, hits.size + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


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
# Colour dominance (case study 004: "the model over-relies on monochrome similarity")
# --------------------------------------------------------------------------------------------------


def _same_colour_share(colours: I64, anchor_colour: I64, rows: I64) -> tuple[F64, I64]:
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
