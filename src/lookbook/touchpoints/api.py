"""What every touchpoint returns, and the ``Shop`` protocol the HTTP layer and the web page call.

The records are plain frozen dataclasses of built-in types, so the serving layer can turn them into
JSON (``dataclasses.asdict``) without knowing how they were ranked. ``Shop`` is the whole surface a
front end needs: one method per touchpoint, the catalog writes that must reach the index at once,
event ingestion that moves a user's vector in real time, and what the page needs to draw itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lookbook.vision.base import DetectedGarment


@dataclass(frozen=True)
class RecItem:
    """One recommended item as a page shows it: what it is, its rank score and why it is there."""

    item_id: str
    title: str
    brand: str
    category: str
    slot: str
    price: float
    in_stock: bool
    score: float
    why: str


@dataclass(frozen=True)
class Carousel:
    """A titled row of items (``key`` is stable: for_you, new_in, trending, on_sale, slot names...)."""

    key: str
    title: str
    items: tuple[RecItem, ...]


@dataclass(frozen=True)
class ItemView:
    """An item's own page: the item and its attributes."""

    item_id: str
    title: str
    description: str
    brand: str
    category: str
    slot: str
    price: float
    in_stock: bool
    sizes: tuple[str, ...]
    attributes: Mapping[str, str]


@dataclass(frozen=True)
class Context:
    """What the request knows besides the user: device and region (cold users' popularity is
    per context), and the page's filters."""

    device: str | None = None
    region: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FoundGarment:
    """One garment of a photo as the shop sees it: where, which slot, how sure, and its anchors
    (catalog item ids, nearest first, with cosine distances to the framed crop)."""

    box: tuple[float, float, float, float]
    slot: str
    confidence: float
    anchors: list[str]
    distances: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [round(v, 1) for v in self.box],
            "slot": self.slot,
            "confidence": round(self.confidence, 3),
            "anchors": self.anchors,
            "distances": [round(d, 4) for d in self.distances],
        }


@dataclass(frozen=True)
class Look:
    """What shop the look makes of one photo for one user.

    ``photo_score`` is the user's max over garments of ``user . garment`` (``None`` for an
    anonymous visitor or a photo without garments); ``timings`` are seconds per step.
    """

    garments: list[FoundGarment]
    recommendations: list[RecItem]
    photo_score: float | None
    timings: dict[str, float]
    detections: list[DetectedGarment] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "garments": [g.to_dict() for g in self.garments],
            "recommendations": [
                {"item_id": r.item_id, "score": round(float(r.score), 4), "why": r.why}
                for r in self.recommendations
            ],
            "photo_score": None if self.photo_score is None else round(self.photo_score, 4),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


@dataclass(frozen=True)
class PhotoAnchors:
    """A community photo already mapped to the catalog (what the photo feed ranks)."""

    photo_id: str
    image: str
    garments: list[FoundGarment]

    def to_dict(self) -> dict[str, Any]:
        garments = [g.to_dict() for g in self.garments]
        return {"photo_id": self.photo_id, "image": self.image, "garments": garments}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoAnchors:
        garments = [
            FoundGarment(tuple(g["box"]), g["slot"], float(g["confidence"]), list(g["anchors"]),
                         list(g.get("distances", [])))
            for g in data["garments"]
        ]  # fmt: skip
        return cls(str(data["photo_id"]), str(data["image"]), garments)


@runtime_checkable
class LookTouchpoint(Protocol):
    """Shop the look: a photo in, garments, their catalog anchors and recommendations out; and the
    feed of the project's community photos, ranked for a shopper."""

    def look(self, image: Any, user_id: str | None = None) -> Look:
        """Detect the garments of ``image`` (a path or an RGB array), anchor each in the catalog and
        recommend for ``user_id`` (``NotFound`` for an unknown user)."""
        ...

    def photos(self) -> list[PhotoAnchors]:
        """The project's community photos, already mapped to catalog anchors."""
        ...

    def photo_feed(self, user_id: str | None, k: int = 20) -> list[tuple[str, float]]:
        """``(photo_id, score)`` of the community photos, best first for ``user_id``."""
        ...

    def photo_image(self, photo_id: str) -> Path:
        """The file of a community photo, inside the project (``NotFound`` when unknown or missing)."""
        ...


@runtime_checkable
class Shop(Protocol):
    """One built project, ready to serve (``lookbook.touchpoints.factory.open_shop(project)``).

    Unknown item or user ids raise ``lookbook.errors.NotFound``; bad arguments raise
    ``lookbook.errors.LookbookError`` subclasses whose message names the field. ``user_id=None`` is
    an anonymous visitor.
    """

    # ------------------------------------------------------------------ touchpoints
    def home_feed(
        self, user_id: str | None, context: Context | None = None, k: int = 12
    ) -> list[Carousel]: ...

    def similar(self, item_id: str, user_id: str | None = None, k: int = 12) -> list[RecItem]: ...

    def complete_the_look(
        self, item_id: str, user_id: str | None = None, per_slot: int = 3, attribute: str | None = None
    ) -> list[Carousel]: ...

    def search(self, query: str, user_id: str | None = None, k: int = 24) -> list[RecItem]: ...

    def category(self, category: str, user_id: str | None = None, k: int = 24) -> list[RecItem]: ...

    # ------------------------------------------------------------------ catalog and events
    def item(self, item_id: str) -> ItemView: ...

    def image_path(self, item_id: str) -> Path | None: ...

    def upsert_items(self, records: Sequence[Mapping[str, Any]]) -> int: ...

    def delete_items(self, item_ids: Sequence[str]) -> int: ...

    def add_events(self, records: Sequence[Mapping[str, Any]]) -> int: ...

    def upsert_users(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Add or update shoppers (``user_id``, ``sizes`` per slot group, ``region``)."""
        ...

    def log_impressions(
        self,
        request_id: str,
        user_id: str | None,
        touchpoint: str,
        item_ids: Sequence[str],
        scores: Sequence[float],
    ) -> None:
        """Record a served slate (items in the order shown); queued, never blocks the request."""
        ...

    # ------------------------------------------------------------------ versions
    def model_version(self) -> str:
        """The promoted model version being served."""
        ...

    def reload(self) -> str:
        """Re-read the settings file and the promoted model version, swap them in without failing a
        request, and return the model version now served."""
        ...

    def project_root(self) -> Path | None:
        """The built project behind this shop (``None``: none, e.g. a test double)."""
        ...

    def shop_the_look(self, k: int = 20) -> LookTouchpoint | None:
        """The shop-the-look touchpoint with ``k`` recommendations per photo, or ``None`` when this
        shop cannot do it (no look space, or no built project behind it). Loading it takes seconds
        (detector, picture encoder): callers make it once."""
        ...

    # ------------------------------------------------------------------ what a page lists
    def demo_users(self, limit: int = 20) -> list[str]: ...

    def categories(self) -> list[str]: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
