"""Fixtures for the HTTP layer: a small generated world, a ``CatalogShop`` over it, and real servers.

``CatalogShop`` implements the ``lookbook.touchpoints.api.Shop`` protocol with plain Python over
the world's real catalog (titles, brands, prices, images): simple rules instead of models, so the
web layer's tests run in seconds and say exactly what they expect, independent of how the real
``Shop`` ranks. It keeps the protocol's error contract (``NotFound`` for unknown ids, other
``LookbookError``s naming the field), which is what the HTTP layer maps to statuses. It records
what the HTTP layer hands it (impressions, events, user profiles, reloads) for tests to read.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lookbook.errors import NotFound, SchemaError
from lookbook.schema import EventKind, Slot
from lookbook.touchpoints.api import Carousel, Context, ItemView, RecItem

API_KEY = "test-key-0123456789"

#: Which slots complete a look started from each slot (fashion).
_LOOK = {
    "top": ("bottom", "shoes", "bag"),
    "bottom": ("top", "shoes", "outerwear"),
    "dress": ("shoes", "bag", "outerwear"),
    "outerwear": ("top", "bottom", "shoes"),
    "shoes": ("bottom", "top", "bag"),
    "bag": ("dress", "shoes", "accessory"),
    "accessory": ("top", "dress", "bag"),
}


@dataclass(frozen=True)
class ImpressionCall:
    """One ``log_impressions`` call, as the HTTP layer made it."""

    request_id: str
    user_id: str | None
    touchpoint: str
    item_ids: tuple[str, ...]
    scores: tuple[float, ...]


@dataclass
class _Item:
    item_id: str
    title: str
    description: str = ""
    category: str = ""
    slot: str = ""
    brand: str = ""
    price: float = 0.0
    sizes: tuple[str, ...] = ()
    in_stock: bool = True
    attributes: dict[str, str] = field(default_factory=dict)
    image: Path | None = None
    created_at: float = 0.0
    alive: bool = True


class CatalogShop:
    """The ``Shop`` protocol over a world folder, with rule-based touchpoints (see the module doc)."""

    def __init__(self, world_dir: Path, image_dir: Path) -> None:
        from lookbook.datasets.world import load_world

        world = load_world(world_dir)
        self.image_dir = image_dir
        self.items: dict[str, _Item] = {}
        for r in world.items.to_pylist():
            created = r.get("created_at")
            self.items[r["item_id"]] = _Item(
                item_id=r["item_id"],
                title=r["title"],
                description=r.get("description") or "",
                category=r.get("category") or "",
                slot=r.get("slot") or "",
                brand=r.get("brand") or "",
                price=float(r.get("price") or 0.0),
                sizes=tuple(r.get("sizes") or ()),
                in_stock=bool(r.get("in_stock", True)),
                attributes=dict(r.get("attributes") or []),
                image=(world_dir / r["image"]) if r.get("image") else None,
                created_at=created.timestamp() if created else 0.0,
            )
        self.history: dict[str, list[str]] = defaultdict(list)
        for e in world.events.select(["user_id", "item_id"]).to_pylist():
            self.history[e["user_id"]].append(e["item_id"])
        self.popularity = Counter(e for events in self.history.values() for e in events)
        self.lock = threading.Lock()
        self.closed = False
        self.calls: Counter[str] = Counter()
        self.impressions: list[ImpressionCall] = []
        self.events: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.version = "v-test-1"
        self.reloads = 0

    # ------------------------------------------------------------------------- helpers
    def _live(self) -> list[_Item]:
        return [it for it in self.items.values() if it.alive and it.in_stock]

    def _get(self, item_id: str) -> _Item:
        it = self.items.get(item_id)
        if it is None or not it.alive:
            raise NotFound(f"item_id: unknown item {item_id!r}")
        return it

    def _user(self, user_id: str | None) -> list[str]:
        if user_id is None:
            return []
        if user_id not in self.history:
            raise NotFound(f"user_id: unknown user {user_id!r}")
        return self.history[user_id]

    @staticmethod
    def _k(k: int, name: str = "k") -> int:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
            raise SchemaError(f"{name}: expected an int in [1, 100], got {k!r}")
        return k

    @staticmethod
    def _rec(it: _Item, score: float, why: str) -> RecItem:
        return RecItem(
            item_id=it.item_id, title=it.title, brand=it.brand, category=it.category, slot=it.slot,
            price=it.price, in_stock=it.in_stock, score=round(score, 5), why=why,
        )  # fmt: skip

    # ------------------------------------------------------------------------- touchpoints
    def home_feed(self, user_id: str | None, context: Context | None = None, k: int = 12) -> list[Carousel]:
        self.calls["home_feed"] += 1
        k = self._k(k)
        seen = self._user(user_id)
        live = self._live()
        rows: list[Carousel] = []
        if seen:
            liked = Counter(self.items[i].category for i in seen if i in self.items)
            mine = sorted(
                (it for it in live if it.item_id not in set(seen)),
                key=lambda it: (-liked.get(it.category, 0), -self.popularity[it.item_id], it.item_id),
            )[:k]
            recs = tuple(self._rec(it, 1.0, f"you like {it.category}") for it in mine)
            rows.append(Carousel("for_you", "Picked for you", recs))
        trending = sorted(live, key=lambda it: (-self.popularity[it.item_id], it.item_id))[:k]
        hot = tuple(self._rec(it, 0.5, "popular this week") for it in trending)
        rows.append(Carousel("trending", "Trending now", hot))
        new = sorted(live, key=lambda it: (-it.created_at, it.item_id))[:k]
        rows.append(Carousel("new_in", "New in", tuple(self._rec(it, 0.4, "just arrived") for it in new)))
        for slot in ("dress", "shoes"):
            picks = [it for it in trending if it.slot == slot] or [it for it in live if it.slot == slot][:k]
            if picks:
                recs = tuple(self._rec(it, 0.3, f"popular in {slot}") for it in picks)
                rows.append(Carousel(slot, f"Top {slot}", recs))
        return rows

    def similar(self, item_id: str, user_id: str | None = None, k: int = 12) -> list[RecItem]:
        self.calls["similar"] += 1
        k = self._k(k)
        hero = self._get(item_id)
        self._user(user_id)
        same = [it for it in self._live() if it.slot == hero.slot and it.item_id != hero.item_id]
        same.sort(key=lambda it: (it.category != hero.category, abs(it.price - hero.price), it.item_id))
        return [self._rec(it, 1.0 / (1 + j), f"like {hero.title}") for j, it in enumerate(same[:k])]

    def complete_the_look(
        self, item_id: str, user_id: str | None = None, per_slot: int = 3, attribute: str | None = None
    ) -> list[Carousel]:
        self.calls["complete_the_look"] += 1
        per_slot = self._k(per_slot, "per_slot")
        hero = self._get(item_id)
        self._user(user_id)
        out = []
        for slot in _LOOK.get(hero.slot, ()):
            pool = [it for it in self._live() if it.slot == slot]
            if attribute is not None:
                pool = [it for it in pool if attribute in it.attributes.values()]
            colour = hero.attributes.get("colour")
            pool.sort(key=lambda it: (it.attributes.get("colour") == colour, it.item_id))
            if pool:
                recs = tuple(self._rec(it, 0.5, f"goes with your {hero.category}") for it in pool[:per_slot])
                out.append(Carousel(slot, f"{slot.capitalize()} to go with it", recs))
        return out

    def search(self, query: str, user_id: str | None = None, k: int = 24) -> list[RecItem]:
        self.calls["search"] += 1
        k = self._k(k)
        if not isinstance(query, str) or not query.strip():
            raise SchemaError("q: expected a non-empty search query")
        self._user(user_id)
        words = query.lower().split()
        scored = []
        for it in self._live():
            text = f"{it.title} {it.brand} {it.category} {' '.join(it.attributes.values())}".lower()
            hits = sum(w in text for w in words)
            if hits:
                scored.append((-hits, it.item_id, it))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [self._rec(it, -h / len(words), f'matches "{query.strip()}"') for h, _, it in scored[:k]]

    def category(self, category: str, user_id: str | None = None, k: int = 24) -> list[RecItem]:
        self.calls["category"] += 1
        k = self._k(k)
        if category not in {it.category for it in self.items.values() if it.alive}:
            raise NotFound(f"category: unknown category {category!r}")
        self._user(user_id)
        found = [it for it in self._live() if it.category == category]
        found.sort(key=lambda it: (-self.popularity[it.item_id], it.item_id))
        return [self._rec(it, 0.5, f"popular in {category}") for it in found[:k]]

    # ------------------------------------------------------------------------- catalog and events
    def item(self, item_id: str) -> ItemView:
        """A sold (deleted) item is still known: ``in_stock`` false, as the real shop answers."""
        it = self.items.get(item_id)
        if it is None:
            raise NotFound(f"item_id: unknown item {item_id!r}")
        return ItemView(
            item_id=it.item_id, title=it.title, description=it.description, brand=it.brand,
            category=it.category, slot=it.slot, price=it.price, in_stock=it.in_stock and it.alive,
            sizes=it.sizes, attributes=dict(it.attributes),
        )  # fmt: skip

    def image_path(self, item_id: str) -> Path | None:
        it = self.items.get(item_id)
        return it.image if it is not None else None

    def upsert_items(self, records: Sequence[Mapping[str, Any]]) -> int:
        self.calls["upsert_items"] += 1
        slots = {s.value for s in Slot}
        with self.lock:
            staged: dict[str, _Item] = {}
            for j, r in enumerate(records):
                item_id = str(r.get("item_id") or "")
                if not item_id:
                    raise SchemaError(f"items row {j} item_id: is required")
                old = staged.get(item_id) or self.items.get(item_id)
                if old is None and not r.get("title"):
                    raise SchemaError(f"items row {j} title: is required for a new item")
                if r.get("slot") is not None and r["slot"] not in slots:
                    raise SchemaError(f"items row {j} slot: unknown slot {r['slot']!r}")
                if r.get("price") is not None and float(r["price"]) < 0:
                    raise SchemaError(f"items row {j} price: must be >= 0, got {r['price']!r}")
                it = _Item(item_id=item_id, title="") if old is None else _Item(**old.__dict__)
                for name in ("title", "description", "category", "slot", "brand"):
                    if r.get(name) is not None:
                        setattr(it, name, str(r[name]))
                if r.get("price") is not None:
                    it.price = float(r["price"])
                if r.get("sizes") is not None:
                    it.sizes = tuple(str(s) for s in r["sizes"])
                if r.get("in_stock") is not None:
                    it.in_stock = bool(r["in_stock"])
                if r.get("attributes") is not None:
                    it.attributes = {str(a): str(b) for a, b in dict(r["attributes"]).items()}
                if r.get("image") is not None:  # the request's temporary file: copy it like the store does
                    src = Path(r["image"])
                    if not src.is_file():
                        raise SchemaError(f"items row {j} image: file must exist, got {str(src)!r}")
                    dst = self.image_dir / f"{len(self.items) + j}-{src.name}"
                    shutil.copyfile(src, dst)
                    it.image = dst
                if old is None:
                    it.created_at = datetime.now(UTC).timestamp()
                it.alive = True
                staged[item_id] = it
            self.items.update(staged)
            return len(records)

    def delete_items(self, item_ids: Sequence[str]) -> int:
        with self.lock:
            for i in item_ids:
                self._get(i)
            for i in item_ids:
                self.items[i].alive = False
            return len(item_ids)

    def add_events(self, records: Sequence[Mapping[str, Any]]) -> int:
        kinds = {k.value for k in EventKind}
        with self.lock:
            for j, r in enumerate(records):
                self._get(str(r.get("item_id")))
                if r.get("kind") not in kinds:
                    raise SchemaError(f"events row {j} kind: unknown kind {r.get('kind')!r}")
            for r in records:
                self.history[str(r["user_id"])].append(str(r["item_id"]))
                self.popularity[str(r["item_id"])] += 1
                self.events.append(dict(r))
            return len(records)

    def upsert_users(self, records: Sequence[Mapping[str, Any]]) -> int:
        with self.lock:
            for j, r in enumerate(records):
                if not r.get("user_id"):
                    raise SchemaError(f"users row {j} user_id: is required")
            for r in records:
                self.users.setdefault(str(r["user_id"]), {}).update(dict(r))
            return len(records)

    def log_impressions(
        self,
        request_id: str,
        user_id: str | None,
        touchpoint: str,
        item_ids: Sequence[str],
        scores: Sequence[float],
    ) -> None:
        with self.lock:
            call = ImpressionCall(request_id, user_id, touchpoint, tuple(item_ids), tuple(map(float, scores)))
            self.impressions.append(call)

    # ------------------------------------------------------------------------- versions
    def model_version(self) -> str:
        return self.version

    def reload(self) -> str:
        self.reloads += 1
        return self.version

    def project_root(self) -> Path | None:
        """No project behind this shop: nothing for the server to watch."""
        return None

    # ------------------------------------------------------------------------- what a page lists
    def demo_users(self, limit: int = 20) -> list[str]:
        order = sorted(self.history, key=lambda u: (-len(self.history[u]), u))
        return order[: max(int(limit), 0)]

    def categories(self) -> list[str]:
        return sorted({it.category for it in self.items.values() if it.alive and it.category})

    def stats(self) -> dict[str, Any]:
        alive = sum(it.alive for it in self.items.values())
        return {
            "items": alive,
            "in_stock": sum(it.alive and it.in_stock for it in self.items.values()),
            "index_items": alive,
            "users": len(self.history),
            "model_versions": {"catalog_rules": "1", "preference": "none"},
        }

    def shop_the_look(self, k: int = 20) -> None:
        """No project behind this shop: no detector, no picture features, so no shop the look."""
        return None

    def close(self) -> None:
        self.closed = True


# ----------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated fashion world (about 2 s): real titles, prices and product images."""
    from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world

    out = tmp_path_factory.mktemp("serving-world") / "world"
    cfg = WorldConfig(
        n_items=160, n_users=40, seed=11, n_photos=0, events_per_user=40, weeks=4, image_size=96
    )
    make_synthetic_world(cfg, out, show_progress=False, workers=1)
    return out


@pytest.fixture
def catalog_shop(small_world: Path, tmp_path: Path) -> CatalogShop:
    """A fresh shop per test (writes in one test never leak into another)."""
    images = tmp_path / "uploaded"
    images.mkdir()
    return CatalogShop(small_world, images)


@dataclass
class Served:
    """A running server over a shop: its base URL, the shop, and the app."""

    url: str
    shop: Any
    app: Any


@pytest.fixture
def served(catalog_shop: CatalogShop) -> Iterator[Served]:
    """A real uvicorn server on a free loopback port, with writes enabled by ``API_KEY``."""
    from lookbook.serving import ServeConfig, create_app, serve_in_thread

    app = create_app(catalog_shop, ServeConfig(api_key=API_KEY, lists_ttl=0.0, demo=True))
    with serve_in_thread(app) as running:
        yield Served(running.url, catalog_shop, app)


# ----------------------------------------------------------------------------------- the real Shop
def copy_project(built_project: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A private copy of the session's built project: tests here write to it (items, events,
    deletes), which must not reach the other test folders that share ``built_project``."""
    from lookbook.project.layout import copy_project as copy_tree

    return copy_tree(built_project, tmp_path_factory.mktemp(name) / "project")


@contextlib.contextmanager
def serve_real_shop(project: Path, config: Any = None) -> Iterator[Served]:
    """``lookbook.touchpoints.shop.Shop`` opened on ``project`` behind a real uvicorn server (in demo
    mode unless ``config`` says otherwise: tests pick shoppers from ``/api/users``)."""
    from lookbook.serving import ServeConfig, create_app, serve_in_thread
    from lookbook.touchpoints.factory import open_shop

    shop = open_shop(project)
    try:
        app = create_app(shop, config or ServeConfig(api_key=API_KEY, demo=True))
        with serve_in_thread(app, timeout=120) as running:
            yield Served(running.url, shop, app)
    finally:
        shop.close()


@pytest.fixture(scope="module")
def real_served(built_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real Shop on a private copy of the built project, served for one test module."""
    with serve_real_shop(copy_project(built_project, tmp_path_factory, "served-project")) as served:
        yield served


# ------------------------------------------------------------------------------- shop the look
#: Real photos beside the repository (``../shared/data/photos``); tests that need them skip without.
PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"
FULL_BODY = "dresscode_049205_0.jpg"  # a man head to toe: the pose detector finds top, bottom, shoes
OTHER_BODY = "dresscode_051482_0.jpg"


def real_photo(name: str = FULL_BODY) -> Path:
    """A shared real photo, or a skip saying it is absent (the photos' licence keeps them out of the repo)."""
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"shared real photos absent: {path} does not exist")
    return path


@dataclass
class PhotoProject:
    """A served project with two community photos: ``liked`` has garments anchored on the items
    ``user`` likes most and low confidences, ``unliked`` on the ones they like least and high
    confidences, so the user's feed and an anonymous visitor's feed put them in opposite orders."""

    served: Served
    user: str
    liked: str = "liked-look"
    unliked: str = "unliked-look"


def write_community_photos(served: Served, photos: dict[str, tuple[Path, bool, float]]) -> None:
    """``vectors/photos.json`` and the photo files, as a build that mapped community photos would
    write them: real boxes from the project's detector, anchors chosen by the first demo user's
    taste (``liked``: their top three items of each garment's slot, else their bottom three)."""
    import json

    import numpy as np

    from lookbook.touchpoints.api import FoundGarment, PhotoAnchors
    from lookbook.touchpoints.shop_the_look import photos_path

    shop = served.shop
    engine = served.app.state.looks.engine()
    state = shop.state
    _, _, u = shop.user_context(shop.demo_users(1)[0], state)
    taste = state.scorer.item_vectors @ u
    usable = state.catalog.alive & state.catalog.in_stock
    ids = state.catalog.ids.ids
    folder = shop.paths.root / "photos"
    folder.mkdir(exist_ok=True)
    out = []
    for photo_id, (source, liked, confidence) in photos.items():
        shutil.copyfile(source, folder / f"{photo_id}.jpg")
        garments = []
        for g in engine.detect(source):
            rows = np.flatnonzero(usable & (state.slots == str(g.slot)))
            best = rows[np.argsort(-taste[rows] if liked else taste[rows], kind="stable")][:3]
            anchors = [str(ids[r]) for r in best.tolist()]
            garments.append(FoundGarment(g.box, str(g.slot), confidence, anchors, [0.2] * len(anchors)))
        out.append(PhotoAnchors(photo_id, f"photos/{photo_id}.jpg", garments).to_dict())
    photos_path(shop.paths).write_text(json.dumps(out))


@pytest.fixture(scope="session")
def photo_served(built_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhotoProject]:
    """The real Shop on a project copy with two community photos, served for the whole session
    (the browser test and the API tests share it: it is only read)."""
    liked, unliked = real_photo(FULL_BODY), real_photo(OTHER_BODY)
    with serve_real_shop(copy_project(built_project, tmp_path_factory, "photo-project")) as served:
        project = PhotoProject(served, served.shop.demo_users(1)[0])
        # before any request reaches shop the look: it reads the project's photos once
        write_community_photos(
            served, {project.liked: (liked, True, 0.5), project.unliked: (unliked, False, 0.9)}
        )
        yield project
