"""The detector contract: what a detection is, how a detector is called, and how a garment is cut out.

Every backend (pose regions for people, a learned box detector for anything labelled) returns the
same ``DetectedGarment`` records, so the shop-the-look chain (detect -> crop -> encode -> anchors)
never asks which one ran. Boxes are in pixels of the image that was passed in, ``(x0, y0, x1, y1)``
with ``x1``/``y1`` exclusive, like ``lookbook.schema.Garment``, so truth and detections compare
directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from PIL import Image

from lookbook.errors import SchemaError
from lookbook.schema import Garment, Slot

__all__ = [
    "DetectedGarment",
    "DetectorConfig",
    "GarmentDetector",
    "ImageLike",
    "LabelledPhoto",
    "crop",
    "keep_confident",
    "to_rgb_array",
]

U8 = npt.NDArray[np.uint8]
ImageLike = Image.Image | np.ndarray | str | Path


@dataclass(frozen=True)
class DetectedGarment:
    """One garment found in a photo.

    ``box`` is ``(x0, y0, x1, y1)`` in pixels of the input image. ``confidence`` in [0, 1] is the
    detector's belief that the region is this slot's garment; shop the look uses it as the
    garment's weight (a region below the detector's ``min_confidence`` is never returned at all,
    the "skip it or lower its weight" rule of case study 000). ``mask`` is an optional boolean
    ``(H, W)`` array over the *whole* input image (True = the garment's pixels), kept full-frame so
    that ``crop`` needs no offsets; it is excluded from equality and repr because it is large.
    """

    box: tuple[float, float, float, float]
    slot: Slot
    confidence: float
    mask: npt.NDArray[np.bool_] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.box) != 4:
            raise SchemaError(f"DetectedGarment box: expected 4 numbers (x0, y0, x1, y1), got {self.box!r}")
        x0, y0, x1, y1 = (float(v) for v in self.box)
        if not (x1 > x0 and y1 > y0):
            raise SchemaError(f"DetectedGarment box: expected x1 > x0 and y1 > y0, got {self.box!r}")
        if not 0.0 <= float(self.confidence) <= 1.0:
            raise SchemaError(
                f"DetectedGarment confidence: expected a number in [0, 1], got {self.confidence!r}"
            )
        if self.mask is not None and (self.mask.ndim != 2 or self.mask.dtype != np.bool_):
            raise SchemaError(
                f"DetectedGarment mask: expected a 2-d bool array, got {self.mask.dtype} {self.mask.shape}"
            )
        object.__setattr__(self, "box", (x0, y0, x1, y1))
        object.__setattr__(self, "slot", Slot(self.slot))
        object.__setattr__(self, "confidence", float(self.confidence))

    def as_garment(self, item_id: str | None = None) -> Garment:
        """The detection as a schema ``Garment`` (for storing it as a photo label)."""
        return Garment(box=self.box, slot=self.slot, item_id=item_id)


class DetectorSettings:
    """What every detector's config dataclass shares: the common threshold and cap as a
    ``DetectorConfig``, and a dict round trip that ignores unknown keys (so a config saved by a
    newer version with more fields still loads)."""

    min_confidence: float
    max_detections: int

    @property
    def detector(self) -> DetectorConfig:
        return DetectorConfig(min_confidence=self.min_confidence, max_detections=self.max_detections)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class DetectorConfig(DetectorSettings):
    """Settings every detector shares.

    ``min_confidence`` 0.3: below it a region is more often wrong than right on the demo worlds'
    held-out photos, and a wrong anchor costs a shop-the-look page more than a missing one.
    ``max_detections`` caps the garments per photo (an outfit rarely has more than eight).
    """

    min_confidence: float = 0.3
    max_detections: int = 20

    def __post_init__(self) -> None:
        _check_unit(type(self).__name__, "min_confidence", self.min_confidence)
        _check_positive_int(type(self).__name__, "max_detections", self.max_detections)


@runtime_checkable
class GarmentDetector(Protocol):
    """Anything that finds garments in one image.

    ``detect(image)`` takes a PIL image, an ``(H, W, 3)`` uint8 RGB array or a path, and returns
    the garments it is confident enough about (``confidence >= min_confidence``), boxes in the
    input's pixels, ordered top to bottom (by box centre), so a caller can rely on the order when it
    lays the garments out.
    """

    def detect(self, image: ImageLike) -> list[DetectedGarment]: ...


class LabelledPhoto(NamedTuple):
    """A photo with its true garments: what detectors train on and are scored against.

    ``boxes`` is ``(n, 4)`` float32 ``(x0, y0, x1, y1)`` in the image's pixels; ``slots`` has one
    slot per box. ``image`` may stay a path until it is needed.
    """

    image: ImageLike
    boxes: npt.NDArray[np.float32]
    slots: tuple[Slot, ...]

    @classmethod
    def from_garments(cls, image: ImageLike, garments: Sequence[Garment]) -> LabelledPhoto:
        boxes = np.asarray([g.box for g in garments], dtype=np.float32).reshape(-1, 4)
        return cls(image, boxes, tuple(Slot(g.slot) for g in garments))


def to_rgb_array(image: ImageLike) -> U8:
    """Any accepted image as a contiguous ``(H, W, 3)`` uint8 RGB array.

    Float arrays are taken as [0, 1]; grey or RGBA inputs are converted (RGBA onto white, since
    product and community photos are shown on white).
    """
    if isinstance(image, str | Path):
        with Image.open(image) as img:
            return to_rgb_array(img.copy())
    if isinstance(image, Image.Image):
        if image.mode == "RGBA":
            white = Image.new("RGB", image.size, (255, 255, 255))
            white.paste(image, mask=image.getchannel("A"))
            image = white
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    if isinstance(image, np.ndarray):
        arr = image
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise SchemaError(f"image: expected an (H, W, 3) RGB array, got shape {image.shape}")
        arr = arr[:, :, :3]
        if arr.dtype != np.uint8:
            arr = np.clip(arr.astype(np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr)
    raise SchemaError(f"image: expected a PIL image, an RGB array or a path, got {type(image).__name__}")


def crop(
    image: ImageLike,
    garment: DetectedGarment,
    background: tuple[int, int, int] = (255, 255, 255),
    pad: float = 0.0,
) -> Image.Image:
    """Cut a garment out of its photo, with everything outside its mask painted ``background``.

    Catalog images show the product alone on white, so a crop with the person, skin and room
    removed lands closer to its catalog neighbours in an image encoder's space. Without a mask only
    the box is cut. ``pad`` widens the box by that share of its size on each side (clipped to the
    image).
    """
    arr = to_rgb_array(image)
    h, w = arr.shape[:2]
    x0, y0, x1, y1 = garment.box
    px, py = (x1 - x0) * pad, (y1 - y0) * pad
    ix0, iy0 = max(0, int(np.floor(x0 - px))), max(0, int(np.floor(y0 - py)))
    ix1, iy1 = min(w, int(np.ceil(x1 + px))), min(h, int(np.ceil(y1 + py)))
    if ix1 <= ix0 or iy1 <= iy0:
        raise SchemaError(f"crop garment box: expected a box inside the {w}x{h} image, got {garment.box!r}")
    out = arr[iy0:iy1, ix0:ix1].copy()
    if garment.mask is not None:
        if garment.mask.shape != (h, w):
            raise SchemaError(
                f"crop garment mask: expected shape {(h, w)} (the image's), got {garment.mask.shape}"
            )
        out[~garment.mask[iy0:iy1, ix0:ix1]] = np.asarray(background, dtype=np.uint8)
    return Image.fromarray(out)


def keep_confident(garments: Sequence[DetectedGarment], config: DetectorConfig) -> list[DetectedGarment]:
    """Drop detections under ``min_confidence``, keep the ``max_detections`` best, order top to bottom."""
    kept = sorted((g for g in garments if g.confidence >= config.min_confidence), key=lambda g: -g.confidence)
    kept = kept[: config.max_detections]
    return sorted(kept, key=lambda g: ((g.box[1] + g.box[3]) / 2, g.box[0]))


def _check_unit(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise SchemaError(f"{owner}.{name}: expected a number in [0, 1], got {value!r}")


def _check_positive_int(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SchemaError(f"{owner}.{name}: expected an int >= 1, got {value!r}")
