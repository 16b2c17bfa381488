"""The fused content encoder on toy features: shapes, fit rules, missing images, persistence, hashing."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lookbook.encoders import FusedContentEncoder, FusionConfig, attribute_tokens, hash_tokens, l2_normalize
from lookbook.errors import DimensionMismatch, LookbookError, NotFittedError, NotFound

N, D_IMG, D_TXT = 120, 40, 24


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Items with a hidden 6-d "look": images and texts are two noisy linear views of it."""
    rng = np.random.default_rng(0)
    look = rng.standard_normal((N, 6))
    image = np.abs(look @ rng.standard_normal((6, D_IMG)) + 0.3 * rng.standard_normal((N, D_IMG)) + 3.0)
    text = look @ rng.standard_normal((6, D_TXT)) + 0.3 * rng.standard_normal((N, D_TXT))
    colours = ["red", "blue", "green"]
    tokens = [attribute_tokens("jeans", "bottom", "Kalomi", {"colour": colours[i % 3]}) for i in range(N)]
    return l2_normalize(image), l2_normalize(text), tokens


CFG = FusionConfig(dim_image=8, dim_text=8, dim_attributes=16, epochs=20, batch_size=64)


@pytest.fixture(scope="module")
def fitted(toy) -> FusedContentEncoder:
    return FusedContentEncoder(CFG).fit(*toy, show_progress=False)


def test_fit_transform_shapes_and_unit_rows(toy, fitted: FusedContentEncoder) -> None:
    out = fitted.transform(*toy)
    assert out.shape == (N, 8 + 8 + 16) == (N, fitted.dim)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert fitted.image_projection_.shape == (8, D_IMG)
    assert fitted.text_projection_.shape == (8, D_TXT)
    assert fitted.loss_history_.shape == (20,)
    assert fitted.loss_history_[-1] < fitted.loss_history_[0]


def test_transform_before_fit_raises_not_fitted(toy) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        FusedContentEncoder(CFG).transform(*toy)
    assert not [k for k in vars(FusedContentEncoder(CFG)) if k.endswith("_")]


def test_same_seed_same_model_and_refit_starts_fresh(toy, fitted) -> None:
    again = FusedContentEncoder(CFG).fit(*toy, show_progress=False)
    np.testing.assert_array_equal(again.image_projection_, fitted.image_projection_)
    refit = FusedContentEncoder(CFG).fit(toy[0][:60], toy[1][:60], toy[2][:60], show_progress=False)
    refit.fit(*toy, show_progress=False)
    np.testing.assert_array_equal(refit.text_projection_, fitted.text_projection_)


def test_projections_align_each_image_with_its_own_text(toy, fitted) -> None:
    zi, zt = fitted.project_image(toy[0]), fitted.project_text(toy[1])
    sims = zi @ zt.T
    assert np.mean(np.argmax(sims, axis=1) == np.arange(N)) > 0.3  # chance: 1/120
    assert fitted.alignment_ > 0.3


def test_an_item_without_image_still_gets_a_finite_unit_vector(toy, fitted) -> None:
    image = toy[0].copy()
    image[[3, 7]] = 0.0
    out = fitted.transform(image, toy[1], toy[2])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert not out[3, :8].any()  # the image block is zero
    full = fitted.transform(*toy)
    np.testing.assert_allclose(out[0], full[0])  # other rows unchanged
    # ...and fitting with images missing works too.
    FusedContentEncoder(CFG).fit(image, toy[1], toy[2], show_progress=False)


def test_widths_and_rows_are_checked(toy, fitted) -> None:
    with pytest.raises(DimensionMismatch, match=f"X has {D_IMG + 1} features.*fitted on {D_IMG}"):
        fitted.transform(np.ones((N, D_IMG + 1)), toy[1], toy[2])
    with pytest.raises(DimensionMismatch, match="attribute_tokens"):
        fitted.transform(toy[0], toy[1], toy[2][:-1])
    with pytest.raises(DimensionMismatch, match="rows"):
        FusedContentEncoder(CFG).fit(toy[0], toy[1][:-1], toy[2], show_progress=False)
    with pytest.raises(LookbookError, match="finite"):
        fitted.transform(np.full((N, D_IMG), np.nan), toy[1], toy[2])


def test_config_is_validated_naming_the_field() -> None:
    with pytest.raises(LookbookError, match=r"FusionConfig\.dim_image: expected an int >= 1, got 0"):
        FusionConfig(dim_image=0)
    with pytest.raises(LookbookError, match=r"FusionConfig\.temperature"):
        dataclasses.replace(FusionConfig(), temperature=0.0)
    with pytest.raises(LookbookError, match="weight"):
        FusionConfig(weight_image=0, weight_text=0, weight_attributes=0)
    assert FusionConfig.from_dict(FusionConfig().to_dict()) == FusionConfig()


def test_save_load_round_trip_gives_identical_vectors(toy, fitted, tmp_path: Path) -> None:
    fitted.save(tmp_path / "fusion")
    loaded = FusedContentEncoder.load(tmp_path / "fusion")
    assert loaded.config == fitted.config
    np.testing.assert_array_equal(loaded.transform(*toy), fitted.transform(*toy))
    assert {p.name for p in (tmp_path / "fusion").iterdir()} == {"fusion.safetensors", "fusion.json"}
    with pytest.raises(NotFound):
        FusedContentEncoder.load(tmp_path / "nothing")
    with pytest.raises(NotFittedError):
        FusedContentEncoder(CFG).save(tmp_path / "unfitted")


def test_load_checks_the_format_version(fitted, tmp_path: Path) -> None:
    folder = fitted.save(tmp_path / "fusion")
    meta = folder / "fusion.json"
    meta.write_text(meta.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(LookbookError, match="format_version"):
        FusedContentEncoder.load(folder)


def test_attribute_tokens_are_normalised() -> None:
    assert attribute_tokens(
        "Midi Dress", "dress", " Kalomi ", [("colour", "Navy"), ("tags", ["a", "b"])]
    ) == [
        "slot=dress",
        "category=midi dress",
        "brand=kalomi",
        "colour=navy",
        "tags=a",
        "tags=b",
    ]
    assert attribute_tokens(None, None, None, None) == []


def test_feature_hashing_is_signed_normalised_and_stable_across_processes() -> None:
    tokens = [["slot=top", "colour=red"], ["colour=red"], [], None, ["colour=red", "slot=top"]]
    block = hash_tokens(tokens, 32)
    assert block.shape == (5, 32)
    np.testing.assert_allclose(np.linalg.norm(block[[0, 1, 4]], axis=1), 1.0, atol=1e-6)
    assert not block[2].any() and not block[3].any()
    np.testing.assert_array_equal(block[0], block[4])  # order does not matter
    assert set(np.unique(np.sign(block[1]))) <= {-1.0, 0.0, 1.0}
    code = (
        "import numpy as np; from lookbook.encoders import hash_tokens;"
        "print(np.flatnonzero(hash_tokens([['slot=top', 'colour=red', 'brand=kalomi']], 32)[0]).tolist(),"
        " np.sign(hash_tokens([['slot=top', 'colour=red', 'brand=kalomi']], 32)[0]).astype(int).tolist())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2")
    }
    local = hash_tokens([["slot=top", "colour=red", "brand=kalomi"]], 32)[0]
    expected = f"{np.flatnonzero(local).tolist()} {np.sign(local).astype(int).tolist()}\n"
    assert runs == {expected}
    with pytest.raises(LookbookError, match="list of tokens"):
        hash_tokens(["slot=top"], 8)
