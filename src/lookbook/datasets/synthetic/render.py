"""Product shots of the demo worlds' items, painted from their attributes.

A synthetic item is a handful of words (slot, category, colour, pattern, material, shape). The image
encoders downstream need pictures in which those words are *visible*, the way they are on a real
shop's catalog photos: a glance at a thumbnail must tell a t-shirt from a sweater and navy from
black. This module turns an ``ItemLook`` into such a picture, deterministically from its seed.

How a picture is built, and why:

* **Silhouettes as layered masks.** Each (category, shape) is drawn once with ``PIL.ImageDraw`` at
  twice the output size and box-downsampled (antialiasing for free), into four layers packed into
  one 4-channel image: the *main* fabric (painted with the colour), *trim* (soles, legs, buckles:
  a fixed companion colour), signed *detail* lines (seams, pockets, buttons: darker or lighter
  versions of what is under them) and a blurred copy of the outline (edge shading and the drop
  shadow). The packed image is cached per process, so each item costs one affine warp (its seed's
  scale, offset and a few degrees of rotation) and about twenty vectorised array operations.
* **Pattern and material as cached fields.** Stripes, checks, dots, flowers, prints, twill, ribs,
  wood grain, marble veins... are float fields a little larger than the canvas, computed once per
  size; an item crops them at a seeded offset, which is its pattern phase.
* **Colour is kept honest.** Shading is renormalised to mean 1 over the fabric, so the average
  colour of a solid item is the vocabulary RGB (plus a small seeded jitter): colour stays
  recoverable from pixels, which is what lets a model learn it.

``render_item`` returns an array and a mask (used directly by ``photos``, which pastes the same
pixels into community photos); ``render_items`` writes many PNGs with a process pool.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter
from tqdm.auto import tqdm

from lookbook.datasets.synthetic.vocab import COLOUR_INDEX, COLOURS, VOCABS
from lookbook.errors import LookbookError, SchemaError
from lookbook.schema import Domain, Slot

log = logging.getLogger(__name__)

__all__ = ["MIN_SIZE", "ItemLook", "render_item", "render_items"]

#: Smallest canvas the silhouettes stay legible at (thin straps and lines need a few pixels).
MIN_SIZE = 64

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ItemLook:
    """What the renderer needs to know about one item.

    Every field but ``seed`` is a word of ``lookbook.datasets.synthetic.vocab``; the seed drives all
    the small per-item variation (scale, offset, rotation, colour jitter, pattern phase), so two
    items with the same words still get different pictures while one item always gets the same.
    Values are checked here, once, so a typo fails at the line that built the look.
    """

    domain: Domain
    slot: Slot
    category: str
    colour: str
    pattern: str
    material: str
    shape: str
    seed: int

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "domain", Domain(self.domain))
        except ValueError:
            raise SchemaError(
                f"ItemLook domain: expected one of {[d.value for d in Domain]}, got {self.domain!r}"
            ) from None
        vocab = VOCABS[self.domain]
        try:
            slot = Slot(self.slot)
        except ValueError:
            slot = None
        if slot not in vocab.slots:
            raise SchemaError(
                f"ItemLook slot: expected one of {[s.value for s in vocab.slots]} for {self.domain.value}, "
                f"got {self.slot!r}"
            )
        object.__setattr__(self, "slot", slot)
        checks: tuple[tuple[str, object, Sequence[str]], ...] = (
            ("category", self.category, vocab.categories[slot]),
            ("colour", self.colour, tuple(COLOUR_INDEX)),
            ("pattern", self.pattern, vocab.patterns),
            ("material", self.material, vocab.materials),
            ("shape", self.shape, vocab.shapes),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                raise SchemaError(f"ItemLook {name}: expected one of {list(allowed)}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise SchemaError(f"ItemLook seed: expected an int, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))


# ==================================================================================================
# Silhouettes
# ==================================================================================================


class _Pen:
    """Draws the four layers of a silhouette in design units (0..1 of the canvas, y down).

    Layers: ``main`` (the item's colour), ``trim`` (companion colour: soles, legs, hardware),
    ``dark`` and ``light`` (detail lines that darken or lighten what is under them). Values are
    0..255 coverage, or strength for the detail layers.
    """

    def __init__(self, px: int, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> None:
        self.px = px
        self.k = scale * px
        self.ox, self.oy = offset[0] * px, offset[1] * px
        self.images = {name: Image.new("L", (px, px), 0) for name in ("main", "trim", "dark", "light")}
        self._draw = {name: ImageDraw.Draw(img) for name, img in self.images.items()}

    def _xy(self, pts: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * self.k + self.ox, y * self.k + self.oy) for x, y in pts]

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * self.k + self.ox, y0 * self.k + self.oy, x1 * self.k + self.ox, y1 * self.k + self.oy)

    def _w(self, w: float) -> int:
        return max(1, round(w * self.k))

    def poly(self, pts: Sequence[tuple[float, float]], layer: str = "main", v: int = 255) -> None:
        self._draw[layer].polygon(self._xy(pts), fill=v)

    def sym(self, half: Sequence[tuple[float, float]], layer: str = "main", v: int = 255) -> None:
        """A polygon symmetric about x = 0.5, given its right half from top centre to bottom centre."""
        self.poly(_mirror(half), layer, v)

    def rect(
        self, x0: float, y0: float, x1: float, y1: float, layer: str = "main", r: float = 0.0, v: int = 255
    ) -> None:
        box = self._box(x0, y0, x1, y1)
        rad = min(r * self.k, (box[2] - box[0]) / 2, (box[3] - box[1]) / 2)
        if rad >= 1:
            self._draw[layer].rounded_rectangle(box, radius=rad, fill=v)
        else:
            self._draw[layer].rectangle(box, fill=v)

    def rect_outline(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        w: float,
        layer: str = "dark",
        r: float = 0.0,
        v: int = 255,
    ) -> None:
        box = self._box(x0, y0, x1, y1)
        rad = min(r * self.k, (box[2] - box[0]) / 2, (box[3] - box[1]) / 2)
        if rad >= 1:
            self._draw[layer].rounded_rectangle(box, radius=rad, outline=v, width=self._w(w))
        else:
            self._draw[layer].rectangle(box, outline=v, width=self._w(w))

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, layer: str = "main", v: int = 255) -> None:
        self._draw[layer].ellipse(self._box(x0, y0, x1, y1), fill=v)

    def ring(
        self, x0: float, y0: float, x1: float, y1: float, w: float, layer: str = "dark", v: int = 255
    ) -> None:
        box = self._box(x0, y0, x1, y1)
        self._draw[layer].ellipse(box, outline=v, width=self._w(w))

    def dot(self, x: float, y: float, r: float, layer: str = "dark", v: int = 255) -> None:
        self.ellipse(x - r, y - r, x + r, y + r, layer, v)

    def line(self, pts: Sequence[tuple[float, float]], w: float, layer: str = "dark", v: int = 255) -> None:
        self._draw[layer].line(self._xy(pts), fill=v, width=self._w(w), joint="curve")

    def stroke(self, pts: Sequence[tuple[float, float]], w: float, layer: str = "main", v: int = 255) -> None:
        """A thick line with round caps (straps, rails, handles)."""
        self.line(pts, w, layer, v)
        for x, y in (pts[0], pts[-1]):
            self.dot(x, y, w / 2, layer, v)

    def arc(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        start: float,
        end: float,
        w: float,
        layer: str = "main",
        v: int = 255,
    ) -> None:
        box = self._box(x0, y0, x1, y1)
        self._draw[layer].arc(box, start, end, fill=v, width=self._w(w))


def _mirror(half: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [*half, *((1.0 - x, y) for x, y in reversed(half))]


def _both(fn: Callable[[float], None]) -> None:
    """Call ``fn(sign)`` for the right (+1) and left (-1) side of a symmetric item."""
    fn(1.0)
    fn(-1.0)


def _lerp(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


# Fashion shapes: (width factor, length factor). Home shapes: corner radius, leg thickness, leg
# height, height and width factors. Values are chosen so the three shapes of one category are told
# apart on a 128 px thumbnail without changing which category it reads as.
_FASHION_SHAPES: dict[str, tuple[float, float]] = {
    "slim": (0.84, 0.95),
    "regular": (1.0, 1.0),
    "oversized": (1.2, 1.07),
}


@dataclass(frozen=True)
class _HomeShape:
    r: float
    leg: float
    leg_h: float
    hf: float
    wf: float


_HOME_SHAPES: dict[str, _HomeShape] = {
    "rounded": _HomeShape(r=0.06, leg=0.03, leg_h=0.035, hf=1.0, wf=1.0),
    "boxy": _HomeShape(r=0.006, leg=0.045, leg_h=0.025, hf=0.92, wf=1.07),
    "slender": _HomeShape(r=0.025, leg=0.013, leg_h=0.08, hf=1.06, wf=0.92),
}

_Anchor = tuple[float, float]

#: Long sleeves hang this many degrees out from vertical; ``photos`` poses the body's arms the same
#: way so a pasted top's sleeves land on the arms.
_ARM_ANGLE = 24.0


# -------------------------------------------------------------------------------------------------
# Fashion drawers. Each returns its anchor in design units: the point that ``photos`` pins to the
# body (shoulder-line centre for tops, waist centre for bottoms, sole centre for shoes, ...).
# -------------------------------------------------------------------------------------------------


def _sleeve(
    pen: _Pen, root: tuple[float, float], angle: float, length: float, w0: float, w1: float, sign: float
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]:
    """A sleeve as a quad from a shoulder joint, ``angle`` degrees out from hanging straight down."""
    a = math.radians(angle)
    d = (sign * math.sin(a), math.cos(a))
    n = (sign * math.cos(a), -math.sin(a))
    end = (root[0] + d[0] * length, root[1] + d[1] * length)
    outer0 = (root[0] + n[0] * w0, root[1] + n[1] * w0)
    outer1 = (end[0] + n[0] * w1, end[1] + n[1] * w1)
    inner1 = (end[0] - n[0] * w1, end[1] - n[1] * w1)
    inner0 = (root[0] - n[0] * w0, root[1] - n[1] * w0)
    pen.poly([outer0, outer1, inner1, inner0])
    return outer0, outer1, inner1, inner0


def _top(
    pen: _Pen,
    shape: str,
    *,
    sleeve: str,
    neck: str,
    y_sh: float = 0.18,
    half: float = 0.19,
    length: float = 0.58,
    hem_band: bool = False,
    flare: float = 1.0,
    curved_hem: bool = False,
) -> _Anchor:
    """Shared body of tops, dresses' bodices and outerwear: body, sleeves, neckline."""
    w, ln = _FASHION_SHAPES[shape]
    hw = half * w
    hem = y_sh + length * ln
    armpit = y_sh + 0.15
    hem_hw = hw * flare
    body = [(0.5, y_sh - 0.02), (0.5 + 0.075, y_sh - 0.025), (0.5 + hw, y_sh), (0.5 + hw + 0.004, armpit)]
    if flare < 0.99 or flare > 1.01:
        body.append((0.5 + hw * min(1.0, 0.5 + 0.5 * flare) * 0.93, y_sh + 0.36 * length))
    if curved_hem:
        body += [(0.5 + hem_hw, hem - 0.025), (0.5 + hem_hw * 0.55, hem + 0.005), (0.5, hem + 0.02)]
    else:
        body += [(0.5 + hem_hw, hem), (0.5, hem)]
    pen.sym(body)
    if sleeve != "none":
        angle, slen, w0, w1 = {
            "short": (58.0 + 8 * (w - 1), 0.13 * (1 + 0.3 * (w - 1)), 0.062, 0.055),
            "long": (_ARM_ANGLE, 0.51, 0.06 * w**0.5, 0.044 * w**0.5),
            "bell": (_ARM_ANGLE + 4.0, 0.42, 0.045, 0.085),
            "puff": (55.0, 0.075, 0.06, 0.06),
        }[sleeve]

        def one(sign: float) -> None:
            root = (0.5 + sign * (hw - 0.045), y_sh + 0.055)
            outer0, outer1, inner1, inner0 = _sleeve(pen, root, angle, slen, w0, w1, sign)
            pen.line([_lerp(inner0, inner1, 0.25), inner1], 0.008, "dark", 110)
            if sleeve == "long":
                pen.line([_lerp(outer1, outer0, 0.1), _lerp(inner1, inner0, 0.1)], 0.01, "dark", 120)
            elif sleeve in ("short", "puff"):
                pen.line([_lerp(outer1, outer0, 0.12), _lerp(inner1, inner0, 0.12)], 0.007, "dark", 90)
            elif sleeve == "bell":
                pen.line([_lerp(outer1, outer0, 0.06), _lerp(inner1, inner0, 0.06)], 0.006, "light", 120)

        _both(one)
    nx = 0.5
    if neck == "crew":
        pen.ellipse(nx - 0.068, y_sh - 0.075, nx + 0.068, y_sh + 0.03, "main", 0)
        pen.arc(nx - 0.078, y_sh - 0.085, nx + 0.078, y_sh + 0.042, 0, 180, 0.016, "dark", 110)
    elif neck == "v":
        pen.poly([(nx - 0.07, y_sh - 0.03), (nx + 0.07, y_sh - 0.03), (nx, y_sh + 0.11)], "main", 0)
        pen.line(
            [(nx - 0.072, y_sh - 0.02), (nx, y_sh + 0.125), (nx + 0.072, y_sh - 0.02)], 0.012, "dark", 100
        )
    elif neck == "collar":
        pen.ellipse(nx - 0.055, y_sh - 0.07, nx + 0.055, y_sh + 0.0, "main", 0)
        for sign in (1.0, -1.0):
            pts = [
                (nx + sign * 0.055, y_sh - 0.04),
                (nx + sign * 0.004, y_sh + 0.03),
                (nx + sign * 0.09, y_sh + 0.06),
            ]
            pen.poly(pts)
            pen.poly(pts, "light", 70)
            pen.line([*pts, pts[0]], 0.008, "dark", 150)
    elif neck == "scoop":
        pen.ellipse(nx - 0.06, y_sh - 0.1, nx + 0.06, y_sh + 0.07, "main", 0)
        pen.arc(nx - 0.066, y_sh - 0.11, nx + 0.066, y_sh + 0.08, 0, 180, 0.01, "dark", 100)
    if hem_band:
        pen.rect(0.5 - hem_hw, hem - 0.045, 0.5 + hem_hw, hem, "dark", v=70)
        for i in range(int(2 * hem_hw / 0.018)):
            x = 0.5 - hem_hw + 0.009 + i * 0.018
            pen.line([(x, hem - 0.045), (x, hem)], 0.004, "dark", 130)
    else:
        pen.line([(0.5 - hem_hw, hem - 0.018), (0.5 + hem_hw, hem - 0.018)], 0.006, "dark", 70)
    return (0.5, y_sh)


def _t_shirt(pen: _Pen, shape: str) -> _Anchor:
    return _top(pen, shape, sleeve="short", neck="crew")


def _tank_top(pen: _Pen, shape: str) -> _Anchor:
    w, ln = _FASHION_SHAPES[shape]
    hw = 0.17 * w
    y_sh, hem = 0.18, 0.18 + 0.58 * ln
    pen.sym(
        [
            (0.5, 0.27),
            (0.5 + 0.055, 0.11),
            (0.5 + 0.1, 0.11),
            (0.5 + 0.11, 0.19),
            (0.5 + 0.135, 0.26),
            (0.5 + hw, 0.33),
            (0.5 + hw + 0.01, hem),
            (0.5, hem),
        ]
    )
    pen.ellipse(0.5 - 0.062, 0.05, 0.5 + 0.062, 0.3, "main", 0)
    pen.arc(0.5 - 0.07, 0.04, 0.5 + 0.07, 0.31, 0, 180, 0.012, "dark", 100)
    _both(
        lambda s: pen.line(
            [(0.5 + s * 0.1, 0.115), (0.5 + s * 0.11, 0.19), (0.5 + s * 0.135, 0.26), (0.5 + s * hw, 0.33)],
            0.012,
            "dark",
            100,
        )
    )
    pen.line([(0.5 - hw, hem - 0.018), (0.5 + hw, hem - 0.018)], 0.006, "dark", 70)
    return (0.5, y_sh)


def _blouse(pen: _Pen, shape: str) -> _Anchor:
    anchor = _top(pen, shape, sleeve="bell", neck="v", half=0.175, length=0.48, flare=1.08)
    pen.line([(0.5, 0.3), (0.5, 0.4)], 0.006, "dark", 80)
    for y in (0.33, 0.38):
        pen.dot(0.5, y, 0.008, "light", 200)
    w, _ = _FASHION_SHAPES[shape]
    for i in range(-3, 4):
        pen.line([(0.5 + i * 0.03 * w, 0.54), (0.5 + i * 0.036 * w, 0.66)], 0.005, "dark", 60)
    return anchor


def _shirt(pen: _Pen, shape: str) -> _Anchor:
    anchor = _top(pen, shape, sleeve="long", neck="collar", half=0.18, length=0.62, curved_hem=True)
    y_sh = 0.18
    pen.line([(0.5, y_sh + 0.03), (0.5, y_sh + 0.64 * _FASHION_SHAPES[shape][1])], 0.008, "dark", 130)
    for i in range(6):
        pen.dot(0.515, y_sh + 0.07 + i * 0.085, 0.009, "light", 220)
    w, _ = _FASHION_SHAPES[shape]
    px = 0.5 + 0.06 * w
    pen.rect_outline(px, 0.3, px + 0.07, 0.38, 0.006, "dark", v=120)
    return anchor


def _sweater(pen: _Pen, shape: str) -> _Anchor:
    anchor = _top(pen, shape, sleeve="long", neck="crew", half=0.225, length=0.5, hem_band=True, flare=0.9)
    w, _ = _FASHION_SHAPES[shape]
    for sign in (1.0, -1.0):
        root = (0.5 + sign * (0.225 * w - 0.045), 0.18 + 0.055)
        a = math.radians(_ARM_ANGLE)
        end = (root[0] + sign * math.sin(a) * 0.51, root[1] + math.cos(a) * 0.51)
        cuff = (root[0] + sign * math.sin(a) * 0.45, root[1] + math.cos(a) * 0.45)
        pen.line([cuff, end], 0.085 * w**0.5, "dark", 70)
    pen.arc(0.5 - 0.085, 0.09, 0.5 + 0.085, 0.225, 0, 180, 0.03, "dark", 70)
    return anchor


def _bottom(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    w, ln = _FASHION_SHAPES[shape]
    y_w = 0.07
    hw = 0.13 * w if kind != "skirt" else 0.125 * w
    if kind == "skirt":
        length, hem_hw = {"slim": (0.5, 0.15), "regular": (0.46, 0.24), "oversized": (0.66, 0.29)}[shape]
        hem = y_w + length
        pts = [(0.5, y_w), (0.5 + hw, y_w), (0.5 + hw + 0.02, y_w + 0.1)]
        pts += [(0.5 + hem_hw, hem - 0.015), (0.5 + hem_hw * 0.5, hem), (0.5, hem + 0.004)]
        pen.sym(pts)
        if shape != "slim":
            for i in (-2, -1, 1, 2):
                pen.line(
                    [(0.5 + i * hw * 0.4, y_w + 0.06), (0.5 + i * hem_hw * 0.45, hem - 0.01)],
                    0.006,
                    "dark",
                    80,
                )
        else:
            pen.line([(0.5, hem - 0.1), (0.5, hem)], 0.006, "dark", 100)
        pen.line([(0.5 - hw, y_w + 0.035), (0.5 + hw, y_w + 0.035)], 0.008, "dark", 110)
        return (0.5, y_w)
    hip = 0.155 * w if kind != "shorts" else 0.16 * w
    if kind == "shorts":
        hem, crotch = y_w + 0.34 * ln, y_w + 0.24
        out_hw, in_hw = 0.18 * w, 0.012
    else:
        hem, crotch = min(0.96, y_w + 0.86 * ln), y_w + 0.27
        out_hw, in_hw = {
            "jeans": {"slim": (0.1, 0.05), "regular": (0.125, 0.04), "oversized": (0.17, 0.012)},
            "trousers": {"slim": (0.135, 0.035), "regular": (0.175, 0.018), "oversized": (0.23, 0.004)},
        }[kind][shape]
        if kind == "trousers" and shape == "slim":
            hem = y_w + 0.76 * ln  # cropped cigarette trousers
    pen.sym(
        [
            (0.5, y_w),
            (0.5 + hw, y_w),
            (0.5 + hip, y_w + 0.13),
            (0.5 + out_hw, hem),
            (0.5 + in_hw, hem),
            (0.5 + 0.004, crotch),
        ]
    )
    pen.line([(0.5 - hw, y_w + 0.035), (0.5 + hw, y_w + 0.035)], 0.008, "dark", 120)
    if kind == "jeans":
        pen.line(
            [(0.5 + 0.01, y_w + 0.04), (0.5 + 0.012, crotch - 0.07), (0.5, crotch - 0.04)],
            0.006,
            "light",
            150,
        )

        def pocket(s: float) -> None:
            pen.arc(
                0.5 + s * hw - 0.06,
                y_w - 0.02,
                0.5 + s * hw + 0.06,
                y_w + 0.12,
                90 if s > 0 else 0,
                180 if s > 0 else 90,
                0.007,
                "light",
                150,
            )
            pen.dot(0.5 + s * (hw - 0.055), y_w + 0.05, 0.006, "trim")
            pen.line(
                [(0.5 + s * (hip - 0.005), y_w + 0.16), (0.5 + s * (out_hw - 0.006), hem - 0.01)],
                0.005,
                "light",
                110,
            )

        _both(pocket)
        pen.line([(0.5 - out_hw, hem - 0.025), (0.5 - in_hw, hem - 0.025)], 0.006, "light", 120)
        pen.line([(0.5 + in_hw, hem - 0.025), (0.5 + out_hw, hem - 0.025)], 0.006, "light", 120)
    elif kind == "trousers":

        def crease(s: float) -> None:
            top = (0.5 + s * (hip * 0.55), y_w + 0.1)
            bot = (0.5 + s * (out_hw + in_hw) / 2, hem - 0.005)
            pen.line([top, bot], 0.007, "dark", 110)
            pen.line(
                [(0.5 + s * (hw - 0.05), y_w + 0.045), (0.5 + s * (hw - 0.005), y_w + 0.13)],
                0.006,
                "dark",
                120,
            )
            for x in (0.5 + s * hw * 0.35, 0.5 + s * hw * 0.9):
                pen.line([(x, y_w), (x, y_w + 0.04)], 0.008, "dark", 150)

        _both(crease)
        pen.line([(0.5, y_w + 0.04), (0.5, crotch - 0.04)], 0.006, "dark", 100)
    else:
        _both(
            lambda s: pen.line(
                [(0.5 + s * out_hw - 0.0, hem - 0.04), (0.5 + s * in_hw, hem - 0.04)], 0.012, "dark", 80
            )
        )
        _both(
            lambda s: pen.arc(
                0.5 + s * hw - 0.05,
                y_w - 0.02,
                0.5 + s * hw + 0.05,
                y_w + 0.1,
                90 if s > 0 else 0,
                180 if s > 0 else 90,
                0.007,
                "dark",
                110,
            )
        )
    return (0.5, y_w)


def _dress(pen: _Pen, shape: str, *, length: str) -> _Anchor:
    w, ln = _FASHION_SHAPES[shape]
    y_sh, y_w = 0.05, 0.3
    hw, waist = 0.13 * w, 0.095 * w
    hem = min(0.96, y_w + {"mini": 0.29, "midi": 0.48, "maxi": 0.65}[length] * ln)
    flare = {"slim": 0.15, "regular": 0.21, "oversized": 0.27}[shape] * (0.85 if length == "mini" else 1.0)
    if length == "maxi":
        bodice_top = 0.13
        pen.sym(
            [
                (0.5, bodice_top + 0.02),
                (0.5 + hw * 0.75, bodice_top),
                (0.5 + hw * 0.85, y_sh + 0.16),
                (0.5 + waist, y_w),
                (0.5 + flare, hem),
                (0.5, hem + 0.01),
            ]
        )
        _both(
            lambda s: pen.stroke(
                [(0.5 + s * hw * 0.7, bodice_top + 0.01), (0.5 + s * hw * 0.55, y_sh)], 0.014
            )
        )
        for t in (0.36, 0.68):
            y = y_w + (hem - y_w) * t
            half = waist + (flare - waist) * t
            pen.line([(0.5 - half, y), (0.5 + half, y)], 0.008, "dark", 110)
        pen.line([(0.5 - flare, hem - 0.02), (0.5 + flare, hem - 0.02)], 0.01, "light", 90)
    else:
        sleeve = "puff" if length == "mini" else "none"
        pts = [(0.5, y_sh), (0.5 + 0.05, y_sh - 0.004), (0.5 + hw, y_sh + 0.01)]
        if length == "midi":
            pts = [
                (0.5, y_sh + 0.01),
                (0.5 + 0.05, y_sh),
                (0.5 + 0.09 * w, y_sh),
                (0.5 + hw * 0.98, y_sh + 0.09),
            ]
        pts += [
            (0.5 + hw * 0.95, y_sh + 0.13),
            (0.5 + waist, y_w),
            (0.5 + flare, hem - 0.01),
            (0.5 + flare * 0.5, hem + 0.004),
            (0.5, hem + 0.008),
        ]
        pen.sym(pts)
        if sleeve == "puff":
            _both(
                lambda s: pen.ellipse(
                    0.5 + s * (hw + 0.005) - 0.04, y_sh - 0.005, 0.5 + s * (hw + 0.005) + 0.04, y_sh + 0.09
                )
            )
            pen.ellipse(0.5 - 0.05, y_sh - 0.05, 0.5 + 0.05, y_sh + 0.04, "main", 0)
            pen.arc(0.5 - 0.058, y_sh - 0.058, 0.5 + 0.058, y_sh + 0.048, 0, 180, 0.01, "dark", 100)
            for i in (-2, -1, 0, 1, 2):
                pen.line(
                    [(0.5 + i * waist * 0.4, y_w + 0.02), (0.5 + i * flare * 0.42, hem - 0.01)],
                    0.005,
                    "dark",
                    70,
                )
        else:
            pen.poly([(0.5 - 0.055, y_sh - 0.01), (0.5 + 0.055, y_sh - 0.01), (0.5, y_sh + 0.1)], "main", 0)
            pen.line([(0.5 - 0.058, y_sh), (0.5, y_sh + 0.11), (0.5 + 0.058, y_sh)], 0.01, "dark", 100)
    pen.line(
        [(0.5 - waist - 0.004, y_w), (0.5 + waist + 0.004, y_w)],
        0.02 if length == "midi" else 0.008,
        "dark",
        120 if length == "midi" else 90,
    )
    return (0.5, y_sh)


def _outer(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    w, ln = _FASHION_SHAPES[shape]
    if kind == "coat":
        y_sh, length, flare = 0.08, 0.84, 1.16
    elif kind == "blazer":
        y_sh, length, flare = 0.16, 0.58, 0.98
    else:
        y_sh, length, flare = 0.16, 0.42, 0.92
    half = 0.215 if kind == "jacket" else 0.2
    anchor = _top(
        pen,
        shape,
        sleeve="long",
        neck="none",
        y_sh=y_sh,
        half=half,
        length=length,
        hem_band=kind == "jacket",
        flare=flare,
    )
    hw = half * w
    hem = y_sh + length * ln
    if kind == "jacket":
        pen.ellipse(0.5 - 0.06, y_sh - 0.07, 0.5 + 0.06, y_sh + 0.01, "main", 0)
        for s in (1.0, -1.0):
            collar = [
                (0.5 + s * 0.06, y_sh - 0.045),
                (0.5 + s * 0.1, y_sh - 0.02),
                (0.5 + s * 0.085, y_sh + 0.05),
                (0.5 + s * 0.01, y_sh + 0.04),
            ]
            pen.poly(collar)
            pen.line([*collar, collar[0]], 0.008, "dark", 140)
            pen.line(
                [(0.5 + s * hw * 0.45, hem - 0.16), (0.5 + s * hw * 0.62, hem - 0.09)], 0.012, "dark", 150
            )
        pen.line([(0.5, y_sh + 0.04), (0.5, hem)], 0.012, "light", 170)
        pen.line([(0.5, y_sh + 0.04), (0.5, hem)], 0.004, "dark", 160)
    else:
        depth = 0.27 if kind == "blazer" else 0.2
        v_bottom = y_sh + depth
        pen.poly(
            [
                (0.5 - 0.055, y_sh - 0.03),
                (0.5 + 0.055, y_sh - 0.03),
                (0.5 + 0.01, v_bottom),
                (0.5 - 0.01, v_bottom),
            ],
            "trim",
        )
        for s in (1.0, -1.0):
            lapel = [
                (0.5 + s * 0.055, y_sh - 0.03),
                (0.5 + s * 0.085, y_sh + 0.03),
                (0.5 + s * 0.125, y_sh + 0.045),
                (0.5 + s * 0.105, y_sh + 0.085),
                (0.5 + s * 0.01, v_bottom),
            ]
            pen.line(lapel, 0.01, "dark", 150)
            pen.line([(0.5 + s * 0.01, v_bottom), (0.5 + s * 0.01, hem)], 0.006, "dark", 120)
            pen.line(
                [(0.5 + s * hw * 0.35, hem - 0.13 * ln), (0.5 + s * hw * 0.85, hem - 0.13 * ln)],
                0.012,
                "dark",
                140,
            )
        if kind == "blazer":
            for y in (v_bottom + 0.03, v_bottom + 0.1):
                pen.dot(0.5, y, 0.012, "dark", 200)
        else:
            for y in (v_bottom + 0.04, v_bottom + 0.14, v_bottom + 0.24):
                for s in (1.0, -1.0):
                    pen.dot(0.5 + s * 0.05, y, 0.011, "dark", 200)
            y_belt = y_sh + 0.36
            pen.rect(0.5 - hw * 0.98, y_belt, 0.5 + hw * 0.98, y_belt + 0.035, "dark", v=90)
            pen.rect_outline(0.5 - 0.03, y_belt - 0.005, 0.5 + 0.03, y_belt + 0.04, 0.008, "light", v=200)
    return anchor


def _shoe(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    w, _ = _FASHION_SHAPES[shape]
    sole = 0.75
    x0, x1 = 0.5 - 0.37 * (0.92 + 0.08 * w), 0.5 + 0.37 * (0.92 + 0.08 * w)
    if kind == "sneakers":
        top = 0.5 - 0.05 * (w - 1)
        pen.poly(
            [
                (x0 + 0.02, sole - 0.06),
                (x0 + 0.01, top),
                (x0 + 0.17, top - 0.03),
                (x0 + 0.3, top + 0.02),
                (x0 + 0.45, top + 0.06),
                (x1 - 0.12, top + 0.12),
                (x1 - 0.03, top + 0.16),
                (x1, sole - 0.05),
                (x1, sole - 0.04),
            ]
        )
        pen.rect(x0, sole - 0.075, x1 + 0.01, sole, "trim", r=0.03)
        pen.line([(x0 + 0.01, sole - 0.05), (x1 + 0.005, sole - 0.05)], 0.006, "dark", 60)
        for i in range(4):
            x = x0 + 0.3 + i * 0.05
            pen.line([(x, top + 0.03 + i * 0.015), (x + 0.04, top + 0.06 + i * 0.015)], 0.012, "light", 220)
        pen.line(
            [(x0 + 0.12, sole - 0.12), (x0 + 0.28, sole - 0.09), (x0 + 0.45, sole - 0.16)], 0.02, "dark", 110
        )
        pen.arc(x1 - 0.16, top + 0.1, x1 + 0.04, sole + 0.04, 180, 270, 0.008, "dark", 100)
    elif kind == "boots":
        top = 0.12 + 0.08 * (1 - w)
        shaft = 0.2 * (0.9 + 0.1 * w)
        pen.poly(
            [
                (x0 + 0.04, top),
                (x0 + 0.04 + shaft, top),
                (x0 + 0.06 + shaft, 0.5),
                (x1 - 0.14, 0.56),
                (x1 - 0.02, 0.62),
                (x1, sole - 0.04),
                (x0 + 0.03, sole - 0.04),
                (x0 + 0.02, 0.5),
            ]
        )
        pen.rect(x0 + 0.02, sole - 0.045, x1 + 0.005, sole - 0.01, "trim", r=0.01)
        pen.rect(x0 + 0.03, sole - 0.05, x0 + 0.17, sole, "trim")
        pen.line([(x0 + 0.04, top + 0.02), (x0 + 0.04 + shaft, top + 0.02)], 0.012, "dark", 100)
        pen.line([(x0 + 0.04 + shaft * 0.5, top + 0.04), (x0 + 0.05 + shaft * 0.55, 0.5)], 0.008, "dark", 120)
    elif kind == "heels":
        heel_top = 0.32 + 0.04 * (w - 1)
        pen.poly(
            [
                (x0 + 0.02, heel_top),
                (x0 + 0.18, heel_top + 0.08),
                (x0 + 0.42, 0.58),
                (x1 - 0.1, 0.6),
                (x1, 0.66),
                (x1 - 0.04, sole - 0.035),
                (x1 - 0.3, sole - 0.04),
                (x0 + 0.25, 0.6),
                (x0 + 0.1, heel_top + 0.15),
                (x0 + 0.01, heel_top + 0.12),
            ]
        )
        pen.poly(
            [(x0 + 0.02, heel_top + 0.1), (x0 + 0.09, heel_top + 0.13), (x0 + 0.07, sole), (x0 + 0.04, sole)],
            "trim",
        )
        pen.line(
            [(x0 + 0.04, heel_top + 0.01), (x0 + 0.19, heel_top + 0.095), (x0 + 0.44, 0.595)],
            0.01,
            "dark",
            140,
        )
    elif kind == "sandals":
        pen.poly(
            [
                (x0, sole - 0.06),
                (x1 - 0.04, sole - 0.06),
                (x1, sole - 0.03),
                (x1 - 0.03, sole),
                (x0 + 0.02, sole),
            ],
            "trim",
        )
        pen.rect(x0, sole - 0.085, x0 + 0.16, sole - 0.05, "trim")
        strap = 0.045 * (0.9 + 0.1 * w)
        pen.stroke([(x1 - 0.22, sole - 0.06), (x1 - 0.16, sole - 0.2), (x1 - 0.08, sole - 0.06)], strap)
        pen.stroke([(x0 + 0.36, sole - 0.06), (x0 + 0.42, sole - 0.25), (x0 + 0.52, sole - 0.06)], strap)
        pen.stroke([(x0 + 0.02, sole - 0.32), (x0 + 0.1, sole - 0.34), (x0 + 0.2, sole - 0.3)], strap * 0.9)
        pen.stroke([(x0 + 0.05, sole - 0.08), (x0 + 0.05, sole - 0.32)], strap * 0.8)
        pen.dot(x0 + 0.2, sole - 0.3, 0.018, "trim")
    else:  # loafers
        pen.poly(
            [
                (x0 + 0.02, sole - 0.04),
                (x0 + 0.01, 0.47),
                (x0 + 0.12, 0.45),
                (x0 + 0.32, 0.5),
                (x1 - 0.2, 0.5),
                (x1 - 0.05, 0.56),
                (x1, 0.65),
                (x1, sole - 0.03),
            ]
        )
        pen.rect(x0, sole - 0.035, x1 + 0.005, sole, "trim", r=0.01)
        pen.rect(x0 + 0.01, sole - 0.05, x0 + 0.12, sole, "trim")
        pen.rect(x1 - 0.34, 0.52, x1 - 0.2, 0.56, "dark", v=150)
        pen.arc(x1 - 0.3, 0.47, x1 + 0.02, 0.72, 200, 330, 0.008, "dark", 150)
        pen.line([(x0 + 0.03, 0.48), (x0 + 0.3, 0.52)], 0.01, "dark", 120)
    return (0.5, sole)


def _bag(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    w, ln = _FASHION_SHAPES[shape]
    if kind == "tote":
        hw, top, bot = 0.27 * w, 0.38, 0.38 + 0.48 * ln
        pen.poly([(0.5 - hw, top), (0.5 + hw, top), (0.5 + hw + 0.04, bot), (0.5 - hw - 0.04, bot)])
        for s in (1.0, -1.0):
            pen.arc(0.5 + s * 0.2 * w - 0.13 * w, 0.12, 0.5 + s * 0.2 * w + 0.13 * w, 0.64, 180, 360, 0.035)
        pen.arc(
            0.5 - 0.2 * w - 0.13 * w + 0.01,
            0.13,
            0.5 - 0.2 * w + 0.13 * w - 0.01,
            0.63,
            200,
            340,
            0.008,
            "dark",
            110,
        )
        pen.line([(0.5 - hw, top + 0.03), (0.5 + hw, top + 0.03)], 0.008, "dark", 120)
        return (0.5, 0.12)
    if kind == "crossbody bag":
        hw, top, bot = 0.2 * w, 0.5, 0.5 + 0.3 * ln
        pen.arc(0.5 - 0.17 * w, 0.06, 0.5 + 0.17 * w, 0.95, 180, 360, 0.018)
        pen.rect(0.5 - hw, top, 0.5 + hw, bot, r=0.04)
        pen.poly(
            [
                (0.5 - hw, top + 0.01),
                (0.5 + hw, top + 0.01),
                (0.5 + hw, top + 0.12),
                (0.5, top + 0.17),
                (0.5 - hw, top + 0.12),
            ],
            "dark",
            80,
        )
        pen.line([(0.5 - hw, top + 0.12), (0.5, top + 0.17), (0.5 + hw, top + 0.12)], 0.01, "dark", 170)
        pen.rect(0.5 - 0.025, top + 0.14, 0.5 + 0.025, top + 0.19, "trim", r=0.01)
        return (0.5, 0.06)
    if kind == "backpack":
        hw, top, bot = 0.23 * w, 0.14, 0.14 + 0.76 * ln
        pen.arc(0.5 - 0.07, 0.07, 0.5 + 0.07, 0.21, 180, 360, 0.025)
        pen.rect(0.5 - hw, top, 0.5 + hw, bot, r=0.12)
        _both(
            lambda s: pen.rect(
                0.5 + s * hw - 0.03, top + 0.12, 0.5 + s * hw + 0.03, bot - 0.05, "dark", r=0.02, v=110
            )
        )
        pen.rect(0.5 - hw * 0.7, bot - 0.3, 0.5 + hw * 0.7, bot - 0.04, "dark", r=0.05, v=70)
        pen.rect_outline(0.5 - hw * 0.7, bot - 0.3, 0.5 + hw * 0.7, bot - 0.04, 0.01, "dark", r=0.05, v=150)
        pen.arc(0.5 - hw + 0.03, top + 0.02, 0.5 + hw - 0.03, top + 0.35, 180, 360, 0.01, "light", 170)
        pen.rect(0.5 - 0.02, bot - 0.28, 0.5 + 0.02, bot - 0.24, "trim")
        return (0.5, 0.07)
    hw, top, bot = 0.34 * w, 0.4, 0.4 + 0.24 * ln
    pen.rect(0.5 - hw, top, 0.5 + hw, bot, r=0.02)
    pen.poly([(0.5 - hw, top), (0.5 + hw, top), (0.5, top + 0.16)], "dark", 80)
    pen.line([(0.5 - hw, top), (0.5, top + 0.16), (0.5 + hw, top)], 0.01, "dark", 170)
    pen.dot(0.5, top + 0.15, 0.022, "trim")
    return (0.5, (top + bot) / 2)


def _accessory(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    w, ln = _FASHION_SHAPES[shape]
    if kind == "hat":
        brim = {"slim": 0.27, "regular": 0.34, "oversized": 0.43}[shape]
        pen.ellipse(0.5 - brim, 0.5, 0.5 + brim, 0.66)
        pen.poly(
            [
                (0.5 - 0.17, 0.58),
                (0.5 - 0.15, 0.34),
                (0.5 - 0.08, 0.26),
                (0.5, 0.3),
                (0.5 + 0.08, 0.26),
                (0.5 + 0.15, 0.34),
                (0.5 + 0.17, 0.58),
            ]
        )
        pen.rect(0.5 - 0.165, 0.49, 0.5 + 0.165, 0.55, "dark", v=150)
        pen.line([(0.5, 0.31), (0.5, 0.44)], 0.008, "dark", 80)
        pen.arc(0.5 - brim, 0.5, 0.5 + brim, 0.66, 20, 160, 0.008, "dark", 90)
        return (0.5, 0.58)
    if kind == "scarf":
        sw = 0.11 * w
        pen.ring(0.5 - 0.2, 0.08, 0.5 + 0.2, 0.36, 0.09)
        pen.ring(0.5 - 0.2, 0.08, 0.5 + 0.2, 0.36, 0.09, "main")
        end_y = 0.3 + 0.58 * ln
        pen.poly(
            [(0.5 - 0.08, 0.3), (0.5 - 0.08 + sw * 2, 0.3), (0.5 - 0.12 + sw * 2, end_y), (0.5 - 0.12, end_y)]
        )
        pen.poly(
            [
                (0.5 + 0.02, 0.32),
                (0.5 + 0.02 + sw * 1.8, 0.32),
                (0.5 + 0.1 + sw * 1.8, end_y - 0.08),
                (0.5 + 0.1, end_y - 0.08),
            ]
        )
        pen.line([(0.5 + 0.02, 0.33), (0.5 + 0.1, end_y - 0.08)], 0.008, "dark", 110)
        for x0, y0, span in ((0.5 - 0.12, end_y, sw * 2), (0.5 + 0.1, end_y - 0.08, sw * 1.8)):
            for i in range(9):
                x = x0 + 0.01 + i * (span - 0.02) / 8
                pen.line([(x, y0 - 0.005), (x, y0 + 0.045)], 0.007, "main")
            pen.line([(x0, y0 - 0.02), (x0 + span, y0 - 0.02)], 0.008, "dark", 90)
        pen.arc(0.5 - 0.2, 0.08, 0.5 + 0.2, 0.36, 200, 340, 0.008, "dark", 90)
        return (0.5, 0.14)
    if kind == "sunglasses":
        lw, lh = {"slim": (0.15, 0.09), "regular": (0.155, 0.12), "oversized": (0.18, 0.17)}[shape]
        cy = 0.5
        for s in (1.0, -1.0):
            cx = 0.5 + s * (0.045 + lw)
            box = (cx - lw, cy - lh, cx + lw, cy + lh)
            if shape == "oversized":
                pen.ellipse(*box)
                pen.ellipse(box[0] + 0.025, box[1] + 0.025, box[2] - 0.025, box[3] - 0.025, "trim")
            else:
                pen.rect(*box, r=0.05 if shape == "regular" else 0.03)
                pen.rect(
                    box[0] + 0.022,
                    box[1] + 0.022,
                    box[2] - 0.022,
                    box[3] - 0.022,
                    "trim",
                    r=0.035 if shape == "regular" else 0.015,
                )
            pen.line([(cx - lw * 0.5, cy - lh * 0.4), (cx - lw * 0.1, cy - lh * 0.7)], 0.012, "light", 150)
            pen.stroke([(cx + s * lw * 0.95, cy - lh * 0.75), (cx + s * (lw + 0.07), cy - lh * 0.55)], 0.03)
        pen.arc(0.5 - 0.055, cy - lh - 0.01, 0.5 + 0.055, cy + 0.01, 190, 350, 0.03)
        return (0.5, cy)
    hh = 0.055 * (0.85 + 0.15 * w)
    y0, y1 = 0.5 - hh, 0.5 + hh
    pen.rect(0.1, y0, 0.9, y1, r=0.02)
    pen.poly([(0.86, y0), (0.95, 0.5), (0.86, y1)])
    pen.rect_outline(0.06, y0 - 0.035, 0.2, y1 + 0.035, 0.022, "trim", r=0.015)
    pen.line([(0.13, 0.5), (0.2, 0.5)], 0.014, "trim")
    for i in range(5):
        pen.dot(0.6 + i * 0.05, 0.5, 0.011, "dark", 200)
    pen.line([(0.2, y0 + 0.012), (0.9, y0 + 0.012)], 0.005, "light", 120)
    pen.line([(0.2, y1 - 0.012), (0.9, y1 - 0.012)], 0.005, "light", 120)
    return (0.5, 0.5)


# -------------------------------------------------------------------------------------------------
# Home drawers: front views standing on a floor line; the anchor is the floor contact centre (rugs
# and wall shelves: their centre).
# -------------------------------------------------------------------------------------------------


def _legs(
    pen: _Pen, xs: Sequence[float], top: float, bottom: float, p: _HomeShape, *, splay: float = 0.0
) -> None:
    for x in xs:
        out = splay * (1 if x > 0.5 else -1)
        if p.leg < 0.02:
            pen.poly(
                [
                    (x - p.leg, top),
                    (x + p.leg, top),
                    (x + p.leg * 0.5 + out, bottom),
                    (x - p.leg * 0.5 + out, bottom),
                ],
                "trim",
            )
        elif p.r > 0.03:
            pen.rect(x - p.leg, top, x + p.leg, bottom, "trim", r=p.leg * 0.8)
        else:
            pen.rect(x - p.leg, top, x + p.leg, bottom, "trim")


def _sofa(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    p = _HOME_SHAPES[shape]
    width = {"two-seater sofa": 0.66, "three-seater sofa": 0.86, "corner sofa": 0.9}[kind] * p.wf
    width = min(width, 0.92)
    x0, x1 = 0.5 - width / 2, 0.5 + width / 2
    floor = 0.7
    base = floor - p.leg_h
    seat = base - 0.12 * p.hf
    back_top = seat - 0.2 * p.hf
    arm = 0.085 if shape != "slender" else 0.06
    arm_top = seat - 0.075 * p.hf
    seats = {"two-seater sofa": 2, "three-seater sofa": 3, "corner sofa": 2}[kind]
    right_end = x1 if kind != "corner sofa" else x1 - 0.27
    pen.rect(x0 + 0.035, back_top, x1 - 0.035, seat + 0.03, r=p.r * 1.2)
    pen.rect(x0 + arm - 0.01, seat - 0.02, right_end - arm + 0.01, base, r=p.r * 0.6)
    if kind == "corner sofa":
        chaise_x0 = right_end - arm
        pen.rect(chaise_x0, seat - 0.02, x1, base + 0.09, r=p.r * 0.6)
        pen.line([(chaise_x0, seat + 0.025), (x1, seat + 0.025)], 0.006, "dark", 110)
        pen.line([(chaise_x0 + 0.005, seat), (chaise_x0 + 0.005, base + 0.085)], 0.007, "dark", 130)
        pen.rect(x1 - 0.035, seat - 0.04, x1, base + 0.09, r=p.r * 0.5)
        pen.line([(x1 - 0.035, seat - 0.02), (x1 - 0.035, base + 0.08)], 0.006, "dark", 100)
        _legs(pen, [chaise_x0 + 0.04, x1 - 0.04], base + 0.09, floor + 0.09, p)
    n = seats
    span = (right_end - arm) - (x0 + arm)
    for i in range(1, n):
        x = x0 + arm + span * i / n
        pen.line([(x, seat - 0.015), (x, base)], 0.007, "dark", 150)
        pen.line([(x, back_top + 0.02), (x, seat - 0.03)], 0.006, "dark", 110)
    pen.line([(x0 + arm, seat + 0.02), (right_end - arm, seat + 0.02)], 0.006, "dark", 90)
    pen.line([(x0 + 0.04, seat - 0.025), (x1 - 0.04, seat - 0.025)], 0.008, "dark", 140)
    arms = [x0] if kind == "corner sofa" else [x0, x1 - arm]
    for ax in arms:
        pen.rect(ax, arm_top, ax + arm, base, r=p.r * 1.3)
        pen.rect_outline(ax, arm_top, ax + arm, base, 0.006, "dark", r=p.r * 1.3, v=120)
    pen.rect(x0 + 0.02, base - 0.02, right_end - 0.02, base + 0.005, "dark", v=70)
    leg_xs = [x0 + 0.04, right_end - 0.04] if kind == "corner sofa" else [x0 + 0.04, x1 - 0.04]
    if kind == "three-seater sofa":
        leg_xs.append(0.5)
    _legs(pen, leg_xs, base, floor, p)
    return (0.5, floor)


def _armchair(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    p = _HOME_SHAPES[shape]
    floor = 0.84
    if kind == "lounge chair":
        t = {"rounded": 0.09, "boxy": 0.1, "slender": 0.065}[shape]
        seat_y = 0.56
        pen.stroke([(0.28, seat_y), (0.74, seat_y + 0.05)], t)
        pen.stroke([(0.24, seat_y + 0.01), (0.33, 0.2)], t * 1.1)
        pen.stroke([(0.31, 0.38), (0.64, 0.42)], t * 0.45, "main")
        pen.line([(0.31, 0.38), (0.64, 0.42)], 0.008, "dark", 120)
        pen.line([(0.3, seat_y - 0.005), (0.73, seat_y + 0.045)], 0.007, "dark", 110)
        pen.line([(0.27, seat_y - 0.03), (0.34, 0.23)], 0.007, "dark", 110)
        if shape == "slender":
            pen.stroke([(0.45, seat_y + 0.06), (0.32, floor)], 0.016, "trim")
            pen.stroke([(0.55, seat_y + 0.07), (0.7, floor)], 0.016, "trim")
        else:
            pen.rect(0.47, seat_y + 0.05, 0.53, floor - 0.02, "trim")
            pen.rect(0.3, floor - 0.03, 0.7, floor, "trim", r=0.015)
        return (0.5, floor)
    wing = kind == "wingback chair"
    width = (0.42 if wing else 0.5) * p.wf
    x0, x1 = 0.5 - width / 2, 0.5 + width / 2
    leg_h = p.leg_h * (1.8 if wing else 1.0)
    base = floor - leg_h
    seat = base - 0.13 * p.hf
    back_top = seat - (0.4 if wing else 0.26) * p.hf
    arm = (0.07 if wing else 0.1) * (0.75 if shape == "slender" else 1.0)
    arm_top = seat - 0.08 * p.hf
    pen.rect(x0 + arm * 0.5, back_top, x1 - arm * 0.5, seat + 0.03, r=p.r * (1.6 if wing else 1.2))
    if wing:
        for s in (1.0, -1.0):
            ex = 0.5 + s * width / 2
            pen.poly(
                [
                    (ex - s * arm * 0.5, back_top + 0.04),
                    (ex + s * 0.025, back_top + 0.08),
                    (ex + s * 0.02, arm_top - 0.02),
                    (ex - s * arm, arm_top + 0.02),
                ]
            )
            pen.line(
                [
                    (ex - s * arm * 0.5, back_top + 0.05),
                    (ex + s * 0.015, back_top + 0.09),
                    (ex + s * 0.012, arm_top - 0.02),
                ],
                0.007,
                "dark",
                120,
            )
        for i in range(3):
            for j in range(2):
                pen.dot(0.5 + (i - 1) * width * 0.2, back_top + 0.1 + j * 0.1, 0.009, "dark", 170)
    pen.rect(x0 + arm - 0.01, seat - 0.02, x1 - arm + 0.01, base, r=p.r * 0.6)
    pen.line([(x0 + arm, seat + 0.02), (x1 - arm, seat + 0.02)], 0.006, "dark", 90)
    pen.line([(x0 + arm * 0.6, seat - 0.025), (x1 - arm * 0.6, seat - 0.025)], 0.008, "dark", 140)
    for ax in (x0, x1 - arm):
        top = arm_top if not wing else arm_top + 0.01
        pen.rect(ax, top, ax + arm, base, r=p.r * (1.8 if wing else 1.3))
        pen.rect_outline(ax, top, ax + arm, base, 0.006, "dark", r=p.r * 1.3, v=120)
    pen.rect(x0 + 0.02, base - 0.02, x1 - 0.02, base + 0.005, "dark", v=70)
    _legs(pen, [x0 + 0.04, x1 - 0.04], base, floor, p, splay=0.01 if wing else 0.0)
    return (0.5, floor)


def _coffee_table(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    p = _HOME_SHAPES[shape]
    floor = 0.74
    hw = 0.37 * p.wf
    top_y = floor - 0.26 * p.hf
    th = {"rounded": 0.04, "boxy": 0.055, "slender": 0.022}[shape]
    if kind == "round coffee table":
        hh = 0.085
        if shape == "rounded":
            pen.rect(0.5 - hw * 0.55, top_y, 0.5 + hw * 0.55, floor, r=0.02)
            pen.ellipse(0.5 - hw * 0.55, floor - 0.04, 0.5 + hw * 0.55, floor + 0.01)
            pen.rect(0.5 - hw * 0.55, top_y, 0.5 + hw * 0.55, floor, "dark", v=90)
        elif shape == "boxy":
            _legs(pen, [0.5 - hw * 0.6, 0.5 + hw * 0.6], top_y, floor, p)
            _legs(pen, [0.5 - hw * 0.25, 0.5 + hw * 0.25], top_y, floor - 0.03, p)
        else:
            _legs(pen, [0.5 - hw * 0.65, 0.5 + hw * 0.65], top_y, floor, p, splay=0.03)
            _legs(pen, [0.5], top_y, floor - 0.04, p)
        pen.ellipse(0.5 - hw, top_y - hh + th, 0.5 + hw, top_y + hh + th)
        pen.ellipse(0.5 - hw, top_y - hh + th, 0.5 + hw, top_y + hh + th, "dark", 100)
        pen.ellipse(0.5 - hw, top_y - hh, 0.5 + hw, top_y + hh)
        pen.ellipse(0.5 - hw, top_y - hh, 0.5 + hw, top_y + hh, "dark", 0)
        pen.arc(
            0.5 - hw + 0.02,
            top_y - hh + 0.01,
            0.5 + hw - 0.02,
            top_y + hh - 0.01,
            200,
            290,
            0.008,
            "light",
            140,
        )
        return (0.5, floor)
    depth = 0.06
    back, front = top_y - depth, top_y + depth
    r = min(p.r, 0.03)
    pen.poly([(0.5 - hw + 0.04 + r, back), (0.5 + hw - 0.04 - r, back), (0.5 + hw, front), (0.5 - hw, front)])
    pen.rect(0.5 - hw, front - 0.005, 0.5 + hw, front + th, r=r * 0.5)
    pen.rect(0.5 - hw, front, 0.5 + hw, front + th, "dark", v=100, r=r * 0.5)
    if shape == "boxy":
        pen.rect(0.5 - hw + 0.01, front + th, 0.5 + hw - 0.01, floor - 0.045, "dark", v=200)
        pen.rect(0.5 - hw + 0.01, floor - 0.045, 0.5 + hw - 0.01, floor - 0.01)
        pen.rect(0.5 - hw + 0.01, floor - 0.045, 0.5 + hw - 0.01, floor - 0.01, "dark", v=90)
        _legs(pen, [0.5 - hw + 0.04, 0.5 + hw - 0.04], front + th, floor, p)
    else:
        _legs(pen, [0.5 - hw + 0.04, 0.5 + hw - 0.04], front + th, floor, p)
        _legs(pen, [0.5 - hw + 0.09, 0.5 + hw - 0.09], front + th, floor - 0.05, p)
    pen.line([(0.5 - hw + 0.06, back + 0.012), (0.5 + hw - 0.06, back + 0.012)], 0.006, "light", 120)
    return (0.5, floor)


def _rug(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    p = _HOME_SHAPES[shape]
    if kind == "round rug":
        rad = 0.38
        pen.ellipse(0.5 - rad, 0.5 - rad, 0.5 + rad, 0.5 + rad)
        pen.ring(
            0.5 - rad + 0.035, 0.5 - rad + 0.035, 0.5 + rad - 0.035, 0.5 + rad - 0.035, 0.025, "dark", 120
        )
        pen.ring(0.5 - rad + 0.08, 0.5 - rad + 0.08, 0.5 + rad - 0.08, 0.5 + rad - 0.08, 0.01, "light", 130)
        if shape == "slender":
            for i in range(48):
                a = 2 * math.pi * i / 48
                pen.line(
                    [
                        (0.5 + rad * math.cos(a), 0.5 + rad * math.sin(a)),
                        (0.5 + (rad + 0.03) * math.cos(a), 0.5 + (rad + 0.03) * math.sin(a)),
                    ],
                    0.007,
                    "trim",
                )
        return (0.5, 0.5)
    if kind == "runner rug":
        x0, x1, y0, y1 = 0.08, 0.92, 0.4, 0.6
    else:
        hh = 0.26 * (0.85 if shape == "slender" else 1.0)
        x0, x1, y0, y1 = 0.12, 0.88, 0.5 - hh, 0.5 + hh
    r = p.r * 0.5 if shape == "rounded" else 0.0
    pen.rect(x0, y0, x1, y1, r=r)
    ins = 0.03
    pen.rect_outline(x0 + ins, y0 + ins, x1 - ins, y1 - ins, 0.022, "dark", r=r, v=120)
    pen.rect_outline(
        x0 + ins * 2.3, y0 + ins * 2.3, x1 - ins * 2.3, y1 - ins * 2.3, 0.008, "light", r=r, v=120
    )
    if shape != "rounded":
        n = int((y1 - y0) / 0.022)
        for i in range(n):
            y = y0 + 0.011 + i * (y1 - y0 - 0.022) / max(n - 1, 1)
            pen.line([(x0 - 0.035, y), (x0, y)], 0.007, "trim")
            pen.line([(x1, y), (x1 + 0.035, y)], 0.007, "trim")
    return (0.5, 0.5)


def _lamp(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    p = _HOME_SHAPES[shape]
    pole = max(0.012, p.leg * 0.55)
    if kind == "floor lamp":
        floor, shade_top, shade_bot = 0.95, 0.06, 0.3
        if shape == "slender":
            for dx in (-0.1, 0.0, 0.1):
                pen.stroke([(0.5, 0.7), (0.5 + dx, floor)], 0.013, "trim")
        elif shape == "rounded":
            pen.ellipse(0.5 - 0.11, floor - 0.035, 0.5 + 0.11, floor + 0.005, "trim")
        else:
            pen.rect(0.5 - 0.09, floor - 0.03, 0.5 + 0.09, floor, "trim")
        pen.rect(0.5 - pole / 2, shade_bot - 0.02, 0.5 + pole / 2, floor - 0.01, "trim")
        top_hw, bot_hw = {"rounded": (0.11, 0.17), "boxy": (0.16, 0.16), "slender": (0.07, 0.16)}[shape]
    else:
        floor, shade_top, shade_bot = 0.86, 0.14, 0.46
        if shape == "rounded":
            pen.ellipse(0.5 - 0.14, 0.5, 0.5 + 0.14, floor)
        elif shape == "boxy":
            pen.rect(0.5 - 0.11, 0.53, 0.5 + 0.11, floor)
        else:
            pen.poly(
                [(0.5 - 0.04, 0.5), (0.5 + 0.04, 0.5), (0.5 + 0.07, floor - 0.03), (0.5 - 0.07, floor - 0.03)]
            )
            pen.rect(0.5 - 0.1, floor - 0.03, 0.5 + 0.1, floor, "trim")
        pen.rect(0.5 - 0.025, shade_bot - 0.01, 0.5 + 0.025, 0.54, "trim")
        pen.line([(0.5 - 0.12, floor - 0.01), (0.5 + 0.12, floor - 0.01)], 0.006, "dark", 90)
        top_hw, bot_hw = {"rounded": (0.15, 0.23), "boxy": (0.21, 0.21), "slender": (0.11, 0.22)}[shape]
    if shape == "rounded":
        pen.poly(
            [
                (0.5 - top_hw, shade_top),
                (0.5 + top_hw, shade_top),
                (0.5 + bot_hw, shade_bot),
                (0.5 - bot_hw, shade_bot),
            ]
        )
        pen.ellipse(0.5 - bot_hw, shade_bot - 0.03, 0.5 + bot_hw, shade_bot + 0.03)
        pen.ellipse(0.5 - top_hw, shade_top - 0.02, 0.5 + top_hw, shade_top + 0.02)
    else:
        pen.poly(
            [
                (0.5 - top_hw, shade_top),
                (0.5 + top_hw, shade_top),
                (0.5 + bot_hw, shade_bot),
                (0.5 - bot_hw, shade_bot),
            ]
        )
    pen.line([(0.5 - top_hw, shade_top + 0.012), (0.5 + top_hw, shade_top + 0.012)], 0.008, "dark", 110)
    pen.line([(0.5 - bot_hw, shade_bot - 0.012), (0.5 + bot_hw, shade_bot - 0.012)], 0.01, "light", 150)
    return (0.5, floor)


def _shelf(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    p = _HOME_SHAPES[shape]
    ft = {"rounded": 0.03, "boxy": 0.04, "slender": 0.018}[shape]
    book_rng = np.random.default_rng(7)
    if kind == "bookcase":
        hw = 0.25 * p.wf
        top, floor = 0.05, 0.95
        bottom = floor - (p.leg_h if shape == "slender" else 0.0)
        pen.rect(0.5 - hw, top, 0.5 + hw, bottom, r=p.r * 0.4)
        rows = 4
        inner_h = (bottom - top - ft * (rows + 1)) / rows
        for i in range(rows):
            y0 = top + ft + i * (inner_h + ft)
            pen.rect(0.5 - hw + ft, y0, 0.5 + hw - ft, y0 + inner_h, "dark", v=150)
            x = 0.5 - hw + ft + 0.01
            while x < 0.5 + hw - ft - 0.05:
                bw = float(book_rng.uniform(0.018, 0.035))
                bh = inner_h * float(book_rng.uniform(0.6, 0.92))
                if book_rng.random() < 0.8:
                    pen.rect(
                        x, y0 + inner_h - bh, x + bw, y0 + inner_h, "dark", v=int(book_rng.integers(20, 90))
                    )
                x += bw + 0.004
        if shape == "slender":
            _legs(pen, [0.5 - hw + 0.02, 0.5 + hw - 0.02], bottom, floor, p)
        return (0.5, floor)
    if kind == "wall shelf":
        hw = 0.36 * p.wf
        th = {"rounded": 0.045, "boxy": 0.06, "slender": 0.03}[shape]
        for y in (0.32, 0.55, 0.78):
            pen.rect(0.5 - hw, y, 0.5 + hw, y + th, r=p.r * 0.3)
            pen.line([(0.5 - hw, y + th * 0.75), (0.5 + hw, y + th * 0.75)], 0.006, "dark", 90)
            for bx in (0.5 - hw * 0.7, 0.5 + hw * 0.7):
                pen.poly([(bx - 0.012, y + th), (bx + 0.012, y + th), (bx + 0.012, y + th + 0.06)], "trim")
            x = 0.5 - hw + 0.03 + float(book_rng.uniform(0, 0.2))
            for _ in range(int(book_rng.integers(3, 6))):
                bw, bh = float(book_rng.uniform(0.025, 0.04)), float(book_rng.uniform(0.1, 0.15))
                pen.rect(x, y - bh, x + bw, y)
                pen.rect(x, y - bh, x + bw, y, "dark", v=int(book_rng.integers(40, 140)))
                x += bw + 0.005
        return (0.5, 0.55)
    floor = 0.96
    rail = {"rounded": 0.035, "boxy": 0.045, "slender": 0.022}[shape]
    pen.stroke([(0.37, 0.04), (0.25, floor)], rail)
    pen.stroke([(0.63, 0.04), (0.75, floor)], rail)
    for i in range(5):
        t = 0.12 + i * 0.2
        y = 0.04 + (floor - 0.04) * t
        half = 0.13 + 0.12 * t + 0.02
        depth = 0.025 + 0.035 * t
        pen.rect(0.5 - half, y, 0.5 + half, y + depth, r=p.r * 0.2)
        pen.rect(0.5 - half, y + depth * 0.6, 0.5 + half, y + depth, "dark", v=90)
    return (0.5, floor)


def _side_table(pen: _Pen, shape: str, *, kind: str) -> _Anchor:
    p = _HOME_SHAPES[shape]
    floor = 0.86
    if kind == "nightstand":
        hw = 0.2 * p.wf
        top, bottom = 0.3, floor - p.leg_h * 1.3
        pen.rect(0.5 - hw - 0.01, top - 0.03, 0.5 + hw + 0.01, top + 0.005, r=p.r * 0.3)
        pen.rect(0.5 - hw, top, 0.5 + hw, bottom, r=p.r * 0.3)
        mid = (top + bottom) / 2
        for y0, y1 in ((top + 0.03, mid - 0.01), (mid + 0.01, bottom - 0.03)):
            pen.rect_outline(0.5 - hw + 0.03, y0, 0.5 + hw - 0.03, y1, 0.008, "dark", v=140)
            pen.dot(0.5, (y0 + y1) / 2, 0.016, "trim")
        pen.line([(0.5 - hw - 0.01, top - 0.005), (0.5 + hw + 0.01, top - 0.005)], 0.006, "dark", 110)
        _legs(pen, [0.5 - hw + 0.03, 0.5 + hw - 0.03], bottom, floor, p)
        return (0.5, floor)
    if shape == "boxy":
        hw = 0.21 * p.wf
        pen.rect(0.5 - hw, 0.34, 0.5 + hw, 0.41)
        pen.rect(0.5 - hw, 0.39, 0.5 + hw, 0.41, "dark", v=90)
        for x in (0.5 - hw, 0.5 + hw - 0.05):
            pen.rect(x, 0.4, x + 0.05, floor)
            pen.rect(x + 0.035, 0.4, x + 0.05, floor, "dark", v=70)
        pen.rect(0.5 - hw, 0.66, 0.5 + hw, 0.71)
        pen.rect(0.5 - hw, 0.69, 0.5 + hw, 0.71, "dark", v=90)
        return (0.5, floor)
    hw = 0.22 * p.wf
    top_y = 0.34
    if shape == "rounded":
        pen.rect(0.5 - 0.03, top_y, 0.5 + 0.03, floor - 0.02, "trim")
        pen.ellipse(0.5 - 0.13, floor - 0.04, 0.5 + 0.13, floor + 0.005)
        pen.ellipse(0.5 - 0.13, floor - 0.04, 0.5 + 0.13, floor + 0.005, "dark", 80)
    else:
        _legs(pen, [0.5 - hw * 0.7, 0.5 + hw * 0.7], top_y, floor, p, splay=0.03)
        _legs(pen, [0.5], top_y, floor - 0.04, p)
        pen.rect(0.5 - hw * 0.8, 0.65, 0.5 + hw * 0.8, 0.675, "trim")
    pen.ellipse(0.5 - hw, top_y - 0.05, 0.5 + hw, top_y + 0.07)
    pen.ellipse(0.5 - hw, top_y - 0.05, 0.5 + hw, top_y + 0.07, "dark", 100)
    pen.ellipse(0.5 - hw, top_y - 0.07, 0.5 + hw, top_y + 0.05)
    pen.ellipse(0.5 - hw, top_y - 0.07, 0.5 + hw, top_y + 0.05, "dark", 0)
    return (0.5, floor)


_Drawer = Callable[[_Pen, str], _Anchor]


def _kind(fn: Callable[..., _Anchor], **kw: str) -> _Drawer:
    return lambda pen, shape: fn(pen, shape, **kw)


_DRAWERS: dict[str, _Drawer] = {
    "t-shirt": _t_shirt,
    "blouse": _blouse,
    "shirt": _shirt,
    "sweater": _sweater,
    "tank top": _tank_top,
    "jeans": _kind(_bottom, kind="jeans"),
    "trousers": _kind(_bottom, kind="trousers"),
    "skirt": _kind(_bottom, kind="skirt"),
    "shorts": _kind(_bottom, kind="shorts"),
    "mini dress": _kind(_dress, length="mini"),
    "midi dress": _kind(_dress, length="midi"),
    "maxi dress": _kind(_dress, length="maxi"),
    "jacket": _kind(_outer, kind="jacket"),
    "coat": _kind(_outer, kind="coat"),
    "blazer": _kind(_outer, kind="blazer"),
    **{k: _kind(_shoe, kind=k) for k in ("sneakers", "boots", "heels", "sandals", "loafers")},
    **{k: _kind(_bag, kind=k) for k in ("tote", "crossbody bag", "backpack", "clutch")},
    **{k: _kind(_accessory, kind=k) for k in ("hat", "scarf", "sunglasses", "belt")},
    **{k: _kind(_sofa, kind=k) for k in ("two-seater sofa", "three-seater sofa", "corner sofa")},
    **{k: _kind(_armchair, kind=k) for k in ("armchair", "wingback chair", "lounge chair")},
    **{k: _kind(_coffee_table, kind=k) for k in ("round coffee table", "rectangular coffee table")},
    **{k: _kind(_rug, kind=k) for k in ("rectangular rug", "round rug", "runner rug")},
    **{k: _kind(_lamp, kind=k) for k in ("floor lamp", "table lamp")},
    **{k: _kind(_shelf, kind=k) for k in ("bookcase", "wall shelf", "ladder shelf")},
    **{k: _kind(_side_table, kind=k) for k in ("side table", "nightstand")},
}


_CATEGORY_SHAPES: dict[str, tuple[str, ...]] = {
    category: vocab.shapes
    for vocab in VOCABS.values()
    for cats in vocab.categories.values()
    for category in cats
}


@dataclass(frozen=True)
class _Silhouette:
    """One (category, shape) at one size: packed layers plus where the design sits on the canvas.

    ``layers`` is a CMYK image used as four plain 8-bit channels (main, trim, signed detail, blurred
    outline); CMYK because Pillow warps it without premultiplying by a channel, as it does RGBA.
    ``bbox`` is the object's bounding box and ``anchor`` the drawer's anchor, both in design units,
    which ``photos`` uses to pin the item to a body or a room. A design point ``p`` lands on the
    canvas (in canvas fractions) at ``p * scale + offset``.
    """

    layers: Image.Image
    bbox: tuple[float, float, float, float]
    anchor: tuple[float, float]
    scale: float
    offset: tuple[float, float]


def _union_bbox(pen: _Pen) -> tuple[int, int, int, int] | None:
    union = np.maximum(np.asarray(pen.images["main"]), np.asarray(pen.images["trim"]))
    ys, xs = np.nonzero(union)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@lru_cache(maxsize=256)
def _design(category: str, shape: str) -> tuple[tuple[float, float, float, float], tuple[float, float]]:
    """Bounding box and anchor of a design in design units (drawn once at a modest resolution)."""
    px = 400
    pen = _Pen(px)
    anchor = _DRAWERS[category](pen, shape)
    box = _union_bbox(pen)
    if box is None:  # pragma: no cover - every drawer draws something
        raise LookbookError(f"render {category!r}: the silhouette is empty")
    return (box[0] / px, box[1] / px, box[2] / px, box[3] / px), anchor


@lru_cache(maxsize=128)
def _fit(category: str) -> float:
    """One scale per category: its largest shape fills ~84% of the canvas, so the shapes of one
    category keep their relative sizes (an oversized tee stays wider than a slim one)."""
    dims = []
    for shape in _CATEGORY_SHAPES[category]:
        x0, y0, x1, y1 = _design(category, shape)[0]
        dims.append(max(x1 - x0, y1 - y0))
    return min(1.7, 0.84 / max(dims))


@lru_cache(maxsize=512)
def _silhouette(category: str, shape: str, size: int) -> _Silhouette:
    """Draw, centre, antialias and pack one silhouette (cached: drawing costs a few ms)."""
    bbox, anchor = _design(category, shape)
    k = _fit(category)
    offset = (0.5 - k * (bbox[0] + bbox[2]) / 2, 0.5 - k * (bbox[1] + bbox[3]) / 2)
    pen = _Pen(2 * size, k, offset)
    _DRAWERS[category](pen, shape)

    def reduce(name: str) -> npt.NDArray[np.float32]:
        a = np.asarray(pen.images[name], dtype=np.float32)
        return a.reshape(size, 2, size, 2).mean(axis=(1, 3)) / 255.0

    m, t, dk, lt = reduce("main"), reduce("trim"), reduce("dark"), reduce("light")
    cover = np.maximum(m, t)
    detail = np.clip(lt - dk, -1.0, 1.0) * cover
    blur_img = Image.fromarray((cover * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(size / 30))
    blur = np.asarray(blur_img, dtype=np.float32) / 255.0
    packed = np.stack([m, t, 0.5 + 0.5 * detail, blur], axis=-1)
    layers = Image.fromarray(np.round(packed * 255).astype(np.uint8), "CMYK")
    return _Silhouette(layers=layers, bbox=bbox, anchor=anchor, scale=k, offset=offset)


# ==================================================================================================
# Pattern and material fields
# ==================================================================================================


def _tile(size: int) -> int:
    return size + size // 2


def _grid(n: int) -> tuple[FloatArray, FloatArray]:
    y, x = np.mgrid[0:n, 0:n].astype(np.float32)
    return x, y


def _bands(u: FloatArray, period: float, width: float) -> FloatArray:
    """Antialiased periodic bands: 1 inside a band of ``width`` px every ``period`` px along ``u``."""
    d = np.abs(((u / period) % 1.0) - 0.5) * period
    return np.clip(width / 2 - d + 0.5, 0.0, 1.0).astype(np.float32)


def _smooth_noise(
    rng: np.random.Generator, n: int, cell: float, stretch: tuple[float, float] = (1.0, 1.0)
) -> FloatArray:
    """Zero-mean, unit-std value noise with features about ``cell`` px (stretched per axis)."""
    gw = max(2, int(n / (cell * stretch[0])) + 2)
    gh = max(2, int(n / (cell * stretch[1])) + 2)
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    lo, hi = float(small.min()), float(small.max())
    img = Image.fromarray(((small - lo) / (hi - lo) * 255).astype(np.uint8))
    big = np.asarray(img.resize((n, n), Image.Resampling.BICUBIC), dtype=np.float32)
    return ((big - big.mean()) / (big.std() + 1e-6)).astype(np.float32)


def _draw_field(n: int, draw: Callable[[ImageDraw.ImageDraw, float], None]) -> FloatArray:
    """A 0..1 field drawn with PIL at 2x and box-downsampled (floral motifs, graphic prints)."""
    img = Image.new("L", (2 * n, 2 * n), 0)
    draw(ImageDraw.Draw(img), 2.0)
    return np.asarray(img.reduce(2), dtype=np.float32) / 255.0


def _flowers(d: ImageDraw.ImageDraw, k: float, n: int, spacing: float, rng: np.random.Generator) -> None:
    for gy in np.arange(0, n + spacing, spacing):
        for gx in np.arange(0, n + spacing, spacing):
            cx = (gx + (0.5 * spacing if int(gy / spacing) % 2 else 0) + rng.uniform(-0.2, 0.2) * spacing) * k
            cy = (gy + rng.uniform(-0.2, 0.2) * spacing) * k
            r = spacing * rng.uniform(0.17, 0.24) * k
            rot = rng.uniform(0, 2 * math.pi)
            for i in range(5):
                a = rot + 2 * math.pi * i / 5
                px, py = cx + math.cos(a) * r * 0.8, cy + math.sin(a) * r * 0.8
                d.ellipse((px - r * 0.55, py - r * 0.55, px + r * 0.55, py + r * 0.55), fill=255)
            d.ellipse((cx - r * 0.35, cy - r * 0.35, cx + r * 0.35, cy + r * 0.35), fill=90)
            la = rot + math.pi / 5
            lx, ly = cx + math.cos(la) * r * 1.5, cy + math.sin(la) * r * 1.5
            d.ellipse((lx - r * 0.3, ly - r * 0.3, lx + r * 0.3, ly + r * 0.3), fill=170)


_GRAPHIC_VARIANTS = 4


def _graphic(d: ImageDraw.ImageDraw, k: float, n: int, variant: int) -> None:
    """A chest print: one bold motif in the middle of the tile (it lands on the item's centre)."""
    c = n * k / 2
    cy = c - n * k * 0.03
    r = n * k * 0.14
    if variant == 0:  # ring and dot
        d.ellipse((c - r, cy - r, c + r, cy + r), outline=255, width=int(r * 0.28))
        d.ellipse((c - r * 0.35, cy - r * 0.35, c + r * 0.35, cy + r * 0.35), fill=255)
    elif variant == 1:  # star
        pts = []
        for i in range(10):
            a = -math.pi / 2 + math.pi * i / 5
            rr = r * 1.15 if i % 2 == 0 else r * 0.48
            pts.append((c + math.cos(a) * rr, cy + math.sin(a) * rr))
        d.polygon(pts, fill=255)
    elif variant == 2:  # lightning bolt
        s = r / 10
        pts = [(2, -12), (-6, 2), (0, 2), (-3, 12), (7, -3), (1, -3), (5, -12)]
        d.polygon([(c + x * s * 1.1, cy + y * s * 1.05) for x, y in pts], fill=255)
    else:  # slogan: three bold bars of "text"
        for i, frac in enumerate((1.0, 0.7, 0.85)):
            y = cy - r * 0.75 + i * r * 0.62
            d.rectangle((c - r * 1.2 * frac, y, c + r * 1.2 * frac, y + r * 0.36), fill=255)


@lru_cache(maxsize=64)
def _pattern_field(pattern: str, size: int, variant: int = 0) -> FloatArray:
    """The secondary-colour weight of a pattern, 0..1, on a tile 1.5x the canvas (crop = phase)."""
    n = _tile(size)
    x, y = _grid(n)
    s = size / 128.0
    rng = np.random.default_rng(1000 + variant)
    if pattern == "striped":
        f = _bands(y, 12 * s, 4.6 * s)
        return f if variant == 0 else np.ascontiguousarray(_bands(x, 9 * s, 2.6 * s))
    if pattern == "checked":
        p = 13 * s
        h, v = _bands(y, p, 4.6 * s), _bands(x, p, 4.6 * s)
        return (0.5 * np.maximum(h, v) + 0.5 * h * v).astype(np.float32)
    if pattern == "dotted":
        p = 13 * s
        r = 2.6 * s
        dx = np.abs(((x / p) % 1.0) - 0.5) * p
        dy = np.abs(((y / p) % 1.0) - 0.5) * p
        d1 = np.hypot(dx, dy)
        dx2 = np.abs((((x + p / 2) / p) % 1.0) - 0.5) * p
        dy2 = np.abs((((y + p / 2) / p) % 1.0) - 0.5) * p
        d = np.minimum(d1, np.hypot(dx2, dy2))
        return np.clip(r - d + 0.5, 0, 1).astype(np.float32)
    if pattern == "floral":
        return _draw_field(n, lambda d, k: _flowers(d, k, n, 24 * s, rng))
    if pattern == "graphic":
        return _draw_field(n, lambda d, k: _graphic(d, k, n, variant))
    if pattern == "geometric":
        p = 18 * s
        return np.maximum(_bands(x + y, p * 1.414, 2.6 * s), _bands(x - y, p * 1.414, 2.6 * s))
    if pattern == "herringbone":
        col = 10 * s
        k = np.floor(x / col)
        u = y + np.where(k % 2 == 0, 1.0, -1.0) * (x % col)
        f = _bands(u, 7 * s, 2.8 * s)
        seam = _bands(x, col, 1.0 * s)
        return np.clip(f * (1 - seam) + 0.3 * seam, 0, 1).astype(np.float32)
    return np.zeros((n, n), np.float32)


@dataclass(frozen=True)
class _Material:
    """A material's texture fields on a tile: ``mult`` scales the colour, ``add`` is a sheen (in
    units of full white), ``edge`` how strongly edges darken, ``opacity`` < 1 for glass."""

    mult: FloatArray
    add: FloatArray | None
    edge: float
    opacity: float = 1.0


@lru_cache(maxsize=64)
def _material(material: str, size: int) -> _Material:
    n = _tile(size)
    x, y = _grid(n)
    s = size / 128.0
    rng = np.random.default_rng(
        2000 + sorted(set(VOCABS[Domain.FASHION].materials + VOCABS[Domain.HOME].materials)).index(material)
    )
    fine = rng.standard_normal((n, n)).astype(np.float32)
    one = np.ones((n, n), np.float32)

    def f32(a: npt.ArrayLike) -> FloatArray:
        return np.asarray(a, dtype=np.float32)

    if material in ("cotton", "synthetic"):
        mult = 1 + 0.025 * fine
        add = f32(0.05 * np.clip(_smooth_noise(rng, n, 40 * s), 0, None)) if material == "synthetic" else None
        return _Material(f32(mult), add, 0.28)
    if material == "denim":
        twill = np.sin(2 * np.pi * (x + 0.5 * y) / (3.4 * s))
        fade = _smooth_noise(rng, n, 18 * s)
        mult = 1 + 0.08 * twill + 0.04 * fine + 0.05 * fade
        return _Material(f32(mult), f32(0.05 * np.clip(fade, 0, None)), 0.3)
    if material == "knit":
        ribs = np.sin(2 * np.pi * x / (4.2 * s))
        vee = np.sin(2 * np.pi * (y / (3.2 * s) + np.abs(((x / (4.2 * s)) % 1) - 0.5)))
        return _Material(f32(1 + 0.1 * ribs + 0.04 * vee + 0.03 * fine), None, 0.3)
    if material == "wool":
        fuzz = _smooth_noise(rng, n, 2.2 * s)
        return _Material(
            f32(1 + 0.05 * fuzz + 0.05 * fine + 0.015 * _smooth_noise(rng, n, 14 * s)), None, 0.34
        )
    if material == "silk":
        warp = _smooth_noise(rng, n, 40 * s)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * ((0.6 * x + y) / (45 * s)) + 1.2 * warp)
        return _Material(f32(0.96 + 0.02 * fine), f32(0.2 * wave**3), 0.26)
    if material == "leather":
        grain = _smooth_noise(rng, n, 1.6 * s)
        spec = np.exp(-((((x - y) / (14 * s)) % 6.0 - 3.0) ** 2) * 1.5)
        return _Material(f32(1 + 0.04 * grain), f32(0.13 * spec), 0.36)
    if material == "linen":
        slub = _smooth_noise(rng, n, 3 * s, stretch=(5.0, 0.5))
        hatch = np.sin(2 * np.pi * x / (2.6 * s)) * np.sin(2 * np.pi * y / (2.6 * s))
        return _Material(f32(1 + 0.06 * slub + 0.03 * hatch + 0.02 * fine), None, 0.28)
    if material == "fabric":
        hatch = np.sin(2 * np.pi * x / (3 * s)) * np.sin(2 * np.pi * y / (3 * s))
        slub = _smooth_noise(rng, n, 3 * s, stretch=(4.0, 0.6))
        return _Material(f32(1 + 0.05 * hatch + 0.03 * slub + 0.025 * fine), None, 0.3)
    if material == "velvet":
        crush = _smooth_noise(rng, n, 16 * s)
        return _Material(f32(1 + 0.07 * crush + 0.02 * fine), f32(0.08 * np.clip(crush, 0, None)), 0.5)
    if material in ("oak", "walnut"):
        warp = _smooth_noise(rng, n, 30 * s, stretch=(3.0, 1.0))
        streak = _smooth_noise(rng, n, 2 * s, stretch=(8.0, 0.4))
        grain = np.sin(2 * np.pi * (y / (9 * s) + 0.9 * warp))
        strength = 0.11 if material == "oak" else 0.15
        tone = 1.0 if material == "oak" else 0.8
        return _Material(f32(tone * (1 + strength * grain + 0.05 * streak)), None, 0.3)
    if material == "metal":
        brushed = _smooth_noise(rng, n, 1.5 * s, stretch=(10.0, 0.4))
        bands = sum(np.exp(-(((((x - c * n) / n) % 0.5 - 0.25) * n / (5 * s)) ** 2)) for c in (0.1, 0.33))
        return _Material(f32(0.95 + 0.03 * brushed), f32(0.22 * bands), 0.32)
    if material == "glass":
        streak = np.exp(-(((((x + 0.6 * y) / (38 * s)) % 1.0 - 0.5) * 8) ** 2))
        return _Material(one, f32(0.3 * streak), 0.2, opacity=0.6)
    if material == "rattan":
        cell = 8 * s
        cx, cy = np.floor(x / cell), np.floor(y / cell)
        along_y = np.abs(np.sin(np.pi * y / (cell / 3)))
        along_x = np.abs(np.sin(np.pi * x / (cell / 3)))
        weave = np.where((cx + cy) % 2 == 0, along_y, along_x)
        gaps = _bands(x, cell, 0.8 * s) + _bands(y, cell, 0.8 * s)
        return _Material(f32(0.82 + 0.28 * weave - 0.2 * np.clip(gaps, 0, 1) + 0.03 * fine), None, 0.3)
    if material == "marble":
        turb = 2.2 * _smooth_noise(rng, n, 30 * s) + 0.6 * _smooth_noise(rng, n, 9 * s)
        v = np.abs(np.sin(2 * np.pi * ((x + y) / (70 * s)) + turb))
        vein = (1 - v) ** 10
        return _Material(f32(1.02 - 0.4 * vein + 0.02 * _smooth_noise(rng, n, 20 * s)), f32(0.04 * one), 0.22)
    return _Material(one, None, 0.3)  # pragma: no cover - vocab materials are all handled above


@lru_cache(maxsize=16)
def _canvas_fields(size: int) -> tuple[FloatArray, FloatArray]:
    """Light from the top-left (a diagonal ramp) and the catalog backdrop's soft vignette."""
    x, y = _grid(size)
    u = (x + y) / (2 * size)
    light = (1.09 - 0.18 * u).astype(np.float32)
    r = np.hypot(x / size - 0.5, y / size - 0.45)
    backdrop = (1.0 - 0.05 * r**2 - 0.015 * (y / size)).astype(np.float32)
    return light, backdrop


# ==================================================================================================
# Colours
# ==================================================================================================

_RGB = {c.name: np.array(c.rgb, dtype=np.float32) for c in COLOURS}
_WOOD = {"oak": (196, 156, 108), "walnut": (96, 62, 42), "dark": (66, 46, 34), "black": (42, 42, 44)}
_METALS = {
    "gold": (198, 166, 92),
    "silver": (186, 188, 194),
    "black": (46, 46, 50),
    "chrome": (196, 200, 206),
}


def _luma(rgb: npt.NDArray[np.float32]) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _secondary(colour: str, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A pattern colour that contrasts with ``colour`` (light on dark, dark on light)."""
    base = _RGB[colour]
    lum = _luma(base)
    if lum < 100:
        options = (
            ["white", "beige", "yellow", "pink", "red"] if colour != "red" else ["white", "beige", "yellow"]
        )
    elif lum > 175:
        options = ["navy", "black", "red", "brown", "green", "blue"]
    else:
        options = ["white", "navy", "black", "beige"]
    options = [o for o in options if o != colour]
    return _RGB[options[int(rng.integers(len(options)))]]


def _trim_rgb(
    look: ItemLook, base: npt.NDArray[np.float32], rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """The companion colour of an item's trim layer (soles, legs, buckles, lenses, fringes)."""
    cat, mat = look.category, look.material
    metal = np.array(_METALS["gold" if rng.random() < 0.5 else "silver"], np.float32)
    if look.domain is Domain.FASHION:
        if cat == "sneakers":
            return np.array((214, 212, 206) if look.colour == "white" else (240, 238, 230), np.float32)
        if cat in ("boots", "heels", "loafers"):
            return np.array((58, 50, 46) if look.colour == "black" else (38, 34, 32), np.float32)
        if cat == "sandals":
            return np.array(
                (86, 60, 42) if look.colour in ("beige", "white") else (196, 158, 112), np.float32
            )
        if cat == "sunglasses":
            return (0.75 * np.array((26, 26, 30), np.float32) + 0.25 * base).astype(np.float32)
        if cat == "blazer" or cat == "coat":
            return (
                np.array((236, 236, 230), np.float32)
                if _luma(base) < 170
                else np.array((60, 60, 66), np.float32)
            )
        if cat == "jeans":
            return np.array(_METALS["gold"], np.float32)
        return metal
    if look.slot is Slot.RUG:
        return np.array((232, 226, 210), np.float32)
    if mat in ("oak", "walnut"):
        return np.array(_WOOD[mat], np.float32)
    if mat == "metal":
        return np.array(_METALS["black" if rng.random() < 0.6 else "gold"], np.float32)
    if mat == "glass":
        return np.array(_METALS["chrome"], np.float32)
    if mat == "marble":
        return np.array(_METALS["gold"], np.float32)
    if mat == "rattan":
        return np.array((196, 160, 112), np.float32)
    return np.array(
        _WOOD["oak" if look.shape == "slender" else "black" if look.shape == "boxy" else "dark"], np.float32
    )


# ==================================================================================================
# Rendering
# ==================================================================================================


@dataclass(frozen=True)
class _Object:
    """An item painted without its backdrop, channel-first: what ``photos`` pastes into scenes.

    ``rgb`` (3, S, S) float32 0..255; ``coverage`` (S, S) 0..1 of the silhouette; ``alpha`` is
    coverage times opacity (glass lets the background through); ``shadow`` (S, S) 0..1 is the drop
    shadow the catalog backdrop receives.
    """

    rgb: FloatArray
    coverage: FloatArray
    alpha: FloatArray
    shadow: FloatArray


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed % (1 << 64))


def _render_object(look: ItemLook, size: int, *, pose: bool = True) -> _Object:
    """Paint ``look`` at ``size`` px. ``pose=False`` skips the seeded scale/offset/rotation (photos
    place items on a body themselves) while keeping every other per-item variation identical."""
    rng = _rng(look.seed)
    # All draws happen in a fixed order, whatever is used, so pose=False changes nothing else.
    scale = rng.uniform(0.9, 1.0)
    angle = rng.uniform(-4.0, 4.0)
    off = rng.uniform(-0.03, 0.03, size=2) * size
    jitter = rng.normal(0.0, 3.0, size=3).astype(np.float32) * rng.uniform(0.5, 1.0)
    bright = rng.uniform(0.96, 1.04)
    n = _tile(size)
    phase = rng.integers(0, n - size, size=2)
    tphase = rng.integers(0, n - size, size=2)
    variant = int(rng.integers(_GRAPHIC_VARIANTS))
    stripe_dir = int(rng.random() < 0.25)
    sec = _secondary(look.colour, rng)
    trim_rgb = _trim_rgb(look, _RGB[look.colour], rng)

    sil = _silhouette(look.category, look.shape, size)
    if pose:
        c = size / 2.0
        a = math.radians(angle)
        cos, sin = math.cos(a) / scale, math.sin(a) / scale
        tx, ty = c + off[0], c + off[1]
        # inverse map: input = R(-a)/scale * (output - centre - offset) + centre
        coeffs = (cos, sin, c - cos * tx - sin * ty, -sin, cos, c + sin * tx - cos * ty)
        layers = sil.layers.transform(
            (size, size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR
        )
    else:
        layers = sil.layers
    packed = np.asarray(layers, dtype=np.float32) * (1.0 / 255.0)
    main, trim, detail, blur = packed[..., 0], packed[..., 1], packed[..., 2] * 2.0 - 1.0, packed[..., 3]
    cover = np.maximum(main, trim)

    base = np.clip(_RGB[look.colour] * bright + jitter, 0, 255)
    if look.pattern == "graphic":
        pat = _pattern_field("graphic", size, variant)
        py, px = (n - size) // 2 + (phase % max(1, size // 16)) - size // 32
    else:
        pat = _pattern_field(look.pattern, size, stripe_dir if look.pattern == "striped" else 0)
        py, px = phase
    p = pat[py : py + size, px : px + size]
    mat = _material(look.material, size)
    ty0, tx0 = tphase
    mult = mat.mult[ty0 : ty0 + size, tx0 : tx0 + size]

    light, _ = _canvas_fields(size)
    shade = light * (1.0 - mat.edge + mat.edge * blur)
    msum = float(main.sum())
    if msum > 0:
        shade = shade * (msum / max(float((shade * main).sum()), 1e-6))

    rgb = base[:, None, None] + (sec - base)[:, None, None] * p[None]
    rgb *= mult[None]
    rgb += (trim_rgb[:, None, None] - rgb) * trim[None]
    dark = np.minimum(detail, 0.0)
    lite = np.maximum(detail, 0.0)
    rgb *= (shade * (1.0 + 0.6 * dark))[None]
    rgb += (255.0 - rgb) * (0.55 * lite)[None]
    if mat.add is not None:
        rgb += (255.0 * mat.add[ty0 : ty0 + size, tx0 : tx0 + size] * (main - trim).clip(0, 1))[None]
    np.clip(rgb, 0.0, 255.0, out=rgb)
    alpha = cover if mat.opacity >= 1.0 else cover * (1.0 - (1.0 - mat.opacity) * np.clip(main - trim, 0, 1))
    sh = size // 40 + 1
    shadow = np.zeros_like(blur)
    shadow[sh:, sh // 2 + 1 :] = blur[:-sh, : -(sh // 2 + 1)]
    return _Object(rgb=rgb, coverage=cover, alpha=alpha.astype(np.float32), shadow=shadow)


def _check_size(owner: str, size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < MIN_SIZE:
        raise LookbookError(f"{owner} size: expected an int >= {MIN_SIZE}, got {size!r}")


def render_item(look: ItemLook, size: int = 128) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Paint one product shot of ``look``: its object centred on a light, slightly uneven backdrop.

    Parameters
    ----------
    look
        What the item is; its ``seed`` fixes every small variation, so the result is deterministic.
    size
        Canvas side in pixels (>= ``MIN_SIZE``). Silhouettes and fields are cached per size, so a
        batch at one size pays the drawing cost once.

    Returns
    -------
    rgb
        ``(size, size, 3)`` uint8.
    mask
        ``(size, size)`` bool, the object's pixels (coverage above one half).
    """
    _check_size("render_item", size)
    obj = _render_object(look, size)
    rng = _rng(look.seed ^ 0x5EED)
    tint = (
        np.array([247.0, 246.0, 243.0], np.float32)
        + rng.uniform(-3, 3)
        + rng.normal(0, 1.2, 3).astype(np.float32)
    )
    _, backdrop = _canvas_fields(size)
    bg = tint[:, None, None] * (backdrop * (1.0 - 0.2 * obj.shadow))[None]
    out = bg + (obj.rgb - bg) * obj.alpha[None]
    img = np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0))
    return img, obj.coverage > 0.5


def _save_png(rgb: npt.NDArray[np.uint8], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, format="PNG", compress_level=1)


def _render_chunk(args: tuple[list[ItemLook], list[str], int]) -> int:
    looks, paths, size = args
    for look, path in zip(looks, paths, strict=True):
        rgb, _ = render_item(look, size)
        _save_png(rgb, Path(path))
    return len(looks)


def _chunks(n: int, workers: int, target: int = 64) -> list[tuple[int, int]]:
    """Chunk bounds: big enough to amortise pickling, small enough to keep the bar moving."""
    step = max(1, min(target, math.ceil(n / max(1, workers * 4))))
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def render_items(
    looks: Sequence[ItemLook],
    paths: Sequence[Path],
    *,
    size: int = 128,
    workers: int = 2,
    show_progress: bool = True,
) -> None:
    """Render each look to a PNG at the matching path (parent folders are created).

    Work is split into chunks of a few dozen items and sent to a process pool of ``workers``
    (``1`` renders in-process, which tests and small batches prefer: no pool start-up). Each worker
    builds its own silhouette and field caches on first use, a fraction of a second.

    Parameters
    ----------
    looks, paths
        Parallel sequences; ``paths[i]`` receives ``looks[i]``.
    size
        Canvas side in pixels (>= ``MIN_SIZE``).
    workers
        Processes to use (>= 1).
    show_progress
        Show a tqdm bar over items.
    """
    if len(looks) != len(paths):
        raise LookbookError(
            f"render_items paths: expected one path per look ({len(looks)}), got {len(paths)}"
        )
    _check_size("render_items", size)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise LookbookError(f"render_items workers: expected an int >= 1, got {workers!r}")
    t0 = time.perf_counter()
    n = len(looks)
    bounds = _chunks(n, workers)
    tasks = [(list(looks[a:b]), [str(p) for p in paths[a:b]], size) for a, b in bounds]
    with tqdm(total=n, desc="rendering items", unit="img", disable=not show_progress) as bar:
        if workers == 1 or len(tasks) <= 1:
            for task in tasks:
                bar.update(_render_chunk(task))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for done in pool.map(_render_chunk, tasks):
                    bar.update(done)
    log.debug(
        "rendered %d items at %d px with %d workers in %.2fs", n, size, workers, time.perf_counter() - t0
    )
