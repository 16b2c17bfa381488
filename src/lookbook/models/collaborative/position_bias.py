"""Position bias: a click at slot 8 of a carousel says more than a click at slot 0.

Users click what is shown first more often whatever it is (the examination hypothesis: ``P(click)
= P(examined | position) * P(relevant)``). Logged impressions give each position's click rate; its
ratio to the top position's estimates the examination propensity, and weighting each logged click
by the inverse propensity (clipped, as IPS estimators must be to keep their variance bounded)
removes most of the bias that the ranking policy of the time put into the training events.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError

F32 = npt.NDArray[np.float32]


def position_propensity(positions: npt.ArrayLike, clicked: npt.ArrayLike, *, floor: float = 0.05) -> F32:
    """Examination propensity per position (index = position, 1.0 at the top position).

    The click rate of each position relative to position 0, made non-increasing (a lower slot is
    never examined more than a higher one) and floored at ``floor``. Positions never shown get the
    propensity of the last position seen.
    """
    pos = np.asarray(positions, dtype=np.int64)
    click = np.asarray(clicked, dtype=bool)
    if pos.shape != click.shape:
        raise SchemaError(f"position_propensity: {pos.size} positions but {click.size} click flags")
    if pos.size == 0 or pos.min() < 0:
        raise SchemaError("position_propensity: need impressions with positions >= 0")
    shown = np.bincount(pos)
    clicks = np.bincount(pos[click], minlength=shown.size)
    rate = np.where(shown > 0, clicks / np.maximum(shown, 1), np.nan)
    if not np.isfinite(rate[0]) or rate[0] <= 0:
        raise SchemaError("position_propensity: the top position has no clicks to compare with")
    rel = rate / rate[0]
    rel = np.where(np.isfinite(rel), rel, np.nan)
    # carry the last seen value into unseen positions, then force non-increasing
    last = 1.0
    for j in range(rel.size):  # positions, not items: a few dozen at most
        last = rel[j] if np.isfinite(rel[j]) else last
        rel[j] = last
    rel = np.minimum.accumulate(rel)
    return np.maximum(rel, floor).astype(np.float32)


def inverse_propensity(positions: npt.ArrayLike, propensity: F32, *, clip: float = 10.0) -> F32:
    """``1 / propensity[position]`` per event, at most ``clip``; events without a position
    (negative values, e.g. product-page views) get 1."""
    pos = np.asarray(positions, dtype=np.int64)
    known = pos >= 0
    p = np.ones(pos.size, dtype=np.float32)
    p[known] = propensity[np.minimum(pos[known], propensity.size - 1)]
    return np.minimum(1.0 / p, clip).astype(np.float32)
