"""``Shop``: a built project opened for serving, with every touchpoint as one method.

It holds the catalog snapshot, the vector spaces (through ``ItemSpaces``, the retrieval protocol
only), the saved models and the users' histories. Reads never lock: a request takes the current
``CatalogState`` reference and works on it. Writes (items, events) take one lock, write the store
first (the source of truth; a rejected row raises before anything changes), then the index, then
swap in a new snapshot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.index.spaces import ItemSpaces
from lookbook.project.build import PROJECT_PAYLOAD, BuildConfig, index_uri, item_payloads
from lookbook.project.layout import ProjectPaths
from lookbook.ranking import CatalogArrays, Ranked, Reranker, UserContext, item_popularity
from lookbook.ranking.reranker import META_FILE
from lookbook.touchpoints import browse, home, pages
from lookbook.touchpoints.affinity import PreferenceScorer
from lookbook.touchpoints.api import Carousel, Context, ItemView, RecItem
from lookbook.touchpoints.config import TouchpointConfig
from lookbook.touchpoints.rerank_features import RerankerInputs, ServingReranker
from lookbook.touchpoints.state import (
    DAY,
    CatalogState,
    UserHistories,
    kind_code,
    trending_scores,
)

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
MAX_K = 100


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise SchemaError(f"{name}: expected an int in [1, {MAX_K}], got {k!r}")
    return int(k)


class Shop:
    """Open with ``Shop.open(project)``; see ``lookbook.touchpoints.api.Shop`` for the surface."""

    def __init__(
        self,
        paths: ProjectPaths,
        store: Any,
        spaces: ItemSpaces,
        state: CatalogState,
        users: UserHistories,
        *,
        compatibility: Any,
        preference: Any,
        reranker: Reranker | None,
        text_search: Any,
        now: int,
        config: TouchpointConfig,
        model_versions: dict[str, str],
    ) -> None:
        self.paths, self.store, self.spaces = paths, store, spaces
        self.state, self.users = state, users
        self.compatibility, self.preference, self.reranker = compatibility, preference, reranker
        self.text_search = text_search
        self.now = now
        self.config = config
        self.model_versions = model_versions
        self._write_lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._encoder: Any = None
        self._cache: dict[tuple[Any, ...], tuple[float, tuple[int, int, int], Any]] = {}
        self._generation = 0  # bumped by every catalog write: cached pages go stale
        self.rerank_inputs = (
            RerankerInputs.load(paths.ranker, state.catalog.ids.ids) if reranker is not None else None
        )

    # ------------------------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        project: Path | str,
        *,
        index: str | None = None,
        config: TouchpointConfig | None = None,
        text_encoder: Any = None,
        single_threaded: bool = True,
    ) -> Shop:
        """Open a project made by ``lookbook build`` (``index``: the index URI it was built with).

        ``single_threaded`` limits numpy's BLAS and torch to one thread in this process. A request's
        math is small (a few hundred vectors); multithreaded BLAS only adds hand-offs, and when the
        other core is busy its spinning threads made the home feed 6x slower here (52 ms against
        8 ms mean). Concurrency comes from serving requests in parallel instead.
        """
        if single_threaded:
            import torch
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1)
            torch.set_num_threads(1)
        from lookbook.index.hybrid import HybridTextSearch
        from lookbook.models.collaborative.hybrid import LookbookRecommender
        from lookbook.models.compatibility import CompatibilityModel
        from lookbook.store import open_store

        started = time.perf_counter()
        paths = ProjectPaths(Path(project))
        if not paths.record.exists():
            raise NotFound(
                f"project {paths.root}: no build.json; run `lookbook build ... --project {paths.root}`"
            )
        record = json.loads(paths.record.read_text())["stages"]
        if "index" not in record:
            raise LookbookError(f"project {paths.root}: the build did not finish (no index stage); rerun it")
        store = open_store(paths.root, create=False)
        items = store.items_table()
        ids = np.asarray(items.column("item_id").to_pylist(), dtype=object).astype(str)
        model_ids = np.asarray(json.loads((paths.vectors / "item_ids.json").read_text())).astype(str)
        from lookbook.schema import IdMap

        model_rows = IdMap(model_ids, name="item_id").lookup(ids, missing=-1)
        if (model_rows < 0).any():
            missing = ids[model_rows < 0][:3].tolist()
            raise LookbookError(
                f"project {paths.root}: items {missing} have no vectors; rerun `lookbook build`"
            )
        content = np.load(paths.vectors / "content.npy")[model_rows]
        text = np.load(paths.vectors / "text.npy")[model_rows]
        preference = LookbookRecommender.load(paths.preference)
        scorer = PreferenceScorer.from_model(preference, model_ids, ids, preference.item_vectors(content))
        compatibility = (
            CompatibilityModel.load(paths.compatibility)
            if (paths.compatibility / "model.json").exists()
            else None
        )
        reranker = Reranker.load(paths.ranker) if (paths.ranker / META_FILE).exists() else None
        dims = json.loads((paths.vectors / "spaces.json").read_text())
        spaces = ItemSpaces(index or index_uri(paths.root, BuildConfig()), dims, PROJECT_PAYLOAD)

        events = store.event_arrays()
        rows = events.item_rows.astype(np.int64)
        kinds = events.kind
        ts = events.timestamp_us // 1_000_000
        now = int(max(ts.max() if ts.size else 0, 0)) or int(time.time())
        users = UserHistories()
        users.load(events.users.ids[events.user_rows], rows, kinds, ts)
        for u in store.users_table().to_pylist():
            users.sizes[u["user_id"]] = dict(u.get("sizes") or [])
            users.context[u["user_id"]] = {"region": u.get("region") or "", **dict(u.get("attributes") or [])}
        n = len(ids)
        popularity = item_popularity(n, rows, kinds, ts, now=now)  # the reranker's definition too
        catalog = CatalogArrays.from_items(items, popularity=popularity)
        state = CatalogState(
            catalog=catalog,
            titles=np.asarray(items.column("title").to_pylist(), dtype=object),
            content=content,
            scorer=scorer,
            trending=trending_scores(
                rows, kinds, ts, n, now, (config or TouchpointConfig()).home.trending_days
            ),
            slots=np.asarray(items.column("slot").to_pylist(), dtype=object),
        )
        from lookbook.encoders.content import item_texts

        text_search = HybridTextSearch(
            ids.tolist(),
            item_texts(items),
            spaces["text"],
            payloads=item_payloads(items),
            vectors=text,
            encoder=text_encoder,
        )
        versions = {
            stage: str(info.get("fingerprint", ""))
            for stage, info in record.items()
            if stage in ("compatibility", "preference", "ranker")
        }
        shop = cls(
            paths,
            store,
            spaces,
            state,
            users,
            compatibility=compatibility,
            preference=preference,
            reranker=reranker,
            text_search=text_search,
            now=now,
            config=config or TouchpointConfig(),
            model_versions=versions,
        )
        log.info(
            "shop %s open: %d items, %d users with events, %d spaces in %.1f s",
            paths.root, n, len(users.users()), len(dims), time.perf_counter() - started,
        )  # fmt: skip
        return shop

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
        most ``response_cache_seconds``). The stamp is read before computing, so a write that lands
        meanwhile makes the stored answer stale at once."""
        ttl = self.config.response_cache_seconds
        if ttl <= 0:
            return compute()
        stamp = (self._generation, self.users.get(user_id)[0].size, id(self.config))
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now and hit[1] == stamp:
            return hit[2]
        value = compute()
        if len(self._cache) >= self.config.response_cache_size:
            self._cache.clear()  # crude but bounded; a full cache is rebuilt from live requests
        self._cache[key] = (now + ttl, stamp, value)
        return value

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
        self.row(item_id, self.state)
        with self._store_lock:
            it = self.store.get_item(item_id)
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
        with self._store_lock:
            return self.store.image_path(item_id)

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
            "index_items": self.spaces.count("content"),
            "users": len(self.users.users()),
            "model_versions": dict(self.model_versions),
            "reranker": self.reranker is not None,
        }

    # ------------------------------------------------------------------------------- writes
    def upsert_items(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Add or update items: store, then every vector space, then the serving snapshot."""
        from lookbook.encoders.content import item_texts

        if not records:
            return 0
        with self._write_lock:
            known_ids = self.state.catalog.ids
            fresh = [
                {**r, "created_at": datetime.fromtimestamp(self.now, UTC)}
                if not r.get("created_at") and known_ids.lookup([str(r.get("item_id"))], missing=-1)[0] < 0
                else r
                for r in records
            ]  # an item new to the shop without a date is new in now (the shop's clock)
            with self._store_lock:
                report = self.store.upsert_items(_items_table(fresh), strict=True)
                ids = [str(r["item_id"]) for r in records]
                table = self.store.items_table()
            if report.rejected:  # strict: nothing was written; say which row and field, and why
                raise SchemaError("; ".join(str(e) for e in report.errors[:5]) or "items: rejected")
            keep = np.isin(np.asarray(table.column("item_id").to_pylist(), dtype=object), ids)
            changed = table.filter(pa.array(keep))
            content, text = self._encode(changed)
            state = self.state
            known = state.catalog.ids.lookup(changed.column("item_id").to_pylist(), missing=-1)
            from lookbook.project.spaces import project_space_vectors

            vectors = project_space_vectors(
                self.paths,
                changed,
                content,
                text,
                preference_rows=_model_rows(self.paths, changed),
                image_root=self.paths.root,
                cache_dir=self.paths.root / "cache",
            )
            vectors = {k: v for k, v in vectors.items() if k in self.spaces.indexes}
            self.spaces.upsert(changed.column("item_id").to_pylist(), vectors, item_payloads(changed))
            self.text_search.upsert(
                changed.column("item_id").to_pylist(), item_texts(changed),
                payloads=item_payloads(changed), vectors=vectors["text"],
            )  # fmt: skip
            catalog = state.catalog.upsert(changed)
            new = known < 0
            scorer = state.scorer.with_rows(known[~new], vectors["preference"][~new])
            scorer = scorer.extended(vectors["preference"][new])
            if self.rerank_inputs is not None and new.any():
                self.rerank_inputs = self.rerank_inputs.extended(int(new.sum()))
            all_content = state.content.copy()
            all_content[known[~new]] = content[~new]
            all_titles = state.titles.copy()
            all_titles[known[~new]] = np.asarray(changed.column("title").to_pylist(), dtype=object)[~new]
            all_slots = state.slots.copy()
            all_slots[known[~new]] = np.asarray(changed.column("slot").to_pylist(), dtype=object)[~new]
            self.state = CatalogState(
                catalog=catalog,
                titles=np.concatenate(
                    [all_titles, np.asarray(changed.column("title").to_pylist(), object)[new]]
                ),
                content=np.vstack([all_content, content[new]]),
                scorer=scorer,
                trending=np.concatenate([state.trending, np.zeros(int(new.sum()), np.float32)]),
                slots=np.concatenate(
                    [all_slots, np.asarray(changed.column("slot").to_pylist(), object)[new]]
                ),
            )
            self._generation += 1
            log.info("items upserted: %d (%d new)", report.loaded, int(new.sum()))
            return int(report.loaded)

    def delete_items(self, item_ids: Sequence[str]) -> int:
        """An item sold or withdrawn: gone from every space and page at once (kept in the store,
        marked sold, so its events still count)."""
        ids = [str(i) for i in item_ids]
        with self._write_lock:
            state = self.state
            rows = state.catalog.ids.lookup(ids, missing=-1)
            alive = rows >= 0
            alive[alive] = state.catalog.alive[rows[alive]]
            if not alive.all():
                raise NotFound(
                    f"item_id: unknown items {[i for i, a in zip(ids, alive, strict=True) if not a][:5]}"
                )
            self.spaces.delete(ids)
            self.text_search.delete(ids)
            with self._store_lock:
                self.store.mark_sold(ids)
            self.state = CatalogState(
                catalog=state.catalog.remove(ids),
                titles=state.titles, content=state.content, scorer=state.scorer,
                trending=state.trending, slots=state.slots,
            )  # fmt: skip
            self._generation += 1
            return len(ids)

    def add_events(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Events into the store and, at once, into their users' histories (the next request of
        that user is ranked with them)."""
        if not records:
            return 0
        state = self.state
        rows = state.catalog.ids.lookup([str(r.get("item_id", "")) for r in records], missing=-1)
        if (rows < 0).any():
            bad = int(np.flatnonzero(rows < 0)[0])
            raise NotFound(f"events row {bad} item_id: unknown item {records[bad].get('item_id')!r}")
        table = _events_table(records, self.now)
        with self._write_lock:
            with self._store_lock:
                report = self.store.append_events(table, strict=True)
            if report.rejected:
                raise SchemaError("; ".join(str(e) for e in report.errors[:5]) or "events: rejected")
            users = table.column("user_id").to_pylist()
            kinds = np.asarray([kind_code(k) for k in table.column("kind").to_pylist()], np.int8)
            ts = np.asarray(
                [int(t.timestamp()) for t in table.column("timestamp").to_pylist()], dtype=np.int64
            )
            for j, user in enumerate(users):  # a request carries a few events
                self.users.append(user, rows[j : j + 1], kinds[j : j + 1], ts[j : j + 1])
                self.users.sizes.setdefault(user, {})
            self.now = max(self.now, int(ts.max()))
        return len(records)

    def _encode(self, items: pa.Table) -> tuple[F32, F32]:
        """Content and text vectors of items added while serving (encoders load on first use)."""
        from lookbook.encoders.content import encode_items
        from lookbook.encoders.fused import FusedContentEncoder

        if self._encoder is None:
            self._encoder = FusedContentEncoder.load(self.paths.models / "fusion")
        from lookbook.encoders.image import ImageEncoderConfig
        from lookbook.project.layout import encoded_resolution

        features = encode_items(
            items,
            self.paths.root,
            image_config=ImageEncoderConfig(resolution=encoded_resolution(self.paths)),
            fusion=self._encoder,
            show_progress=False,
            cache_dir=self.paths.root / "cache",
        )
        return features.fused, features.text

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.spaces.close()
        with contextlib.suppress(Exception):
            self.store.close()

    def __enter__(self) -> Shop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # a day, for touchpoints that speak in windows
    DAY = DAY


def _model_rows(paths: ProjectPaths, items: pa.Table) -> I64:
    from lookbook.schema import IdMap

    model_ids = json.loads((paths.vectors / "item_ids.json").read_text())
    return IdMap(model_ids, name="item_id").lookup(items.column("item_id").to_pylist(), missing=-1)


def _items_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Item records (JSON-like) as an Arrow table the store validates; attributes may be a dict."""
    rows = []
    for j, r in enumerate(records):
        if not isinstance(r, Mapping):
            raise SchemaError(f"items row {j}: expected an object, got {type(r).__name__}")
        row = dict(r)
        if isinstance(row.get("attributes"), Mapping):
            row["attributes"] = [(str(k), str(v)) for k, v in row["attributes"].items()]
        rows.append(row)
    from lookbook.tables import ITEMS_SCHEMA

    fields = [f for f in ITEMS_SCHEMA if any(f.name in r for r in rows)]
    try:
        return pa.Table.from_pylist(rows, schema=pa.schema(fields))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise SchemaError(f"items: {exc}") from None


def _events_table(records: Sequence[Mapping[str, Any]], now: int) -> pa.Table:
    from lookbook.tables import EVENTS_SCHEMA

    rows = []
    for j, r in enumerate(records):
        if not isinstance(r, Mapping):
            raise SchemaError(f"events row {j}: expected an object, got {type(r).__name__}")
        row = {k: r.get(k) for k in ("user_id", "item_id", "kind", "timestamp", "touchpoint", "position")}
        if not row["user_id"]:
            raise SchemaError(f"events row {j} user_id: required")
        try:
            kind_code(str(row["kind"]))
        except KeyError:
            raise SchemaError(f"events row {j} kind: unknown kind {row['kind']!r}") from None
        ts = row["timestamp"]
        if ts is None:
            ts = datetime.fromtimestamp(now, UTC)
        elif isinstance(ts, int | float):
            ts = datetime.fromtimestamp(float(ts), UTC)
        elif isinstance(ts, str):
            try:
                ts = datetime.fromisoformat(ts)
            except ValueError:
                raise SchemaError(f"events row {j} timestamp: not ISO 8601: {ts!r}") from None
        row["timestamp"] = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        rows.append(row)
    fields = [f for f in EVENTS_SCHEMA if f.name in rows[0]]
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))
