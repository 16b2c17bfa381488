"""Community photos of the demo worlds: a person wearing an outfit, a room furnished with a set.

Shop the look needs photos in which garments are *somewhere*, partly hidden, under other light,
plus the truth of where each one is. This module composites the items' own catalog pixels (from
``render``) onto a cluttered scene, so a garment in a photo looks like its catalog image, which is
what a later model relies on when it maps a crop back to the catalog by visual similarity.

Every pasted pixel is recorded in a label map (which part owns it now), so each garment's box is
the box of its *visible* pixels and its ``visible_fraction`` is exact. Parts that end up mostly
hidden (under 15% visible) are left out of the result, as a person labelling the photo would.

Scenes are built in a fixed order from one ``np.random.default_rng(seed)``, so a photo is a pure
function of (parts, seed).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter
from tqdm.auto import tqdm

from lookbook.datasets.synthetic.render import (
    _ARM_ANGLE,
    ItemLook,
    _chunks,
    _render_object,
    _save_png,
    _silhouette,
)
from lookbook.errors import LookbookError
from lookbook.schema import Domain, Slot

log = logging.getLogger(__name__)

__all__ = [
    "FASHION_PHOTO_SIZE",
    "HOME_PHOTO_SIZE",
    "MIN_VISIBLE_FRACTION",
    "PlacedGarment",
    "compose_photo",
    "render_photos",
]

#: (width, height) of a fashion photo: portrait, one standing person.
FASHION_PHOTO_SIZE = (256, 384)
#: (width, height) of a home photo: landscape, one corner of a living room.
HOME_PHOTO_SIZE = (384, 256)
#: Parts with a smaller share of their pasted pixels still visible are not reported.
MIN_VISIBLE_FRACTION = 0.15

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class PlacedGarment:
    """One item as it ended up in a photo: where its visible pixels are and how much of it shows.

    ``box`` is ``(x0, y0, x1, y1)`` in pixels with ``x1``/``y1`` exclusive, around the pixels the
    item still owns after everything drawn later; ``visible_fraction`` is those pixels over the
    pixels it was pasted with (inside the frame).
    """

    item_id: str
    slot: Slot
    box: tuple[float, float, float, float]
    visible_fraction: float

    def as_row(self) -> dict[str, Any]:
        """The garment as a row of ``lookbook.tables.GARMENT_TYPE`` (how photos tables store labels)."""
        x0, y0, x1, y1 = self.box
        return {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "slot": self.slot.value, "item_id": self.item_id}


# ==================================================================================================
# Canvas: the photo being built, plus who owns each pixel
# ==================================================================================================


@dataclass(frozen=True)
class _Placement:
    """Where one copy of an item goes: its design anchor lands on ``anchor`` (photo px), at ``k``
    photo px per design unit; ``squash`` flattens it vertically (rugs on the floor), ``mirror``
    flips it (the left shoe), ``open_front`` cuts a central strip of that half-width (design units)
    out of it (an open jacket)."""

    anchor: tuple[float, float]
    k: float
    squash: float = 1.0
    mirror: bool = False
    open_front: float = 0.0


_RENDER_SIZES = (128, 192, 256)


class _Canvas:
    """An RGB float image (channel-first) with a label map and per-part pasted-pixel counts."""

    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.rgb = np.zeros((3, height, width), np.float32)
        self.label = np.full((height, width), -1, np.int16)
        self.pasted: dict[int, int] = {}

    def blend(self, rgb: FloatArray, alpha: FloatArray) -> None:
        """Composite a full-frame layer (background, body) that no part owns."""
        self.rgb += (rgb - self.rgb) * alpha[None]
        self.label[alpha > 0.5] = -1

    def paste(self, part: int, look: ItemLook, where: _Placement) -> tuple[float, float, float, float]:
        """Paste ``look``'s catalog pixels at ``where``; returns the target box (photo px, floats)."""
        sil_probe = _silhouette(look.category, look.shape, _RENDER_SIZES[0])
        need = where.k / sil_probe.scale
        size = next((s for s in _RENDER_SIZES if s >= need * 0.95), _RENDER_SIZES[-1])
        sil = _silhouette(look.category, look.shape, size)
        obj = _render_object(look, size, pose=False)
        cover = obj.coverage
        cols = np.flatnonzero(cover.max(axis=0) > 0.02)
        rows = np.flatnonzero(cover.max(axis=1) > 0.02)
        cx0, cx1, cy0, cy1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
        unit = sil.scale * size  # render px per design unit
        ax = (sil.anchor[0] * sil.scale + sil.offset[0]) * size
        ay = (sil.anchor[1] * sil.scale + sil.offset[1]) * size
        rgb = obj.rgb[:, cy0:cy1, cx0:cx1]
        alpha = obj.alpha[cy0:cy1, cx0:cx1]
        cov = cover[cy0:cy1, cx0:cx1]
        if where.open_front > 0:
            xs = np.arange(cx0, cx1, dtype=np.float32)
            keep = (np.abs(xs - ax) >= where.open_front * unit).astype(np.float32)[None, :]
            alpha, cov = alpha * keep, cov * keep
        rel_x = ax - cx0
        if where.mirror:
            rgb, alpha, cov = rgb[:, :, ::-1], alpha[:, ::-1], cov[:, ::-1]
            rel_x = (cx1 - cx0) - rel_x
        zx = where.k / unit
        zy = zx * where.squash
        x0f = where.anchor[0] - rel_x * zx
        y0f = where.anchor[1] - (ay - cy0) * zy
        tw = max(1, round((cx1 - cx0) * zx))
        th = max(1, round((cy1 - cy0) * zy))
        x0, y0 = round(x0f), round(y0f)
        rgb_r, alpha_r, cov_r = _resize(rgb, alpha, cov, tw, th)
        self._composite(part, rgb_r, alpha_r, cov_r, x0, y0)
        return (x0f, y0f, x0f + (cx1 - cx0) * zx, y0f + (cy1 - cy0) * zy)

    def _composite(
        self, part: int, rgb: FloatArray, alpha: FloatArray, cov: FloatArray, x0: int, y0: int
    ) -> None:
        h, w = alpha.shape
        ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(self.w, x0 + w), min(self.h, y0 + h)
        self.pasted.setdefault(part, 0)
        if ax1 <= ax0 or ay1 <= ay0:
            return
        src_y, src_x = slice(ay0 - y0, ay1 - y0), slice(ax0 - x0, ax1 - x0)
        a = alpha[src_y, src_x]
        region = self.rgb[:, ay0:ay1, ax0:ax1]
        region += (rgb[:, src_y, src_x] - region) * a[None]
        own = cov[src_y, src_x] > 0.5
        self.label[ay0:ay1, ax0:ax1][own] = part
        self.pasted[part] += int(own.sum())

    def garments(self, parts: Sequence[tuple[str, ItemLook]]) -> list[PlacedGarment]:
        """The parts still visible enough, in the caller's order, with boxes of visible pixels."""
        out = []
        for i, (item_id, look) in enumerate(parts):
            pasted = self.pasted.get(i, 0)
            if pasted == 0:
                continue
            own = self.label == i
            cols = np.flatnonzero(own.any(axis=0))
            if cols.size == 0:
                continue
            rows = np.flatnonzero(own.any(axis=1))
            visible = int(own.sum())
            fraction = visible / pasted
            if fraction < MIN_VISIBLE_FRACTION:
                continue
            box = (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
            out.append(
                PlacedGarment(item_id=item_id, slot=look.slot, box=box, visible_fraction=min(1.0, fraction))
            )
        return out


def _resize(rgb: FloatArray, alpha: FloatArray, cov: FloatArray, w: int, h: int) -> tuple[FloatArray, ...]:
    """Resample a cut-out; RGB + alpha go through one CMYK image (Pillow does not premultiply it)."""
    packed = np.concatenate([rgb, alpha[None] * 255.0], axis=0).transpose(1, 2, 0)
    img = Image.fromarray(np.clip(packed + 0.5, 0, 255).astype(np.uint8), "CMYK")
    out = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32).transpose(2, 0, 1)
    alpha_r = out[3] * (1.0 / 255.0)
    if cov is alpha or np.array_equal(cov, alpha):
        cov_r = alpha_r
    else:
        cov_img = Image.fromarray(np.clip(cov * 255 + 0.5, 0, 255).astype(np.uint8))
        cov_r = np.asarray(cov_img.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    return np.ascontiguousarray(out[:3]), alpha_r, cov_r


# ==================================================================================================
# Backgrounds and light
# ==================================================================================================

_WALLS = (
    (228, 222, 212),
    (212, 217, 222),
    (234, 228, 216),
    (204, 212, 200),
    (226, 210, 202),
    (196, 200, 208),
    (220, 214, 196),
)
_FLOORS = ((168, 128, 92), (150, 148, 144), (200, 186, 164), (120, 88, 64), (182, 172, 160))


def _jit(rng: np.random.Generator, rgb: tuple[int, int, int], amount: float = 8.0) -> tuple[int, int, int]:
    r, g, b = (np.clip(np.asarray(rgb, np.float32) + rng.normal(0, amount, 3), 0, 255)).astype(int)
    return int(r), int(g), int(b)


def _room(rng: np.random.Generator, w: int, h: int, horizon: float) -> Image.Image:
    """Wall over floor: gradients, a skirting board and floor boards in perspective."""
    wall = np.asarray(_jit(rng, _WALLS[int(rng.integers(len(_WALLS)))]), np.float32)
    floor = np.asarray(_jit(rng, _FLOORS[int(rng.integers(len(_FLOORS)))]), np.float32)
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    side = rng.uniform(-0.06, 0.06)
    wall_shade = 1.02 - 0.08 * (y / max(horizon, 1)) + side * (x / w - 0.5)
    floor_t = np.clip((y - horizon) / max(h - horizon, 1), 0, 1)
    floor_shade = 0.86 + 0.16 * floor_t + side * (x / w - 0.5)
    is_wall = (y < horizon).astype(np.float32)
    img = (
        wall[:, None, None] * (wall_shade * is_wall)[None]
        + floor[:, None, None] * (floor_shade * (1 - is_wall))[None]
    )
    img = np.clip(img, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    out = Image.fromarray(np.ascontiguousarray(img))
    d = ImageDraw.Draw(out)
    board = tuple(int(c) for c in np.clip(wall * 1.06 + 8, 0, 255))
    d.rectangle((0, horizon - 5, w, horizon), fill=board)
    d.line((0, horizon, w, horizon), fill=tuple(int(c * 0.8) for c in board), width=1)
    line = tuple(int(c * 0.82) for c in floor)
    gap = 7.0
    yy = horizon + 4
    while yy < h:
        d.line((0, int(yy), w, int(yy)), fill=line, width=1)
        gap *= 1.28
        yy += gap
    return out


def _frame(d: ImageDraw.ImageDraw, rng: np.random.Generator, box: tuple[float, float, float, float]) -> None:
    edge = _jit(rng, ((40, 36, 34), (180, 150, 100), (238, 236, 230))[int(rng.integers(3))], 6)
    d.rectangle(box, fill=edge)
    inset = max(2.0, (box[2] - box[0]) * 0.1)
    inner = (box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset)
    d.rectangle(inner, fill=_jit(rng, (200, 190, 170), 40))
    if rng.random() < 0.7:
        cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
        r = min(inner[2] - inner[0], inner[3] - inner[1]) * 0.3
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_jit(rng, (120, 110, 100), 50))


def _plant(d: ImageDraw.ImageDraw, rng: np.random.Generator, x: float, floor_y: float, scale: float) -> None:
    pot = _jit(rng, ((190, 110, 80), (230, 228, 222), (60, 60, 64))[int(rng.integers(3))], 6)
    pw, ph = 16 * scale, 20 * scale
    for _ in range(9):
        lx = x + rng.normal(0, 9 * scale)
        ly = floor_y - ph - rng.uniform(8, 38) * scale
        r = rng.uniform(6, 11) * scale
        d.ellipse((lx - r, ly - r * 0.7, lx + r, ly + r * 0.7), fill=_jit(rng, (62, 118, 64), 18))
    d.polygon(
        [
            (x - pw / 2, floor_y - ph),
            (x + pw / 2, floor_y - ph),
            (x + pw * 0.38, floor_y),
            (x - pw * 0.38, floor_y),
        ],
        fill=pot,
    )


def _window(d: ImageDraw.ImageDraw, rng: np.random.Generator, box: tuple[float, float, float, float]) -> None:
    frame = _jit(rng, (244, 244, 240), 4)
    d.rectangle(box, fill=frame)
    x0, y0, x1, y1 = box
    sky_top, sky_bot = np.array(_jit(rng, (150, 190, 226), 10)), np.array(_jit(rng, (214, 230, 240), 8))
    inner_y0, inner_y1 = int(y0 + 4), int(y1 - 4)
    for yy in range(inner_y0, inner_y1):
        t = (yy - inner_y0) / max(1, inner_y1 - inner_y0)
        c = tuple(int(v) for v in sky_top * (1 - t) + sky_bot * t)
        d.line((x0 + 4, yy, x1 - 4, yy), fill=c)
    d.line(((x0 + x1) / 2, y0, (x0 + x1) / 2, y1), fill=frame, width=3)
    d.line((x0, (y0 + y1) / 2, x1, (y0 + y1) / 2), fill=frame, width=3)


def _to_float(img: Image.Image) -> FloatArray:
    return np.asarray(img, dtype=np.float32).transpose(2, 0, 1).copy()


def _shadows(canvas: _Canvas, ellipses: Sequence[tuple[float, float, float, float]], strength: float) -> None:
    """Soft contact shadows on the floor under feet and furniture (drawn before them)."""
    if not ellipses:
        return
    img = Image.new("L", (canvas.w, canvas.h), 0)
    d = ImageDraw.Draw(img)
    for box in ellipses:
        d.ellipse(box, fill=255)
    soft = np.asarray(img.filter(ImageFilter.GaussianBlur(4)), dtype=np.float32) / 255.0
    canvas.rgb *= (1.0 - strength * soft)[None]


def _light(canvas: _Canvas, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """Global light: a brightness ramp from a random direction, a colour temperature, sensor noise."""
    h, w = canvas.h, canvas.w
    a = rng.uniform(0, 2 * math.pi)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = ((x / w - 0.5) * math.cos(a) + (y / h - 0.5) * math.sin(a)).astype(np.float32)
    gain = rng.uniform(0.94, 1.05) + rng.uniform(0.08, 0.2) * ramp
    temp = rng.uniform(-0.05, 0.05)
    tint = np.array([1 + temp, 1 + 0.2 * temp, 1 - temp], np.float32)
    # luminance noise: one field for all channels (a third of the draws, and what sensors mostly show)
    noise = rng.standard_normal((h, w), dtype=np.float32) * rng.uniform(1.5, 3.5)
    out = canvas.rgb * gain[None] * tint[:, None, None] + noise[None]
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0))


# ==================================================================================================
# Fashion: one standing person
# ==================================================================================================

_SKIN = ((243, 210, 186), (228, 180, 148), (204, 146, 108), (168, 112, 78), (126, 84, 58), (92, 60, 44))
_HAIR = ((28, 24, 22), (66, 44, 30), (118, 80, 46), (206, 170, 112), (150, 64, 36), (140, 136, 132))

# Design-unit scale (photo px per design unit at body scale 1) and z-order of each slot, and the
# finer per-category scales where one category's drawing differs from its slot's.
_FASHION_Z = {
    Slot.BOTTOM: 0,
    Slot.SHOES: 1,
    Slot.DRESS: 2,
    Slot.TOP: 3,
    Slot.OUTERWEAR: 4,
    Slot.BAG: 6,
    Slot.ACCESSORY: 5,
}
_ACCESSORY_Z = {"belt": 0, "scarf": 1, "hat": 3, "sunglasses": 4}
_FASHION_K = {
    Slot.TOP: 190.0,
    Slot.BOTTOM: 223.0,
    Slot.DRESS: 288.0,
    Slot.OUTERWEAR: 200.0,
    Slot.SHOES: 58.0,
    Slot.BAG: 80.0,
}
_CATEGORY_K = {"clutch": 62.0, "backpack": 74.0, "hat": 96.0, "scarf": 88.0, "sunglasses": 47.0, "belt": 64.0}


@dataclass(frozen=True)
class _Body:
    """Landmarks of the standing figure, in photo px (``p`` maps body units to the photo)."""

    cx: float
    top: float
    s: float

    def p(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + x * self.s, self.top + y * self.s)


# Body units: a figure 339 units tall, centred on x = 0; shoulders at y = 66, waist 140, feet 339.
_SHOULDER_Y, _WAIST_Y, _ANKLE_Y = 66.0, 140.0, 330.0


def _arm_line() -> tuple[tuple[float, float], tuple[float, float]]:
    """Shoulder joint and wrist (right side, body units), on the sleeves' angle from ``render``."""
    root = (27.4, _SHOULDER_Y + 10.5)
    a = math.radians(_ARM_ANGLE)
    length = 97.0
    return root, (root[0] + math.sin(a) * length, root[1] + math.cos(a) * length)


def _draw_body(
    canvas: _Canvas, body: _Body, rng: np.random.Generator, *, base_top: bool, base_bottom: bool
) -> None:
    k = 2.0
    img = Image.new("RGB", (canvas.w * 2, canvas.h * 2), 0)
    mask = Image.new("L", (canvas.w * 2, canvas.h * 2), 0)
    d, dm = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    skin = _jit(rng, _SKIN[int(rng.integers(len(_SKIN)))], 6)
    shade = tuple(int(c * 0.82) for c in skin)
    hair = _jit(rng, _HAIR[int(rng.integers(len(_HAIR)))], 6)
    long_hair = rng.random() < 0.5

    def q(x: float, y: float) -> tuple[float, float]:
        px, py = body.p(x, y)
        return (px * k, py * k)

    def poly(
        pts: Sequence[tuple[float, float]],
        fill: tuple[int, int, int],
        outline: tuple[int, int, int] | None = None,
    ) -> None:
        xy = [q(x, y) for x, y in pts]
        d.polygon(xy, fill=fill, outline=outline)
        dm.polygon(xy, fill=255)

    def ellipse(cx: float, cy: float, rx: float, ry: float, fill: tuple[int, int, int]) -> None:
        box = (*q(cx - rx, cy - ry), *q(cx + rx, cy + ry))
        d.ellipse(box, fill=fill, outline=shade)
        dm.ellipse(box, fill=255)

    def limb(
        a: tuple[float, float], b: tuple[float, float], w0: float, w1: float, fill: tuple[int, int, int]
    ) -> None:
        dx, dy = b[0] - a[0], b[1] - a[1]
        n = math.hypot(dx, dy)
        nx, ny = -dy / n, dx / n
        poly(
            [
                (a[0] + nx * w0, a[1] + ny * w0),
                (b[0] + nx * w1, b[1] + ny * w1),
                (b[0] - nx * w1, b[1] - ny * w1),
                (a[0] - nx * w0, a[1] - ny * w0),
            ],
            fill,
            shade,
        )
        ellipse(a[0], a[1], w0, w0, fill)

    if long_hair:
        poly([(-19, 18), (19, 18), (22, 78), (-22, 78)], hair)
    root, wrist = _arm_line()
    for sx in (1.0, -1.0):
        r, wr = (sx * root[0], root[1]), (sx * wrist[0], wrist[1])
        limb(r, wr, 8.0, 5.2, skin)
        hand = (wr[0] + sx * math.sin(math.radians(_ARM_ANGLE)) * 6, wr[1] + 7)
        ellipse(hand[0], hand[1], 5.5, 7.5, skin)
        hip_out, knee_out, ankle_out = sx * 30.0, sx * 23.0, sx * 18.0
        poly(
            [
                (hip_out, 168),
                (knee_out, 255),
                (ankle_out, _ANKLE_Y),
                (sx * 7.0, _ANKLE_Y),
                (sx * 6.0, 255),
                (sx * 1.0, 184),
                (0, 180),
            ],
            skin,
            shade,
        )
        ellipse(sx * 14.0, _ANKLE_Y + 5, 10.0, 5.0, shade)
    poly([(-6.5, 42), (6.5, 42), (7, 68), (-7, 68)], skin)
    poly(
        [
            (-36, _SHOULDER_Y + 2),
            (-30, _SHOULDER_Y - 3),
            (30, _SHOULDER_Y - 3),
            (36, _SHOULDER_Y + 2),
            (33, 100),
            (26, _WAIST_Y - 2),
            (31, 172),
            (-31, 172),
            (-26, _WAIST_Y - 2),
            (-33, 100),
        ],
        skin,
        shade,
    )
    ellipse(0, 28, 15.5, 20, skin)
    poly([(-16, 22), (-14, 10), (-6, 5), (6, 5), (14, 10), (16, 22), (10, 14), (-10, 14)], hair)
    for sx in (1.0, -1.0):
        ellipse(sx * 5.5, 27, 1.6, 1.6, (50, 40, 38))
    d.line([q(-4, 39), q(4, 39)], fill=shade, width=2)
    grey = _jit(rng, (196, 196, 192), 6)
    if base_top:
        poly(
            [
                (-24, _SHOULDER_Y),
                (24, _SHOULDER_Y),
                (30, 100),
                (26, _WAIST_Y),
                (31, 170),
                (-31, 170),
                (-26, _WAIST_Y),
                (-30, 100),
            ],
            grey,
            tuple(int(c * 0.85) for c in grey),
        )
    if base_bottom:
        for sx in (1.0, -1.0):
            poly(
                [
                    (sx * 31, 150),
                    (sx * 24, 255),
                    (sx * 19, _ANKLE_Y - 4),
                    (sx * 7, _ANKLE_Y - 4),
                    (sx * 6, 255),
                    (sx * 1, 184),
                    (0, 150),
                ],
                grey,
                tuple(int(c * 0.85) for c in grey),
            )
    rgb = _to_float(img.reduce(2))
    alpha = np.asarray(mask.reduce(2), dtype=np.float32) / 255.0
    canvas.blend(rgb, alpha)


def _fashion_scene(canvas: _Canvas, rng: np.random.Generator, feet_y: float) -> None:
    w, h = canvas.w, canvas.h
    horizon = feet_y - rng.uniform(36, 70)
    img = _room(rng, w, h, horizon)
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 4))):
        fw, fh = rng.uniform(30, 70), rng.uniform(30, 80)
        fx, fy = rng.uniform(-10, w - fw + 10), rng.uniform(20, max(30.0, horizon - fh - 60))
        if rng.random() < 0.25:
            _window(d, rng, (fx, fy, fx + fw * 1.2, fy + fh * 1.4))
        else:
            _frame(d, rng, (fx, fy, fx + fw, fy + fh))
    if rng.random() < 0.6:
        x = rng.choice([rng.uniform(10, 50), rng.uniform(w - 50, w - 10)])
        _plant(d, rng, float(x), horizon + rng.uniform(4, 20), rng.uniform(1.2, 1.8))
    if rng.random() < 0.4:
        sx = rng.choice([-30.0, w - 40.0])
        top = horizon - rng.uniform(80, 140)
        col = _jit(rng, (150, 120, 90), 20)
        d.rectangle((sx, top, sx + 70, horizon + 6), fill=col)
        for yy in np.arange(top + 20, horizon, 28):
            d.line((sx, yy, sx + 70, yy), fill=tuple(int(c * 0.7) for c in col), width=3)
    canvas.blend(_to_float(img), np.ones((h, w), np.float32))


def _fashion_placements(
    look: ItemLook, body: _Body, rng: np.random.Generator, *, layered: bool, bag_side: float
) -> list[_Placement]:
    s, cat = body.s, look.category
    k = _CATEGORY_K.get(cat, _FASHION_K.get(look.slot, 80.0)) * s
    if look.slot in (Slot.TOP, Slot.OUTERWEAR):
        y = _SHOULDER_Y - 2 if look.slot is Slot.OUTERWEAR else _SHOULDER_Y
        if cat == "coat":
            y = _SHOULDER_Y - 2
        strip = rng.uniform(0.06, 0.085) if (look.slot is Slot.OUTERWEAR and layered) else 0.0
        return [_Placement(body.p(0, y), k, open_front=strip)]
    if look.slot is Slot.DRESS:
        return [_Placement(body.p(0, _SHOULDER_Y - 2), k)]
    if look.slot is Slot.BOTTOM:
        return [_Placement(body.p(0, _WAIST_Y), k)]
    if look.slot is Slot.SHOES:
        return [_Placement(body.p(sx * 24.0, _ANKLE_Y + 10), k, mirror=sx < 0) for sx in (1.0, -1.0)]
    if look.slot is Slot.BAG:
        _, wrist = _arm_line()
        hand = (bag_side * (wrist[0] + 3), wrist[1] + 8)
        return [_Placement(body.p(*hand), k)]
    if cat == "hat":
        return [_Placement(body.p(0, 14), k)]
    if cat == "scarf":
        return [_Placement(body.p(0, 60), k)]
    if cat == "sunglasses":
        return [_Placement(body.p(0, 26), k)]
    return [_Placement(body.p(0, _WAIST_Y + 2), k)]


def _compose_fashion(
    canvas: _Canvas, parts: Sequence[tuple[str, ItemLook]], rng: np.random.Generator
) -> None:
    s = rng.uniform(0.86, 1.0)
    cx = canvas.w / 2 + rng.uniform(-22, 22)
    feet_y = canvas.h - rng.uniform(12, 32)
    body = _Body(cx=cx, top=feet_y - (_ANKLE_Y + 10) * s, s=s)
    bag_side = 1.0 if rng.random() < 0.5 else -1.0
    _fashion_scene(canvas, rng, feet_y)
    _shadows(canvas, [(cx - 40 * s, feet_y - 6, cx + 46 * s, feet_y + 6)], 0.3)
    slots = {look.slot for _, look in parts}
    _draw_body(
        canvas,
        body,
        rng,
        base_top=not slots & {Slot.TOP, Slot.DRESS, Slot.OUTERWEAR},
        base_bottom=not slots & {Slot.BOTTOM, Slot.DRESS},
    )
    layered = bool(slots & {Slot.TOP, Slot.DRESS})

    def z(i: int) -> tuple[int, int, int]:
        look = parts[i][1]
        return (_FASHION_Z[look.slot], _ACCESSORY_Z.get(look.category, 0), i)

    for i in sorted(range(len(parts)), key=z):
        look = parts[i][1]
        for where in _fashion_placements(look, body, rng, layered=layered, bag_side=bag_side):
            canvas.paste(i, look, where)


# ==================================================================================================
# Home: one corner of a living room
# ==================================================================================================

_HOME_Z = {
    Slot.RUG: 0,
    Slot.SHELF: 1,
    Slot.LAMP: 2,
    Slot.SOFA: 3,
    Slot.SIDE_TABLE: 4,
    Slot.ARMCHAIR: 6,
    Slot.COFFEE_TABLE: 7,
}
_HOME_K = {
    Slot.SOFA: 255.0,
    Slot.ARMCHAIR: 168.0,
    Slot.COFFEE_TABLE: 185.0,
    Slot.RUG: 300.0,
    Slot.LAMP: 160.0,
    Slot.SHELF: 160.0,
    Slot.SIDE_TABLE: 95.0,
}
_HOME_CATEGORY_K = {"table lamp": 100.0, "wall shelf": 125.0, "nightstand": 92.0, "lounge chair": 140.0}


def _design_width(look: ItemLook, k: float) -> float:
    sil = _silhouette(look.category, look.shape, _RENDER_SIZES[0])
    return (sil.bbox[2] - sil.bbox[0]) * k


def _design_top(look: ItemLook, anchor_y: float, k: float) -> float:
    sil = _silhouette(look.category, look.shape, _RENDER_SIZES[0])
    return anchor_y - (sil.anchor[1] - sil.bbox[1]) * k


def _home_scene(canvas: _Canvas, rng: np.random.Generator, horizon: float, sofa_x: float) -> None:
    w, h = canvas.w, canvas.h
    img = _room(rng, w, h, horizon)
    d = ImageDraw.Draw(img)
    if rng.random() < 0.75:
        ww, wh = rng.uniform(60, 90), rng.uniform(70, 100)
        wx = rng.choice([rng.uniform(10, 60), rng.uniform(w - 60 - ww, w - 10 - ww)])
        _window(
            d,
            rng,
            (float(wx), horizon - wh - rng.uniform(25, 40), float(wx) + ww, horizon - rng.uniform(25, 40)),
        )
    for _ in range(int(rng.integers(0, 3))):
        fw, fh = rng.uniform(24, 46), rng.uniform(28, 50)
        fx = sofa_x + rng.uniform(-120, 120) - fw / 2
        fy = rng.uniform(12, max(14.0, horizon - 110 - fh))
        _frame(d, rng, (fx, fy, fx + fw, fy + fh))
    if rng.random() < 0.7:
        x = rng.choice([rng.uniform(14, 40), rng.uniform(w - 40, w - 14)])
        _plant(d, rng, float(x), horizon + rng.uniform(6, 26), rng.uniform(1.4, 2.0))
    canvas.blend(_to_float(img), np.ones((h, w), np.float32))


def _compose_home(canvas: _Canvas, parts: Sequence[tuple[str, ItemLook]], rng: np.random.Generator) -> None:
    w = canvas.w
    horizon = rng.uniform(136, 156)
    side = 1.0 if rng.random() < 0.5 else -1.0  # side of the room the armchair and shelf are on
    sofa_x = w / 2 + rng.uniform(-22, 22) - side * 12
    jit = rng.uniform(0.92, 1.06, size=8)
    _home_scene(canvas, rng, horizon, sofa_x)

    by_slot: dict[Slot, ItemLook] = {}
    for _, look in parts:
        by_slot.setdefault(look.slot, look)
    sofa_k = _HOME_K[Slot.SOFA] * jit[0]
    sofa_half = _design_width(by_slot[Slot.SOFA], sofa_k) / 2 if Slot.SOFA in by_slot else 95.0
    side_x = float(np.clip(sofa_x - side * (sofa_half + 26 + rng.uniform(0, 10)), 22, w - 22))
    side_floor = horizon + 30 + rng.uniform(-3, 3)
    side_k = _HOME_K[Slot.SIDE_TABLE] * jit[4]
    positions: dict[Slot, tuple[float, float]] = {
        Slot.SOFA: (sofa_x, horizon + 26 + rng.uniform(-4, 4)),
        Slot.RUG: (sofa_x + rng.uniform(-15, 15), horizon + 74 + rng.uniform(-4, 6)),
        Slot.COFFEE_TABLE: (sofa_x + rng.uniform(-22, 22), horizon + 86 + rng.uniform(0, 8)),
        Slot.ARMCHAIR: (
            float(np.clip(w / 2 + side * (128 + rng.uniform(0, 22)), 40, w - 40)),
            horizon + 92 + rng.uniform(0, 10),
        ),
        Slot.SIDE_TABLE: (side_x, side_floor),
        Slot.SHELF: (float(np.clip(w / 2 + side * (118 + rng.uniform(0, 30)), 40, w - 40)), horizon + 8),
        Slot.LAMP: (float(np.clip(side_x - side * (34 + rng.uniform(0, 10)), 16, w - 16)), horizon + 14),
    }
    scales = dict(zip(_HOME_Z, jit[1:], strict=False))
    shadows = []
    placements: dict[int, _Placement] = {}
    for i, (_, look) in enumerate(parts):
        k = _HOME_CATEGORY_K.get(look.category, _HOME_K[look.slot]) * (
            jit[0] if look.slot is Slot.SOFA else scales.get(look.slot, 1.0)
        )
        anchor = positions[look.slot]
        squash, mirror = 1.0, False
        if look.slot is Slot.RUG:
            squash = 0.36
        elif look.category == "wall shelf":
            anchor = (sofa_x + rng.uniform(-30, 30), horizon - 104)
        elif look.category == "table lamp":
            if Slot.SIDE_TABLE in by_slot:
                anchor = (side_x, _design_top(by_slot[Slot.SIDE_TABLE], side_floor, side_k) + 3)
            else:
                anchor = (side_x, side_floor)
        elif look.slot is Slot.ARMCHAIR:
            mirror = anchor[0] > w / 2
        placements[i] = _Placement(anchor, k, squash=squash, mirror=mirror)
        if (
            look.slot not in (Slot.RUG,)
            and look.category != "wall shelf"
            and not (look.category == "table lamp" and Slot.SIDE_TABLE in by_slot)
        ):
            half = _design_width(look, k) / 2 * 0.9
            shadows.append((anchor[0] - half, anchor[1] - 5, anchor[0] + half, anchor[1] + 5))
    _shadows(canvas, shadows, 0.28)

    def z(i: int) -> tuple[int, int]:
        look = parts[i][1]
        level = _HOME_Z[look.slot]
        if look.category == "table lamp" and Slot.SIDE_TABLE in by_slot:
            level = 5
        return (level, i)

    for i in sorted(range(len(parts)), key=z):
        canvas.paste(i, parts[i][1], placements[i])


# ==================================================================================================
# Public API
# ==================================================================================================


def _check_parts(domain: Domain, parts: Sequence[tuple[str, ItemLook]]) -> None:
    for i, part in enumerate(parts):
        if not (isinstance(part, tuple | list) and len(part) == 2):
            raise LookbookError(
                f"compose_photo parts[{i}]: expected an (item_id, ItemLook) pair, got {part!r}"
            )
        item_id, look = part
        if not isinstance(item_id, str) or not item_id.strip():
            raise LookbookError(
                f"compose_photo parts[{i}] item_id: expected a non-empty string, got {item_id!r}"
            )
        if not isinstance(look, ItemLook):
            raise LookbookError(f"compose_photo parts[{i}]: expected an ItemLook, got {type(look).__name__}")
        if look.domain is not domain:
            raise LookbookError(
                f"compose_photo parts[{i}] domain: expected {domain.value} items, got a {look.domain.value} "
                f"{look.category!r}"
            )


def compose_photo(
    domain: Domain, parts: Sequence[tuple[str, ItemLook]], seed: int
) -> tuple[npt.NDArray[np.uint8], list[PlacedGarment]]:
    """Compose one community photo of ``parts`` and report where each ended up.

    Fashion photos (256 wide x 384 tall) show one person in a cluttered room wearing the parts:
    each slot has its place on the body and its layer (bottom < top < outerwear < accessories and
    bag), an open outerwear leaves a strip of the top visible, shoes are drawn twice. Home photos
    (384 x 256) furnish a living-room corner: rug on the floor, sofa against the wall, coffee table
    in front, armchair and shelf to one side, lamp and side table to the other. The caller's order
    of ``parts`` does not matter for layering.

    Parameters
    ----------
    domain
        Which kind of scene; every part's look must be of this domain.
    parts
        ``(item_id, look)`` pairs.
    seed
        Fixes the scene (person, room, placement jitter, light); the same parts and seed give the
        same photo.

    Returns
    -------
    image
        ``(H, W, 3)`` uint8.
    garments
        The parts at least ``MIN_VISIBLE_FRACTION`` visible, in the order of ``parts``.
    """
    domain = Domain(domain)
    _check_parts(domain, parts)
    rng = np.random.default_rng(int(seed) % (1 << 64))
    width, height = FASHION_PHOTO_SIZE if domain is Domain.FASHION else HOME_PHOTO_SIZE
    canvas = _Canvas(width, height)
    if domain is Domain.FASHION:
        _compose_fashion(canvas, parts, rng)
    else:
        _compose_home(canvas, parts, rng)
    image = _light(canvas, rng)
    return image, canvas.garments(parts)


def _photo_chunk(
    args: tuple[Domain, list[list[tuple[str, ItemLook]]], list[int], list[str]],
) -> list[list[PlacedGarment]]:
    domain, photos, seeds, paths = args
    out = []
    for parts, seed, path in zip(photos, seeds, paths, strict=True):
        image, garments = compose_photo(domain, parts, seed)
        _save_png(image, Path(path))
        out.append(garments)
    return out


def render_photos(
    domain: Domain,
    photos: Sequence[Sequence[tuple[str, ItemLook]]],
    seeds: Sequence[int],
    paths: Sequence[Path],
    *,
    workers: int = 2,
    show_progress: bool = True,
) -> list[list[PlacedGarment]]:
    """Compose each photo and write it as a PNG; returns the garments of each, in order.

    Parameters
    ----------
    domain
        Scene kind for every photo.
    photos, seeds, paths
        Parallel sequences: the parts, the seed and the output file of each photo.
    workers
        Processes to use (``1`` composes in-process).
    show_progress
        Show a tqdm bar over photos.
    """
    if not (len(photos) == len(seeds) == len(paths)):
        raise LookbookError(
            f"render_photos seeds, paths: expected one per photo ({len(photos)}), "
            f"got {len(seeds)} and {len(paths)}"
        )
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise LookbookError(f"render_photos workers: expected an int >= 1, got {workers!r}")
    domain = Domain(domain)
    for parts in photos:
        _check_parts(domain, parts)
    t0 = time.perf_counter()
    n = len(photos)
    tasks = [
        (domain, [list(p) for p in photos[a:b]], [int(s) for s in seeds[a:b]], [str(p) for p in paths[a:b]])
        for a, b in _chunks(n, workers, target=16)
    ]
    results: list[list[PlacedGarment]] = []
    with tqdm(
        total=n, desc=f"composing {domain.value} photos", unit="photo", disable=not show_progress
    ) as bar:
        if workers == 1 or len(tasks) <= 1:
            for task in tasks:
                done = _photo_chunk(task)
                results.extend(done)
                bar.update(len(done))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for done in pool.map(_photo_chunk, tasks):
                    results.extend(done)
                    bar.update(len(done))
    log.debug(
        "composed %d %s photos with %d workers in %.2fs", n, domain.value, workers, time.perf_counter() - t0
    )
    return results
