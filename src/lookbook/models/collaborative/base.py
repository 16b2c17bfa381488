"""What every collaborative recommender offers, so one harness can evaluate them side by side."""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from lookbook.models.collaborative.data import InteractionData

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@runtime_checkable
class Recommender(Protocol):
    """A model that scores every item for known users.

    ``fit`` learns from ``InteractionData`` (train events only); ``score(users)`` returns
    ``(len(users), n_items)`` scores, higher = more likely, for user rows of that data. The harness
    masks items the user already has and takes the top k; users unseen in training are scored by
    popularity for every model alike.
    """

    name: str

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self: ...

    def score(self, users: I64) -> F32: ...
