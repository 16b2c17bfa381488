"""``open_shop(project)``: the one place a built project's serving object graph is assembled.

It reads what the build and the live writes left (the store, row-aligned vectors, the saved models
of the promoted version, the vector spaces), makes the first ``CatalogState`` snapshot, the users'
histories and the event log, and hands them to a ``ProjectShop`` (the touchpoints) and its
``ShopWriter`` (the live writes). Serving, the CLI, benchmarks and the build's photos stage all
open a shop through here, so they all serve the same thing.

**Recovery.** The store is the source of truth; vectors of items added or changed after the build
live in it beside their rows (``Store.item_vectors``), the build's in ``vectors/*.npy``. Opening
brings everything else in line with it: items the store has without vectors (ingested into a built
project with ``lookbook ingest``) are encoded now and their vectors committed; every item with
stored vectors is upserted into the index again (idempotent), and items out of stock are removed
from it, so a ``kill -9`` between a write's store commit and its index write loses nothing.

It changes nothing process-wide: a serving process that wants one BLAS thread per request calls
``lookbook.touchpoints.threads.limit_math_threads`` itself.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.errors import LookbookError, NotFound
from lookbook.index.spaces import ItemSpaces
from lookbook.project.layout import ProjectPaths, default_index_uri, preference_item_ids
from lookbook.project.payload import PROJECT_PAYLOAD, item_payloads
from lookbook.project.spaces import CONTENT_SPACE, TEXT_SPACE
from lookbook.ranking import CatalogArrays, Reranker, item_popularity
from lookbook.ranking.reranker import META_FILE
from lookbook.schema import IdMap
from lookbook.touchpoints.affinity import PreferenceScorer
from lookbook.touchpoints.clock import Clock, project_clock
from lookbook.touchpoints.config import TouchpointConfig
from lookbook.touchpoints.freshness import EventBuffer, FreshCounts
from lookbook.touchpoints.impressions import ImpressionLog
from lookbook.touchpoints.live import LiveState
from lookbook.touchpoints.rerank_features import RerankerInputs
from lookbook.touchpoints.shop import ProjectShop
from lookbook.touchpoints.state import CatalogState, UserHistories, trending_scores
from lookbook.touchpoints.swap import drop_orphan_folders, indexed_spaces, swap_models
from lookbook.touchpoints.writer import ShopWriter

log = logging.getLogger(__name__)

__all__ = ["open_shop"]

#: How often trending and popularity are recomputed from the event log (seconds of shop time).
REFRESH_S = 30.0


def open_shop(
    project: Path | str,
    *,
    index: str | None = None,
    config: TouchpointConfig | None = None,
    text_encoder: Any = None,
    clock: Clock | None = None,
) -> ProjectShop:
    """Open a project made by ``lookbook build`` for serving.

    ``index`` is the index URI the project was built with (default: the embedded index inside the
    project); ``config`` replaces the project's ``settings.toml``; ``text_encoder`` replaces the
    sentence encoder of hybrid search (tests pass a small one); ``clock`` replaces the project's
    clock (the settings' ``clock``: ``"wall"`` or ``"replay"``, see ``lookbook.touchpoints.clock``).
    Raises ``NotFound`` for a folder without a build and ``LookbookError`` for a build that did
    not finish.
    """
    from lookbook.project.settings import load_settings
    from lookbook.store import open_store

    started = time.perf_counter()
    if not (Path(project) / "build.json").exists():
        raise NotFound(f"project {project}: no build.json; run `lookbook build ... --project {project}`")
    if config is None:
        settings = load_settings(project)
        config, config_version = TouchpointConfig.from_settings(settings), settings.version
    else:
        config_version = config.to_settings().version
    paths = ProjectPaths(Path(project)).current()  # every model of one version, even mid-promotion
    record = json.loads(paths.record.read_text())["stages"]
    if "index" not in record:
        raise LookbookError(f"project {paths.root}: the build did not finish (no index stage); rerun it")
    store = open_store(paths.root, create=False)
    dims = json.loads((paths.vectors / "spaces.json").read_text())
    indexed, names = indexed_spaces(paths)
    spaces = ItemSpaces(index or default_index_uri(paths.root), dims, PROJECT_PAYLOAD, names=names)
    try:
        shop = _assemble(paths, store, spaces, record, config, config_version, text_encoder, clock, started)
    except BaseException:
        spaces.close()
        store.close()
        raise
    if indexed is not None and indexed != paths.model_version:
        # a version promoted while no server ran: the index's model spaces hold another version's
        # vectors; swap the served one in before the first request, as a running server would
        try:
            swap_models(shop, paths, grace_s=0.0)
        except BaseException:
            shop.close()
            raise
    drop_orphan_folders(shop.spaces)
    shop.swap = functools.partial(swap_models, shop)
    return shop


def _assemble(
    paths: ProjectPaths,
    store: Any,
    spaces: ItemSpaces,
    record: dict[str, Any],
    config: TouchpointConfig,
    config_version: str,
    text_encoder: Any,
    clock: Clock | None,
    started: float,
) -> ProjectShop:
    from lookbook.encoders.content import item_texts
    from lookbook.index.hybrid import HybridTextSearch
    from lookbook.models.collaborative.hybrid import LookbookRecommender
    from lookbook.models.compatibility import CompatibilityModel

    items = store.items_table()
    ids = np.asarray(items.column("item_id").to_pylist(), dtype=object).astype(str)
    build_ids = np.asarray(json.loads((paths.vectors / "item_ids.json").read_text())).astype(str)
    model_ids = np.asarray(preference_item_ids(paths)).astype(str)  # a retrained version's own rows
    events = store.event_arrays()
    rows = events.item_rows.astype(np.int64)
    kinds, ts = events.kind, events.timestamp
    clock = clock or project_clock(paths.root, config.clock, float(ts.max()) if ts.size else None)
    store.clock = clock.now  # the store refuses events from the future of the shop's clock, not the wall's
    now = int(clock.now())

    preference = LookbookRecommender.load(paths.preference)
    has_compatibility = (paths.compatibility / "model.json").exists()
    compatibility = CompatibilityModel.load(paths.compatibility) if has_compatibility else None
    reranker = Reranker.load(paths.ranker) if (paths.ranker / META_FILE).exists() else None

    users = UserHistories()
    users.load(events.users.ids[events.user_rows], rows, kinds, ts)
    for u in store.users_table().to_pylist():
        users.sizes[u["user_id"]] = dict(u.get("sizes") or [])
        users.context[u["user_id"]] = {"region": u.get("region") or "", **dict(u.get("attributes") or [])}
    n = len(ids)
    buffer = EventBuffer(rows, kinds, ts)
    counts = FreshCounts(buffer, config.home.trending_days, REFRESH_S)
    popularity = item_popularity(n, rows, kinds, ts, now=now)  # the reranker's definition too
    counts.computed_at = float(now)

    # a first snapshot without vectors: the writer needs one to embed items that have none yet
    state = CatalogState(
        catalog=CatalogArrays.from_items(items, popularity=popularity),
        titles=np.asarray(items.column("title").to_pylist(), dtype=object),
        content=np.zeros((n, 1), np.float32),
        scorer=None,  # type: ignore[arg-type]
        trending=trending_scores(rows, kinds, ts, n, now, config.home.trending_days),
        slots=np.asarray(items.column("slot").to_pylist(), dtype=object),
        spaces=spaces,
        compatibility=compatibility,
    )
    live = LiveState(state, users, clock, buffer, counts)
    writer = ShopWriter(paths, store, spaces, None, live, model_ids.tolist())
    content, text, live_vectors = _content_vectors(paths, store, writer, items, ids, build_ids)
    scorer = PreferenceScorer.from_model(preference, model_ids, ids, preference.item_vectors(content))
    live.state = dataclasses.replace(state, content=content, scorer=scorer)
    live.rerank_inputs = RerankerInputs.load(paths.ranker, ids) if reranker is not None else None
    _reconcile_index(spaces, items, live_vectors)
    text_search = HybridTextSearch(
        ids.tolist(),
        item_texts(items),
        spaces[TEXT_SPACE],
        payloads=item_payloads(items),
        vectors=text,
        encoder=text_encoder or _query_encoder(writer.text_encoder()),
        indexed=True,  # the build and the live writes put every text vector in the index already
    )
    writer.text_search = text_search
    impressions = ImpressionLog(_store_append(writer))
    versions = {
        stage: str(info.get("fingerprint", ""))
        for stage, info in record.items()
        if stage in ("compatibility", "preference", "ranker")
    }
    shop = ProjectShop(
        paths,
        live,
        writer,
        preference=preference,
        reranker=reranker,
        text_search=text_search,
        config=config,
        model_versions=versions,
        impressions=impressions,
        config_version=config_version,
        model_version=paths.model_version,
    )
    log.info(
        "shop %s open: %d items (%d with live vectors), %d users with events, %d spaces in %.1f s",
        paths.root, n, len(live_vectors.get(CONTENT_SPACE, ((), None))[0]), len(users.users()),
        len(spaces.indexes), time.perf_counter() - started,
    )  # fmt: skip
    return shop


def _content_vectors(
    paths: ProjectPaths,
    store: Any,
    writer: ShopWriter,
    items: pa.Table,
    ids: np.ndarray,
    build_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[list[str], np.ndarray]]]:
    """Content and text vectors of every store item, row-aligned with ``ids``: the store's own (items
    written live) over the build's; items with neither are encoded now and committed."""
    base_content = np.load(paths.vectors / "content.npy")
    base_text = np.load(paths.vectors / "text.npy")
    build_rows = IdMap(build_ids, name="item_id").lookup(ids, missing=-1)
    live_vectors = {space: store.item_vectors(space) for space in store.vector_spaces()}
    have = build_rows >= 0
    if CONTENT_SPACE in live_vectors:
        have |= np.isin(ids, np.asarray(live_vectors[CONTENT_SPACE][0], dtype=object).astype(str))
    if not have.all():
        missing = items.filter(pa.array(~have))
        log.info("encoding %d items without vectors (added to the store after the build)", len(missing))
        vectors = writer.embed(missing)
        report = store.upsert_items(missing, strict=True, vectors=vectors)
        if report.rejected:
            errors = "; ".join(str(e) for e in report.errors[:3])
            raise LookbookError(f"project {paths.root}: items without vectors not stored: {errors}")
        live_vectors = {space: store.item_vectors(space) for space in store.vector_spaces()}
    dim_c, dim_t = base_content.shape[1], base_text.shape[1]
    content = np.zeros((len(ids), dim_c), np.float32)
    text = np.zeros((len(ids), dim_t), np.float32)
    content[build_rows >= 0] = base_content[build_rows[build_rows >= 0]]
    text[build_rows >= 0] = base_text[build_rows[build_rows >= 0]]
    for space, target in ((CONTENT_SPACE, content), (TEXT_SPACE, text)):
        if space in live_vectors:
            live_ids, matrix = live_vectors[space]
            rows = IdMap(ids, name="item_id").lookup(live_ids, missing=-1)
            target[rows[rows >= 0]] = matrix[rows >= 0]
    return content, text, live_vectors


def _reconcile_index(spaces: ItemSpaces, items: pa.Table, live_vectors: dict[str, Any]) -> None:
    """Bring the index in line with the store: items with stored vectors upserted (they may have
    missed their index write), items out of stock removed."""
    if CONTENT_SPACE in live_vectors and len(live_vectors[CONTENT_SPACE][0]):
        ids = list(live_vectors[CONTENT_SPACE][0])
        order = IdMap(items.column("item_id").to_pylist(), name="item_id").lookup(ids, missing=-1)
        keep = order >= 0
        rows = items.take(pa.array(order[keep]))
        vectors = {}
        for space in spaces.indexes:
            if space not in live_vectors:
                continue
            sids, matrix = live_vectors[space]
            kept = [ids[j] for j in np.flatnonzero(keep)]
            vectors[space] = matrix[IdMap(list(sids), name="item_id").lookup(kept, missing=None)]
        if set(vectors) == set(spaces.indexes):
            spaces.upsert(rows.column("item_id").to_pylist(), vectors, item_payloads(rows))
        else:
            lacking = sorted(set(spaces.indexes) - set(vectors))
            log.warning("index reconcile: live items lack the spaces %s; rebuild the project", lacking)
    sold = pc.invert(pc.fill_null(items.column("in_stock"), True))
    sold_ids = items.column("item_id").filter(sold).to_pylist()
    if sold_ids:
        spaces.delete(sold_ids)


def _query_encoder(encoder: Any) -> Any:
    """Search queries through the writer's sentence encoder (one copy of the model in memory)."""

    def encode(texts: list[str]) -> np.ndarray:
        return encoder.encode(list(texts), show_progress=False)  # type: ignore[no-any-return]

    return encode


def _store_append(writer: ShopWriter) -> Any:
    def append(table: pa.Table) -> Any:
        with writer.store_lock:
            return writer.store.append_impressions(table)

    return append
