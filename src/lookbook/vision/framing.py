"""Garment crops framed like catalog pictures, so a photo's garment and its catalog twin look alike.

Catalog images show one product, centred, filling most of a square, on the shop's plain
background. A garment cut from a community photo is off-centre, tightly boxed and surrounded by a
body and a room. An image encoder sees those differences as strongly as it sees colour or
category, so each crop is reframed before encoding (case study 000's "test-time crops that match
catalog framing"): pixels outside the garment's mask are painted the catalog's background, the
box is widened a little, and the piece is centred on a square canvas it fills to ``fill`` of the
side, the share catalog products fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from lookbook.errors import LookbookError
from lookbook.vision.base import DetectedGarment, ImageLike, crop, to_rgb_array

__all__ = ["FramingConfig", "catalog_background", "framed_crops"]

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class FramingConfig:
    """``fill``: the share of the square's side the garment spans (0.8: the demo worlds' and most
    packshots' framing); ``pad``: how much wider than the box to cut (0.04 of its size, for boxes a
    little tight); ``flip``: also encode the mirrored crop and average (a garment and its mirror
    image are the same product; averaging halves the pose noise)."""

    fill: float = 0.8
    pad: float = 0.04
    flip: bool = True

    def __post_init__(self) -> None:
        if not 0.1 <= self.fill <= 1.0:
            raise LookbookError(f"FramingConfig.fill: expected a share in [0.1, 1], got {self.fill!r}")
        if not 0.0 <= self.pad <= 1.0:
            raise LookbookError(f"FramingConfig.pad: expected a share in [0, 1], got {self.pad!r}")


def catalog_background(images: Sequence[ImageLike | Path | str | None], sample: int = 32) -> RGB:
    """The catalog's background colour: the median of the border pixels of up to ``sample`` images.

    White when no image can be read (a text-only catalog).
    """
    borders = []
    for item in [i for i in images if i is not None][:sample]:  # a few dozen files
        try:
            arr = to_rgb_array(item)
        except (OSError, ValueError, LookbookError):
            continue
        borders.append(np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]))
    if not borders:
        return (255, 255, 255)
    median = np.median(np.concatenate(borders), axis=0)
    return (int(median[0]), int(median[1]), int(median[2]))


def framed_crops(
    image: ImageLike,
    garments: Sequence[DetectedGarment],
    background: RGB = (255, 255, 255),
    config: FramingConfig = FramingConfig(),
) -> list[Image.Image]:
    """One catalog-framed square picture per garment (two per garment with ``flip``: the crop, then
    its mirror), in the order of ``garments``."""
    arr: npt.NDArray[np.uint8] = to_rgb_array(image)
    out = []
    for g in garments:  # a handful of garments per photo
        piece = crop(arr, g, background=background, pad=config.pad)
        side = max(1, round(max(piece.size) / config.fill))
        canvas = Image.new("RGB", (side, side), background)
        canvas.paste(piece, ((side - piece.width) // 2, (side - piece.height) // 2))
        out.append(canvas)
        if config.flip:
            out.append(canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    return out
