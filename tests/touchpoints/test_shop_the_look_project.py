"""A world with community photos, built into a project: the build trains the box detector, keeps the
catalog pictures' features and maps every photo to anchors; the photo feed ranks those photos for
a user; the world evaluation scores all of it against the truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lookbook.touchpoints.factory import open_shop
from lookbook.touchpoints.shop_the_look import GarmentAnchors, ShopTheLook, garment_vectors, photo_scores

# every test here shares a project built with a trained detector (over a minute on two cores)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def photo_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
    from lookbook.pipeline.build import BuildConfig, build_project

    root = tmp_path_factory.mktemp("looks")
    cfg = WorldConfig(n_items=200, n_users=40, seed=5, n_photos=80, image_size=64)
    world = make_synthetic_world(cfg, root / "world", show_progress=False, workers=1).world
    build = BuildConfig(cache_dir=root / "cache", resolution=64, detector_epochs=40, ranker=False)
    report = build_project(world, root / "project", build, show_progress=False)
    return root / "world", root / "project", report


def test_the_build_trains_a_detector_and_maps_every_photo(photo_project):
    _, project, report = photo_project
    assert {"detector", "looks", "photos"} <= set(report)
    assert report["detector"]["photos"] > 0 and report["photos"]["photos"] == 80
    assert report["photos"]["garments"] > 80, report["photos"]
    photos = json.loads((project / "vectors" / "photos.json").read_text())
    assert len(photos) == 80 and all((project / p["image"]).exists() for p in photos)
    with open_shop(project) as shop:
        stl = ShopTheLook(shop)
        assert type(stl.detector).__name__ == "BoxDetector"
        assert stl.photo_image(photos[0]["photo_id"]).exists()


def test_the_photo_feed_ranks_photos_by_their_best_garment_for_the_user(photo_project):
    _, project, _ = photo_project
    with open_shop(project) as shop:
        stl = ShopTheLook(shop)
        user = shop.demo_users(1)[0]
        feed = stl.photo_feed(user, k=10)
        assert 0 < len(feed) <= 10
        scores = [s for _, s in feed]
        assert scores == sorted(scores, reverse=True)
        # recompute the top photo's score by hand: max over garments of user . mean(anchor vectors)
        best = next(p for p in stl.photos() if p.photo_id == feed[0][0])
        _, _, u = shop.user_context(user, shop.state)
        sets = [
            GarmentAnchors(
                g.slot, g.confidence, shop.state.catalog.ids.lookup(g.anchors), np.zeros(len(g.anchors))
            )
            for g in best.garments
        ]
        expected = photo_scores(u, [garment_vectors(sets, shop.state.scorer.item_vectors)])[0, 0]
        assert feed[0][1] == pytest.approx(float(expected), abs=1e-5)
        assert stl.photo_feed(None, k=3), "an anonymous visitor still gets photos"


def test_the_world_evaluation_scores_detection_anchors_and_the_alpha_sweep(photo_project):
    from lookbook.evaluation.shop_the_look import evaluate_world

    world, project, _ = photo_project
    out = evaluate_world(world, project, users=3, ndcg_photos=5, show_progress=False)
    for key in ("map50", "anchor_recall5", "anchor_recall5_true_boxes", "ndcg"):
        assert 0.0 <= out[key] <= 1.0, key
    assert out["garments"] > 0 and out["detector"] == "BoxDetector"
    # the mapping alone (true boxes) finds the true item among the anchors far above chance (5 / ~30)
    assert out["anchor_recall5_true_boxes"] > 0.3
    alphas = [r["alpha"] for r in out["alpha_sweep"]]
    assert alphas == sorted(alphas) and 0.6 in alphas
    sweep = {r["alpha"]: r for r in out["alpha_sweep"]}
    assert sweep[1.0]["photo_match"] > sweep[0.0]["photo_match"], "alpha 1 follows the photo"
