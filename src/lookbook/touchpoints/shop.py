"""``ProjectShop``: a built project's touchpoints, the ``Shop`` protocol the serving layer calls.

It holds what requests read: the vector spaces (through ``ItemSpaces``, the retrieval protocol
only), the saved models and the ``LiveState`` (catalog snapshot, users' histories, clock) it shares
with its ``ShopWriter``. Reads never lock: a request takes the current ``CatalogState`` reference
and works on it. Writes are the writer's (``lookbook.touchpoints.writer``); the shop forwards them so
the protocol is one surface. ``lookbook.touchpoints.factory.open_shop`` assembles the whole graph.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.index.spaces import ItemSpaces
from lookbook.project.layout import ProjectPaths
from lookbook.project.spaces import CONTENT_SPACE
from lookbook.ranking import Ranked, Reranker, UserContext
from lookbook.schema import normalise_id
from lookbook.touchpoints import browse, home, pages
from lookbook.touchpoints.api import Carousel, Context, ItemView, RecItem
from lookbook.touchpoints.config import TouchpointConfig
from lookbook.touchpoints.live import LiveState
from lookbook.touchpoints.rerank_features import RerankerInputs, ServingReranker
from lookbook.touchpoints.response_cache import ResponseCache
from lookbook.touchpoints.state import DAY, CatalogState, UserHistories

if TYPE_CHECKING:
    from lookbook.touchpoints.impressions import ImpressionLog
    from lookbook.touchpoints.served import ServedModels
    from lookbook.touchpoints.shop_the_look import ShopTheLook
    from lookbook.touchpoints.writer import ShopWriter

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
MAX_K = 100


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise SchemaError(f"{name}: expected an int in [1, {MAX_K}], got {k!r}")
    return int(k)


def _read_id(item_id: str) -> str:
    """An id a read names, in the store's form; one no item can have (control characters) is simply
    not found, like any other unknown id."""
    try:
        return normalise_id(item_id, owner="item", name="item_id")
    except SchemaError:
        raise NotFound(f"item_id: unknown item {item_id!r}") from None


class ProjectShop:
    """Every touchpoint of one built project (``open_shop(project)``); the surface is
    ``lookbook.touchpoints.api.Shop``."""

    def __init__(
        self,
        paths: ProjectPaths,
        live: LiveState,
        writer: ShopWriter,
        *,
        preference: Any,
        reranker: Reranker | None,
        text_search: Any,
        config: TouchpointConfig,
        model_versions: dict[str, str],
        impressions: ImpressionLog | None = None,
        config_version: str = "default",
        model_version: str = "v0",
    ) -> None:
        self.paths, self.live, self.writer = paths, live, writer
        self.preference, self.reranker = preference, reranker
        self.text_search = text_search
        self.config = config
        self.config_version = config_version
        self.model_versions = model_versions
        self.impressions = impressions
        self._model_version = model_version
        self._cache = ResponseCache()
        self._owner = True  # False for a ``variant``
        #: one model swap at a time (``lookbook.touchpoints.swap``)
        self.swap_lock = threading.Lock()
        #: swaps a promoted model version in (``lookbook.touchpoints.swap``, set by ``open_shop``)
        self.swap: Callable[[ProjectPaths], str] | None = None
        #: top-level settings fixed by the process (``lookbook serve --cache-seconds``), kept on reload
        self.overrides: dict[str, Any] = {}

    # ------------------------------------------------------------------------- live state
    @property
    def state(self) -> CatalogState:
        """The current catalog snapshot (a request reads it once and keeps it); trending and
        popularity are refreshed from the event log first when they are stale."""
        return self.live.current()

    @property
    def spaces(self) -> ItemSpaces:
        """The vector spaces of the current snapshot (a model swap replaces them with it)."""
        return self.live.state.spaces  # type: ignore[no-any-return]

    @property
    def compatibility(self) -> Any:
        """The compatibility model of the current snapshot (None: the project has none)."""
        return self.live.state.compatibility

    @property
    def users(self) -> UserHistories:
        return self.live.users

    @property
    def now(self) -> int:
        """The shop's clock: epoch seconds."""
        return self.live.now

    @property
    def rerank_inputs(self) -> RerankerInputs | None:
        return self.live.rerank_inputs

    @property
    def store(self) -> Any:
        """The project's store, for offline reads (evaluation, tests); live writes go through
        ``writer``, which serialises them with the item pages' reads."""
        return self.writer.store

    # --------------------------------------------------------------------------- requests
    @property
    def active_reranker(self) -> ServingReranker | None:
        """The reranker the touchpoints use: the project's, when configured on and when the build
        saved the models that compute its features."""
        if not self.config.use_reranker or self.reranker is None or self.rerank_inputs is None:
            return None
        return ServingReranker(self.reranker, self.rerank_inputs, self.users, lambda: self.now)

    def user_context(
        self, user_id: str | None, state: CatalogState
    ) -> tuple[UserContext, F32 | None, F32 | None]:
        """(constraints context, affinity over every row or None, preference vector or None)."""
        if user_id is not None and not self.users.knows(user_id):
            raise NotFound(f"user_id: unknown user {user_id!r}")
        rows, kinds, ts = self.users.get(user_id)
        ctx = UserContext.build(
            state.catalog,
            sizes=self.users.sizes.get(user_id or "", {}),
            history_rows=rows,
            history_kinds=kinds,
            now=self.now,
            user_id=user_id or "",
        )
        if rows.size == 0:
            return ctx, None, None
        a, u = state.scorer.affinity(rows, self.users.weights(kinds, ts, self.now))
        return ctx, a, u

    def page(self, ranked: Ranked, state: CatalogState, why: str | None = None) -> list[RecItem]:
        """Ranked rows as records a page shows."""
        c = state.catalog
        rows = ranked.rows
        brands = np.asarray((*c.brand_vocab, ""), dtype=object)[c.brand[rows]]
        cats = np.asarray((*c.category_vocab, ""), dtype=object)[c.category[rows]]
        out = []
        for j, r in enumerate(rows.tolist()):  # at most k (<= 100) records per response
            out.append(
                RecItem(
                    item_id=str(ranked.item_ids[j]),
                    title=str(state.titles[r]),
                    brand=str(brands[j]),
                    category=str(cats[j]),
                    slot=str(state.slots[r]),
                    price=float(c.price[r]) if np.isfinite(c.price[r]) else 0.0,
                    in_stock=bool(c.in_stock[r]),
                    score=round(float(ranked.scores[j]), 5),
                    why=why or str(ranked.why[j]),
                )
            )
        return out

    def home_feed(self, user_id: str | None, context: Context | None = None, k: int = 12) -> list[Carousel]:
        ctx = context or Context()
        key = ("home", user_id, _check_k(k), ctx.device, ctx.region)
        return self._cached(key, user_id, lambda: home.home_feed(self, user_id, ctx, int(k)))

    def similar(self, item_id: str, user_id: str | None = None, k: int = 12) -> list[RecItem]:
        key = ("similar", item_id, user_id, _check_k(k))
        return self._cached(key, user_id, lambda: pages.similar(self, item_id, user_id, int(k)))

    def _cached(self, key: tuple[Any, ...], user_id: str | None, compute: Callable[[], Any]) -> Any:
        """``compute()``, reused while the catalog and the user's history are unchanged (and for at
        most ``response_cache_seconds``). New counts or a new model version do not drop pages at
        once: they are refreshed in the background (``lookbook.touchpoints.response_cache``)."""
        live, users, config = self.live, self.users, self.config
        return self._cache.get(
            key,
            stamp=lambda: (live.generation, users.get(user_id)[0].size, id(config)),
            soft=lambda: live.soft_generation,
            compute=compute,
            ttl_s=config.response_cache_seconds,
            max_entries=config.response_cache_size,
        )

    def complete_the_look(
        self, item_id: str, user_id: str | None = None, per_slot: int = 3, attribute: str | None = None
    ) -> list[Carousel]:
        return pages.complete_the_look(self, item_id, user_id, _check_k(per_slot, "per_slot"), attribute)

    def search(self, query: str, user_id: str | None = None, k: int = 24) -> list[RecItem]:
        return browse.search(self, query, user_id, _check_k(k))

    def category(self, category: str, user_id: str | None = None, k: int = 24) -> list[RecItem]:
        return browse.category(self, category, user_id, _check_k(k))

    def row(self, item_id: str, state: CatalogState) -> int:
        r = int(state.catalog.ids.lookup([item_id], missing=-1)[0])
        if r < 0 or not state.catalog.alive[r]:
            raise NotFound(f"item_id: unknown item {item_id!r}")
        return r

    # ------------------------------------------------------------------------- catalog reads
    def item(self, item_id: str) -> ItemView:
        item_id = _read_id(item_id)
        self.row(item_id, self.state)
        with self.writer.store_lock:
            it = self.writer.store.get_item(item_id)
        return ItemView(
            item_id=it.item_id,
            title=it.title,
            description=it.description,
            brand=it.brand,
            category=it.category,
            slot=str(it.slot.value),
            price=float(it.price),
            in_stock=bool(it.in_stock),
            sizes=tuple(it.sizes),
            attributes=dict(it.attributes),
        )

    def image_path(self, item_id: str) -> Path | None:
        item_id = _read_id(item_id)
        with self.writer.store_lock:
            return self.writer.store.image_path(item_id)

    def demo_users(self, limit: int = 20) -> list[str]:
        """Users with the most history first (the interesting ones to look at)."""
        known = self.users.users()
        counts = np.asarray([self.users.get(u)[0].size for u in known])
        order = np.argsort(-counts, kind="stable")[: max(int(limit), 0)]
        return [known[i] for i in order.tolist()]

    def categories(self) -> list[str]:
        c = self.state.catalog
        live = np.unique(c.category[c.alive & (c.category >= 0)])
        return sorted(c.category_vocab[i] for i in live.tolist())

    def stats(self) -> dict[str, Any]:
        c = self.state.catalog
        return {
            "items": int(c.alive.sum()),
            "in_stock": int((c.alive & c.in_stock).sum()),
            "index_items": self.spaces.count(CONTENT_SPACE),
            "users": len(self.users.users()),
            "model_versions": dict(self.model_versions),
            "reranker": self.reranker is not None,
        }

    def preload(self) -> None:
        """Load what the first write and the first search would otherwise load: the writer's
        encoders and models, the sentence encoder and the BM25 index (``serving.server.warm_up``
        calls this on a background thread)."""
        self.writer.preload()
        self.text_search.search(["warm up"], 1)

    # ------------------------------------------------------------------------------- writes
    def upsert_items(self, records: Sequence[Mapping[str, Any]]) -> int:
        return self.writer.upsert_items(records)

    def delete_items(self, item_ids: Sequence[str]) -> int:
        return self.writer.delete_items(item_ids)

    def add_events(self, records: Sequence[Mapping[str, Any]]) -> int:
        return self.writer.add_events(records)

    def upsert_users(self, records: Sequence[Mapping[str, Any]]) -> int:
        return self.writer.upsert_users(records)

    # --------------------------------------------------------------------------- impressions
    def log_impressions(
        self,
        request_id: str,
        user_id: str | None,
        touchpoint: str,
        item_ids: Sequence[str],
        scores: Sequence[float],
    ) -> None:
        """Queue a served slate for the store (a background thread writes it in batches)."""
        if self.impressions is not None:
            self.impressions.log(
                request_id,
                user_id,
                touchpoint,
                self.config_version,
                item_ids,
                scores,
                at=self.live.clock.now(),
            )

    # ------------------------------------------------------------------------ versions, reload
    def model_version(self) -> str:
        """The promoted model version this shop serves."""
        return self._model_version

    def project_root(self) -> Path | None:
        return self.paths.root

    def reload(self) -> str:
        """Re-read ``settings.toml`` (a changed file swaps the touchpoint settings in whole; cached
        pages are dropped) and swap in a newly promoted model version (``lookbook.touchpoints.swap``:
        prepared beside the served one, requests never fail or wait); returns the version served.

        A settings file with an error keeps the running settings and logs the error (the server must
        not stop serving over a typo; ``lookbook settings check`` names the key). A model version
        that fails to load raises, and the shop keeps serving the one it had."""
        from lookbook.project.layout import read_current
        from lookbook.project.settings import load_settings

        try:
            settings = load_settings(self.paths.root)
        except LookbookError as exc:
            log.error("settings not reloaded: %s", exc)
        else:
            if settings.version != self.config_version:
                self.config = dataclasses.replace(TouchpointConfig.from_settings(settings), **self.overrides)
                self.config_version = settings.version
                self._cache.clear()
                log.info("settings reloaded: version %s", settings.version)
        promoted = read_current(self.paths.root / "models")
        if promoted != self._model_version and self.swap is not None:
            self.swap(ProjectPaths(self.paths.root).version(promoted))
        return self._model_version

    def variant(self, config: TouchpointConfig) -> ProjectShop:
        """This shop with other touchpoint settings (an experiment's arm): the same catalog, live
        state, writer and models, its own config and page cache. Writes through either are seen by
        both; closing the variant closes only its cache."""
        other = copy.copy(self)
        other.config = config
        other._cache = ResponseCache()
        other._owner = False
        return other

    def override(self, **settings: Any) -> None:
        """Fix top-level ``TouchpointConfig`` fields for this process (a command-line flag beats the
        settings file, also after a reload)."""
        self.overrides.update(settings)
        self.config = dataclasses.replace(self.config, **settings)
        self._cache.clear()

    def use_models(self, models: ServedModels) -> None:
        """Serve ``models`` from now on (the swap calls this under the live lock, beside the new
        snapshot that holds the version's scorer, compatibility model and spaces)."""
        self.paths = models.paths
        self.preference, self.reranker = models.preference, models.reranker
        self._model_version = models.version
        self.model_versions = {**self.model_versions, "served": models.version}
        self.live.soft_generation += 1  # cached pages are refreshed in the background, not dropped

    # ------------------------------------------------------------------------- shop the look
    def shop_the_look(self, k: int = 20) -> ShopTheLook | None:
        """The project's shop-the-look touchpoint (``k`` recommendations per photo), or ``None`` when
        the build made no look space (a project built before shop the look)."""
        from lookbook.project.spaces import LOOK_SPACE, looks_meta
        from lookbook.touchpoints.shop_the_look import ShopTheLook, ShopTheLookConfig

        if looks_meta(self.paths) is None or LOOK_SPACE not in self.spaces.indexes:
            return None
        photo = self.config.shop_the_look  # the project's settings ([shop_the_look] in settings.toml)
        config = ShopTheLookConfig(
            anchors=photo.anchors, per_anchor=photo.per_anchor, alpha=photo.rank.alpha,
            min_confidence=photo.min_confidence, k=k, detector=photo.detector, exact=photo.exact,
        )  # fmt: skip
        return ShopTheLook(self, config)

    def close(self) -> None:
        self._cache.close()
        if not self._owner:  # a variant: the shop it came from owns the rest
            return
        if self.impressions is not None:
            self.impressions.close()
        self.writer.close()

    def __enter__(self) -> ProjectShop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # a day, for touchpoints that speak in windows
    DAY = DAY
