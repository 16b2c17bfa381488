"""Shop the look, from detected garments on: a photo becomes a set of sets of catalog items.

Case study 000's pipeline after detection: each garment's crop vector finds its ``k`` nearest
catalog items of the garment's slot (its *anchors*, one filtered query per garment); the garment's
vector is the mean of its anchors' vectors, which damps the noise of one imperfect crop; a photo's
score for a user is the maximum over its garments of ``user . garment`` (one garment the user
loves is enough to make the photo interesting); recommendations are the anchors' neighbours, one
query per anchor, merged with the smallest distance kept and ranked by the shared stages with
``s = alpha (1 - d) + (1 - alpha) a``.

``ShopTheLook`` chains the whole of it for one project: the project's detector (the box detector
its build trained on labelled photos, else the pose detector for people in real photos), crops
framed like catalog pictures (``lookbook.vision.framing``), the catalog's image encoder and the
image half of its fused content encoder, then the functions above.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, LookbookError, NotFound, SchemaError
from lookbook.index.base import SearchResult
from lookbook.index.filters import Eq
from lookbook.project.spaces import CONTENT_SPACE
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
from lookbook.touchpoints.api import FoundGarment, Look, PhotoAnchors, RecItem
from lookbook.touchpoints.common import IN_STOCK, popularity_affinity
from lookbook.vision.base import DetectedGarment, GarmentDetector, ImageLike, to_rgb_array
from lookbook.vision.framing import FramingConfig, framed_crops

if TYPE_CHECKING:
    from lookbook.project.layout import ProjectPaths
    from lookbook.touchpoints.host import ShopHost
    from lookbook.touchpoints.state import CatalogState

log = logging.getLogger(__name__)

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
    (closeness to its garments' anchors) and the user; ``min_confidence`` drops weak garments.

    ``detector``: ``"auto"`` (the project's trained box detector when its build made one, else the
    pose detector), ``"box"`` or ``"pose"``. ``framing``: how crops are reframed before the CNN
    sees them (the colour weight of the matching is the project's, fixed when its look space was
    built: ``lookbook.project.spaces.LOOK_COLOUR_WEIGHT``).
    """

    anchors: int = 5
    per_anchor: int = 30
    alpha: float = 0.6
    min_confidence: float = 0.3
    k: int = 20
    detector: str = "auto"
    framing: FramingConfig = field(default_factory=FramingConfig)
    exact: bool = False  # brute-force index queries instead of approximate ones

    def __post_init__(self) -> None:
        if self.detector not in ("auto", "box", "pose"):
            raise LookbookError(
                f"ShopTheLookConfig.detector: expected 'auto', 'box' or 'pose', got {self.detector!r}"
            )
        for name in ("anchors", "per_anchor", "k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LookbookError(f"ShopTheLookConfig.{name}: expected an integer >= 1, got {value!r}")
        if not 0.0 <= self.alpha <= 1.0 or not 0.0 <= self.min_confidence <= 1.0:
            raise LookbookError(
                f"ShopTheLookConfig alpha / min_confidence: expected shares in [0, 1], "
                f"got {self.alpha!r} / {self.min_confidence!r}"
            )


def garment_anchors(
    shop: ShopHost, crops: npt.ArrayLike, slots: list[str], confidences: list[float], k: int = 5
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
        found = state.spaces.search(CONTENT_SPACE, x[i], k, filter=Eq("slot", slot) & IN_STOCK)
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
    shop: ShopHost,
    garments: list[GarmentAnchors],
    user_id: str | None,
    config: ShopTheLookConfig = ShopTheLookConfig(),
) -> list[RecItem]:
    """Items for a photo and a user: each anchor's content neighbours (one query per anchor, all in
    one batch), the photo's own anchors excluded, merged by smallest distance and ranked. Garments
    under ``min_confidence`` are skipped; the others weigh by their confidence."""
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
    found = state.spaces.search(
        CONTENT_SPACE, state.content[rows], config.per_anchor, filter=IN_STOCK, exact=config.exact
    )
    # a garment the detector is less sure of counts less: its anchors' similarities are scaled by
    # its confidence (d = 1 - confidence * cosine), so a weak garment's neighbours rank lower
    confidence = np.concatenate([np.full(g.rows.size, g.confidence, np.float32) for g in kept])
    weighted = SearchResult(found.ids, (found.scores * confidence[:, None]).astype(np.float32))
    cand = concat([from_search(weighted, c, labels, affinity=affinity)])
    cand = cand.take(~np.isin(cand.rows, rows))
    rank_config = RankConfig(
        k=config.k,
        alpha=config.alpha,
        use_reranker=False,
        constraints=Constraints(exclude_bought=True),
        diversity=DiversityConfig(max_per_category=4),
    )
    return shop.page(rank(cand, c, user, rank_config), state)


def photos_path(paths: ProjectPaths) -> Path:
    return paths.vectors / "photos.json"


class ShopTheLook:
    """Photo in, garments and recommendations out, for one open ``Shop``.

    Loads the project's detector and the image encoder at the resolution the catalog was encoded
    at. Each garment's crop is framed like a catalog picture and its anchors are the nearest
    in-stock items of its slot in the project's ``look`` space (picture CNN features beside colour
    signatures, ``lookbook.project.spaces``): one filtered index query per garment, so items added,
    sold or restocked while serving are matched at once, like every other touchpoint.
    """

    def __init__(
        self,
        shop: ShopHost,
        config: ShopTheLookConfig | None = None,
        *,
        detector: GarmentDetector | None = None,
    ) -> None:
        from lookbook.encoders.image import ImageEncoder, ImageEncoderConfig
        from lookbook.project.detector import load_project_detector
        from lookbook.project.layout import encoded_resolution
        from lookbook.project.spaces import LOOK_SPACE, looks_meta

        meta = looks_meta(shop.paths)
        if meta is None or LOOK_SPACE not in shop.spaces.indexes:
            raise LookbookError(
                f"project {shop.paths.root}: no look space (built before shop the look); "
                f"run `lookbook build` again to add it"
            )
        self.shop = shop
        self.config = config or ShopTheLookConfig()
        self.detector = detector or load_project_detector(shop.paths, self.config.detector)
        resolution = encoded_resolution(shop.paths)
        self.image_encoder = ImageEncoder(ImageEncoderConfig(resolution=resolution, threads=1))
        bg = meta["background"]
        self.background = (int(bg[0]), int(bg[1]), int(bg[2]))
        self.colour_weight = float(meta["colour_weight"])
        self._photos: list[PhotoAnchors] | None = None
        self._photos_lock = threading.Lock()
        log.info(
            "shop the look: %s detector, %d px crops, background %s, colour weight %.2f",
            type(self.detector).__name__, resolution, self.background, self.colour_weight,
        )  # fmt: skip

    # ------------------------------------------------------------------------------ steps
    def detect(self, image: ImageLike) -> list[DetectedGarment]:
        return [g for g in self.detector.detect(image) if g.confidence >= self.config.min_confidence]

    def crop_vectors(self, image: ImageLike, garments: Sequence[DetectedGarment]) -> F32:
        """Look-space query vectors of the garments' catalog-framed crops: CNN features (the mirrored
        crop averaged in) beside the colour signature of the garment's pixels."""
        from lookbook.project.spaces import look_vectors
        from lookbook.vision.colour import garment_signatures

        width = self.shop.spaces.indexes["look"].dim
        if not garments:
            return np.zeros((0, width), np.float32)
        framing = self.config.framing
        crops = framed_crops(image, garments, self.background, framing)
        feats = self.image_encoder.encode(crops, show_progress=False)
        if framing.flip:
            feats = feats.reshape(len(garments), 2, -1).mean(axis=1)
        return look_vectors(feats.astype(np.float32), garment_signatures(image, garments), self.colour_weight)

    def match(
        self, image: ImageLike, garments: Sequence[DetectedGarment], state: CatalogState | None = None
    ) -> list[GarmentAnchors]:
        """Each garment's ``anchors`` nearest in-stock catalog items of its slot (the set of sets);
        items without a picture (score 0 in the look space) are never anchors."""
        from lookbook.project.spaces import LOOK_SPACE

        state = state or self.shop.state
        queries = self.crop_vectors(image, garments)
        out = []
        for g, garment in enumerate(garments):  # one filtered query per garment: a handful per photo
            flt = Eq("slot", str(garment.slot)) & IN_STOCK
            found = state.spaces.search(
                LOOK_SPACE, queries[g], self.config.anchors, filter=flt, exact=self.config.exact
            )
            ids = [j for j in found.ids[0].tolist() if j]
            scores = found.scores[0][: len(ids)]
            rows = state.catalog.ids.lookup(ids, missing=-1)
            keep = (rows >= 0) & (scores > 0)
            d = (1.0 - scores[keep]).astype(np.float32)
            out.append(GarmentAnchors(str(garment.slot), garment.confidence, rows[keep].astype(np.int64), d))
        return out

    def garment_preferences(self, sets: list[GarmentAnchors]) -> F32:
        """Each garment's vector in the preference space: the mean of its anchors' item vectors."""
        return garment_vectors(sets, self.shop.state.scorer.item_vectors)

    # ------------------------------------------------------------------------------ touchpoint
    def look(self, image: ImageLike, user_id: str | None = None) -> Look:
        """The whole touchpoint for one photo: garments, their anchors, the photo's score for the
        user and the recommendations."""
        t0 = time.perf_counter()
        rgb = to_rgb_array(image)
        state = self.shop.state
        if user_id is not None:
            self.shop.user_context(user_id, state)  # an unknown user fails before any work
        t1 = time.perf_counter()
        garments = self.detect(rgb)
        t2 = time.perf_counter()
        sets = self.match(rgb, garments, state)
        t3 = time.perf_counter()
        score = None
        if user_id is not None and sets:
            _, _, u = self.shop.user_context(user_id, state)
            if u is not None:
                score = float(photo_scores(u, [self.garment_preferences(sets)])[0, 0])
        recs = recommend_for_photo(self.shop, sets, user_id, self.config)
        t4 = time.perf_counter()
        ids = state.catalog.ids.ids
        found = [
            FoundGarment(
                g.box, str(g.slot), g.confidence, [str(ids[r]) for r in a.rows.tolist()],
                [float(d) for d in a.distances.tolist()],
            )
            for g, a in zip(garments, sets, strict=True)
        ]  # fmt: skip
        timings = {"decode": t1 - t0, "detect": t2 - t1, "match": t3 - t2, "rank": t4 - t3, "total": t4 - t0}
        return Look(found, recs, score, timings, detections=garments)

    def photos(self) -> list[PhotoAnchors]:
        """The project's community photos, mapped to the catalog by the build (none if it had none)."""
        with self._photos_lock:
            if self._photos is None:
                path = photos_path(self.shop.paths)
                data = json.loads(path.read_text()) if path.exists() else []
                self._photos = [PhotoAnchors.from_dict(d) for d in data]
            return self._photos

    def photo_image(self, photo_id: str) -> Path:
        """The file of one of the project's community photos (``NotFound`` when unknown or missing).

        The build writes ``photos.json``, but a path in it must still not lead out of the project:
        checked on the names, so a photo folder linked into the project still serves."""
        root = self.shop.paths.root
        for p in self.photos():  # hundreds of photos at most
            if p.photo_id == photo_id:
                path = root / p.image
                inside = Path(os.path.normpath(path)).is_relative_to(os.path.normpath(root))
                if not inside or not path.is_file():
                    raise NotFound(f"photo_id: the file of photo {photo_id!r} is missing")
                return path
        raise NotFound(f"photo_id: unknown photo {photo_id!r}")

    def photo_feed(
        self, user_id: str | None, photos: Sequence[PhotoAnchors] | None = None, k: int = 20
    ) -> list[tuple[str, float]]:
        """The community photo feed: ``(photo_id, score)`` by the user's max-over-garments score,
        best first (an anonymous visitor gets the photos with the most confident garments).
        ``photos`` defaults to the project's own. An unknown user is ``NotFound``, photos or not."""
        state = self.shop.state
        u = None
        if user_id is not None:
            _, _, u = self.shop.user_context(user_id, state)
        photos = self.photos() if photos is None else photos
        if not photos:
            return []
        ids = [p.photo_id for p in photos]
        if u is None:
            scores = np.asarray([max((g.confidence for g in p.garments), default=-np.inf) for p in photos])
        else:
            vectors = []
            for p in photos:  # a feed page's photos: tens, each with a few garments
                sets = []
                for g in p.garments:
                    r = state.catalog.ids.lookup(g.anchors, missing=-1)
                    r = r[r >= 0].astype(np.int64)
                    sets.append(GarmentAnchors(g.slot, g.confidence, r, np.zeros(r.size, np.float32)))
                vectors.append(self.garment_preferences(sets))
            scores = photo_scores(u, vectors)[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return [(ids[i], float(scores[i])) for i in order.tolist() if np.isfinite(scores[i])]


__all__ = [
    "GarmentAnchors",
    "ShopTheLook",
    "ShopTheLookConfig",
    "garment_anchors",
    "garment_vectors",
    "photo_scores",
    "recommend_for_photo",
]
