"""Pose-region garments on real full-body photos (skipped when the shared photos are absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookbook.schema import Slot
from lookbook.vision import GarmentDetector, crop
from lookbook.vision.pose import PoseDetectorConfig, PoseGarmentDetector, rgb_to_lab

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"
FULL_BODY = ("dresscode_049205_0.jpg", "dresscode_051482_0.jpg")


@pytest.fixture(scope="module")
def detector() -> Iterator[PoseGarmentDetector]:
    pytest.importorskip("mediapipe", reason="mediapipe not installed (pip install mediapipe==0.10.21)")
    with PoseGarmentDetector() as det:
        yield det


def _photo(name: str) -> Path:
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"shared real photos absent: {path} does not exist")
    return path


def test_lab_of_white_and_black() -> None:
    lab = rgb_to_lab(np.asarray([[255, 255, 255], [0, 0, 0]], np.uint8))
    np.testing.assert_allclose(lab, [[100, 0, 0], [0, 0, 0]], atol=0.5)


@pytest.mark.realdata
@pytest.mark.parametrize("name", FULL_BODY)
def test_full_body_photo_gives_upper_and_lower_garments_in_order(
    detector: PoseGarmentDetector, name: str
) -> None:
    path = _photo(name)
    w, h = Image.open(path).size
    found = detector.detect(path)
    slots = [g.slot for g in found]
    assert Slot.TOP in slots or Slot.OUTERWEAR in slots or Slot.DRESS in slots, slots
    assert Slot.BOTTOM in slots or Slot.DRESS in slots, slots
    for g in found:
        x0, y0, x1, y1 = g.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert 0.3 <= g.confidence <= 1.0
    centres = [(g.box[1] + g.box[3]) / 2 for g in found]
    assert centres == sorted(centres)


@pytest.mark.realdata
def test_both_dresscode_photos_are_a_top_over_trousers_and_shoes(detector: PoseGarmentDetector) -> None:
    # both photos show a top, long trousers and shoes (checked by eye): no dress, feet last
    for name in FULL_BODY:
        found = detector.detect(_photo(name))
        assert [g.slot for g in found] == [Slot.TOP, Slot.BOTTOM, Slot.SHOES]
        top, bottom, _ = found
        assert bottom.box[3] - bottom.box[1] > top.box[3] - top.box[1]  # trousers are longer than the top


@pytest.mark.realdata
def test_crops_have_their_background_removed(detector: PoseGarmentDetector) -> None:
    path = _photo(FULL_BODY[0])
    top = detector.detect(path)[0]
    assert top.mask is not None
    pixels = np.asarray(crop(path, top, background=(0, 255, 0)))
    green = (pixels == (0, 255, 0)).all(axis=-1)
    assert 0.05 < green.mean() < 0.8  # the studio wall and the arms are gone, the shirt is not


@pytest.mark.realdata
def test_portrait_finds_only_the_upper_body(detector: PoseGarmentDetector) -> None:
    found = detector.detect(_photo("grace_hopper.jpg"))
    assert [g.slot for g in found] in ([Slot.TOP], [Slot.OUTERWEAR], [Slot.TOP, Slot.OUTERWEAR])


def test_an_image_without_a_person_gives_nothing(detector: PoseGarmentDetector) -> None:
    assert detector.detect(np.full((256, 192, 3), 240, np.uint8)) == []


def test_pose_detector_meets_the_detector_contract() -> None:
    assert isinstance(PoseGarmentDetector(), GarmentDetector)


def test_config_rejects_the_downloaded_heavy_model() -> None:
    with pytest.raises(ValueError, match="model_complexity"):
        PoseDetectorConfig(model_complexity=2)
