"""A labelled photo set a user brings (CSV: image,x0,y0,x1,y1,slot): checked row by row, then a box
detector trained on it by ``lookbook train detector`` and scored on held-out photos."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookbook.cli import main
from lookbook.errors import NotFound, SchemaError
from lookbook.vision.data import labelled_photos_csv


def _photo_set(folder: Path, n: int = 30) -> Path:
    """``n`` 160 x 240 pictures, each a 'top' block above a 'bottom' block of random colours and sizes."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        arr = np.full((240, 160, 3), 235, np.uint8)
        x0, w = int(rng.integers(20, 50)), int(rng.integers(60, 90))
        y_top, h_top = int(rng.integers(15, 40)), int(rng.integers(60, 80))
        y_bot, h_bot = y_top + h_top + 5, int(rng.integers(70, 110))
        h_bot = min(h_bot, 235 - y_bot)
        arr[y_top : y_top + h_top, x0 : x0 + w] = rng.integers(0, 200, 3)
        arr[y_bot : y_bot + h_bot, x0 + 5 : x0 + w - 5] = rng.integers(0, 200, 3)
        Image.fromarray(arr).save(folder / f"p{i:02d}.png")
        rows.append([f"p{i:02d}.png", x0, y_top, x0 + w, y_top + h_top, "top"])
        rows.append([f"p{i:02d}.png", x0 + 5, y_bot, x0 + w - 5, y_bot + h_bot, "bottom"])
    path = folder / "labels.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["image", "x0", "y0", "x1", "y1", "slot"], *rows])
    return path


def test_every_row_is_checked_and_named(tmp_path: Path):
    labels = _photo_set(tmp_path, n=2)
    photos = labelled_photos_csv(labels)
    assert len(photos) == 2 and [str(s) for s in photos[0].slots] == ["top", "bottom"]
    lines = labels.read_text().splitlines()
    for bad, message in (
        ("p00.png,1,2,0,5,top", "row 1 box"),
        ("p00.png,1,2,x,5,top", "row 1: x0, y0, x1, y1 must be numbers"),
        ("p00.png,1,2,3,5,hat", "row 1 slot: unknown slot 'hat'"),
    ):
        broken = tmp_path / "broken.csv"
        broken.write_text("\n".join([lines[0], bad, *lines[2:]]) + "\n")
        with pytest.raises(SchemaError, match=message):
            labelled_photos_csv(broken)
    (tmp_path / "nocol.csv").write_text("image,x0\np00.png,1\n")
    with pytest.raises(SchemaError, match="missing columns"):
        labelled_photos_csv(tmp_path / "nocol.csv")
    (tmp_path / "gone.csv").write_text(lines[0] + "\nnope.png,1,2,3,4,top\n")
    with pytest.raises(NotFound, match="row 1 image"):
        labelled_photos_csv(tmp_path / "gone.csv")


@pytest.mark.slow
def test_train_detector_learns_the_users_photos_and_scores_held_out_ones(tmp_path: Path, capsys):
    labels = _photo_set(tmp_path)
    out = tmp_path / "detector"
    argv = ["--no-progress", "train", "detector", "--labels", str(labels), "--out", str(out)]
    assert main([*argv, "--epochs", "25", "--holdout", "0.2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["photos"] == 24 and report["held_out"] == 6 and set(report["slots"]) == {"top", "bottom"}
    assert report["map"] > 0.5, report  # two plain blocks per picture: an easy set, learned
    assert (out / "model.json").exists()
    assert main([*argv[:-2], "--labels", str(tmp_path / "missing.csv"), "--out", str(out)]) == 1
