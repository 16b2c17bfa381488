"""``ShopWriter``: the live writes of an open shop (items added, updated and sold; events; users).

The order of a write, and why it survives a ``kill -9`` at any moment:

1. **Check** everything first: ids normalised (``lookbook.schema.normalise_id``: ``" it1 "`` is
   ``"it1"``), records shaped, items of events known, event times not ahead of the shop's clock. A
   bad request changes nothing.
2. **Encode** new and changed items (image, text, every vector space) outside the write lock, so a
   slow image never holds up events.
3. Under the write lock, **the store** commits the item rows *and their vectors* in one
   transaction: the acknowledged state. Then **the index** (every space, the text search), then a
   new ``CatalogState`` snapshot for the next request.

The store is the source of truth. Whatever a kill interrupts after step 3's commit (the index
upsert, the snapshot) is redone when the project is next opened: ``open_shop`` upserts into the
index every item whose vectors live in the store and removes sold items from it. Events and users
are one store transaction each. The store has its own lock besides, because a DuckDB connection
serves one call at a time and the item pages read through it too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.index.spaces import ItemSpaces
from lookbook.project.layout import ProjectPaths, encoded_resolution
from lookbook.project.payload import item_payloads
from lookbook.project.spaces import PREFERENCE_SPACE, TEXT_SPACE, SpaceEmbedder
from lookbook.schema import ITEM_FIELDS, IdMap, normalise_id
from lookbook.tables import EVENTS_SCHEMA, ITEMS_SCHEMA, USERS_SCHEMA
from lookbook.touchpoints.clock import MAX_SKEW_S
from lookbook.touchpoints.live import LiveState
from lookbook.touchpoints.state import kind_code

if TYPE_CHECKING:
    from lookbook.touchpoints.served import ServedModels

log = logging.getLogger(__name__)

__all__ = ["ShopWriter"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


class ShopWriter:
    """Applies live writes to a project's store, its vector spaces and the serving snapshot."""

    def __init__(
        self,
        paths: ProjectPaths,
        store: Any,
        spaces: ItemSpaces,
        text_search: Any,
        live: LiveState,
        model_ids: Sequence[str],
    ) -> None:
        self.paths, self.store, self.spaces = paths, store, spaces
        self.text_search, self.live = text_search, live
        self.store_lock = threading.Lock()
        self.model_rows = IdMap(list(model_ids), name="item_id")
        self._encoder: Any = None
        self._embedder: SpaceEmbedder | None = None
        self._models_lock = threading.Lock()
        #: ids of items written while a model swap prepares (None: no swap running); the swap
        #: embeds them with the new models before it commits (``lookbook.touchpoints.swap``)
        self.journal: set[str] | None = None

    # ------------------------------------------------------------------------------- items
    def upsert_items(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Add or update items: checked, encoded, then store (rows and vectors in one commit),
        every vector space and the serving snapshot."""
        if not records:
            return 0
        table = self._complete(_items_table(records))
        embedder = self.space_embedder()
        vectors = self.embed(table)
        live = self.live
        with live.lock:
            if self.space_embedder() is not embedder:  # a model swap landed meanwhile: its vectors
                vectors = self.embed(table)
            with self.store_lock:
                report = self.store.upsert_items(table, strict=True, vectors=vectors)
            if report.rejected:  # strict: nothing was written; say which row and field, and why
                raise SchemaError("; ".join(str(e) for e in report.errors[:5]) or "items: rejected")
            with self.store_lock:
                stored = self._stored(table.column("item_id").to_pylist())
            self._apply(stored, vectors)
        log.info("items upserted: %d", report.loaded)
        return int(report.loaded)

    def embed(self, items: pa.Table) -> dict[str, F32]:
        """Every space's vectors of complete item rows (images readable), in row order."""
        content, text, image = self._encode(items)
        rows = self.model_rows.lookup(items.column("item_id").to_pylist(), missing=-1)
        embedder = self.space_embedder()
        vectors = embedder.vectors(
            items, content, text, preference_rows=rows, image_root=self.paths.root, image_features=image
        )
        return {k: v for k, v in vectors.items() if k in self.spaces.indexes}

    def _apply(self, items: pa.Table, vectors: Mapping[str, F32]) -> None:
        """Index and snapshot for items already committed to the store (``items``: their stored
        rows, aligned with ``vectors``). Runs under ``live.lock``."""
        from lookbook.encoders.content import item_texts

        ids = items.column("item_id").to_pylist()
        payloads = item_payloads(items)
        self.spaces.upsert(ids, dict(vectors), payloads)
        if self.journal is not None:
            self.journal.update(ids)
        self.text_search.upsert(ids, item_texts(items), payloads=payloads, vectors=vectors[TEXT_SPACE])
        live = self.live
        state = live.state
        known = state.catalog.ids.lookup(ids, missing=-1)
        new = known < 0
        content = vectors["content"]
        catalog = state.catalog.upsert(items)
        scorer = state.scorer.with_rows(known[~new], vectors[PREFERENCE_SPACE][~new])
        scorer = scorer.extended(vectors[PREFERENCE_SPACE][new])
        if live.rerank_inputs is not None and new.any():
            live.rerank_inputs = live.rerank_inputs.extended(int(new.sum()))
        titles = np.asarray(items.column("title").to_pylist(), dtype=object)
        slots = np.asarray(items.column("slot").to_pylist(), dtype=object)
        all_content, all_titles, all_slots = state.content.copy(), state.titles.copy(), state.slots.copy()
        all_content[known[~new]] = content[~new]
        all_titles[known[~new]] = titles[~new]
        all_slots[known[~new]] = slots[~new]
        live.state = dataclasses.replace(
            state,
            catalog=catalog,
            titles=np.concatenate([all_titles, titles[new]]),
            content=np.vstack([all_content, content[new]]),
            scorer=scorer,
            trending=np.concatenate([state.trending, np.zeros(int(new.sum()), np.float32)]),
            slots=np.concatenate([all_slots, slots[new]]),
        )
        live.generation += 1

    def delete_items(self, item_ids: Sequence[str]) -> int:
        """Items sold: out of stock in the store (they keep their page and their history), gone from
        every space and list at once."""
        ids = [normalise_id(i, owner=f"item_ids[{j}]", name="item_id") for j, i in enumerate(item_ids)]
        live = self.live
        with live.lock:
            state = live.state
            rows = state.catalog.ids.lookup(ids, missing=-1)
            known = rows >= 0
            known[known] = state.catalog.alive[rows[known]]
            if not known.all():
                raise NotFound(
                    f"item_id: unknown items {[i for i, a in zip(ids, known, strict=True) if not a][:5]}"
                )
            with self.store_lock:
                self.store.mark_sold(ids)
            self.spaces.delete(ids)
            if self.journal is not None:
                self.journal.update(ids)
            self.text_search.delete(ids)
            live.state = dataclasses.replace(state, catalog=state.catalog.sold_out(ids))
            live.generation += 1
        return len(ids)

    # ------------------------------------------------------------------------------ events
    def add_events(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Events into the store and, at once, into their users' histories and the event log (the
        next request of that user is ranked with them; trending counts them at its next refresh)."""
        if not records:
            return 0
        live = self.live
        table = _events_table(records, live.clock.now())
        item_ids = table.column("item_id").to_pylist()
        rows = live.state.catalog.ids.lookup(item_ids, missing=-1)
        if (rows < 0).any():
            bad = int(np.flatnonzero(rows < 0)[0])
            raise NotFound(f"events row {bad} item_id: unknown item {item_ids[bad]!r}")
        users = table.column("user_id").to_pylist()
        kinds = np.asarray([kind_code(k) for k in table.column("kind").to_pylist()], np.int8)
        ts = np.asarray([int(t.timestamp()) for t in table.column("timestamp").to_pylist()], np.int64)
        with live.lock:
            with self.store_lock:
                report = self.store.append_events(table, strict=True)
            if report.rejected:
                raise SchemaError("; ".join(str(e) for e in report.errors[:5]) or "events: rejected")
            for j, user in enumerate(users):  # a request carries a few events
                live.users.append(user, rows[j : j + 1], kinds[j : j + 1], ts[j : j + 1])
                live.users.sizes.setdefault(user, {})
            live.events.append(rows.astype(np.int64), kinds, ts)
        return len(records)

    # ------------------------------------------------------------------------------- users
    def upsert_users(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Add or update shoppers (sizes per slot group, region): stored, then used by the next
        request's constraints."""
        if not records:
            return 0
        table = _users_table(records)
        with self.live.lock:
            with self.store_lock:
                report = self.store.upsert_users(table, strict=True)
            if report.rejected:
                raise SchemaError("; ".join(str(e) for e in report.errors[:5]) or "users: rejected")
            users = self.live.users
            for row in table.to_pylist():  # a request carries a few users
                if row.get("sizes") is not None:
                    users.sizes[row["user_id"]] = dict(row["sizes"])
                else:
                    users.sizes.setdefault(row["user_id"], {})
                if row.get("region") is not None:
                    users.context.setdefault(row["user_id"], {})["region"] = row["region"]
        return int(report.loaded)

    # ---------------------------------------------------------------------------- helpers
    def _stored(self, ids: Sequence[str]) -> pa.Table:
        """The store's rows of ``ids`` (call under ``store_lock``), in ``ids`` order."""
        table = self.store.items_table(item_ids=ids)
        order = IdMap(table.column("item_id").to_pylist(), name="item_id").lookup(list(ids), missing=None)
        return table.take(pa.array(order))

    def _complete(self, table: pa.Table) -> pa.Table:
        """Item records completed with the stored fields of items they update (an update may name only
        ``item_id`` and ``price``), and a creation time for new ones: what encoding needs."""
        ids = table.column("item_id").to_pylist()
        with self.store_lock:
            stored = self.store.items_table(item_ids=ids)
        known = IdMap(stored.column("item_id").to_pylist(), name="item_id").lookup(ids, missing=-1)
        now = datetime.fromtimestamp(self.live.clock.now(), UTC)
        rows = table.to_pylist()
        base = stored.take(pa.array(np.maximum(known, 0))).to_pylist() if len(stored) else [{}] * len(rows)
        out = []
        for j, row in enumerate(rows):  # a request carries a few items
            merged = dict(base[j]) if known[j] >= 0 else {}
            if known[j] >= 0 and merged.get("image") and "image" not in row:
                with self.store_lock:
                    path = self.store.image_path(row["item_id"])
                merged["image"] = str(path) if path is not None else merged["image"]
            merged.update({k: v for k, v in row.items() if k in table.column_names})
            if known[j] < 0:
                for f in ITEM_FIELDS:
                    if f.required and merged.get(f.name) in (None, ""):
                        raise SchemaError(f"items row {j} {f.name}: required for a new item")
                if not merged.get("created_at"):
                    merged["created_at"] = now  # an item new to the shop without a date is new in now
            out.append(merged)
        try:  # every column, so that encoding and embedding find each field (null where unknown)
            return pa.Table.from_pylist(out, schema=ITEMS_SCHEMA)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise SchemaError(f"items: {exc}") from None

    def _encode(self, items: pa.Table) -> tuple[F32, F32, F32]:
        """Content, text and picture vectors of items (encoders load on first use, once: loading both from
        disk cost more than encoding an item)."""
        from lookbook.encoders.content import encode_items

        fusion, image_encoder, text_encoder = self._encoders()
        try:
            features = encode_items(
                items,
                self.paths.root,
                fusion=fusion,
                image_encoder=image_encoder,
                text_encoder=text_encoder,
                show_progress=False,
            )
        except (OSError, ValueError) as exc:  # an unreadable image, named by the encoder
            if isinstance(exc, LookbookError):
                raise
            raise SchemaError(f"items image: cannot be encoded: {exc}") from None
        return features.fused, features.text, features.image

    def _encoders(self) -> tuple[Any, Any, Any]:
        """The fitted content fusion and the image and text encoders, loaded once."""
        with self._models_lock:
            if self._encoder is None:
                from lookbook.encoders.fused import FusedContentEncoder
                from lookbook.encoders.image import ImageEncoder, ImageEncoderConfig
                from lookbook.encoders.text import TextEncoder

                cache = self.paths.root / "cache"
                resolution = encoded_resolution(self.paths)
                self._encoder = (
                    FusedContentEncoder.load(self.paths.fusion),
                    ImageEncoder(ImageEncoderConfig(resolution=resolution), cache_dir=cache),
                    TextEncoder(),  # no disk cache: it encodes search queries too (shared model)
                )
            return self._encoder  # type: ignore[no-any-return]

    def text_encoder(self) -> Any:
        """The sentence encoder items are encoded with (hybrid search encodes queries with it too:
        one model in memory, loaded once)."""
        return self._encoders()[2]

    def preload(self) -> None:
        """Load the encoders' weights and the space models now rather than on the first write."""
        _, image_encoder, text_encoder = self._encoders()
        image_encoder.load()
        text_encoder.load()
        self.space_embedder()

    def space_embedder(self) -> SpaceEmbedder:
        with self._models_lock:
            if self._embedder is None:
                self._embedder = SpaceEmbedder(self.paths, cache_dir=self.paths.root / "cache")
            return self._embedder

    def use_models(self, models: ServedModels, spaces: ItemSpaces) -> None:
        """Embed and write with a swapped-in model version from now on (under ``live.lock``)."""
        with self._models_lock:
            self.paths = models.paths
            self._embedder = models.embedder
            self.model_rows = IdMap(list(models.model_ids), name="item_id")
            self.spaces = spaces

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.spaces.close()
        with contextlib.suppress(Exception), self.store_lock:
            self.store.close()


def _items_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Item records (JSON-like) as an Arrow table the store validates; attributes may be a dict."""
    rows = []
    seen: dict[str, int] = {}
    for j, r in enumerate(records):
        if not isinstance(r, Mapping):
            raise SchemaError(f"items row {j}: expected an object, got {type(r).__name__}")
        row = dict(r)
        row["item_id"] = normalise_id(row.get("item_id"), owner=f"items row {j}", name="item_id")
        if row["item_id"] in seen:
            raise SchemaError(f"items row {j} item_id: duplicate of row {seen[row['item_id']]}")
        seen[row["item_id"]] = j
        if isinstance(row.get("attributes"), Mapping):
            row["attributes"] = [(str(k), str(v)) for k, v in row["attributes"].items()]
        rows.append(row)
    fields = [f for f in ITEMS_SCHEMA if any(f.name in r for r in rows)]
    try:
        return pa.Table.from_pylist(rows, schema=pa.schema(fields))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise SchemaError(f"items: {exc}") from None


def _users_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    rows = []
    for j, r in enumerate(records):
        if not isinstance(r, Mapping):
            raise SchemaError(f"users row {j}: expected an object, got {type(r).__name__}")
        row = dict(r)
        row["user_id"] = normalise_id(row.get("user_id"), owner=f"users row {j}", name="user_id")
        if isinstance(row.get("sizes"), Mapping):
            row["sizes"] = [(str(k), str(v)) for k, v in row["sizes"].items()]
        rows.append(row)
    fields = [f for f in USERS_SCHEMA if any(f.name in r for r in rows)]
    try:
        return pa.Table.from_pylist(rows, schema=pa.schema(fields))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise SchemaError(f"users: {exc}") from None


def _events_table(records: Sequence[Mapping[str, Any]], now: float) -> pa.Table:
    """Event records as a table; a missing time stamp is the shop's ``now``, and one later than
    ``now`` plus ``MAX_SKEW_S`` is refused (a client's clock must not move the shop's)."""
    rows = []
    fields_wanted = ("user_id", "item_id", "kind", "timestamp", "touchpoint", "position", "request_id")
    present = {f.name for f in EVENTS_SCHEMA}
    for j, r in enumerate(records):
        if not isinstance(r, Mapping):
            raise SchemaError(f"events row {j}: expected an object, got {type(r).__name__}")
        row = {k: r.get(k) for k in fields_wanted if k in present}
        row["user_id"] = normalise_id(row["user_id"], owner=f"events row {j}", name="user_id")
        row["item_id"] = normalise_id(row["item_id"], owner=f"events row {j}", name="item_id")
        try:
            kind_code(str(row["kind"]))
        except KeyError:
            raise SchemaError(f"events row {j} kind: unknown kind {row['kind']!r}") from None
        ts = row["timestamp"]
        if ts is None:
            ts = datetime.fromtimestamp(now, UTC)
        elif isinstance(ts, int | float) and not isinstance(ts, bool):
            ts = datetime.fromtimestamp(float(ts), UTC)
        elif isinstance(ts, str):
            try:
                ts = datetime.fromisoformat(ts)
            except ValueError:
                raise SchemaError(f"events row {j} timestamp: not ISO 8601: {ts!r}") from None
        elif not isinstance(ts, datetime):
            raise SchemaError(f"events row {j} timestamp: expected ISO 8601 or epoch seconds, got {ts!r}")
        ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        if ts.timestamp() > now + MAX_SKEW_S:
            shop_now = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
            raise SchemaError(
                f"events row {j} timestamp: {ts.isoformat()} is later than the shop's clock ({shop_now}) "
                f"by more than {MAX_SKEW_S} s; omit it to use the shop's time"
            )
        row["timestamp"] = ts
        rows.append(row)
    fields = [f for f in EVENTS_SCHEMA if f.name in rows[0]]
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))
