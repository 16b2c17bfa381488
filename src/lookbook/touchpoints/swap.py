"""Swap a promoted model version into a running shop, without a restart and without failing a request.

A model version changes three things a request reads: the preference scorer (the user's vector and
every item's), the compatibility model (complete-the-look queries) and the vectors of the *model
spaces* in the index (``preference`` and ``style_<slot>``; ``content``, ``text`` and ``look`` come
from the content encoders, which a retrain does not change). The swap:

1. **prepares beside** the served version, outside every lock: loads the new version's models,
   embeds every catalog item's model-space vectors and fills them into new engine indexes named
   ``<space>_<version>_<tag>`` (a new folder, or a new Milvus collection), in small batches so that
   request threads keep getting the interpreter;
2. **catches up and commits** under the live lock (writes wait for a moment, reads never): items
   written while it prepared (the writer journals their ids) are embedded and written into the new
   indexes too, the store's vectors of live items are replaced with the new version's, and one new
   ``CatalogState`` (scorer, compatibility model and spaces together) replaces the old one. A
   request took one snapshot at its start, so it runs wholly on one version;
3. **records** which engine names hold which version (``vectors/index_models.json``, replaced
   atomically) so the next open serves them, then **retires** the old indexes after ``grace_s``
   seconds (requests still holding the old snapshot finish first).

A ``kill -9`` at any step leaves the record naming the old indexes, which are untouched; the next
open sees the served version differ from the indexed one and runs the swap again (a half-filled
index of a killed swap is dropped and filled anew).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.index.spaces import drop_index
from lookbook.project.layout import ProjectPaths
from lookbook.project.payload import item_payloads
from lookbook.project.spaces import CONTENT_SPACE, LOOK_SPACE, TEXT_SPACE
from lookbook.schema import IdMap
from lookbook.touchpoints.affinity import PreferenceScorer
from lookbook.touchpoints.served import ServedModels, load_models

if TYPE_CHECKING:
    from lookbook.index.base import VectorIndex
    from lookbook.index.spaces import ItemSpaces
    from lookbook.touchpoints.shop import ProjectShop
    from lookbook.touchpoints.state import CatalogState

log = logging.getLogger(__name__)

__all__ = ["INDEX_MODELS_FILE", "drop_orphan_folders", "indexed_spaces", "swap_models"]

F32 = npt.NDArray[np.float32]

#: Spaces whose vectors do not depend on the model version (content encoders and pictures).
FIXED_SPACES = frozenset({CONTENT_SPACE, TEXT_SPACE, LOOK_SPACE})

#: Which model version the index's model spaces hold, and under which engine names.
INDEX_MODELS_FILE = "index_models.json"

#: Items embedded and written per batch while preparing (small: the engine holds the GIL per call),
#: and the pause after each batch as a share of the batch's time (1.0: half the time preparing).
BATCH = 256
DUTY = 1.0


def indexed_spaces(paths: ProjectPaths) -> tuple[str | None, dict[str, str]]:
    """(the model version the index's model spaces hold, their engine names). Without a record the
    spaces carry their own names and hold the newest build's version (a build fills the index)."""
    from lookbook.project.versions import list_versions

    marker = paths.vectors / INDEX_MODELS_FILE
    if marker.exists():
        got = json.loads(marker.read_text())
        return str(got["model_version"]), {str(k): str(v) for k, v in dict(got.get("names", {})).items()}
    built = [v for v in list_versions(paths) if v.source in ("build", "legacy") and v.state == "ready"]
    return (max(built, key=lambda v: v.created).id if built else None), {}


def _record(paths: ProjectPaths, version: str, names: Mapping[str, str]) -> None:
    tmp = paths.vectors / (INDEX_MODELS_FILE + ".tmp")
    tmp.write_text(json.dumps({"model_version": version, "names": dict(names)}, indent=1))
    tmp.replace(paths.vectors / INDEX_MODELS_FILE)


def _model_vectors(
    models: ServedModels, state: CatalogState, rows: npt.NDArray[np.int64], spaces: list[str]
) -> dict[str, F32]:
    """The model spaces' vectors of catalog rows ``rows`` of ``state``, by the new models."""
    ids = state.catalog.ids.ids[rows]
    items = pa.table(
        {"item_id": pa.array(ids, pa.string()), "slot": pa.array(state.slots[rows], pa.string())}
    )
    model_rows = IdMap(models.model_ids, name="item_id").lookup(ids, missing=-1)
    content = state.content[rows]
    text = np.zeros((len(rows), 1), np.float32)  # the text space is fixed: not asked for
    vectors = models.embedder.vectors(items, content, text, preference_rows=model_rows, only=spaces)
    return {space: vectors[space] for space in spaces}


def _indexable(shop: ProjectShop, state: CatalogState) -> tuple[npt.NDArray[np.int64], list[dict[str, Any]]]:
    """Rows of ``state`` that belong in the index (alive, in stock) and their payloads (the store's)."""
    c = state.catalog
    rows = np.flatnonzero(c.alive & c.in_stock).astype(np.int64)
    with shop.writer.store_lock:
        items = shop.writer.store.items_table()
    order = IdMap(items.column("item_id").to_pylist(), name="item_id").lookup(c.ids.ids[rows], missing=-1)
    rows = rows[order >= 0]
    return rows, item_payloads(items.take(pa.array(order[order >= 0])))


def _fill(
    indexes: Mapping[str, VectorIndex],
    models: ServedModels,
    state: CatalogState,
    rows: npt.NDArray[np.int64],
    payloads: list[dict[str, Any]],
) -> None:
    spaces = list(indexes)
    _lower_thread_priority()
    for s in range(0, len(rows), BATCH):
        started = time.perf_counter()
        part = rows[s : s + BATCH]
        vectors = _model_vectors(models, state, part, spaces)
        ids = [str(i) for i in state.catalog.ids.ids[part]]
        for space, index in indexes.items():
            index.upsert(ids, vectors[space], payloads[s : s + BATCH])
        # at most half of the interpreter's time: requests keep the other half and their latency
        time.sleep(DUTY * (time.perf_counter() - started))


def _on_own_thread(work: Any, *args: Any) -> None:
    """``work(*args)`` on a new thread, waited for: the thread it lowers the priority of dies with it."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work(*args)
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="lookbook-swap-fill")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def _lower_thread_priority() -> None:
    """Nice this thread (Linux schedules threads, and ``setpriority`` takes a thread id): the cores
    go to request threads first while a swap prepares. Elsewhere, or without permission, nothing."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def swap_models(shop: ProjectShop, paths: ProjectPaths, *, grace_s: float = 30.0) -> str:
    """Serve the model version ``paths`` is pinned to (see the module doc); returns it. Runs on the
    caller's thread (the reload watcher's), one swap at a time per shop."""
    with shop.swap_lock:
        return _swap(shop, paths, grace_s)


def _swap(shop: ProjectShop, paths: ProjectPaths, grace_s: float) -> str:
    started = time.perf_counter()
    version = paths.model_version
    old_version = shop.model_version()
    models = load_models(paths)
    writer, live = shop.writer, shop.live
    with live.lock:
        writer.journal = set()
        state = live.state
    try:
        spaces: ItemSpaces = state.spaces
        model_spaces = [s for s in spaces.indexes if s not in FIXED_SPACES]
        new: dict[str, tuple[str, VectorIndex]] = {}
        try:
            tag = uuid.uuid4().hex[:6]  # a version swapped in again gets fresh engine names
            for space in model_spaces:
                name = f"{space}_{version}_{tag}"
                new[space] = (name, spaces.open_beside(space, name))
            rows, payloads = _indexable(shop, state)
            _on_own_thread(_fill, {s: ix for s, (_, ix) in new.items()}, models, state, rows, payloads)
            prepared = time.perf_counter() - started
            with live.lock:
                _commit(shop, models, new, model_spaces)
                # the old state's spaces: what requests still in flight search
                retired = [spaces.indexes[s] for s in model_spaces]
        except BaseException:
            for _, index in new.values():
                drop_index(index)
            raise
    finally:
        writer.journal = None
    if grace_s > 0:
        timer = threading.Timer(grace_s, _retire, args=(retired,))
        timer.daemon = True
        timer.start()
    else:  # nobody can hold the old snapshot (a shop being opened)
        _retire(retired)
    log.info(
        "model version %s swapped in (was %s): %d items in %d model spaces prepared in %.1f s, "
        "committed in %.2f s", version, old_version, len(rows), len(model_spaces), prepared,
        time.perf_counter() - started - prepared,
    )  # fmt: skip
    return version


def _commit(
    shop: ProjectShop,
    models: ServedModels,
    new: Mapping[str, tuple[str, VectorIndex]],
    model_spaces: list[str],
) -> None:
    """Under ``live.lock``: catch up the writes made while preparing, store the new version's vectors
    of live items, then swap the snapshot, the writer's models and the record."""
    writer, live = shop.writer, shop.live
    state = live.state
    c = state.catalog
    touched = sorted(writer.journal or ())
    if touched:
        rows = c.ids.lookup(touched, missing=-1)
        rows = rows[rows >= 0]
        keep = c.alive[rows] & c.in_stock[rows]
        gone = [str(i) for i in c.ids.ids[rows[~keep]]]
        for _, index in new.values():
            if gone:
                index.delete(gone)
        if keep.any():
            ids = c.ids.ids[rows[keep]]
            with writer.store_lock:
                stored = writer.store.items_table(item_ids=[str(i) for i in ids])
            order = IdMap(stored.column("item_id").to_pylist(), name="item_id").lookup(ids, missing=None)
            vectors = _model_vectors(models, state, rows[keep], model_spaces)
            payloads = item_payloads(stored.take(pa.array(order)))
            for space, (_, index) in new.items():
                index.upsert([str(i) for i in ids], vectors[space], payloads)
    with writer.store_lock:
        stored_spaces = writer.store.vector_spaces()
        live_ids = writer.store.item_vectors(CONTENT_SPACE)[0] if CONTENT_SPACE in stored_spaces else []
    if live_ids:
        rows = c.ids.lookup(live_ids, missing=-1)
        ok = rows >= 0
        vectors = _model_vectors(models, state, rows[ok], model_spaces)
        ids = [i for i, k in zip(live_ids, ok, strict=True) if k]
        with writer.store_lock:
            for space in model_spaces:
                writer.store.replace_item_vectors(space, ids, vectors[space])
    preference = models.preference
    all_rows = np.arange(len(c), dtype=np.int64)
    scorer = PreferenceScorer.from_model(
        preference, np.asarray(models.model_ids), c.ids.ids, preference.item_vectors(state.content[all_rows])
    )
    from lookbook.touchpoints.rerank_features import RerankerInputs

    live.rerank_inputs = (
        RerankerInputs.load(models.paths.ranker, c.ids.ids) if models.reranker is not None else None
    )
    served = state.spaces.replaced(new)
    live.state = dataclasses.replace(state, scorer=scorer, spaces=served, compatibility=models.compatibility)
    writer.use_models(models, served)
    shop.use_models(models)
    _record(models.paths, models.version, {s: served.names[s] for s in model_spaces})


def drop_orphan_folders(spaces: ItemSpaces) -> list[str]:
    """Remove model-space folders of an embedded index that no space is served from: left by a
    swap killed before it retired them (or before it committed). Returns the names removed."""
    import shutil

    from lookbook.index.spaces import index_kind

    if index_kind(spaces.uri) != "embedded":
        return []
    folders = {Path(getattr(index, "path", "")).parent for index in spaces.indexes.values()}
    if len(folders) != 1:
        return []
    root = folders.pop()
    served = set(spaces.names.values())
    prefixes = tuple(f"{space}_" for space in spaces.indexes if space not in FIXED_SPACES)
    orphans = [
        d for d in root.iterdir() if d.is_dir() and d.name not in served and d.name.startswith(prefixes)
    ]
    orphans += [root / space for space in spaces.indexes if space not in served and (root / space).is_dir()]
    for folder in orphans:
        shutil.rmtree(folder, ignore_errors=True)
    if orphans:
        log.info("index: removed %d model-space folders no version is served from", len(orphans))
    return [d.name for d in orphans]


def _retire(indexes: list[VectorIndex]) -> None:
    for index in indexes:
        try:
            drop_index(index)
        except Exception:  # a retired index that will not drop costs disk, not service
            log.exception("retiring an old model space index failed")
