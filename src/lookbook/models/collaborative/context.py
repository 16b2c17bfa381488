"""Popularity within a context: the fallback for a shopper Lookbook knows nothing about yet.

A visitor with no events still has a context (region, device, the hour): what sells in the north
on mobile in the evening is a better first guess than what sells everywhere. Each context's item
counts are shrunk towards the global popularity by ``prior`` pseudo-events, so a context with few
events borrows from the whole shop instead of recommending its three lucky items.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lookbook.errors import NotFittedError, SchemaError
from lookbook.models.collaborative.data import InteractionData

F32 = npt.NDArray[np.float32]


class ContextPopularity:
    """``fit(data, context)`` with one context value per event -> ``scores(value)`` over all items."""

    def __init__(self, prior: float = 50.0) -> None:
        if not prior >= 0:
            raise SchemaError(f"ContextPopularity.prior: expected >= 0, got {prior}")
        self.prior = prior

    def fit(self, data: InteractionData, context: npt.ArrayLike) -> Self:
        values = np.asarray(context).astype(str)
        if values.shape != data.user.shape:
            raise SchemaError(
                f"ContextPopularity.fit context: expected one value per event ({data.user.size}), "
                f"got {values.size}"
            )
        positive = data.weight > 0
        names, code = np.unique(values[positive], return_inverse=True)
        counts = sp.csr_matrix(
            (data.weight[positive], (code.ravel(), data.item[positive])),
            shape=(names.size, data.n_items),
            dtype=np.float64,
        ).toarray()
        total = counts.sum(axis=0)
        share = total / max(total.sum(), 1e-12)
        self.contexts_ = names
        self.global_ = share.astype(np.float32)
        self.by_context_ = (
            (counts + self.prior * share) / (counts.sum(axis=1, keepdims=True) + self.prior)
        ).astype(np.float32)
        return self

    def scores(self, value: str | None) -> F32:
        """Item scores (a probability over items) for a context value; global popularity for an
        unknown or missing value."""
        if not hasattr(self, "by_context_"):
            raise NotFittedError("ContextPopularity: call fit() first")
        if value is None:
            return self.global_.copy()
        pos = np.searchsorted(self.contexts_, str(value))
        if pos < self.contexts_.size and self.contexts_[pos] == str(value):
            return self.by_context_[pos].copy()
        return self.global_.copy()
