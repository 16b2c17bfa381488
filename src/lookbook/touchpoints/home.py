"""The home feed: carousels, each a restricted candidate set ranked for the user.

* **For you**: the user's preference vector (one ANN query in the preference space), the items the
  preference model scores highest, and "similar to ..." neighbours of the last few items the user
  engaged with (one content-space query per anchor); merged, constrained, reranked, diversified.
* **New in**: items added in the last ``new_days`` (cold items, reachable through their content-
  predicted preference vectors), ordered by affinity.
* **Trending**: rising engagement, blended with affinity.
* A visitor with no events gets popularity instead of "for you", with a share of new items mixed in
  as exploration, so new stock gets seen and learned from.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from lookbook.project.spaces import CONTENT_SPACE, PREFERENCE_SPACE
from lookbook.ranking import Anchor, Candidates, Relation, concat, from_rows, from_search, rank
from lookbook.touchpoints.api import Carousel, Context, RecItem
from lookbook.touchpoints.common import IN_STOCK, live_rows, popularity_affinity, top_rows
from lookbook.touchpoints.state import DAY, kind_code

if TYPE_CHECKING:
    from lookbook.touchpoints.host import ShopHost
    from lookbook.touchpoints.state import CatalogState

_ENGAGED = {kind_code(k): verb for k, verb in (
    ("click", "viewed"), ("save", "saved"), ("add_to_bag", "added to bag"), ("purchase", "bought"),
)}  # fmt: skip


def home_feed(shop: ShopHost, user_id: str | None, context: Context, k: int) -> list[Carousel]:
    state = shop.state
    cfg = shop.config.home
    user, a, u = shop.user_context(user_id, state)
    shown = set(cfg.carousels)
    carousels = []
    if u is not None and a is not None and "for_you" in shown:
        carousels.append(Carousel("for_you", "Picked for you", tuple(_for_you(shop, state, user, a, u, k))))
    elif "popular" in shown:
        carousels.append(Carousel("popular", "Popular right now", tuple(_popular(shop, state, user, k))))
    affinity = a if a is not None else popularity_affinity(state)
    c = state.catalog
    new = live_rows(state, c.created_at >= shop.now - cfg.new_days * DAY)
    if new.size < k:  # a quiet week: the newest items, whatever their age
        new = top_rows(c.created_at.astype(np.float32), live_rows(state, np.ones(len(c), bool)), 4 * k)
    new_in = from_rows(new, Anchor(Relation.NEW_IN), a=affinity[new])
    if "new_in" in shown:
        ranked = rank(new_in, c, user, dataclasses.replace(cfg.new_in, k=k), vectors=state.content)
        carousels.append(Carousel("new_in", "New in", tuple(shop.page(ranked, state))))
    hot = top_rows(state.trending, live_rows(state, state.trending > 0), cfg.trending_pool)
    if hot.size and "trending" in shown:
        closeness = state.trending[hot] / max(float(state.trending[hot].max()), 1e-9)
        trending = from_rows(hot, Anchor(Relation.TRENDING), d=1.0 - closeness, a=affinity[hot])
        ranked = rank(trending, c, user, dataclasses.replace(cfg.trending, k=k), vectors=state.content)
        carousels.append(Carousel("trending", "Trending now", tuple(shop.page(ranked, state))))
    return [car for car in carousels if car.items]


def _for_you(shop: ShopHost, state: CatalogState, user, a, u, k: int) -> list[RecItem]:  # type: ignore[no-untyped-def]
    cfg = shop.config.home
    c = state.catalog
    prefs = state.scorer.item_vectors
    parts: list[Candidates] = []
    found = state.spaces.search(
        PREFERENCE_SPACE, u[None, :], cfg.for_you_candidates, filter=IN_STOCK, exact=cfg.exact
    )
    parts.append(from_search(found, c, [Anchor(Relation.FOR_YOU)], affinity=a))
    best = top_rows(a, live_rows(state, np.ones(len(c), bool)), cfg.ease_candidates)
    parts.append(from_rows(best, Anchor(Relation.FOR_YOU), d=1.0 - prefs[best] @ u, a=a[best]))
    anchors = _recent_anchors(shop, state, user.user_id, cfg.anchors)
    if anchors:
        rows = np.asarray([r for r, _ in anchors], dtype=np.int64)
        labels = [Anchor(Relation.SIMILAR, label=label, item_row=r) for r, label in anchors]
        near = state.spaces.search(
            CONTENT_SPACE, state.content[rows], cfg.per_anchor, filter=IN_STOCK, exact=cfg.exact
        )
        parts.append(from_search(near, c, labels, affinity=a))
    candidates = concat(parts)
    ranked = rank(
        candidates,
        c,
        user,
        dataclasses.replace(cfg.for_you, k=k),
        vectors=state.content,
        reranker=shop.active_reranker,
    )
    return shop.page(ranked, state)


def _recent_anchors(shop: ShopHost, state: CatalogState, user_id: str, n: int) -> list[tuple[int, str]]:
    """The last ``n`` distinct live items the user engaged with, labelled for explanations."""
    rows, kinds, _ = shop.users.get(user_id)
    out: list[tuple[int, str]] = []
    c = state.catalog
    for r, kind in zip(rows[::-1].tolist(), kinds[::-1].tolist(), strict=True):  # newest first, stops at n
        if kind in _ENGAGED and c.alive[r] and all(r != x for x, _ in out):
            category = c.category_vocab[c.category[r]] if c.category[r] >= 0 else "item"
            out.append((r, f"the {category} you {_ENGAGED[kind]}"))
            if len(out) == n:
                break
    return out


def _popular(shop: ShopHost, state: CatalogState, user, k: int) -> list[RecItem]:  # type: ignore[no-untyped-def]
    """Popularity for a visitor without events, with ``explore`` of the page from new items."""
    cfg = shop.config.home
    c = state.catalog
    pool = live_rows(state, np.ones(len(c), bool))
    pct = popularity_affinity(state)
    popular = top_rows(c.popularity, pool, 4 * k)
    relation = Relation.POPULAR_IN_SIZE if (user.size_by_slot >= 0).any() else Relation.TRENDING
    parts = [from_rows(popular, Anchor(relation), d=1.0 - pct[popular], a=pct[popular])]
    n_explore = round(cfg.explore * k)
    fresh = live_rows(state, c.created_at >= shop.now - cfg.new_days * DAY)
    if n_explore and fresh.size:
        rng = np.random.default_rng(shop.now // DAY)  # the same exploration all day, new tomorrow
        pick = rng.choice(fresh, size=min(n_explore, fresh.size), replace=False)
        # scored just above the popular items' median, so they land inside the page, not at its end
        mid = float(np.median(pct[popular]))
        parts.append(from_rows(pick, Anchor(Relation.NEW_IN), d=1.0 - mid, a=mid))
    ranked = rank(
        concat(parts), c, user, dataclasses.replace(cfg.trending, k=k, alpha=0.5), vectors=state.content
    )
    return shop.page(ranked, state)
