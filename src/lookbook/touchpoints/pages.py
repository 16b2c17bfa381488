"""An item's page: similar items, and complete the look (compatible items of the other slots)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from lookbook.errors import SchemaError
from lookbook.index.filters import Eq, Filter, Or
from lookbook.project.payload import ATTRIBUTE_FIELDS
from lookbook.project.spaces import CONTENT_SPACE, PREFERENCE_SPACE, style_space
from lookbook.ranking import Anchor, Relation, concat, from_search, rank
from lookbook.touchpoints.api import Carousel, RecItem
from lookbook.touchpoints.common import IN_STOCK, popularity_affinity, with_distance

if TYPE_CHECKING:
    from lookbook.touchpoints.host import ShopHost


def _label(shop: ShopHost, row: int) -> str:
    c = shop.state.catalog
    return f"this {c.category_vocab[c.category[row]]}" if c.category[row] >= 0 else "this item"


def similar(shop: ShopHost, item_id: str, user_id: str | None, k: int) -> list[RecItem]:
    """Items like the hero, of its slot: its content neighbours, plus (for a known user) the
    neighbours of the hero's preference vector moved ``beta`` of the way to the user's. Every
    candidate's ``d`` is its content distance to the hero, so ``alpha`` means the same either way."""
    state = shop.state
    cfg = shop.config.similar
    hero = shop.row(item_id, state)
    user, a, u = shop.user_context(user_id, state)
    slot = str(state.slots[hero])
    f = Eq("slot", slot) & IN_STOCK
    anchor = Anchor(Relation.SIMILAR, label=_label(shop, hero), item_row=hero)
    affinity = a if a is not None else popularity_affinity(state)
    parts = [
        from_search(
            state.spaces.search(
                CONTENT_SPACE, state.content[hero][None, :], cfg.candidates + 1, filter=f, exact=cfg.exact
            ),
            state.catalog, [anchor], affinity=affinity,
        )
    ]  # fmt: skip
    if u is not None:
        q = (1.0 - cfg.beta) * state.scorer.item_vectors[hero] + cfg.beta * u
        q = q / max(float(np.linalg.norm(q)), 1e-9)
        found = state.spaces.search(PREFERENCE_SPACE, q[None, :], cfg.candidates, filter=f, exact=cfg.exact)
        parts.append(from_search(found, state.catalog, [anchor], affinity=affinity))
    c = concat(parts)
    c = c.take(c.rows != hero)
    c = with_distance(c, 1.0 - state.content[c.rows] @ state.content[hero])
    ranked = rank(c, state.catalog, user, dataclasses.replace(cfg.rank, k=k), vectors=state.content)
    return shop.page(ranked, state)


def complete_the_look(
    shop: ShopHost, item_id: str, user_id: str | None, per_slot: int, attribute: str | None
) -> list[Carousel]:
    """Per other slot, the items the compatibility model pairs best with the hero: one inner-product
    query per target slot in the hero slot's style space (the model's type-aware pair score),
    optionally conditioned on an attribute value ("leather": material, colour or pattern)."""
    state = shop.state
    cfg = shop.config.look
    hero = shop.row(item_id, state)
    model = state.compatibility
    if model is None:
        return []
    user, a, _ = shop.user_context(user_id, state)
    affinity = a if a is not None else popularity_affinity(state)
    vocab = list(model.vocab_.slot)
    hero_slot = str(state.slots[hero])
    if hero_slot not in vocab:
        return []
    condition: Filter = IN_STOCK
    if attribute is not None:
        value = attribute.strip().lower()
        if not value or len(value) > 40:
            raise SchemaError(f"attribute: expected a short word like 'leather', got {attribute!r}")
        condition = condition & Or(tuple(Eq(name, value) for name in ATTRIBUTE_FIELDS))
    anchor = Anchor(Relation.GOES_WITH, label=_label(shop, hero), item_row=hero)
    present = set(np.unique(state.slots[state.catalog.alive]).tolist())
    pages: list[tuple[float, Carousel]] = []
    for target in vocab:  # one query per slot: a handful
        if target == hero_slot or target not in present:
            continue
        q = model.query_vectors(state.content[hero][None, :], [vocab.index(hero_slot)], vocab.index(target))
        found = state.spaces.search(
            style_space(hero_slot), q, cfg.candidates, filter=Eq("slot", target) & condition, exact=cfg.exact
        )
        c = from_search(found, state.catalog, [anchor], affinity=affinity)
        if not len(c):
            continue
        # the index scores pair_score + 2 = 1 - d: d + 1 is the model's distance, kept in [0, 2]
        c = with_distance(c, np.clip(c.d + 1.0, 0.0, 2.0) / 2.0)
        ranked = rank(c, state.catalog, user, dataclasses.replace(cfg.rank, k=per_slot))
        if len(ranked):
            items = tuple(shop.page(ranked, state))
            pages.append((float(ranked.scores[0]), Carousel(target, f"Complete the look: {target}", items)))
    pages.sort(key=lambda p: -p[0])
    return [car for _, car in pages[: cfg.max_slots]]
