"""The reranker's features, computed one way for training and for serving.

A learned ranker is only as good as the agreement between the features it was trained on and the
ones it is served; the classic failure is two implementations (a batch job and a request
handler) that drift apart. So both paths end in ``feature_matrix``, which takes plain aligned
arrays: the offline builder gathers them per logged impression (many users), the request path per
candidate (one user), and the matrix, its column order and its missing-value conventions are one.

Columns (``FEATURES``), NaN where unknown (LightGBM routes missing values on its own):

- ``d``: cosine distance to the anchor that found the item;
- ``a``: the user's affinity (preference model);
- ``style``: style compatibility with what the user owns or looks at;
- ``log_popularity``: ``log1p(popularity)``;
- ``price_z``: z-score of the item's log price in the user's price band;
- ``brand_affinity``: the user's share of interactions with the item's brand;
- ``age_days``: age of the item at request time (new arrivals behave differently);
- ``slot``: the item's slot code (categorical).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError
from lookbook.models.collaborative.data import EventWeights, event_weights
from lookbook.ranking.candidates import Candidates
from lookbook.ranking.catalog import MISSING_TIME, CatalogArrays
from lookbook.ranking.context import UserContext, kind_codes
from lookbook.schema import EventKind

__all__ = [
    "CATEGORICAL",
    "FEATURES",
    "POPULARITY_WEIGHTS",
    "RECENT_KINDS",
    "candidate_features",
    "feature_matrix",
    "item_popularity",
]

#: Kinds that make an item one of the user's "recent items", the anchors of ``d`` in the ranker's
#: training data and in serving alike.
RECENT_KINDS: tuple[EventKind, ...] = (
    EventKind.CLICK,
    EventKind.SAVE,
    EventKind.ADD_TO_BAG,
    EventKind.PURCHASE,
)

F32 = npt.NDArray[np.float32]

FEATURES: tuple[str, ...] = (
    "d",
    "a",
    "style",
    "log_popularity",
    "price_z",
    "brand_affinity",
    "age_days",
    "slot",
)
#: Columns LightGBM treats as categorical.
CATEGORICAL: tuple[str, ...] = ("slot",)

DAY_SECONDS = 86_400.0

#: Kind weights and half-life of ``item_popularity``: the collaborative defaults with a two-week
#: half-life, because "popular" on a shop page means popular lately (weekly drops sell out).
POPULARITY_WEIGHTS = EventWeights(half_life_days=14.0)


def feature_matrix(
    *,
    d: npt.ArrayLike,
    a: npt.ArrayLike,
    style: npt.ArrayLike,
    popularity: npt.ArrayLike,
    price_z: npt.ArrayLike,
    brand_affinity: npt.ArrayLike,
    created_at: npt.ArrayLike,
    now: npt.ArrayLike,
    slot: npt.ArrayLike,
) -> F32:
    """``(n, len(FEATURES))`` float32 from aligned ``(n,)`` arrays (``now`` may be a scalar).

    ``created_at`` / ``now`` are epoch seconds (``MISSING_TIME``: unknown); ``slot`` are
    ``SLOT_VOCAB`` codes.
    """
    cols = [np.asarray(x) for x in (d, a, style, popularity, price_z, brand_affinity, created_at, slot)]
    n = cols[0].shape[0] if cols[0].ndim == 1 else -1
    for name, col in zip(
        ("d", "a", "style", "popularity", "price_z", "brand_affinity", "created_at", "slot"),
        cols,
        strict=True,
    ):
        if col.shape != (n,):
            raise SchemaError(f"feature_matrix {name}: expected shape ({max(n, 0)},) like d, got {col.shape}")
    created = cols[6].astype(np.int64)
    age = (np.asarray(now, dtype=np.int64) - created) / DAY_SECONDS
    age = np.where(created == MISSING_TIME, np.nan, np.maximum(age, 0.0))
    pop = cols[3].astype(np.float32)
    out = np.empty((n, len(FEATURES)), dtype=np.float32)
    out[:, 0] = cols[0]
    out[:, 1] = cols[1]
    out[:, 2] = cols[2]
    out[:, 3] = np.log1p(np.maximum(pop, 0.0))
    out[:, 4] = cols[4]
    out[:, 5] = cols[5]
    out[:, 6] = age
    out[:, 7] = cols[7]
    return out


def candidate_features(c: Candidates, catalog: CatalogArrays, user: UserContext) -> F32:
    """The feature matrix of one request's candidates (the serving path)."""
    rows = c.rows
    return feature_matrix(
        d=c.d,
        a=c.a,
        style=c.style,
        popularity=catalog.popularity[rows],
        price_z=user.price_z(catalog.price[rows]),
        brand_affinity=user.brand_share(catalog.brand[rows]),
        created_at=catalog.created_at[rows],
        now=user.now,
        slot=catalog.slot[rows],
    )


def item_popularity(
    n_items: int,
    items: npt.ArrayLike,
    kinds: npt.ArrayLike,
    timestamps: npt.ArrayLike,
    *,
    now: int,
    weights: EventWeights = POPULARITY_WEIGHTS,
) -> F32:
    """``(n_items,)`` recency-weighted positive engagement per catalog row, as of ``now``.

    The ``popularity`` column of ``CatalogArrays``: the offline training data and the serving
    catalog must both compute it here, with the same weights, for the reranker's
    ``log_popularity`` to mean the same thing. Returns and dislikes do not subtract (an item many
    people return is still much looked at); events after ``now`` are the caller's to exclude.
    """
    rows = np.asarray(items, dtype=np.int64)
    w = event_weights(kind_codes(kinds), np.asarray(timestamps, dtype=np.int64), weights, now=now)
    if rows.size and (rows.min() < 0 or rows.max() >= n_items):
        raise SchemaError(f"item_popularity items: catalog rows must be in [0, {n_items})")
    return np.bincount(rows, weights=np.maximum(w, 0.0), minlength=n_items).astype(np.float32)
