"""Sticky traffic split: a user's arm is a pure function of the experiment's name and the user id.

Hashing (not a stored table) is what shops do (case study 002 split by hashed user id): the split
survives restarts and needs no write per user, a user sees one arm for the whole experiment, and
experiments with different names split independently (the name salts the hash), so running two
at once does not put the same users in the same arms of both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lookbook.errors import LookbookError

__all__ = ["assign_arms", "split_point"]


def split_point(experiment: str, user_id: str) -> float:
    """The user's place in ``[0, 1)`` for ``experiment``: 64 bits of BLAKE2b, uniform and stable
    across processes and Python versions (``hash()`` is salted per process)."""
    digest = hashlib.blake2b(f"{experiment}\x1f{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def assign_arms(experiment: str, user_ids: Sequence[str], weights: Sequence[float]) -> npt.NDArray[np.int64]:
    """The arm index of each user: arm ``j`` takes the share ``weights[j] / sum(weights)``."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size < 1 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise LookbookError(
            f"experiment {experiment!r} weights: expected shares >= 0, sum > 0: {list(weights)}"
        )
    edges = np.cumsum(w / w.sum())
    edges[-1] = 1.0
    points = np.fromiter((split_point(experiment, str(u)) for u in user_ids), np.float64, len(user_ids))
    return np.searchsorted(edges, points, side="right").astype(np.int64)
