"""Labelled photos from a world folder: what the box detector trains on and is scored against.

A world's ``photos.parquet`` carries the visible garments of its training photos only; held-out
photos keep their labels in the truth, which only the oracle reads. So this loader takes the truth
as an optional callable (``Oracle.load(dir).photo_truth``) and never opens ``truth/`` itself: the
vision layer stays on the model side of the line that keeps models away from the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow.parquet as pq

from lookbook.errors import NotFound, SchemaError
from lookbook.schema import Garment
from lookbook.vision.base import LabelledPhoto

__all__ = ["world_photos"]


def world_photos(
    root: Path | str,
    split: str | None = "train",
    truth: Callable[[str], Sequence[Garment]] | None = None,
) -> list[LabelledPhoto]:
    """The photos of a world folder with their garments, as ``LabelledPhoto`` (images stay paths).

    ``split`` picks ``"train"``, ``"test"`` or (None) every photo. Labels come from the table's
    ``garments`` column, or from ``truth(photo_id)`` when it is given (needed for held-out photos,
    whose column is empty).
    """
    root = Path(root)
    path = root / "photos.parquet"
    if not path.exists():
        raise NotFound(f"world {root}: no photos.parquet here")
    rows = pq.read_table(path).to_pylist()
    if split is not None:
        splits = {r.get("split") for r in rows}
        if split not in splits:
            raise SchemaError(
                f"world_photos split: expected one of {sorted(map(str, splits))}, got {split!r}"
            )
        rows = [r for r in rows if r.get("split") == split]
    out = []
    for r in rows:
        if truth is not None:
            garments = list(truth(r["photo_id"]))
        else:
            garments = [
                Garment(box=(g["x0"], g["y0"], g["x1"], g["y1"]), slot=g["slot"], item_id=g.get("item_id"))
                for g in r["garments"] or ()
            ]
        image = Path(r["image"])
        out.append(LabelledPhoto.from_garments(image if image.is_absolute() else root / image, garments))
    return out
