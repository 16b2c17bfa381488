"""The arithmetic stages: merge duplicates found under several anchors, and blend the score.

Both are a few array operations over all candidates at once (a sort and a ``reduceat``; a fused
multiply-add), so they cost microseconds for the few hundred candidates of a page.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError
from lookbook.ranking.candidates import Candidates

__all__ = ["blend_scores", "dedupe_min_distance"]

F32 = npt.NDArray[np.float32]


def dedupe_min_distance(c: Candidates) -> Candidates:
    """One entry per catalog row: the provenance with the smallest ``d`` wins.

    An item that is close to two anchors is explained by the closer one (the stronger reason),
    and its distance is that smaller one. An unknown ``d`` (NaN) counts as farthest; ties go to
    the anchor listed first. ``a`` and ``style`` are properties of the (user, item) pair rather
    than of the path that found it, so they take the largest known value among the duplicates.
    The result is in catalog-row order.
    """
    if len(c) == 0:
        return c
    d_key = np.where(np.isnan(c.d), np.inf, c.d)
    order = np.lexsort((c.anchor, d_key, c.rows))
    sorted_rows = c.rows[order]
    first = np.ones(sorted_rows.size, dtype=bool)
    first[1:] = sorted_rows[1:] != sorted_rows[:-1]
    starts = np.flatnonzero(first)
    keep = order[starts]
    # fmax ignores NaN, so a known value beats an unknown one
    a = np.fmax.reduceat(c.a[order], starts)
    style = np.fmax.reduceat(c.style[order], starts)
    return Candidates(c.rows[keep], c.anchor[keep], c.d[keep], a, style, c.anchors)


def blend_scores(
    c: Candidates, alpha: float, *, missing_distance: float = 1.0, missing_affinity: float = 0.0
) -> F32:
    """``s = alpha * (1 - d) + (1 - alpha) * a`` per candidate.

    ``alpha`` weighs "close to what the user is looking at" against "what the user likes": a
    similar-items page wants it near 1, a home feed nearer 0. ``a`` should be on the scale of
    ``1 - d`` (a cosine of unit vectors, or a score squashed into [0, 1]) for ``alpha`` to mean
    what it says. Unknown distances count as ``missing_distance`` (1: orthogonal, no evidence) and
    unknown affinities as ``missing_affinity`` (0).
    """
    if not (isinstance(alpha, int | float) and 0.0 <= alpha <= 1.0):
        raise SchemaError(f"blend_scores alpha: expected a number in [0, 1], got {alpha!r}")
    d = np.where(np.isnan(c.d), np.float32(missing_distance), c.d)
    a = np.where(np.isnan(c.a), np.float32(missing_affinity), c.a)
    return (np.float32(alpha) * (1.0 - d) + np.float32(1.0 - alpha) * a).astype(np.float32)
