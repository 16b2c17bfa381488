"""Shop the look after detection: garments to anchor sets, the max-over-garments photo score, and
recommendations merged across anchors by smallest distance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch
from lookbook.touchpoints.shop import Shop
from lookbook.touchpoints.shop_the_look import (
    GarmentAnchors,
    garment_anchors,
    garment_vectors,
    photo_scores,
    recommend_for_photo,
)


@pytest.fixture(scope="module")
def shop(built_project: Path):
    s = Shop.open(built_project)
    yield s
    s.close()


def _look(shop: Shop) -> tuple[list[int], list[str]]:
    """One in-stock item of each of three slots: a photo's true garments."""
    c, state = shop.state.catalog, shop.state
    rows, slots = [], []
    for slot in ("top", "bottom", "shoes"):
        r = int(np.flatnonzero((state.slots == slot) & c.in_stock & c.alive)[0])
        rows.append(r)
        slots.append(slot)
    return rows, slots


def test_each_garment_becomes_a_set_of_anchors_of_its_slot(shop: Shop):
    rows, slots = _look(shop)
    crops = shop.state.content[rows] + 0.05 * np.random.default_rng(0).normal(
        size=(3, shop.state.content.shape[1])
    )
    garments = garment_anchors(shop, crops, slots, [0.9, 0.8, 0.7], k=5)
    assert [g.slot for g in garments] == slots
    for g, true_row in zip(garments, rows, strict=True):
        assert 0 < g.rows.size <= 5
        assert set(shop.state.slots[g.rows]) == {g.slot}
        assert true_row in g.rows.tolist(), "the item in the photo is among its garment's anchors"
        assert np.all(np.diff(g.distances) >= -1e-6), "anchors nearest first"
    with pytest.raises(DimensionMismatch):
        garment_anchors(shop, crops[:, :5], slots, [1.0] * 3)


def test_a_photo_scores_its_best_garment_for_the_user():
    garments = [np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)]
    users = np.array([[1.0, 0.0], [0.6, 0.8]], np.float32)
    scores = photo_scores(users, [garments, garments[:1], []])
    assert scores[0, 0] == pytest.approx(1.0) and scores[1, 0] == pytest.approx(0.8)  # max, not mean
    assert scores[1, 1] == pytest.approx(0.6)
    assert np.isneginf(scores[:, 2]).all()


def test_a_garment_vector_is_the_mean_of_its_anchors():
    vectors = np.eye(3, dtype=np.float32)
    g = GarmentAnchors("top", 1.0, np.array([0, 1]), np.array([0.1, 0.2], np.float32))
    v = garment_vectors([g], vectors)[0]
    assert v == pytest.approx(np.array([1, 1, 0]) / np.sqrt(2))


def test_recommendations_merge_anchors_keeping_the_smallest_distance(shop: Shop):
    rows, slots = _look(shop)
    garments = garment_anchors(shop, shop.state.content[rows], slots, [0.9, 0.9, 0.1], k=3)
    user = shop.demo_users(1)[0]
    recs = recommend_for_photo(shop, garments, user)
    ids = [r.item_id for r in recs]
    assert recs and len(ids) == len(set(ids)), "an item found under several anchors appears once"
    anchors = {shop.state.catalog.ids.ids[r] for g in garments for r in g.rows}
    assert not anchors & set(ids), "the photo's own anchors are not recommended back"
    assert all("in the photo" in r.why for r in recs)
    assert recommend_for_photo(shop, garments[2:], user) == []  # confidence 0.1: below the threshold
    # the kept distance is the smallest over anchors: alpha = 1 ranks purely by it
    from lookbook.touchpoints.shop_the_look import ShopTheLookConfig

    pure = recommend_for_photo(shop, garments, user, ShopTheLookConfig(alpha=1.0, k=10))
    content = shop.state.content
    anchor_rows = np.concatenate([g.rows for g in garments[:2]])
    got = shop.state.catalog.ids.lookup([r.item_id for r in pure])
    best = (content[got] @ content[anchor_rows].T).max(axis=1)
    assert np.allclose([r.score for r in pure], best, atol=1e-3)
