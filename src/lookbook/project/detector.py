"""A project's garment detector: trained by the build where the world has labelled photos.

Which detector suits a shop depends on its photos, so the project decides: a world that brings
labelled photos (boxes and slots: the demo worlds, room scenes, any set a user labels) gets the
learned box detector, trained at build time on the photos of its ``train`` split; any other
project (the H&M catalog, whose community photos are real people) uses the pose detector, which
needs no training.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lookbook.datasets.world import World
from lookbook.errors import NotFound
from lookbook.project.layout import ProjectPaths
from lookbook.vision.base import GarmentDetector, LabelledPhoto
from lookbook.vision.boxnet import BoxDetector, BoxDetectorConfig

log = logging.getLogger(__name__)

__all__ = ["detector_path", "labelled_training_photos", "load_project_detector", "train_project_detector"]


def detector_path(paths: ProjectPaths) -> Path:
    return paths.models / "detector"


def labelled_training_photos(world: World) -> list[LabelledPhoto]:
    """The world's ``train`` photos that carry garment labels (images resolved against its root)."""
    from lookbook.schema import Garment

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


def load_project_detector(paths: ProjectPaths, kind: str = "auto") -> GarmentDetector:
    """``"auto"``: the project's box detector if its build trained one, else the pose detector."""
    saved = detector_path(paths)
    has_box = (saved / "model.json").exists()
    if kind == "box" or (kind == "auto" and has_box):
        if not has_box:
            raise NotFound(f"project {paths.root}: no trained box detector at {saved}")
        return BoxDetector.load(saved)
    from lookbook.vision.pose import PoseGarmentDetector

    log.info("project %s: pose detector (asked for %r)", paths.root, kind)
    return PoseGarmentDetector()
