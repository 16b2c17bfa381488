"""Shop the look after detection: garments to anchor sets, the max-over-garments photo score, and
recommendations merged across anchors by smallest distance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch, NotFound
from lookbook.touchpoints.factory import open_shop
from lookbook.touchpoints.shop import ProjectShop
from lookbook.touchpoints.shop_the_look import (
    GarmentAnchors,
    garment_anchors,
    garment_vectors,
    photo_scores,
    recommend_for_photo,
)


@pytest.fixture(scope="module")
def shop(built_project: Path):
    s = open_shop(built_project)
    yield s
    s.close()


def _look(shop: ProjectShop) -> tuple[list[int], list[str]]:
    """One in-stock item of each of three slots: a photo's true garments."""
    c, state = shop.state.catalog, shop.state
    rows, slots = [], []
    for slot in ("top", "bottom", "shoes"):
        r = int(np.flatnonzero((state.slots == slot) & c.in_stock & c.alive)[0])
        rows.append(r)
        slots.append(slot)
    return rows, slots


def test_each_garment_becomes_a_set_of_anchors_of_its_slot(shop: ProjectShop):
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


def test_recommendations_merge_anchors_keeping_the_smallest_distance(shop: ProjectShop):
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

    garments[1] = GarmentAnchors(garments[1].slot, 0.6, garments[1].rows, garments[1].distances)
    pure = recommend_for_photo(shop, garments, user, ShopTheLookConfig(alpha=1.0, k=10))
    content = shop.state.content
    anchor_rows = np.concatenate([g.rows for g in garments[:2]])
    weight = np.concatenate([np.full(g.rows.size, g.confidence) for g in garments[:2]])
    got = shop.state.catalog.ids.lookup([r.item_id for r in pure])
    best = (content[got] @ content[anchor_rows].T * weight).max(axis=1)  # a less sure garment weighs less
    assert np.allclose([r.score for r in pure], best, atol=1e-3)


# ------------------------------------------------------------------------ the whole touchpoint
PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"


def _real_photo(name: str = "dresscode_049205_0.jpg") -> Path:
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"shared real photos absent: {path} does not exist")
    return path


class _KnownBoxes:
    """A detector that returns the boxes it was given (to test the mapping without detection)."""

    def __init__(self, garments: list) -> None:
        self.garments = garments

    def detect(self, image: object) -> list:
        return list(self.garments)


def test_catalog_pictures_in_a_collage_map_back_to_themselves(shop: ProjectShop):
    from PIL import Image

    from lookbook.touchpoints.shop_the_look import ShopTheLook
    from lookbook.vision.base import DetectedGarment

    rows, slots = _look(shop)
    ids = [str(shop.state.catalog.ids.ids[r]) for r in rows]
    canvas = Image.new("RGB", (200, 600), (255, 255, 255))
    garments = []
    for j, (item, slot) in enumerate(zip(ids, slots, strict=True)):
        with Image.open(shop.image_path(item)) as im:
            pic = im.convert("RGB").resize((180, 180))
        canvas.paste(pic, (10, 10 + 195 * j))
        garments.append(DetectedGarment((10, 10 + 195 * j, 190, 190 + 195 * j), slot, 0.9))
    stl = ShopTheLook(shop, detector=_KnownBoxes(garments))
    look = stl.look(canvas, shop.demo_users(1)[0])
    assert [g.slot for g in look.garments] == slots
    for g, item in zip(look.garments, ids, strict=True):
        assert item in g.anchors, "a catalog picture is among the anchors of its own copy"
        assert set(shop.state.slots[shop.state.catalog.ids.lookup(g.anchors)]) == {g.slot}
    assert look.recommendations and look.photo_score is not None
    assert set(look.to_dict()) >= {"garments", "recommendations", "photo_score", "timings"}
    assert "look" in shop.spaces.indexes, "catalog pictures are matched through the index"


@pytest.mark.realdata
def test_a_real_photo_becomes_garments_anchors_and_a_photo_score(shop: ProjectShop):
    from lookbook.touchpoints.shop_the_look import ShopTheLook

    pytest.importorskip("mediapipe")
    stl = ShopTheLook(shop)  # no trained box detector in this project: the pose detector
    assert type(stl.detector).__name__ == "PoseGarmentDetector"
    user = shop.demo_users(1)[0]
    look = stl.look(_real_photo(), user)
    assert {"top", "bottom"} <= {g.slot for g in look.garments}
    sets = []
    for g in look.garments:
        rows = shop.state.catalog.ids.lookup(g.anchors)
        assert 0 < len(rows) <= 5 and set(shop.state.slots[rows]) == {g.slot}
        sets.append(GarmentAnchors(g.slot, g.confidence, rows, np.asarray(g.distances, np.float32)))
    # the photo's score is its best garment for the user, each garment the mean of its anchors
    _, _, u = shop.user_context(user, shop.state)
    vectors = garment_vectors(sets, shop.state.scorer.item_vectors)
    assert look.photo_score == pytest.approx(float((vectors @ u).max()), abs=1e-5)
    assert look.recommendations and all(r.why for r in look.recommendations)
    with pytest.raises(NotFound):
        stl.look(_real_photo(), "no-such-user")


@pytest.mark.realdata
def test_the_shop_the_look_command_prints_json_and_writes_a_sheet(
    built_project: Path, tmp_path, capsys, project_copy
):
    import json

    from lookbook.cli import main

    pytest.importorskip("mediapipe")
    project = project_copy(built_project, tmp_path / "project")  # the module's shop holds the original
    sheet = tmp_path / "sheet.png"
    argv = ["--no-progress", "shop-the-look", str(_real_photo()), "--project", str(project)]
    assert main([*argv, "--json", "--sheet", str(sheet), "--k", "8"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"garments", "recommendations"}
    g = out["garments"][0]
    assert set(g) >= {"box", "slot", "confidence", "anchors"} and len(g["box"]) == 4
    assert 0 < len(out["recommendations"]) <= 8
    assert set(out["recommendations"][0]) >= {"item_id", "score", "why"}
    assert sheet.stat().st_size > 10_000
    assert main([*argv[:2], str(tmp_path / "nope.jpg"), *argv[3:]]) == 1  # a missing photo: a clear error


@pytest.mark.realdata
def test_the_real_photo_evaluation_reports_shares_latency_and_sheets(
    built_project: Path, tmp_path, project_copy
):
    from lookbook.evaluation.shop_the_look import evaluate_real, load_labels

    pytest.importorskip("mediapipe")
    _real_photo()
    project = project_copy(built_project, tmp_path / "project")
    labels = {k: v for k, v in load_labels().items() if k == "dresscode_049205_0.jpg"}
    sheets = tmp_path / "sheets"
    out = evaluate_real(
        project, PHOTOS, labels, sheets_dir=sheets, repeats=1, variants=False, show_progress=False
    )
    assert out["photos"] == 1 and out["labelled_found"] >= 2
    # the demo world's catalog has no H&M product groups: every share is honestly zero
    assert out["top5_right_group"] == 0.0 and out["latency_p50_s"] > 0
    assert Path(out["per_photo"][0]["sheet"]).exists()


def test_items_added_and_sold_while_serving_are_matched_at_once(built_project: Path, tmp_path, project_copy):
    from PIL import Image

    from lookbook.touchpoints.shop_the_look import ShopTheLook
    from lookbook.vision.base import DetectedGarment

    project = project_copy(built_project, tmp_path / "project")  # the module's shop holds the original
    with open_shop(project) as live:
        items = {r["item_id"]: r for r in live.store.items_table().to_pylist()}
        base = next(r for r in items.values() if r["in_stock"] and r["slot"] == "top")
        with Image.open(live.image_path(base["item_id"])) as im:
            picture = np.asarray(im.convert("RGB"))[:, ::-1]  # a new product: the mirror image
        Image.fromarray(picture).save(tmp_path / "new.png")
        new = {k: base[k] for k in ("title", "category", "slot", "brand", "price", "sizes", "attributes")}
        new |= {"item_id": "new-top", "in_stock": True, "image": str(tmp_path / "new.png")}
        live.upsert_items([new])
        photo = Image.new("RGB", (200, 200), (255, 255, 255))
        photo.paste(Image.fromarray(picture).resize((180, 180)), (10, 10))
        stl = ShopTheLook(live, detector=_KnownBoxes([DetectedGarment((10, 10, 190, 190), "top", 0.9)]))
        assert "new-top" in stl.look(photo).garments[0].anchors, "a new item is an anchor at once"
        live.delete_items(["new-top"])
        assert "new-top" not in stl.look(photo).garments[0].anchors, "a sold item never is"
