"""Catalog-framed crops and colour signatures: the two things that make a photo crop look like its
catalog picture."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lookbook.errors import LookbookError
from lookbook.vision.base import DetectedGarment
from lookbook.vision.colour import catalog_signatures, colour_signature, garment_signatures
from lookbook.vision.framing import FramingConfig, catalog_background, framed_crops


def test_signatures_are_bhattacharyya_vectors():
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 220
    blue = np.zeros((8, 8, 3), np.uint8)
    blue[..., 2] = 220
    half = np.concatenate([red[:4], blue[:4]])
    r, b, h = (colour_signature(x) for x in (red, blue, half))
    assert float(r @ r) == pytest.approx(1.0) and float(r @ b) == pytest.approx(0.0)
    assert float(r @ h) == pytest.approx(np.sqrt(0.5), abs=1e-6)  # half the pixels in common
    assert not colour_signature(red, np.zeros((8, 8), bool)).any()  # no pixels: zeros, no NaN


def test_catalog_signatures_ignore_the_background(tmp_path):
    grey = np.full((32, 32, 3), 240, np.uint8)
    grey[8:24, 8:24] = (200, 20, 20)
    Image.fromarray(grey).save(tmp_path / "a.png")
    sig = catalog_signatures([tmp_path / "a.png", None, tmp_path / "missing.png"], (240, 240, 240))
    red = colour_signature(np.full((4, 4, 3), (200, 20, 20), np.uint8))
    assert float(sig[0] @ red) == pytest.approx(1.0)
    assert not sig[1].any() and not sig[2].any()
    assert catalog_background([tmp_path / "a.png"]) == (240, 240, 240)
    assert catalog_background([None]) == (255, 255, 255)


def test_framed_crops_centre_the_garment_on_the_background():
    photo = np.zeros((100, 60, 3), np.uint8)
    photo[20:60, 10:50] = (0, 200, 0)
    mask = np.zeros((100, 60), bool)
    mask[20:60, 10:50] = True
    g = DetectedGarment((10, 20, 50, 60), "top", 0.9, mask=mask)
    crops = framed_crops(photo, [g], background=(250, 250, 250), config=FramingConfig(fill=0.8, pad=0.0))
    assert len(crops) == 2  # the crop and its mirror image
    arr = np.asarray(crops[0])
    assert arr.shape[0] == arr.shape[1] == 50  # 40 px garment fills 0.8 of the side
    assert tuple(arr[0, 0]) == (250, 250, 250) and tuple(arr[25, 25]) == (0, 200, 0)
    # the garment's own pixels give its signature; the box's rim does not leak in without a mask
    sig = garment_signatures(photo, [g, DetectedGarment((10, 20, 50, 60), "top", 0.9)])
    green = colour_signature(np.full((2, 2, 3), (0, 200, 0), np.uint8))
    assert float(sig[0] @ green) == pytest.approx(1.0) and float(sig[1] @ green) == pytest.approx(1.0)
    with pytest.raises(LookbookError, match="fill"):
        FramingConfig(fill=0.0)
