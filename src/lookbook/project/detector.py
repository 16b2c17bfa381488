"""A project's garment detector: the box detector its build trained, else the pose detector.

Which detector suits a shop depends on its photos, so the project decides: a world that brings
labelled photos gets the learned box detector (``lookbook.pipeline.detector`` trains it at build
time); any other project (the H&M catalog, whose community photos are real people) uses the pose
detector, which needs no training.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lookbook.errors import NotFound
from lookbook.project.layout import ProjectPaths
from lookbook.vision.base import GarmentDetector
from lookbook.vision.boxnet import BoxDetector

log = logging.getLogger(__name__)

__all__ = ["detector_path", "load_project_detector"]


def detector_path(paths: ProjectPaths) -> Path:
    return paths.models / "detector"


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
