"""Product shots: deterministic, well-formed, and showing the words they are painted from."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookbook.datasets.synthetic.render import MIN_SIZE, ItemLook, render_item, render_items
from lookbook.datasets.synthetic.vocab import COLOURS, VOCABS
from lookbook.errors import LookbookError, SchemaError
from lookbook.schema import Domain, Slot


def look(
    category: str = "t-shirt",
    *,
    domain: Domain = Domain.FASHION,
    colour: str = "red",
    pattern: str = "solid",
    material: str | None = None,
    shape: str | None = None,
    seed: int = 0,
) -> ItemLook:
    vocab = VOCABS[domain]
    slot = next(s for s, cats in vocab.categories.items() if category in cats)
    material = material or ("cotton" if domain is Domain.FASHION else "fabric")
    shape = shape or vocab.shapes[1]
    return ItemLook(domain, slot, category, colour, pattern, material, shape, seed)


def all_looks() -> list[ItemLook]:
    return [
        look(category, domain=domain, seed=i)
        for i, (domain, category) in enumerate(
            (d, c) for d in Domain for cats in VOCABS[d].categories.values() for c in cats
        )
    ]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_same_seed_gives_the_same_picture() -> None:
    rgb1, mask1 = render_item(look(pattern="floral", seed=7))
    rgb2, mask2 = render_item(look(pattern="floral", seed=7))
    assert np.array_equal(rgb1, rgb2)
    assert np.array_equal(mask1, mask2)


def test_other_seed_gives_a_slightly_different_picture() -> None:
    rgb1, mask1 = render_item(look(pattern="striped", seed=1))
    rgb2, mask2 = render_item(look(pattern="striped", seed=2))
    assert not np.array_equal(rgb1, rgb2)
    assert iou(mask1, mask2) > 0.6  # same category: small pose jitter only


@pytest.mark.parametrize("size", [MIN_SIZE, 128, 201])
def test_output_dtype_and_shape(size: int) -> None:
    rgb, mask = render_item(look("jeans"), size)
    assert rgb.dtype == np.uint8 and rgb.shape == (size, size, 3)
    assert mask.dtype == np.bool_ and mask.shape == (size, size)


@pytest.mark.parametrize("item", all_looks(), ids=lambda lk: lk.category)
def test_mask_is_non_empty_and_inside_the_canvas(item: ItemLook) -> None:
    _, mask = render_item(item, 96)
    assert mask.sum() > 96 * 96 * 0.03
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert not border.any()


def test_background_is_light() -> None:
    rgb, mask = render_item(look("sneakers", colour="black"))
    assert rgb[~mask].mean() > 225


@pytest.mark.parametrize(
    ("a", "b", "domain"),
    [
        ("t-shirt", "jeans", Domain.FASHION),
        ("sweater", "tank top", Domain.FASHION),
        ("skirt", "trousers", Domain.FASHION),
        ("two-seater sofa", "floor lamp", Domain.HOME),
        ("armchair", "three-seater sofa", Domain.HOME),
        ("round rug", "floor lamp", Domain.HOME),
    ],
)
def test_distinct_categories_have_clearly_different_silhouettes(a: str, b: str, domain: Domain) -> None:
    _, mask_a = render_item(look(a, domain=domain, seed=3))
    _, mask_b = render_item(look(b, domain=domain, seed=3))
    assert iou(mask_a, mask_b) < 0.6


@pytest.mark.parametrize("domain", list(Domain))
def test_categories_of_one_slot_differ_from_each_other(domain: Domain) -> None:
    vocab = VOCABS[domain]
    for shape in vocab.shapes:
        for slot, cats in vocab.categories.items():
            for a, b in itertools.combinations(cats, 2):
                _, mask_a = render_item(look(a, domain=domain, shape=shape, seed=5), 96)
                _, mask_b = render_item(look(b, domain=domain, shape=shape, seed=5), 96)
                assert iou(mask_a, mask_b) < 0.9, (shape, slot, a, b)


def test_shape_changes_the_silhouette() -> None:
    _, slim = render_item(look("t-shirt", shape="slim", seed=4))
    _, wide = render_item(look("t-shirt", shape="oversized", seed=4))
    assert wide.sum() > 1.25 * slim.sum()
    _, rounded = render_item(
        look("floor lamp", domain=Domain.HOME, material="metal", shape="rounded", seed=4)
    )
    _, slender = render_item(
        look("floor lamp", domain=Domain.HOME, material="metal", shape="slender", seed=4)
    )
    assert iou(rounded, slender) < 0.9


@pytest.mark.parametrize("colour", COLOURS, ids=lambda c: c.name)
def test_solid_plain_item_shows_its_colour(colour: object) -> None:
    rgb, mask = render_item(look("t-shirt", colour=colour.name, seed=11))
    inner = mask & np.roll(mask, 2, 0) & np.roll(mask, -2, 0) & np.roll(mask, 2, 1) & np.roll(mask, -2, 1)
    mean = rgb[inner].astype(float).mean(axis=0)
    assert np.abs(mean - np.array(colour.rgb)).max() < 16


@pytest.mark.parametrize(
    ("domain", "category"),
    [(Domain.FASHION, "t-shirt"), (Domain.FASHION, "midi dress"), (Domain.HOME, "bookcase")],
)
def test_patterned_items_vary_more_than_solid_ones(domain: Domain, category: str) -> None:
    material = "cotton" if domain is Domain.FASHION else "oak"

    def spread(pattern: str) -> float:
        rgb, mask = render_item(
            look(category, domain=domain, colour="green", pattern=pattern, material=material, seed=9)
        )
        return float(rgb[mask].astype(float).var(axis=0).sum())

    solid = spread("solid")
    for pattern in VOCABS[domain].patterns:
        if pattern != "solid":
            assert spread(pattern) > 1.5 * solid, pattern


def test_walnut_is_darker_than_oak() -> None:
    def brightness(material: str) -> float:
        rgb, mask = render_item(
            look("side table", domain=Domain.HOME, colour="beige", material=material, seed=2)
        )
        return float(rgb[mask].mean())

    assert brightness("walnut") < brightness("oak") - 10


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "hoodie"),
        ("colour", "teal"),
        ("pattern", "paisley"),
        ("material", "marble"),
        ("shape", "huge"),
    ],
)
def test_unknown_words_are_rejected_naming_the_field(field: str, value: str) -> None:
    kwargs = {
        "domain": Domain.FASHION,
        "slot": Slot.TOP,
        "category": "t-shirt",
        "colour": "red",
        "pattern": "solid",
        "material": "cotton",
        "shape": "slim",
        "seed": 0,
    }
    kwargs[field] = value
    with pytest.raises(SchemaError, match=field):
        ItemLook(**kwargs)


def test_slot_must_belong_to_the_domain() -> None:
    with pytest.raises(SchemaError, match="slot"):
        ItemLook(Domain.HOME, Slot.TOP, "t-shirt", "red", "solid", "cotton", "slim", 0)


def test_too_small_a_canvas_is_rejected() -> None:
    with pytest.raises(LookbookError, match="size"):
        render_item(look(), MIN_SIZE - 1)


def test_render_items_writes_one_png_per_look(tmp_path: Path) -> None:
    looks = [look("jeans", seed=1), look("armchair", domain=Domain.HOME, seed=2), look("hat", seed=3)]
    paths = [tmp_path / "a" / f"{i}.png" for i in range(len(looks))]
    render_items(looks, paths, size=96, workers=1, show_progress=False)
    for lk, path in zip(looks, paths, strict=True):
        with Image.open(path) as img:
            assert img.size == (96, 96) and img.mode == "RGB"
            assert np.array_equal(np.asarray(img), render_item(lk, 96)[0])


def test_render_items_with_a_pool_matches_in_process(tmp_path: Path) -> None:
    looks = [look("sweater", pattern="checked", seed=s) for s in range(6)]
    paths = [tmp_path / f"{i}.png" for i in range(len(looks))]
    render_items(looks, paths, size=64, workers=2, show_progress=False)
    for lk, path in zip(looks, paths, strict=True):
        with Image.open(path) as img:
            assert np.array_equal(np.asarray(img), render_item(lk, 64)[0])


def test_render_items_needs_one_path_per_look(tmp_path: Path) -> None:
    with pytest.raises(LookbookError, match="paths"):
        render_items([look(), look(seed=1)], [tmp_path / "a.png"], show_progress=False)
