"""Pictures of what a detector found: boxes, slots and confidences drawn over the photo.

For looking, not for models: a detector's numbers say how often it is right, a picture says how it
is wrong (a skirt called a dress, a box that swallowed the arms), which is what tuning needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from lookbook.schema import SLOT_COLOURS
from lookbook.vision.base import DetectedGarment, ImageLike, to_rgb_array

__all__ = ["draw_garments"]


def draw_garments(
    image: ImageLike,
    garments: Sequence[DetectedGarment],
    landmarks: np.ndarray | None = None,
    mask_tint: float = 0.35,
) -> Image.Image:
    """The photo with each garment's mask tinted, its box outlined and labelled ``slot confidence``.

    ``landmarks`` ``(n, 3)`` (x, y, visibility) are drawn as dots when given (pose debugging).
    """
    arr = to_rgb_array(image).astype(np.float32)
    for g in garments:
        if g.mask is not None and mask_tint > 0:
            colour = np.asarray(SLOT_COLOURS.get(g.slot, (255, 255, 0)), dtype=np.float32)
            arr[g.mask] = arr[g.mask] * (1 - mask_tint) + colour * mask_tint
    img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    line = max(2, round(min(img.size) / 200))
    for g in garments:
        colour = SLOT_COLOURS.get(g.slot, (255, 255, 0))
        d.rectangle(g.box, outline=colour, width=line)
        label = f"{g.slot.value} {g.confidence:.2f}"
        x, y = g.box[0] + line, g.box[1] + line
        d.rectangle((x, y, x + 7 * len(label) + 4, y + 14), fill=colour)
        d.text((x + 2, y + 1), label, fill=(255, 255, 255))
    if landmarks is not None:
        r = line + 1
        for x, y, vis in np.asarray(landmarks, dtype=np.float32):
            if vis > 0.5:
                d.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 0), outline=(0, 0, 0))
    return img
