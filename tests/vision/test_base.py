"""The shared detection record, the threshold rule and background-free crops."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lookbook.errors import SchemaError
from lookbook.schema import Slot
from lookbook.vision import DetectedGarment, DetectorConfig, crop
from lookbook.vision.base import keep_confident, to_rgb_array


def test_detected_garment_checks_its_fields() -> None:
    with pytest.raises(SchemaError, match="box"):
        DetectedGarment(box=(10, 10, 5, 20), slot=Slot.TOP, confidence=0.5)
    with pytest.raises(SchemaError, match="confidence"):
        DetectedGarment(box=(0, 0, 5, 5), slot=Slot.TOP, confidence=1.5)
    with pytest.raises(ValueError):
        DetectedGarment(box=(0, 0, 5, 5), slot="hat", confidence=0.5)


def test_detector_config_names_the_bad_field() -> None:
    with pytest.raises(SchemaError, match=r"DetectorConfig.min_confidence"):
        DetectorConfig(min_confidence=2.0)


def test_low_confidence_regions_are_skipped_and_the_rest_ordered_top_to_bottom() -> None:
    found = [
        DetectedGarment(box=(0, 80, 10, 100), slot=Slot.SHOES, confidence=0.9),
        DetectedGarment(box=(0, 0, 10, 40), slot=Slot.TOP, confidence=0.8),
        DetectedGarment(box=(0, 40, 10, 80), slot=Slot.BOTTOM, confidence=0.1),
    ]
    kept = keep_confident(found, DetectorConfig(min_confidence=0.3))
    assert [g.slot for g in kept] == [Slot.TOP, Slot.SHOES]


def test_crop_paints_everything_outside_the_mask_with_the_background() -> None:
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, :] = (200, 0, 0)
    mask = np.zeros((20, 30), bool)
    mask[5:10, 5:10] = True
    g = DetectedGarment(box=(4, 4, 12, 12), slot=Slot.TOP, confidence=1.0, mask=mask)
    out = np.asarray(crop(img, g))
    assert out.shape == (8, 8, 3)
    assert (out[1:6, 1:6] == (200, 0, 0)).all()  # the garment
    assert (out[0] == 255).all() and (out[6:] == 255).all()  # the background, removed


def test_crop_without_a_mask_cuts_the_box() -> None:
    img = Image.new("RGB", (30, 20), (0, 100, 0))
    out = crop(img, DetectedGarment(box=(2, 3, 12, 8), slot=Slot.SHOES, confidence=1.0))
    assert out.size == (10, 5)
    assert np.asarray(out)[0, 0].tolist() == [0, 100, 0]


def test_to_rgb_array_accepts_floats_grey_and_rgba() -> None:
    assert to_rgb_array(np.ones((4, 5, 3), np.float32)).max() == 255
    assert to_rgb_array(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    rgba = Image.new("RGBA", (5, 4), (0, 0, 0, 0))
    assert to_rgb_array(rgba)[0, 0].tolist() == [255, 255, 255]
