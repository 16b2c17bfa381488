"""Search and category pages: items matching the request, ordered by relevance and the user."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from lookbook.errors import NotFound, SchemaError
from lookbook.index.filters import Eq
from lookbook.project.spaces import PREFERENCE_SPACE
from lookbook.ranking import Anchor, Relation, concat, from_rows, from_search, rank
from lookbook.touchpoints.api import RecItem
from lookbook.touchpoints.common import IN_STOCK, live_rows, popularity_affinity, top_rows

if TYPE_CHECKING:
    from lookbook.touchpoints.host import ShopHost

MAX_QUERY = 200


def search(shop: ShopHost, query: str, user_id: str | None, k: int) -> list[RecItem]:
    """Hybrid (BM25 + dense text) retrieval, blended with the user's affinity. ``d`` grows with the
    item's place ``p`` in the fused list as ``p / (p + 5)``: the first few matches stay far apart
    (a shopper typing a product's name must see it first), the long tail close together (where
    the user's taste should decide)."""
    if not isinstance(query, str) or not query.strip():
        raise SchemaError("q: expected a non-empty search query")
    if len(query) > MAX_QUERY:
        raise SchemaError(f"q: expected at most {MAX_QUERY} characters, got {len(query)}")
    state = shop.state
    cfg = shop.config.browse
    user, a, _ = shop.user_context(user_id, state)
    found = shop.text_search.search(
        [query.strip()], cfg.search_candidates, filter=IN_STOCK, exact=cfg.search_exact
    )
    ids = [i for i in found.ids[0].tolist() if i]
    rows = state.catalog.ids.lookup(ids, missing=-1)
    p = np.arange(len(ids), dtype=np.float32)
    place = p / (p + 5.0)
    keep = rows >= 0
    rows, place = rows[keep], place[keep]
    affinity = a if a is not None else popularity_affinity(state)
    c = from_rows(rows, Anchor(Relation.FOR_YOU), d=place, a=affinity[rows])
    ranked = rank(c, state.catalog, user, dataclasses.replace(cfg.search, k=k), vectors=state.content)
    return shop.page(ranked, state, why=f'matches "{query.strip()}"')


def category(shop: ShopHost, name: str, user_id: str | None, k: int) -> list[RecItem]:
    """A category page: the category's popular items and (for a known user) its items nearest the
    user's preference vector, filtered in the index, ordered by affinity and popularity."""
    state = shop.state
    cfg = shop.config.browse
    c = state.catalog
    if name not in c.category_vocab:
        raise NotFound(f"category: unknown category {name!r}")
    user, a, u = shop.user_context(user_id, state)
    code = c.category_vocab.index(name)
    pct = popularity_affinity(state)
    affinity = a if a is not None else pct
    pool = live_rows(state, c.category == code)
    popular = top_rows(c.popularity, pool, cfg.category_candidates)
    relation = Relation.POPULAR_IN_SIZE if (user.size_by_slot >= 0).any() else Relation.TRENDING
    parts = [from_rows(popular, Anchor(relation), d=1.0 - pct[popular], a=affinity[popular])]
    if u is not None:
        found = state.spaces.search(
            PREFERENCE_SPACE,
            u[None, :],
            cfg.category_candidates,
            filter=Eq("category", name) & IN_STOCK,
            exact=cfg.category_exact,
        )
        parts.append(from_search(found, c, [Anchor(Relation.FOR_YOU)], affinity=affinity))
    ranked = rank(
        concat(parts), c, user, dataclasses.replace(cfg.category, k=k), vectors=state.content,
        reranker=shop.active_reranker if u is not None else None,
    )  # fmt: skip
    return shop.page(ranked, state)
