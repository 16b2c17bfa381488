"""Community photos: right size, deterministic, and boxes that sit on the garments they name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookbook.datasets.synthetic.photos import (
    FASHION_PHOTO_SIZE,
    HOME_PHOTO_SIZE,
    MIN_VISIBLE_FRACTION,
    compose_photo,
    render_photos,
)
from lookbook.datasets.synthetic.render import ItemLook
from lookbook.datasets.synthetic.vocab import COLOURS
from lookbook.errors import LookbookError
from lookbook.schema import Domain, Slot

RGB = {c.name: np.array(c.rgb, dtype=float) for c in COLOURS}


def fashion_parts() -> list[tuple[str, ItemLook]]:
    """A layered outfit in distinct solid colours (so each garment's pixels can be told apart)."""
    f = Domain.FASHION
    return [
        ("top-1", ItemLook(f, Slot.TOP, "t-shirt", "red", "solid", "cotton", "regular", 1)),
        ("bottom-1", ItemLook(f, Slot.BOTTOM, "jeans", "blue", "solid", "denim", "regular", 2)),
        ("shoes-1", ItemLook(f, Slot.SHOES, "sneakers", "black", "solid", "leather", "regular", 3)),
        ("outer-1", ItemLook(f, Slot.OUTERWEAR, "jacket", "yellow", "solid", "cotton", "regular", 4)),
        ("bag-1", ItemLook(f, Slot.BAG, "tote", "green", "solid", "cotton", "regular", 5)),
        ("hat-1", ItemLook(f, Slot.ACCESSORY, "hat", "purple", "solid", "wool", "regular", 6)),
    ]


def home_parts() -> list[tuple[str, ItemLook]]:
    h = Domain.HOME
    return [
        ("sofa-1", ItemLook(h, Slot.SOFA, "three-seater sofa", "blue", "solid", "fabric", "rounded", 1)),
        ("chair-1", ItemLook(h, Slot.ARMCHAIR, "armchair", "yellow", "solid", "fabric", "boxy", 2)),
        (
            "table-1",
            ItemLook(h, Slot.COFFEE_TABLE, "rectangular coffee table", "red", "solid", "oak", "boxy", 3),
        ),
        ("rug-1", ItemLook(h, Slot.RUG, "rectangular rug", "green", "solid", "wool", "boxy", 4)),
        ("lamp-1", ItemLook(h, Slot.LAMP, "floor lamp", "orange", "solid", "metal", "rounded", 5)),
        ("shelf-1", ItemLook(h, Slot.SHELF, "bookcase", "purple", "solid", "oak", "boxy", 6)),
        ("side-1", ItemLook(h, Slot.SIDE_TABLE, "nightstand", "pink", "solid", "oak", "boxy", 7)),
    ]


PARTS = {Domain.FASHION: fashion_parts, Domain.HOME: home_parts}


@pytest.mark.parametrize(
    ("domain", "size"), [(Domain.FASHION, FASHION_PHOTO_SIZE), (Domain.HOME, HOME_PHOTO_SIZE)]
)
def test_photo_has_the_domain_size(domain: Domain, size: tuple[int, int]) -> None:
    image, garments = compose_photo(domain, PARTS[domain](), seed=0)
    assert image.dtype == np.uint8 and image.shape == (size[1], size[0], 3)
    assert garments


@pytest.mark.parametrize("domain", list(Domain))
def test_same_parts_and_seed_give_the_same_photo(domain: Domain) -> None:
    a, ga = compose_photo(domain, PARTS[domain](), seed=3)
    b, gb = compose_photo(domain, PARTS[domain](), seed=3)
    c, _ = compose_photo(domain, PARTS[domain](), seed=4)
    assert np.array_equal(a, b) and ga == gb
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("domain", list(Domain))
def test_order_of_parts_does_not_change_the_layering(domain: Domain) -> None:
    parts = PARTS[domain]()
    a, ga = compose_photo(domain, parts, seed=5)
    b, gb = compose_photo(domain, parts[::-1], seed=5)
    assert np.array_equal(a, b)
    assert sorted(ga, key=lambda g: g.item_id) == sorted(gb, key=lambda g: g.item_id)


@pytest.mark.parametrize("domain", list(Domain))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boxes_lie_inside_the_image_and_cover_the_garment(domain: Domain, seed: int) -> None:
    parts = dict(PARTS[domain]())
    image, garments = compose_photo(domain, list(parts.items()), seed=seed)
    h, w = image.shape[:2]
    for g in garments:
        x0, y0, x1, y1 = g.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, g
        assert MIN_VISIBLE_FRACTION <= g.visible_fraction <= 1.0
        assert g.slot is parts[g.item_id].slot
        region = image[int(y0) : int(y1), int(x0) : int(x1)].astype(float)
        distance = np.linalg.norm(region - RGB[parts[g.item_id].colour], axis=-1)
        # Light, shading and other garments change pixels, but the garment's colour must be there.
        assert (distance < 70).mean() > 0.12, (g.item_id, (distance < 70).mean())


def test_outerwear_partly_hides_the_top() -> None:
    _, garments = compose_photo(Domain.FASHION, fashion_parts(), seed=0)
    by_id = {g.item_id: g for g in garments}
    assert by_id["top-1"].visible_fraction < 0.9
    assert by_id["outer-1"].visible_fraction > by_id["top-1"].visible_fraction
    # an open jacket leaves a strip of the top showing down the middle
    top, outer = by_id["top-1"].box, by_id["outer-1"].box
    assert outer[0] < top[0] and top[2] < outer[2]


def test_mostly_hidden_parts_are_left_out() -> None:
    h = Domain.HOME
    below = ItemLook(h, Slot.SOFA, "two-seater sofa", "red", "solid", "fabric", "boxy", 1)
    above = ItemLook(h, Slot.SOFA, "two-seater sofa", "blue", "solid", "fabric", "boxy", 2)
    _, garments = compose_photo(h, [("below", below), ("above", above)], seed=0)
    assert [g.item_id for g in garments] == ["above"]


def test_parts_of_the_other_domain_are_rejected() -> None:
    with pytest.raises(LookbookError, match="domain"):
        compose_photo(Domain.HOME, fashion_parts(), seed=0)


def test_render_photos_writes_pngs_and_returns_each_photos_garments(tmp_path: Path) -> None:
    photos = [fashion_parts(), fashion_parts()[:3]]
    paths = [tmp_path / "photos" / "a.png", tmp_path / "photos" / "b.png"]
    garments = render_photos(Domain.FASHION, photos, [0, 1], paths, workers=1, show_progress=False)
    assert len(garments) == 2
    for parts, seed, path, got in zip(photos, [0, 1], paths, garments, strict=True):
        image, expected = compose_photo(Domain.FASHION, parts, seed)
        assert got == expected
        with Image.open(path) as img:
            assert np.array_equal(np.asarray(img), image)


def test_render_photos_needs_one_seed_and_path_per_photo(tmp_path: Path) -> None:
    with pytest.raises(LookbookError, match="seeds"):
        render_photos(Domain.HOME, [home_parts()], [0, 1], [tmp_path / "a.png"], show_progress=False)
