"""``ShopWriter``: the live writes of an open shop (items added, updated and sold; events).

A write goes store first (the source of truth: a rejected row raises before anything else
changes), then every vector space and the text search, then a new ``CatalogState`` snapshot that
requests pick up on their next read. Writes take one lock, so two writes never interleave; reads
never take it. The store has its own lock besides, because a DuckDB connection serves one call at a
time and the shop's item pages read through it too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import NotFound, SchemaError
from lookbook.index.spaces import ItemSpaces
from lookbook.project.layout import ProjectPaths, encoded_resolution
from lookbook.project.payload import item_payloads
from lookbook.project.spaces import PREFERENCE_SPACE, TEXT_SPACE, project_space_vectors
from lookbook.schema import IdMap
from lookbook.tables import EVENTS_SCHEMA, ITEMS_SCHEMA
from lookbook.touchpoints.state import CatalogState, LiveState, kind_code

log = logging.getLogger(__name__)

__all__ = ["ShopWriter"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


class ShopWriter:
    """Applies live writes to a project's store, its vector spaces and the serving snapshot."""

    def __init__(
        self, paths: ProjectPaths, store: Any, spaces: ItemSpaces, text_search: Any, live: LiveState
    ) -> None:
        self.paths, self.store, self.spaces = paths, store, spaces
        self.text_search, self.live = text_search, live
        self.store_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._encoder: Any = None

    def upsert_items(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Add or update items: store, then every vector space, then the serving snapshot."""
        from lookbook.encoders.content import item_texts

        if not records:
            return 0
        live = self.live
        with self._write_lock:
            known_ids = live.state.catalog.ids
            fresh = [
                {**r, "created_at": datetime.fromtimestamp(live.now, UTC)}
                if not r.get("created_at") and known_ids.lookup([str(r.get("item_id"))], missing=-1)[0] < 0
                else r
                for r in records
            ]  # an item new to the shop without a date is new in now (the shop's clock)
            with self.store_lock:
                report = self.store.upsert_items(_items_table(fresh), strict=True)
                ids = [str(r["item_id"]) for r in records]
                table = self.store.items_table()
            if report.rejected:  # strict: nothing was written; say which row and field, and why
                raise SchemaError("; ".join(str(e) for e in report.errors[:5]) or "items: rejected")
            keep = np.isin(np.asarray(table.column("item_id").to_pylist(), dtype=object), ids)
            changed = table.filter(pa.array(keep))
            content, text = self._encode(changed)
            state = live.state
            known = state.catalog.ids.lookup(changed.column("item_id").to_pylist(), missing=-1)
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
                payloads=item_payloads(changed), vectors=vectors[TEXT_SPACE],
            )  # fmt: skip
            catalog = state.catalog.upsert(changed)
            new = known < 0
            scorer = state.scorer.with_rows(known[~new], vectors[PREFERENCE_SPACE][~new])
            scorer = scorer.extended(vectors[PREFERENCE_SPACE][new])
            if live.rerank_inputs is not None and new.any():
                live.rerank_inputs = live.rerank_inputs.extended(int(new.sum()))
            all_content = state.content.copy()
            all_content[known[~new]] = content[~new]
            all_titles = state.titles.copy()
            all_titles[known[~new]] = np.asarray(changed.column("title").to_pylist(), dtype=object)[~new]
            all_slots = state.slots.copy()
            all_slots[known[~new]] = np.asarray(changed.column("slot").to_pylist(), dtype=object)[~new]
            live.state = CatalogState(
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
            live.generation += 1
            log.info("items upserted: %d (%d new)", report.loaded, int(new.sum()))
            return int(report.loaded)

    def delete_items(self, item_ids: Sequence[str]) -> int:
        """An item sold or withdrawn: gone from every space and page at once (kept in the store,
        marked sold, so its events still count)."""
        ids = [str(i) for i in item_ids]
        live = self.live
        with self._write_lock:
            state = live.state
            rows = state.catalog.ids.lookup(ids, missing=-1)
            alive = rows >= 0
            alive[alive] = state.catalog.alive[rows[alive]]
            if not alive.all():
                raise NotFound(
                    f"item_id: unknown items {[i for i, a in zip(ids, alive, strict=True) if not a][:5]}"
                )
            self.spaces.delete(ids)
            self.text_search.delete(ids)
            with self.store_lock:
                self.store.mark_sold(ids)
            live.state = CatalogState(
                catalog=state.catalog.remove(ids),
                titles=state.titles, content=state.content, scorer=state.scorer,
                trending=state.trending, slots=state.slots,
            )  # fmt: skip
            live.generation += 1
            return len(ids)

    def add_events(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Events into the store and, at once, into their users' histories (the next request of
        that user is ranked with them)."""
        if not records:
            return 0
        live = self.live
        rows = live.state.catalog.ids.lookup([str(r.get("item_id", "")) for r in records], missing=-1)
        if (rows < 0).any():
            bad = int(np.flatnonzero(rows < 0)[0])
            raise NotFound(f"events row {bad} item_id: unknown item {records[bad].get('item_id')!r}")
        table = _events_table(records, live.now)
        with self._write_lock:
            with self.store_lock:
                report = self.store.append_events(table, strict=True)
            if report.rejected:
                raise SchemaError("; ".join(str(e) for e in report.errors[:5]) or "events: rejected")
            users = table.column("user_id").to_pylist()
            kinds = np.asarray([kind_code(k) for k in table.column("kind").to_pylist()], np.int8)
            ts = np.asarray(
                [int(t.timestamp()) for t in table.column("timestamp").to_pylist()], dtype=np.int64
            )
            for j, user in enumerate(users):  # a request carries a few events
                live.users.append(user, rows[j : j + 1], kinds[j : j + 1], ts[j : j + 1])
                live.users.sizes.setdefault(user, {})
            live.now = max(live.now, int(ts.max()))
        return len(records)

    def _encode(self, items: pa.Table) -> tuple[F32, F32]:
        """Content and text vectors of items added while serving (encoders load on first use)."""
        from lookbook.encoders.content import encode_items
        from lookbook.encoders.fused import FusedContentEncoder
        from lookbook.encoders.image import ImageEncoderConfig

        if self._encoder is None:
            self._encoder = FusedContentEncoder.load(self.paths.models / "fusion")
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
        with contextlib.suppress(Exception), self.store_lock:
            self.store.close()


def _model_rows(paths: ProjectPaths, items: pa.Table) -> I64:
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
    fields = [f for f in ITEMS_SCHEMA if any(f.name in r for r in rows)]
    try:
        return pa.Table.from_pylist(rows, schema=pa.schema(fields))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise SchemaError(f"items: {exc}") from None


def _events_table(records: Sequence[Mapping[str, Any]], now: int) -> pa.Table:
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
