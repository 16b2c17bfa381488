"""``open_shop(project)``: the one place a built project's serving object graph is assembled.

It reads what the build left (store, row-aligned vectors, saved models, the vector spaces), makes
the first ``CatalogState`` snapshot and the users' histories, and hands them to a ``ProjectShop``
(the touchpoints) and its ``ShopWriter`` (the live writes). Serving, the CLI, benchmarks and the
build's photos stage all open a shop through here, so they all serve the same thing.

It changes nothing process-wide: a serving process that wants one BLAS thread per request calls
``lookbook.touchpoints.threads.limit_math_threads`` itself.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from lookbook.errors import LookbookError, NotFound
from lookbook.index.spaces import ItemSpaces
from lookbook.project.layout import ProjectPaths, default_index_uri
from lookbook.project.payload import PROJECT_PAYLOAD, item_payloads
from lookbook.project.spaces import TEXT_SPACE
from lookbook.ranking import CatalogArrays, Reranker, item_popularity
from lookbook.ranking.reranker import META_FILE
from lookbook.schema import IdMap
from lookbook.touchpoints.affinity import PreferenceScorer
from lookbook.touchpoints.config import TouchpointConfig
from lookbook.touchpoints.rerank_features import RerankerInputs
from lookbook.touchpoints.shop import ProjectShop
from lookbook.touchpoints.state import CatalogState, LiveState, UserHistories, trending_scores
from lookbook.touchpoints.writer import ShopWriter

log = logging.getLogger(__name__)

__all__ = ["open_shop"]


def open_shop(
    project: Path | str,
    *,
    index: str | None = None,
    config: TouchpointConfig | None = None,
    text_encoder: Any = None,
) -> ProjectShop:
    """Open a project made by ``lookbook build`` for serving.

    ``index`` is the index URI the project was built with (default: the embedded index inside the
    project); ``text_encoder`` replaces the sentence encoder of hybrid search (tests pass a small
    one). Raises ``NotFound`` for a folder without a build and ``LookbookError`` for a build that did
    not finish or items without vectors.
    """
    from lookbook.encoders.content import item_texts
    from lookbook.index.hybrid import HybridTextSearch
    from lookbook.models.collaborative.hybrid import LookbookRecommender
    from lookbook.models.compatibility import CompatibilityModel
    from lookbook.store import open_store

    started = time.perf_counter()
    config = config or TouchpointConfig()
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
    model_rows = IdMap(model_ids, name="item_id").lookup(ids, missing=-1)
    if (model_rows < 0).any():
        missing = ids[model_rows < 0][:3].tolist()
        raise LookbookError(f"project {paths.root}: items {missing} have no vectors; rerun `lookbook build`")
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
    spaces = ItemSpaces(index or default_index_uri(paths.root), dims, PROJECT_PAYLOAD)

    events = store.event_arrays()
    rows = events.item_rows.astype(np.int64)
    kinds = events.kind
    ts = events.timestamp
    now = int(max(ts.max() if ts.size else 0, 0)) or int(time.time())
    users = UserHistories()
    users.load(events.users.ids[events.user_rows], rows, kinds, ts)
    for u in store.users_table().to_pylist():
        users.sizes[u["user_id"]] = dict(u.get("sizes") or [])
        users.context[u["user_id"]] = {"region": u.get("region") or "", **dict(u.get("attributes") or [])}
    n = len(ids)
    popularity = item_popularity(n, rows, kinds, ts, now=now)  # the reranker's definition too
    state = CatalogState(
        catalog=CatalogArrays.from_items(items, popularity=popularity),
        titles=np.asarray(items.column("title").to_pylist(), dtype=object),
        content=content,
        scorer=scorer,
        trending=trending_scores(rows, kinds, ts, n, now, config.home.trending_days),
        slots=np.asarray(items.column("slot").to_pylist(), dtype=object),
    )
    text_search = HybridTextSearch(
        ids.tolist(),
        item_texts(items),
        spaces[TEXT_SPACE],
        payloads=item_payloads(items),
        vectors=text,
        encoder=text_encoder,
    )
    live = LiveState(
        state=state,
        users=users,
        now=now,
        rerank_inputs=RerankerInputs.load(paths.ranker, state.catalog.ids.ids)
        if reranker is not None
        else None,
    )
    writer = ShopWriter(paths, store, spaces, text_search, live)
    versions = {
        stage: str(info.get("fingerprint", ""))
        for stage, info in record.items()
        if stage in ("compatibility", "preference", "ranker")
    }
    shop = ProjectShop(
        paths,
        spaces,
        live,
        writer,
        compatibility=compatibility,
        preference=preference,
        reranker=reranker,
        text_search=text_search,
        config=config,
        model_versions=versions,
    )
    log.info(
        "shop %s open: %d items, %d users with events, %d spaces in %.1f s",
        paths.root, n, len(users.users()), len(dims), time.perf_counter() - started,
    )  # fmt: skip
    return shop
