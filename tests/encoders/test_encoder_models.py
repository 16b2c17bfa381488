"""The real encoders on rendered product shots: image, text, the learned fusion and ``encode_items``.

The models load once per module (a few seconds); the catalog is 64 rendered items.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from lookbook.cli.bench_encode import synthetic_items
from lookbook.datasets.synthetic.render import ItemLook, render_item, render_items
from lookbook.encoders import (
    FusedContentEncoder,
    FusionConfig,
    ImageEncoder,
    ImageEncoderConfig,
    TextEncoder,
    encode_items,
    item_attribute_tokens,
    item_text,
    item_texts,
    preprocess_image,
)
from lookbook.errors import LookbookError

N_ITEMS = 64


@pytest.fixture(scope="module")
def image_encoder() -> ImageEncoder:
    enc = ImageEncoder()
    enc.load()
    return enc


@pytest.fixture(scope="module")
def text_encoder() -> TextEncoder:
    enc = TextEncoder()
    enc.load()
    return enc


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[pa.Table, Path]:
    root = tmp_path_factory.mktemp("catalog")
    items, looks = synthetic_items(N_ITEMS, "fashion", seed=3)
    render_items(looks, [root / p for p in items.column("image").to_pylist()], workers=1, show_progress=False)
    return items, root


@pytest.fixture(scope="module")
def features(catalog, image_encoder, text_encoder) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    items, root = catalog
    paths = [root / p for p in items.column("image").to_pylist()]
    return (
        image_encoder.encode(paths, show_progress=False),
        text_encoder.encode(item_texts(items), show_progress=False),
        item_attribute_tokens(items),
    )


def _looks(colour: str, seeds: range) -> list[ItemLook]:
    return [
        ItemLook("fashion", slot, cat, colour, "solid", mat, "regular", s)
        for slot, cat, mat in (
            ("top", "t-shirt", "cotton"),
            ("bottom", "jeans", "denim"),
            ("bag", "tote", "leather"),
        )
        for s in seeds
    ]


# --------------------------------------------------------------------------------------------------
# Image encoder
# --------------------------------------------------------------------------------------------------


def test_image_vectors_are_unit_float32_and_deterministic(catalog, image_encoder, features) -> None:
    items, root = catalog
    paths = [root / p for p in items.column("image").to_pylist()[:8]]
    again = ImageEncoder().encode(paths, show_progress=False)
    assert again.shape == (8, 1280) and again.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(again, features[0][:8], atol=1e-5)
    assert image_encoder.name == "efficientnet-lite0@128"
    assert ImageEncoder(ImageEncoderConfig(resolution=96)).name == "efficientnet-lite0@96"


def test_image_encoder_tells_red_from_blue(image_encoder, tmp_path: Path) -> None:
    red, blue = _looks("red", range(3)), _looks("blue", range(3))
    paths = [tmp_path / f"{i}.png" for i in range(len(red) + len(blue))]
    render_items([*red, *blue], paths, workers=1, show_progress=False)
    v = image_encoder.encode(paths, show_progress=False)
    r, b = v[: len(red)].reshape(3, 3, -1), v[len(red) :].reshape(3, 3, -1)
    same_look, red_vs_blue = [], []
    for k in range(3):  # per category: renders of one look (seeds) vs the other colour
        sims = r[k] @ r[k].T
        same_look += sims[np.triu_indices(3, 1)].tolist()
        red_vs_blue += (r[k] @ b[k].T).ravel().tolist()
    assert np.mean(red_vs_blue) < np.mean(same_look)


def test_image_encoder_accepts_arrays_and_pil_images(image_encoder, tmp_path: Path) -> None:
    look = _looks("green", range(1))[0]
    rgb, _ = render_item(look, 128)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    from_file = image_encoder.encode([tmp_path / "a.png"], show_progress=False)
    from_array = image_encoder.encode(rgb, show_progress=False)
    from_pil = image_encoder.encode([Image.fromarray(rgb)], show_progress=False)
    np.testing.assert_allclose(from_array, from_file, atol=1e-5)
    np.testing.assert_allclose(from_pil, from_file, atol=1e-5)
    batch = image_encoder.encode(np.stack([rgb, rgb[::-1]]), show_progress=False)
    assert batch.shape == (2, 1280)


def test_missing_images_give_zero_rows_with_a_warning(image_encoder, catalog, caplog) -> None:
    items, root = catalog
    good = root / items.column("image")[0].as_py()
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    with caplog.at_level(logging.WARNING):
        v = image_encoder.encode(
            [good, root / "nope.png", "https://cdn.example.com/x.jpg", None, root / "broken.png"],
            show_progress=False,
        )
    assert np.linalg.norm(v[0]) == pytest.approx(1.0, abs=1e-5)
    assert not v[1:].any()
    assert "4 of 5 inputs have no content (3 missing, 1 unreadable)" in caplog.text


def test_preprocessing_pads_to_a_white_square() -> None:
    tall = np.zeros((100, 50, 3), dtype=np.uint8)  # a black 2:1 portrait
    out = preprocess_image(tall, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert (out[:, :10] == 255).all() and (out[:, -10:] == 255).all()
    assert (out[:, 24:40] == 0).all()
    clear = np.zeros((20, 20, 4), dtype=np.uint8)  # fully transparent: composited on white
    assert (preprocess_image(clear, 32) == 255).all()
    with pytest.raises(LookbookError, match="resolution"):
        ImageEncoderConfig(resolution=8)


# --------------------------------------------------------------------------------------------------
# Text encoder
# --------------------------------------------------------------------------------------------------


def test_similar_texts_are_closer_than_unrelated_ones(text_encoder) -> None:
    v = text_encoder.encode(
        ["a red cotton t-shirt", "scarlet tee made of cotton", "a walnut coffee table with metal legs"],
        show_progress=False,
    )
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert text_encoder.dim == 384


def test_item_text_lists_the_facts_in_a_fixed_order() -> None:
    args = ("Slim blue jeans", "Five pockets", "jeans", "bottom", "Kalomi")
    attrs = {"material": "denim", "colour": "blue", "fit": "high rise"}
    assert item_text(*args, attrs, repeat_mentioned=True) == (
        "Slim blue jeans. Five pockets. category: jeans; slot: bottom; brand: Kalomi; "
        "colour: blue; material: denim; fit: high rise"
    )
    # Facts the words already say ("jeans", "blue") are not repeated: fewer tokens to encode.
    assert item_text(*args, attrs) == (
        "Slim blue jeans. Five pockets. slot: bottom; brand: Kalomi; material: denim; fit: high rise"
    )
    assert item_text(None, None, "jeans") == "category: jeans"


# --------------------------------------------------------------------------------------------------
# Fusion on real features, and encode_items
# --------------------------------------------------------------------------------------------------


def test_infonce_aligns_each_image_with_its_own_text(features) -> None:
    image, text, tokens = features
    fusion = FusedContentEncoder(FusionConfig(epochs=30)).fit(image, text, tokens, show_progress=False)
    sims = fusion.project_image(image) @ fusion.project_text(text).T
    rng = np.random.default_rng(0)
    others = (np.arange(N_ITEMS) + rng.integers(1, N_ITEMS, N_ITEMS)) % N_ITEMS
    own_beats_random = np.mean(np.diag(sims) > sims[np.arange(N_ITEMS), others])
    top1 = np.mean(np.argmax(sims, axis=1) == np.arange(N_ITEMS))
    assert own_beats_random > 0.8  # chance: 0.5
    assert top1 > 10 / N_ITEMS  # chance: 1 / N_ITEMS


def test_encode_items_end_to_end_with_a_missing_image(catalog, image_encoder, text_encoder, tmp_path) -> None:
    items, root = catalog
    n = 24
    items = items.slice(0, n)
    images = items.column("image").to_pylist()
    images[5] = "images/missing.png"
    items = items.set_column(items.column_names.index("image"), "image", pa.array(images))
    feats = encode_items(
        items,
        root,
        cache_dir=tmp_path / "cache",
        show_progress=False,
        fusion_config=FusionConfig(epochs=5),
    )
    assert feats.item_ids == items.column("item_id").to_pylist()
    assert feats.image.shape == (n, 1280) and feats.text.shape == (n, 384)
    assert feats.fused.shape == (n, FusionConfig().dim)
    assert np.isfinite(feats.fused).all()
    np.testing.assert_allclose(np.linalg.norm(feats.fused, axis=1), 1.0, atol=1e-5)
    assert not feats.has_image[5] and feats.has_image.sum() == n - 1
    assert feats.timings["images_per_s"] > 0 and feats.timings["texts_per_s"] > 0

    # Cold start: a saved fusion transforms a re-run (everything cached now) into the same space.
    warm = encode_items(items, root, cache_dir=tmp_path / "cache", show_progress=False, fusion=feats.fusion)
    assert warm.timings["image_cached"] == n - 1 and warm.timings["text_cached"] == n
    np.testing.assert_allclose(warm.fused, feats.fused, atol=5e-3)


def test_encode_items_checks_its_table() -> None:
    with pytest.raises(LookbookError, match="item_id"):
        encode_items(pa.table({"title": ["x"]}), None, show_progress=False)
