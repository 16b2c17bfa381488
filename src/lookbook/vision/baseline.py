"""The trivial reference a learned detector must beat: every slot's average box, everywhere.

In the demo worlds the person stands near the middle of every photo, so "the top is where tops
usually are" already scores some mAP; a learned detector is only worth its training time if it
does clearly better than this prior. Boxes are kept relative to the image size, so the prior
transfers across resolutions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from lookbook.errors import NotFittedError, SchemaError
from lookbook.schema import Slot
from lookbook.vision.base import DetectedGarment, ImageLike, LabelledPhoto, to_rgb_array

__all__ = ["MeanBoxDetector"]


class MeanBoxDetector:
    """Predicts, in every image, each training slot's mean relative box with confidence = how often
    that slot appears per photo (capped at 1)."""

    def fit(self, photos: Sequence[LabelledPhoto]) -> Self:
        """Learn the per-slot mean box (relative to each photo's size) and frequency."""
        if not photos:
            raise SchemaError("MeanBoxDetector.fit photos: expected at least one labelled photo, got none")
        rel: dict[Slot, list[np.ndarray]] = {}
        for p in photos:
            h, w = to_rgb_array(p.image).shape[:2]
            scale = np.asarray([w, h, w, h], dtype=np.float32)
            for box, slot in zip(np.asarray(p.boxes, np.float32).reshape(-1, 4), p.slots, strict=True):
                rel.setdefault(Slot(slot), []).append(box / scale)
        self.boxes_ = {s: np.mean(b, axis=0) for s, b in rel.items()}
        self.frequency_ = {s: min(1.0, len(b) / len(photos)) for s, b in rel.items()}
        return self

    def detect(self, image: ImageLike) -> list[DetectedGarment]:
        if not hasattr(self, "boxes_"):
            raise NotFittedError("MeanBoxDetector: call fit() before detect()")
        h, w = to_rgb_array(image).shape[:2]
        scale = np.asarray([w, h, w, h], dtype=np.float32)
        return [
            DetectedGarment(box=tuple((b * scale).tolist()), slot=s, confidence=self.frequency_[s])
            for s, b in self.boxes_.items()
        ]
