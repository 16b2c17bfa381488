"""Touchpoint records to JSON-ready dicts, written out by hand.

``dataclasses.asdict`` deep-copies every field and pydantic validation of a response costs more
than the ranking of a small page, so the hot endpoints build plain dicts here and send them as
bytes. The shapes match the response models in ``schemas`` (a test checks that they do).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import Response

from lookbook.touchpoints.api import Carousel, ItemView, RecItem

if TYPE_CHECKING:
    from lookbook.serving.looks import AnchorItem, FeedPhoto, Garment, PhotoLook


def image_url(item_id: str) -> str:
    """Where the page and API clients fetch an item's image (ids are quoted: they are free text)."""
    return "/images/" + quote(item_id, safe="")


def _card(r: RecItem | AnchorItem) -> dict[str, Any]:
    """The fields every product card shows, shared by recommendations and anchors."""
    return {
        "item_id": r.item_id,
        "title": r.title,
        "brand": r.brand,
        "category": r.category,
        "slot": r.slot,
        "price": money(r.price),
        "in_stock": bool(r.in_stock),
        "image_url": image_url(r.item_id),
    }


def rec_item(r: RecItem) -> dict[str, Any]:
    return _card(r) | {"score": _finite(r.score), "why": r.why}


def rec_items(items: Iterable[RecItem]) -> list[dict[str, Any]]:
    return [rec_item(r) for r in items]


def carousel(c: Carousel) -> dict[str, Any]:
    return {"key": c.key, "title": c.title, "items": rec_items(c.items)}


def item_view(v: ItemView) -> dict[str, Any]:
    return {
        "item_id": v.item_id,
        "title": v.title,
        "description": v.description,
        "brand": v.brand,
        "category": v.category,
        "slot": v.slot,
        "price": money(v.price),
        "in_stock": bool(v.in_stock),
        "sizes": [str(s) for s in v.sizes],
        "attributes": {str(k): str(x) for k, x in v.attributes.items()},
        "image_url": image_url(v.item_id),
    }


def photo_url(photo_id: str) -> str:
    """Where a community photo's file is served."""
    return "/photos/" + quote(photo_id, safe="")


def anchor_item(a: AnchorItem) -> dict[str, Any]:
    return _card(a) | {"distance": round(_finite(a.distance), 4)}


def garment(g: Garment) -> dict[str, Any]:
    return {
        "box": [round(_finite(v), 1) for v in g.box],
        "slot": g.slot,
        "confidence": round(_finite(g.confidence), 3),
        "anchors": [anchor_item(a) for a in g.anchors],
    }


def photo_look(look: PhotoLook) -> dict[str, Any]:
    return {
        "user_id": look.user_id,
        "width": int(look.width),
        "height": int(look.height),
        "garments": [garment(g) for g in look.garments],
        "recommendations": rec_items(look.recommendations),
        "photo_score": None if look.photo_score is None else round(_finite(look.photo_score), 4),
        "timings": {str(k): round(_finite(v), 4) for k, v in look.timings.items()},
    }


def feed_photo(p: FeedPhoto) -> dict[str, Any]:
    return {
        "photo_id": p.photo_id,
        "score": round(_finite(p.score), 4),
        "image_url": photo_url(p.photo_id),
        "width": int(p.width),
        "height": int(p.height),
        "garments": [garment(g) for g in p.garments],
    }


def money(x: float) -> float:
    """Prices to the cent: the ranking arrays hold float32, whose 24.57 prints as 24.5699996948242."""
    return round(_finite(x), 2)


def _finite(x: float) -> float:
    """JSON has no NaN or infinity; a missing price is sent as 0 (the page shows no price then)."""
    x = float(x)
    return x if x == x and abs(x) != float("inf") else 0.0


class JSONBytes(Response):
    """A JSON response serialised once with compact separators and without FastAPI's encoder pass."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
