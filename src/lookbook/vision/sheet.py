"""Contact sheets: a photo with its garments outlined, and each garment's catalog anchors beside it.

For people, not models: the anchor figures say how often the mapping is right, the sheet shows
how it is wrong (a white top matched to cream knitwear, shoes to socks), which is what tuning needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from lookbook.schema import SLOT_COLOURS
from lookbook.vision.base import DetectedGarment, ImageLike
from lookbook.vision.draw import draw_garments

__all__ = ["contact_sheet"]


def contact_sheet(
    image: ImageLike,
    garments: Sequence[DetectedGarment],
    anchors: Sequence[Sequence[Path | str | None]],
    captions: Sequence[Sequence[str]] | None = None,
    height: int = 640,
    thumb: int = 120,
) -> Image.Image:
    """The photo (``height`` px tall, garments outlined) left; one row of ``thumb`` px anchor
    pictures per garment right, in the garment's outline colour, each with an optional caption."""
    photo = draw_garments(image, garments, mask_tint=0.0)
    scale = height / photo.height
    photo = photo.resize((max(1, round(photo.width * scale)), height))
    per_row = max((len(a) for a in anchors), default=0)
    row_h = thumb + 18
    width = photo.width + 16 + per_row * (thumb + 6) + 8
    sheet = Image.new("RGB", (width, max(height, 8 + len(anchors) * (row_h + 8))), (255, 255, 255))
    sheet.paste(photo, (0, 0))
    d = ImageDraw.Draw(sheet)
    for g, (garment, row) in enumerate(zip(garments, anchors, strict=True)):  # a handful of rows
        colour = SLOT_COLOURS.get(garment.slot, (255, 255, 0))
        y = 8 + g * (row_h + 8)
        x = photo.width + 8
        d.rectangle((x, y, x + 4, y + thumb), fill=colour)
        for j, path in enumerate(row):
            left = x + 10 + j * (thumb + 6)
            tile = Image.new("RGB", (thumb, thumb), (240, 240, 240))
            if path is not None:
                try:
                    with Image.open(path) as im:
                        pic = im.convert("RGB")
                        pic.thumbnail((thumb, thumb))
                        tile.paste(pic, ((thumb - pic.width) // 2, (thumb - pic.height) // 2))
                except OSError:
                    pass
            sheet.paste(tile, (left, y))
            if captions is not None and j < len(captions[g]):
                d.text((left, y + thumb + 3), captions[g][j][:20], fill=(40, 40, 40))
    return sheet
