"""The style-space plot: a readable PNG and checked inputs, up to its full 5,000-point size.

Its time budget (a minute for 5,000 x 64) is a benchmark's business, not a unit test's: a wall-clock
limit here would fail on a loaded machine without the plot being wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import LookbookError
from lookbook.evaluation.plots import style_space_plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def clustered(n: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    style = rng.integers(0, 6, size=n)
    slot = np.array(["top", "bottom", "shoes", "bag"])[rng.integers(0, 4, size=n)]
    vectors = rng.normal(size=(6, dim))[style] * 3 + rng.normal(size=(n, dim))
    return vectors.astype(np.float32), slot, np.array([f"style {s}" for s in style])


@pytest.mark.slow
def test_style_space_plot_writes_a_two_panel_png(tmp_path):
    vectors, slot, style = clustered(300, 16)
    out = style_space_plot(vectors, slot, style, tmp_path / "plots" / "space.png", "toy model")
    assert out == tmp_path / "plots" / "space.png"
    assert out.read_bytes()[:8] == PNG_MAGIC
    import matplotlib.image

    image = matplotlib.image.imread(out)
    assert image.shape[1] > image.shape[0]  # two panels side by side


@pytest.mark.slow
def test_style_space_plot_accepts_other_labels_and_many_of_them(tmp_path):
    vectors, slot, _ = clustered(200, 8, seed=1)
    colour = np.arange(200) % 30  # more labels than the legend shows
    out = style_space_plot(
        vectors, slot, colour, tmp_path / "c.png", "by colour", style_name="colour", max_points=150
    )
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_style_space_plot_names_mismatched_labels(tmp_path):
    vectors, slot, style = clustered(50, 4)
    with pytest.raises(LookbookError, match="style_labels"):
        style_space_plot(vectors, slot, style[:-1], tmp_path / "x.png", "bad")
    with pytest.raises(LookbookError, match="vectors"):
        style_space_plot(vectors[:, 0], slot, style, tmp_path / "x.png", "bad")


@pytest.mark.slow
def test_style_space_plot_of_5000_by_64_writes_a_png(tmp_path):
    vectors, slot, style = clustered(6000, 64, seed=2)  # subsampled to 5,000
    out = style_space_plot(vectors, slot, style, tmp_path / "big.png", "budget")
    assert out.read_bytes()[:8] == PNG_MAGIC
