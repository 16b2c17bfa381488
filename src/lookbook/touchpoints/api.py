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


@runtime_checkable
class Shop(Protocol):
    """One built project, ready to serve (``lookbook.touchpoints.shop.Shop.open(project)``).

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

    # ------------------------------------------------------------------ what a page lists
    def demo_users(self, limit: int = 20) -> list[str]: ...

    def categories(self) -> list[str]: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
