"""Top-k over score rows: the one ranking every collaborative model, the tuning and the harness use.

A ranking is reproducible and never shows a user what they already have: items to leave out (the
user's "train items", ``seen_matrix``) and NaN scores become ``-inf``, ties go to the lower item
row, and a row with fewer than ``k`` rankable items is padded with ``-1`` (score ``-inf``) rather
than returned ragged, so batches come back as ``(n_users, k)`` arrays (implicit's convention).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lookbook.errors import DimensionMismatch, LookbookError
from lookbook.models.collaborative.data import InteractionData

__all__ = ["rank_items", "ranked_by", "seen_matrix", "top_k"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: Users scored at once: memory stays at ``BATCH_SIZE * n_items`` floats.
BATCH_SIZE = 1024


def seen_matrix(data: InteractionData) -> sp.csr_matrix:
    """(n_users, n_items) boolean: the items each user has any event with (the "train items").

    Any event counts, views and returns included (unlike ``data.matrix()``, which floors net
    negative pairs away): an item the user returned is not a discovery either.
    """
    m = sp.csr_matrix(
        (np.ones(data.user.size, dtype=np.float32), (data.user, data.item)),
        shape=(data.n_users, data.n_items),
    )
    m.sum_duplicates()
    return m.astype(bool)


def top_k(scores: npt.NDArray[np.floating[Any]], k: int) -> tuple[I64, F32]:
    """Per row, the ``k`` best columns and their scores, best first.

    ``-inf`` (and NaN) scores are never returned: their places hold column ``-1`` and score
    ``-inf``. Ties are broken by the lower column. ``scores`` is ``(n, m)``; the result is two
    ``(n, k)`` arrays, whatever ``m`` is.
    """
    if k < 1:
        raise LookbookError(f"top_k k: expected >= 1, got {k}")
    scores = np.asarray(scores, dtype=np.float32)
    n, m = scores.shape
    ids = np.full((n, k), -1, dtype=np.int64)
    values = np.full((n, k), -np.inf, dtype=np.float32)
    width = min(k, m)
    if n == 0 or width == 0:
        return ids, values
    if np.isnan(scores).any():
        scores = np.where(np.isnan(scores), np.float32(-np.inf), scores)
    # The width-th best score per row; every column above it is in, and of the columns tied with
    # it the lowest fill what is left (argpartition alone would pick among tied columns at random).
    kth = np.partition(scores, m - width, axis=1)[:, m - width, None]
    above = scores > kth
    tied = scores == kth
    take = above | (tied & (np.cumsum(tied, axis=1) <= width - above.sum(axis=1, keepdims=True)))
    top = np.nonzero(take)[1].reshape(n, width)
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.lexsort((top, -top_scores))
    ranked = np.take_along_axis(top, order, axis=1)
    ranked_scores = np.take_along_axis(top_scores, order, axis=1)
    ranked[ranked_scores == -np.inf] = -1
    ids[:, :width] = ranked
    values[:, :width] = ranked_scores
    return ids, values


def ranked_by(
    score: Callable[[I64], npt.ArrayLike],
    users: I64,
    k: int,
    *,
    exclude: sp.csr_matrix | None = None,
    candidates: I64 | None = None,
    n_items: int | None = None,
    batch_size: int = BATCH_SIZE,
    owner: str = "model.score",
) -> tuple[I64, F32]:
    """``(len(users), k)`` item rows and scores from ``score(users) -> (len(users), n_items)``.

    ``exclude`` is ``(n_users, n_items)``: a user's nonzeros are never returned. ``candidates``
    (sorted, distinct item rows) restricts the ranking to those items. ``n_items`` (default: the
    width of ``exclude``) is the row width ``score`` must return; ``owner`` names the scorer when
    it does not. Inputs are trusted (the public callers check them).
    """
    users = np.asarray(users, dtype=np.int64)
    ids = np.full((users.size, k), -1, dtype=np.int64)
    values = np.full((users.size, k), -np.inf, dtype=np.float32)
    if n_items is None and exclude is not None:
        n_items = exclude.shape[1]
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        scores = np.array(score(batch), dtype=np.float32, copy=True)
        if (
            scores.ndim != 2
            or scores.shape[0] != batch.size
            or (n_items is not None and scores.shape[1] != n_items)
        ):
            expected = f"({batch.size}, {'n_items' if n_items is None else n_items})"
            raise DimensionMismatch(f"{owner}: expected shape {expected}, got {scores.shape}")
        scores[np.isnan(scores)] = -np.inf
        if exclude is not None:
            sub = exclude[batch]
            scores[np.repeat(np.arange(batch.size), np.diff(sub.indptr)), sub.indices] = -np.inf
        if candidates is None:
            top, top_scores = top_k(scores, k)
        else:
            top, top_scores = top_k(scores[:, candidates], k)
            top = np.where(top >= 0, candidates[np.maximum(top, 0)], -1)
        ids[start : start + batch.size] = top
        values[start : start + batch.size] = top_scores
    return ids, values


def rank_items(
    model: Any, users: npt.ArrayLike, train_matrix: sp.spmatrix, k: int, *, batch_size: int = BATCH_SIZE
) -> I64:
    """``(len(users), k)`` item rows, best first, never one of the user's train items.

    For any scorer with ``score(users) -> (len(users), n_items)`` (a fitted ``Recommender``
    ranks with ``recommend``, which does this against its own training data). ``train_matrix`` is
    ``(n_users, n_items)``; its nonzeros are the items to leave out (their score becomes ``-inf``,
    as do NaN scores). Users are scored ``batch_size`` at a time. Ties are broken by the lower item
    row, so a ranking is reproducible. A row with fewer than ``k`` rankable items is padded with
    ``-1``.
    """
    if k < 1:
        raise LookbookError(f"rank_items k: expected >= 1, got {k}")
    owner = getattr(model, "name", type(model).__name__)
    ids, _ = ranked_by(
        model.score,
        np.asarray(users, dtype=np.int64),
        k,
        exclude=sp.csr_matrix(train_matrix),
        batch_size=batch_size,
        owner=f"{owner}.score",
    )
    return ids
