"""NDCG over groups of different sizes, vectorised, and its position-debiased variant.

The reranker's report compares rankers over tens of thousands of logged slates; a Python loop
over slates would dominate its run time. Groups are padded into one ``(n_groups, longest)``
matrix and sorted row-wise. (``lookbook.evaluation.metrics`` holds the metrics of the
evaluation layer, which ranking may not import; these two work on ragged logged slates.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["grouped_dcg", "grouped_ndcg", "ips_ndcg"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _pad(values: npt.NDArray[Any], starts: I64, sizes: I64, fill: float) -> F64:
    width = int(sizes.max(initial=1))
    idx = starts[:, None] + np.arange(width)[None, :]
    valid = np.arange(width)[None, :] < sizes[:, None]
    out = np.full((starts.size, width), fill, dtype=np.float64)
    out[valid] = values[idx[valid]]
    return out


def grouped_dcg(
    scores: npt.ArrayLike,
    gains: npt.ArrayLike,
    starts: I64,
    sizes: I64,
    k: int,
    *,
    tie_break: npt.ArrayLike | None = None,
) -> tuple[F64, F64]:
    """DCG@k and ideal DCG@k of each group (rows ``starts[g] : starts[g] + sizes[g]``).

    ``gains`` are the graded gains themselves (e.g. ``2**label - 1``). Ties in ``scores`` are
    broken by ``tie_break`` (higher first; default: row order), so that a scorer which cannot
    tell items apart is not credited with the order they were logged in. Vectorised: the groups
    are padded into one ``(n_groups, longest)`` matrix and sorted row-wise.
    """
    s = _pad(np.asarray(scores, dtype=np.float64), starts, sizes, -np.inf)
    g = _pad(np.asarray(gains, dtype=np.float64), starts, sizes, 0.0)
    t = (
        np.zeros_like(s)
        if tie_break is None
        else _pad(np.asarray(tie_break, dtype=np.float64), starts, sizes, 0.0)
    )
    s = np.where(np.isnan(s), -np.inf, s)
    order = np.lexsort((-t, -s), axis=-1)
    ranked = np.take_along_axis(g, order, axis=1)[:, :k]
    disc = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    dcg = (ranked * disc).sum(axis=1)
    ideal = -np.sort(-g, axis=1)[:, :k]
    idcg = (ideal * disc[: ideal.shape[1]]).sum(axis=1)
    return dcg, idcg


def grouped_ndcg(
    scores: npt.ArrayLike,
    gains: npt.ArrayLike,
    starts: I64,
    sizes: I64,
    k: int,
    *,
    tie_break: npt.ArrayLike | None = None,
) -> F64:
    """NDCG@k of each group, NaN where the group has no gain (see ``grouped_dcg``)."""
    dcg, idcg = grouped_dcg(scores, gains, starts, sizes, k, tie_break=tie_break)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, dcg / idcg, np.nan)


def ips_ndcg(
    scores: npt.ArrayLike,
    gains: npt.ArrayLike,
    weights: npt.ArrayLike,
    starts: I64,
    sizes: I64,
    k: int,
    *,
    tie_break: npt.ArrayLike | None = None,
) -> float:
    """Summed IPS-weighted DCG@k over summed ideal DCG@k of the same weighted gains.

    With ``weights`` the inverse examination propensities of the logged positions, the summed
    DCG is the unbiased IPS estimate of the relevance DCG a scorer would collect (Joachims et al.
    2017); the denominator is the same for every scorer, so comparisons are those of the unbiased
    estimate, scaled to [0, 1]. (A per-group NDCG would cancel the weights in every slate with one
    click, and so keep the bias.)
    """
    g = np.asarray(gains, dtype=np.float64) * np.asarray(weights, dtype=np.float64)
    dcg, idcg = grouped_dcg(scores, g, starts, sizes, k, tie_break=tie_break)
    total = float(idcg.sum())
    return float(dcg.sum() / total) if total > 0 else float("nan")
