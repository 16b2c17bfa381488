"""The build's detector stage: the box detector trained on a world's labelled photos.

Which detector suits a shop depends on its photos (``lookbook.project.detector`` decides at
serving time); the build trains the learned box detector where the world brings labelled photos
(boxes and slots: the demo worlds, room scenes, any set a user labels), on its ``train`` split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lookbook.datasets.world import World
from lookbook.errors import NotFound
from lookbook.project.detector import detector_path
from lookbook.project.layout import ProjectPaths
from lookbook.schema import Garment
from lookbook.vision.base import LabelledPhoto
from lookbook.vision.boxnet import BoxDetector, BoxDetectorConfig

__all__ = ["labelled_training_photos", "train_project_detector"]


def labelled_training_photos(world: World) -> list[LabelledPhoto]:
    """The world's ``train`` photos that carry garment labels (images resolved against its root)."""
    out = []
    for row in world.photos.to_pylist():  # hundreds of photos, once per build
        garments = row.get("garments") or []
        if row.get("split") != "train" or not garments:
            continue
        image = Path(row["image"])
        if not image.is_absolute() and world.root is not None:
            image = Path(world.root) / image
        labels = [Garment(box=(g["x0"], g["y0"], g["x1"], g["y1"]), slot=g["slot"]) for g in garments]
        out.append(LabelledPhoto.from_garments(image, labels))
    return out


def train_project_detector(
    world: World, paths: ProjectPaths, config: BoxDetectorConfig | None = None, show_progress: bool = True
) -> dict[str, Any]:
    """Train the box detector on the world's labelled photos and save it in the project."""
    photos = labelled_training_photos(world)
    if not photos:
        raise NotFound("train_project_detector: the world has no labelled train photos")
    detector = BoxDetector(config or BoxDetectorConfig()).fit(photos, show_progress=show_progress)
    detector.save(detector_path(paths))
    return {"photos": len(photos), "slots": list(map(str, detector.slots_)), "fit_s": detector.fit_seconds_}
