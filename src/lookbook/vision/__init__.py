"""Garment detection: find garments in photos, say which slot each is, and cut them out.

Two backends sit behind one ``GarmentDetector`` protocol (``detect(image) -> list[DetectedGarment]``):

- ``PoseGarmentDetector`` (``lookbook.vision.pose``): body regions of a person in a real photo from
  mediapipe pose landmarks and selfie segmentation, split by colour and texture change. Needs no
  training, only the optional ``mediapipe`` package (imported lazily).
- ``BoxDetector`` (``lookbook.vision.boxnet``): a small single-stage CNN box detector trained on
  labelled photos on the CPU (room scenes, the demo worlds' photos, any labelled set a user brings).

``crop`` cuts a detection out with its background removed; ``evaluate_detector`` scores a detector
with per-slot precision, recall and VOC-style mAP@0.5. The shop-the-look touchpoint chains
detect -> crop -> encode; this package never imports encoders, index or ranking.
"""

from lookbook.vision.base import (
    DetectedGarment,
    DetectorConfig,
    GarmentDetector,
    LabelledPhoto,
    crop,
    to_rgb_array,
)

__all__ = [
    "DetectedGarment",
    "DetectorConfig",
    "GarmentDetector",
    "LabelledPhoto",
    "crop",
    "to_rgb_array",
]
