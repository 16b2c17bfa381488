"""Colour signatures: what an ImageNet CNN underweights and shoppers match on first.

A garment in a photo and its catalog picture differ in pose, scale, light and framing, and an
ImageNet feature vector moves with all of them; their colours move much less. A signature is a
coarse joint RGB histogram (``levels`` per channel, 64 bins by default) of the product's pixels,
square-rooted so that the dot product of two signatures is their Bhattacharyya coefficient (1 for
identical colour distributions, 0 for disjoint ones). On the demo fashion world's held-out photos,
adding it to the CNN cosine took anchor recall@5 with true boxes from 0.44 to 0.70.

The product's pixels: in a catalog picture, those that differ from the catalog's background; in a
photo, the garment's mask when the detector gives one, else the box's central part (a box's rim
is where skin and background are).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lookbook.vision.base import DetectedGarment, ImageLike, to_rgb_array

__all__ = ["catalog_signatures", "colour_signature", "garment_signatures"]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


def colour_signature(rgb: U8, mask: npt.NDArray[np.bool_] | None = None, levels: int = 4) -> F32:
    """``(levels**3,)`` unit signature of the masked pixels of ``rgb`` (zeros when none)."""
    px = rgb.reshape(-1, 3) if mask is None else rgb[mask]
    out = np.zeros(levels**3, np.float32)
    if px.size == 0:
        return out
    q = px.astype(np.int32) * levels // 256
    counts = np.bincount((q[:, 0] * levels + q[:, 1]) * levels + q[:, 2], minlength=levels**3)
    out[:] = np.sqrt(counts / counts.sum())
    return out


def catalog_signatures(
    images: Sequence[ImageLike | None],
    background: tuple[int, int, int],
    tolerance: int = 30,
    levels: int = 4,
) -> F32:
    """One signature per catalog picture, of the pixels that differ from ``background`` by more
    than ``tolerance`` (summed over channels); zeros for a missing or unreadable picture."""
    bg = np.asarray(background, dtype=np.int32)
    out = np.zeros((len(images), levels**3), np.float32)
    for i, item in enumerate(images):  # once per catalog item, at build or first use
        if item is None:
            continue
        try:
            rgb = to_rgb_array(item)
        except (OSError, ValueError):
            continue
        product = np.abs(rgb.astype(np.int32) - bg).sum(axis=-1) > tolerance
        out[i] = colour_signature(rgb, product if product.any() else None, levels)
    return out


def garment_signatures(
    image: ImageLike, garments: Sequence[DetectedGarment], inner: float = 2 / 3, levels: int = 4
) -> F32:
    """One signature per garment: its mask's pixels, else the central ``inner`` share of its box."""
    rgb = to_rgb_array(image)
    h, w = rgb.shape[:2]
    out = np.zeros((len(garments), levels**3), np.float32)
    for i, g in enumerate(garments):  # a handful per photo
        x0, y0, x1, y1 = g.box
        if g.mask is not None and g.mask.shape == (h, w) and g.mask.any():
            out[i] = colour_signature(rgb, g.mask, levels)
            continue
        mx, my = (x1 - x0) * (1 - inner) / 2, (y1 - y0) * (1 - inner) / 2
        ix0, iy0 = max(0, int(x0 + mx)), max(0, int(y0 + my))
        ix1, iy1 = min(w, int(np.ceil(x1 - mx))), min(h, int(np.ceil(y1 - my)))
        if ix1 > ix0 and iy1 > iy0:
            out[i] = colour_signature(rgb[iy0:iy1, ix0:ix1], None, levels)
    return out
