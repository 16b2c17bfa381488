"""Shop the look, from detected garments on: a photo becomes a set of sets of catalog items.

Case study 000's pipeline after detection: each garment's crop vector finds its ``k`` nearest
catalog items of the garment's slot (its *anchors*, one filtered query per garment); the garment's
vector is the mean of its anchors' vectors, which damps the noise of one imperfect crop; a photo's
score for a user is the maximum over its garments of ``user . garment`` (one garment the user
loves is enough to make the photo interesting); recommendations are the anchors' neighbours, one
query per anchor, merged with the smallest distance kept and ranked by the shared stages with
``s = alpha (1 - d) + (1 - alpha) a``.

Detection and crop encoding live in ``lookbook.vision`` and the encoders; this module starts from
crop vectors in the catalog's content space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.index.filters import Eq
from lookbook.ranking import (
    Anchor,
    Constraints,
    DiversityConfig,
    RankConfig,
    Relation,
    concat,
    from_search,
    rank,
)
from lookbook.touchpoints.api import RecItem
from lookbook.touchpoints.common import IN_STOCK, popularity_affinity

if TYPE_CHECKING:
    from lookbook.touchpoints.shop import Shop

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class GarmentAnchors:
    """One detected garment mapped to the catalog: its slot, detection confidence, and its anchors
    (catalog rows, nearest first, with their cosine distances to the crop)."""

    slot: str
    confidence: float
    rows: I64
    distances: F32

    def __post_init__(self) -> None:
        if self.rows.shape != self.distances.shape or self.rows.ndim != 1:
            raise SchemaError(f"GarmentAnchors {self.slot}: rows and distances must be equal 1-D arrays")
        if not 0.0 <= self.confidence <= 1.0:
            raise SchemaError(
                f"GarmentAnchors {self.slot} confidence: expected [0, 1], got {self.confidence}"
            )


@dataclass(frozen=True)
class ShopTheLookConfig:
    """``anchors`` per garment; ``per_anchor`` candidates per anchor; ``alpha`` between the photo
    (closeness to its garments' anchors) and the user; ``min_confidence`` drops weak garments."""

    anchors: int = 5
    per_anchor: int = 30
    alpha: float = 0.6
    min_confidence: float = 0.3
    k: int = 20


def garment_anchors(
    shop: Shop, crops: npt.ArrayLike, slots: list[str], confidences: list[float], k: int = 5
) -> list[GarmentAnchors]:
    """The set of sets: each crop's ``k`` nearest in-stock catalog items of its slot (content space)."""
    x = np.asarray(crops, dtype=np.float32)
    state = shop.state
    if x.ndim != 2 or x.shape[1] != state.content.shape[1]:
        raise DimensionMismatch(
            f"crops: expected (n, {state.content.shape[1]}) content vectors, got {x.shape}"
        )
    if not (len(slots) == len(confidences) == x.shape[0]):
        raise SchemaError(f"crops: {x.shape[0]} vectors, {len(slots)} slots, {len(confidences)} confidences")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    out = []
    for i, slot in enumerate(slots):  # one filtered query per garment: a handful per photo
        found = shop.spaces.search("content", x[i], k, filter=Eq("slot", slot) & IN_STOCK)
        ids = [j for j in found.ids[0].tolist() if j]
        rows = state.catalog.ids.lookup(ids, missing=-1)
        keep = rows >= 0
        d = (1.0 - found.scores[0][: len(ids)])[keep].astype(np.float32)
        out.append(GarmentAnchors(slot, float(confidences[i]), rows[keep].astype(np.int64), d))
    return out


def garment_vectors(garments: list[GarmentAnchors], item_vectors: F32) -> F32:
    """Each garment's vector: the normalised mean of its anchors' vectors (zeros without anchors)."""
    out = np.zeros((len(garments), item_vectors.shape[1]), dtype=np.float32)
    for g, garment in enumerate(garments):  # a handful of garments
        if garment.rows.size:
            mean = item_vectors[garment.rows].mean(axis=0)
            out[g] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def photo_scores(users: npt.ArrayLike, photos: list[F32]) -> F32:
    """``(n_users, n_photos)``: max over each photo's garments of ``user . garment`` (-inf for a
    photo without garments), vectorised over users."""
    u = np.atleast_2d(np.asarray(users, dtype=np.float32))
    out = np.full((u.shape[0], len(photos)), -np.inf, dtype=np.float32)
    for p, garments in enumerate(photos):  # photos of a feed page: tens
        if len(garments):
            out[:, p] = (u @ np.asarray(garments, dtype=np.float32).T).max(axis=1)
    return out


def recommend_for_photo(
    shop: Shop,
    garments: list[GarmentAnchors],
    user_id: str | None,
    config: ShopTheLookConfig = ShopTheLookConfig(),
) -> list[RecItem]:
    """Items for a photo and a user: each anchor's content neighbours (one query per anchor, all in
    one batch), the photo's own anchors excluded, merged by smallest distance and ranked."""
    state = shop.state
    kept = [g for g in garments if g.confidence >= config.min_confidence and g.rows.size]
    if not kept:
        return []
    user, a, _ = shop.user_context(user_id, state)
    affinity = a if a is not None else popularity_affinity(state)
    c = state.catalog
    rows = np.concatenate([g.rows for g in kept])
    labels = []
    for g in kept:
        for r in g.rows.tolist():
            name = c.category_vocab[c.category[r]] if c.category[r] >= 0 else g.slot
            labels.append(Anchor(Relation.SIMILAR, label=f"the {name} in the photo", item_row=int(r)))
    found = shop.spaces.search("content", state.content[rows], config.per_anchor, filter=IN_STOCK)
    cand = concat([from_search(found, c, labels, affinity=affinity)])
    cand = cand.take(~np.isin(cand.rows, rows))
    rank_config = RankConfig(
        k=config.k,
        alpha=config.alpha,
        use_reranker=False,
        constraints=Constraints(exclude_bought=True),
        diversity=DiversityConfig(max_per_category=4),
    )
    return shop.page(rank(cand, c, user, rank_config), state)


__all__ = [
    "GarmentAnchors",
    "ShopTheLookConfig",
    "garment_anchors",
    "garment_vectors",
    "photo_scores",
    "recommend_for_photo",
]
