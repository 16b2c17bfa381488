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

__all__ = ["LABEL_COLUMNS", "labelled_photos_csv", "world_photos"]


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


#: Columns of a labelled-photo CSV: one row per garment, photos named by ``image``.
LABEL_COLUMNS = ("image", "x0", "y0", "x1", "y1", "slot")


def labelled_photos_csv(path: Path | str) -> list[LabelledPhoto]:
    """Labelled photos a user brings: a CSV with one row per garment, columns ``image`` (a path,
    relative to the CSV's folder unless absolute), ``x0, y0, x1, y1`` (pixels) and ``slot``.

    Every row is checked before any photo is returned; the first problem raises an error naming the
    file, the row (1-based, after the header) and the field.
    """
    import csv

    from lookbook.schema import Slot

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"labels {path}: no such file")
    slots = {s.value for s in Slot}
    by_image: dict[Path, list[Garment]] = {}
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SchemaError(f"labels {path}: missing columns {missing} (expected {list(LABEL_COLUMNS)})")
        for n, row in enumerate(reader, start=1):  # a labelled set: hundreds to thousands of rows
            try:
                box = tuple(float(row[c]) for c in ("x0", "y0", "x1", "y1"))
            except (TypeError, ValueError):
                raise SchemaError(f"labels {path} row {n}: x0, y0, x1, y1 must be numbers") from None
            if not (box[2] > box[0] and box[3] > box[1]):
                raise SchemaError(f"labels {path} row {n} box: expected x1 > x0 and y1 > y0, got {box}")
            if row["slot"] not in slots:
                raise SchemaError(f"labels {path} row {n} slot: unknown slot {row['slot']!r}")
            image = Path(row["image"] or "")
            image = image if image.is_absolute() else path.parent / image
            if not image.is_file():
                raise NotFound(f"labels {path} row {n} image: {image} does not exist")
            by_image.setdefault(image, []).append(Garment(box=box, slot=row["slot"]))
    if not by_image:
        raise SchemaError(f"labels {path}: no rows")
    return [LabelledPhoto.from_garments(image, garments) for image, garments in by_image.items()]
