"""Shop the look behind the HTTP layer: one ``ShopTheLook`` per app, made on first use, fed one
photo at a time on its own thread.

``ShopTheLook`` loads the project's garment detector and the catalog's picture features, which
takes seconds (minutes for a large project built before those features existed), so it is made
when a shopper first asks for it rather than when the server starts, once, under a lock. A look
runs the detector and a CNN over a decoded photo: seconds of CPU and up to hundreds of MB for a
large photo, and mediapipe's graphs must not be entered by two threads at once. So looks run one
at a time on their own ``CapacityLimiter(1)`` instead of on the thread pool the feeds share: a
queue of uploads waits there without holding a thread the home feed needs.

The records here are what the API and the page both show: garments with their boxes in the
upright original photo's pixels and their anchors as catalog items, recommendations as the same
``RecItem``s every other touchpoint returns.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

from lookbook.errors import NotFound
from lookbook.serving.config import ServeConfig
from lookbook.serving.upload import Photo, decode_photo
from lookbook.touchpoints.api import FoundGarment, LookTouchpoint, RecItem, Shop

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The most recommendations a look is asked for (the API's ``k`` is at most this).
MAX_RECOMMENDATIONS = 100


@dataclass(frozen=True)
class AnchorItem:
    """A catalog item a garment was matched to, with the cosine distance of its picture to the crop."""

    item_id: str
    title: str
    brand: str
    category: str
    slot: str
    price: float
    in_stock: bool
    distance: float


@dataclass(frozen=True)
class Garment:
    """One garment of a photo: ``box`` ``(x0, y0, x1, y1)`` in the upright photo's pixels."""

    box: tuple[float, float, float, float]
    slot: str
    confidence: float
    anchors: tuple[AnchorItem, ...]


@dataclass(frozen=True)
class PhotoLook:
    """What shop the look made of one photo for one shopper."""

    user_id: str | None
    width: int
    height: int
    garments: tuple[Garment, ...]
    recommendations: tuple[RecItem, ...]
    photo_score: float | None
    timings: dict[str, float]


@dataclass(frozen=True)
class FeedPhoto:
    """A community photo in a shopper's feed: its score for them and its garments."""

    photo_id: str
    score: float
    width: int
    height: int
    garments: tuple[Garment, ...]


class LookService:
    """Shop the look for one ``Shop``: the lazily made ``ShopTheLook``, its queue, and the records."""

    def __init__(self, shop: Shop, config: ServeConfig) -> None:
        self.shop, self.config = shop, config
        self._engine: LookTouchpoint | None = None
        self._asked = False  # the shop was asked once; ``_engine`` None then means "not available"
        self._made = threading.Lock()
        self._busy = threading.Lock()  # mediapipe's graphs take one photo at a time
        self._limiter = CapacityLimiter(1)
        self._sizes: dict[str, tuple[int, int]] = {}

    def _touchpoint(self) -> LookTouchpoint | None:
        """The shop's look touchpoint, made by the first caller (the others wait for it)."""
        if not self._asked:
            with self._made:
                if not self._asked:
                    started = time.perf_counter()
                    self._engine = self.shop.shop_the_look(k=MAX_RECOMMENDATIONS)
                    self._asked = True
                    if self._engine is not None:
                        log.info("shop the look ready in %.2f s", time.perf_counter() - started)
        return self._engine

    @property
    def available(self) -> bool:
        """Whether this shop can do shop the look (a built project with a look space can)."""
        return self._touchpoint() is not None

    def engine(self) -> LookTouchpoint:
        """The one look touchpoint of this app (``NotFound`` when the shop has none)."""
        engine = self._touchpoint()
        if engine is None:
            raise NotFound(
                "shop the look: not available in this shop (it needs a built project: "
                "lookbook serve --project DIR)"
            )
        return engine

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the looks' own worker thread (one at a time), off the event loop."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    # ------------------------------------------------------------------------------ looks
    def decode(self, data: bytes) -> Photo:
        return decode_photo(
            data, max_pixels=self.config.max_upload_pixels, max_side=self.config.photo_max_side
        )

    def look(self, photo: Photo, user_id: str | None, k: int) -> PhotoLook:
        """Garments, anchors and ``k`` recommendations for a decoded photo; an unknown user is
        ``NotFound`` before any detection runs."""
        engine = self.engine()
        with self._busy:
            found = engine.look(photo.rgb, user_id)
        anchors = _Anchors(self.shop)
        garments = tuple(
            Garment(
                box=photo.to_original(g.box),
                slot=g.slot,
                confidence=g.confidence,
                anchors=anchors.records(g.anchors, g.distances),
            )
            for g in found.garments
        )
        score = found.photo_score
        score = score if score is not None and math.isfinite(score) else None
        return PhotoLook(
            user_id=user_id,
            width=photo.width,
            height=photo.height,
            garments=garments,
            recommendations=tuple(found.recommendations[:k]),
            photo_score=score,
            timings=dict(found.timings),
        )

    def look_bytes(self, data: bytes, user_id: str | None, k: int) -> PhotoLook:
        """Decode (``PhotoRejected`` when the bytes are no usable photo) and look, timing the decode."""
        started = time.perf_counter()
        photo = self.decode(data)
        decoded = time.perf_counter() - started
        out = self.look(photo, user_id, k)
        timings = {"upload_decode": decoded, **out.timings}
        timings["total"] = timings.get("total", 0.0) + decoded
        return dataclasses.replace(out, timings=timings)

    # ------------------------------------------------------------------------------ community photos
    def photo_path(self, photo_id: str) -> Path:
        """The file of one of the project's community photos (``NotFound`` when unknown or missing)."""
        if not self.available:
            raise NotFound(f"photo_id: unknown photo {photo_id!r}")
        return self.engine().photo_image(photo_id)

    def feed(self, user_id: str | None, k: int) -> list[FeedPhoto]:
        """The community photos ranked for the shopper, best first: empty when the project has
        none (or the shop cannot do shop the look); an unknown user is ``NotFound``."""
        if not self.available:
            return []
        engine = self.engine()
        ranked = engine.photo_feed(user_id, k=k)  # NotFound for an unknown user, photos or not
        photos = {p.photo_id: p for p in engine.photos()}
        anchors = _Anchors(self.shop)
        out = []
        for photo_id, score in ranked:
            p = photos[photo_id]
            try:
                path = engine.photo_image(photo_id)
            except NotFound:
                log.warning("community photo %s: its file is missing; left out of the feed", photo_id)
                continue
            size = self._size(photo_id, path)
            if size is None:
                continue
            out.append(FeedPhoto(photo_id, score, size[0], size[1], _garments(p.garments, anchors)))
        return out

    def _size(self, photo_id: str, path: Path) -> tuple[int, int] | None:
        """A community photo's size from its header (boxes are drawn as shares of it), kept."""
        if photo_id not in self._sizes:
            from PIL import Image

            try:
                with Image.open(path) as im:
                    self._sizes[photo_id] = im.size
            except (OSError, SyntaxError, ValueError):
                log.warning("community photo %s: cannot read %s; left out of the feed", photo_id, path)
                return None
        return self._sizes[photo_id]


class _Anchors:
    """Catalog records of anchor ids for one response (an id met twice is looked up once; an item
    deleted since the photo was mapped is left out)."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.seen: dict[str, AnchorItem | None] = {}

    def records(self, ids: Sequence[str], distances: Sequence[float]) -> tuple[AnchorItem, ...]:
        out = []
        for j, item_id in enumerate(ids):
            if item_id not in self.seen:
                try:
                    v = self.shop.item(item_id)
                except NotFound:
                    self.seen[item_id] = None
                else:
                    self.seen[item_id] = AnchorItem(
                        v.item_id, v.title, v.brand, v.category, v.slot, v.price, v.in_stock, 0.0
                    )
            rec = self.seen[item_id]
            if rec is not None:
                d = float(distances[j]) if j < len(distances) else float("nan")
                out.append(AnchorItem(**{**rec.__dict__, "distance": d if math.isfinite(d) else 0.0}))
        return tuple(out)


def _garments(found: Sequence[FoundGarment], anchors: _Anchors) -> tuple[Garment, ...]:
    return tuple(
        Garment(
            box=(float(g.box[0]), float(g.box[1]), float(g.box[2]), float(g.box[3])),
            slot=g.slot,
            confidence=float(g.confidence),
            anchors=anchors.records(g.anchors, g.distances),
        )
        for g in found
    )
