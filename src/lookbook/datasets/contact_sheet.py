"""One picture of a world, for a person: does this catalog, these outfits, these photos look right?

Numbers in ``World.summary()`` say how big a world is, not whether its pictures make sense. The
contact sheet shows the things a reviewer checks by eye, in one PNG: a row of thumbnails per slot
(are the categories and colours recognisable, do the labels match the pictures?), three sets (do
the outfits or rooms go together?) and two community photos with their labelled boxes drawn on
(do the boxes sit on the garments?). It goes into the README, so it is laid out on a plain white
page with the fonts Pillow ships with (no font files to find).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from lookbook.datasets.synthetic.vocab import VOCABS
from lookbook.datasets.world import World, load_world
from lookbook.errors import LookbookError
from lookbook.schema import SLOT_COLOURS, Domain, Slot

log = logging.getLogger(__name__)

__all__ = ["draw_contact_sheet"]

_MARGIN = 28
_GAP = 12
_LABEL_W = 150
_INK = (34, 34, 38)
_MUTED = (118, 118, 126)
_RULE = (226, 226, 230)
_NO_SLOT = (120, 120, 120)  # a garment box with no slot (or ``other``); slots use SLOT_COLOURS


@dataclass(frozen=True)
class _Thumb:
    image: str | None
    line1: str
    line2: str


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: Any, width: float) -> str:
    """``text``, cut with an ellipsis so it fits ``width`` px."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _open(root: Path | None, rel: str | None) -> Image.Image | None:
    if not rel:
        return None
    path = Path(rel) if root is None or Path(rel).is_absolute() else root / rel
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, ValueError):
        log.warning("contact sheet: cannot open image %s", path)
        return None


def _missing_image_tile(size: tuple[int, int], text: str) -> Image.Image:
    img = Image.new("RGB", size, (236, 236, 238))
    d = ImageDraw.Draw(img)
    font = _font(13)
    w = d.textlength(text, font=font)
    d.text(((size[0] - w) / 2, size[1] / 2 - 8), text, fill=_MUTED, font=font)
    return img


def _items_by_slot(
    world: World, per_slot: int
) -> tuple[list[tuple[str, int, list[_Thumb]]], dict[str, _Thumb]]:
    """Up to ``per_slot`` items of each slot, taking categories in turn so each row shows variety."""
    cols = world.items.select(["item_id", "slot", "category", "attributes", "image"]).to_pylist()
    thumbs: dict[str, _Thumb] = {}
    by_slot: dict[str, dict[str, list[str]]] = {}
    for row in cols:
        attrs = dict(row["attributes"] or [])
        colour = attrs.get("colour") or attrs.get("color") or ""
        category = row["category"] or ""
        thumbs[row["item_id"]] = _Thumb(row["image"], category or row["item_id"], colour)
        by_slot.setdefault(row["slot"] or "other", {}).setdefault(category, []).append(row["item_id"])
    domain = world.meta.get("domain")
    order: list[str] = []
    if domain in (d.value for d in Domain):
        order = [s.value for s in VOCABS[Domain(domain)].slots]
    order += [s.value for s in Slot if s.value in by_slot and s.value not in order]
    order += sorted(s for s in by_slot if s not in order)
    rows = []
    for slot in order:
        cats = by_slot.get(slot)
        if not cats:
            continue
        queues = [list(ids) for ids in cats.values()]
        picked: list[str] = []
        while len(picked) < per_slot and any(queues):
            for q in queues:
                if q and len(picked) < per_slot:
                    picked.append(q.pop(0))
        rows.append((slot, sum(len(v) for v in cats.values()), [thumbs[i] for i in picked]))
    return rows, thumbs


def _pick_sets(world: World, thumbs: dict[str, _Thumb], n: int = 3) -> list[tuple[str, list[_Thumb]]]:
    out = []
    for row in world.sets.select(["set_id", "item_ids"]).to_pylist():
        ids = [i for i in (row["item_ids"] or []) if i in thumbs]
        if len(ids) >= 2:
            out.append((row["set_id"], [thumbs[i] for i in ids]))
        if len(out) == n:
            break
    return out


def _pick_photos(world: World, n: int = 2) -> list[dict[str, Any]]:
    rows = world.photos.select(["photo_id", "image", "garments"]).to_pylist()
    labelled = [r for r in rows if r["garments"]]
    return (labelled or rows)[:n]


def _draw_thumb(
    sheet: Image.Image,
    d: ImageDraw.ImageDraw,
    root: Path | None,
    thumb: _Thumb,
    x: int,
    y: int,
    t: int,
    fonts: tuple[Any, Any],
) -> None:
    img = _open(root, thumb.image)
    img = (
        _missing_image_tile((t, t), "no image")
        if img is None
        else img.resize((t, t), Image.Resampling.LANCZOS)
    )
    sheet.paste(img, (x, y))
    d.rectangle((x - 1, y - 1, x + t, y + t), outline=_RULE)
    d.text((x + 1, y + t + 5), _fit_text(d, thumb.line1, fonts[0], t), fill=_INK, font=fonts[0])
    d.text((x + 1, y + t + 22), _fit_text(d, thumb.line2, fonts[1], t), fill=_MUTED, font=fonts[1])


def _photo_scale(img: Image.Image, box: tuple[int, int]) -> float:
    return min(box[0] / img.width, box[1] / img.height)


def _draw_photo(
    sheet: Image.Image,
    d: ImageDraw.ImageDraw,
    img: Image.Image,
    photo: dict[str, Any],
    x: int,
    y: int,
    box: tuple[int, int],
    font: Any,
) -> tuple[int, int]:
    """Paste one photo scaled to fit ``box`` with its garment boxes; returns the drawn size."""
    scale = _photo_scale(img, box)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    sheet.paste(img.resize((w, h), Image.Resampling.LANCZOS), (x, y))
    d.rectangle((x - 1, y - 1, x + w, y + h), outline=_RULE)
    garments = photo.get("garments") or []
    for g in garments:
        colour = SLOT_COLOURS.get(g["slot"] or "other", _NO_SLOT)
        box = (x + g["x0"] * scale, y + g["y0"] * scale, x + g["x1"] * scale - 1, y + g["y1"] * scale - 1)
        d.rectangle(box, outline=colour, width=3)
    # Tags go on top of every box, nudged down while they would cover an earlier tag.
    placed: list[tuple[float, float, float, float]] = []
    for g in garments:
        colour = SLOT_COLOURS.get(g["slot"] or "other", _NO_SLOT)
        x0, y0 = x + g["x0"] * scale, y + g["y0"] * scale
        label = (g["slot"] or "other").replace("_", " ")
        tw = d.textlength(label, font=font) + 8
        tx = min(x0, x + w - tw - 2)
        ty = y0 - 19 if y0 - 19 >= y else y0 + 2
        while (
            any(tx < p[2] and p[0] < tx + tw and ty < p[3] and p[1] < ty + 18 for p in placed)
            and ty < y + h - 18
        ):
            ty += 19
        placed.append((tx, ty, tx + tw, ty + 18))
        d.rectangle((tx, ty, tx + tw, ty + 18), fill=colour)
        d.text((tx + 4, ty + 2), label, fill=(255, 255, 255), font=font)
    return w, h


def draw_contact_sheet(world_dir: Path, out: Path, *, per_slot: int = 8) -> Path:
    """Draw a PNG a person looks at to check a world: items by slot, three outfits, two photos with boxes.

    Parameters
    ----------
    world_dir
        A world folder written by ``save_world`` (read with ``load_world``; image paths resolve
        against it).
    out
        Where to write the PNG (parent folders are created).
    per_slot
        Thumbnails per slot row (>= 1). The page is about 1400 px wide and widens up to 1600 px
        before thumbnails shrink, so the default of 8 gives ~136 px thumbnails.

    Returns
    -------
    Path
        ``out``.
    """
    if isinstance(per_slot, bool) or not isinstance(per_slot, int) or per_slot < 1:
        raise LookbookError(f"draw_contact_sheet per_slot: expected an int >= 1, got {per_slot!r}")
    world = load_world(Path(world_dir))
    root = world.root
    rows, thumbs = _items_by_slot(world, per_slot)
    sets = _pick_sets(world, thumbs)
    photos = _pick_photos(world)
    longest_set = max((len(items) for _, items in sets), default=0)
    columns = max(per_slot, longest_set, 1)

    width = 1400
    t = (width - 2 * _MARGIN - _LABEL_W - (columns - 1) * _GAP) // columns
    if t < 120:
        width = min(1600, 2 * _MARGIN + _LABEL_W + columns * (120 + _GAP))
        t = max(48, min(150, (width - 2 * _MARGIN - _LABEL_W - (columns - 1) * _GAP) // columns))
    t = min(t, 150)
    cell_h = t + 44
    title_f, h2_f, label_f, small_f, tag_f = _font(30), _font(21), _font(15), _font(13), _font(14)
    domain = world.meta.get("domain") or "unknown domain"
    # Two photos side by side, as large as half the page allows (portrait ones capped in height).
    photo_box = ((width - 2 * _MARGIN - _GAP * 2) // 2, 600)
    photo_images = [
        _open(root, p["image"]) or _missing_image_tile((400, 300), "missing photo") for p in photos
    ]
    photo_h = max((round(img.height * _photo_scale(img, photo_box)) for img in photo_images), default=0)

    height = _MARGIN + 40 + 30 + 24
    height += 40 + len(rows) * (cell_h + _GAP)
    height += (40 + len(sets) * (cell_h + _GAP)) if sets else 0
    height += (40 + photo_h + 36) if photos else 0
    height += _MARGIN

    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    y = _MARGIN
    d.text((_MARGIN, y), f"Lookbook demo world: {domain}", fill=_INK, font=title_f)
    y += 42
    summary = world.summary()
    counts = "   ·   ".join(
        f"{summary[k]:,} {k}"
        for k in ("items", "users", "events", "sets", "photos")
        if summary.get(k) is not None
    )
    d.text((_MARGIN, y), counts, fill=_MUTED, font=label_f)
    y += 30
    d.line((_MARGIN, y, width - _MARGIN, y), fill=_RULE, width=2)
    y += 24

    def section(title: str, note: str) -> None:
        nonlocal y
        d.text((_MARGIN, y), title, fill=_INK, font=h2_f)
        tw = d.textlength(title, font=h2_f)
        d.text((_MARGIN + tw + 14, y + 5), note, fill=_MUTED, font=small_f)
        y += 40

    section("Catalog", f"up to {per_slot} items per slot, categories taken in turn")
    for slot, count, items in rows:
        d.text((_MARGIN, y + t // 2 - 16), slot.replace("_", " "), fill=_INK, font=h2_f)
        d.text((_MARGIN, y + t // 2 + 12), f"{count:,} items", fill=_MUTED, font=small_f)
        for j, thumb in enumerate(items):
            _draw_thumb(sheet, d, root, thumb, _MARGIN + _LABEL_W + j * (t + _GAP), y, t, (label_f, small_f))
        y += cell_h + _GAP

    if sets:
        kind = (
            "outfits"
            if domain == Domain.FASHION.value
            else "rooms"
            if domain == Domain.HOME.value
            else "sets"
        )
        section("Sets", f"the first three {kind} of the world")
        for i, (set_id, items) in enumerate(sets):
            d.text((_MARGIN, y + t // 2 - 16), f"set {i + 1}", fill=_INK, font=h2_f)
            d.text(
                (_MARGIN, y + t // 2 + 12),
                _fit_text(d, set_id, small_f, _LABEL_W - 10),
                fill=_MUTED,
                font=small_f,
            )
            for j, thumb in enumerate(items[:columns]):
                _draw_thumb(
                    sheet, d, root, thumb, _MARGIN + _LABEL_W + j * (t + _GAP), y, t, (label_f, small_f)
                )
            y += cell_h + _GAP

    if photos:
        labelled = any(p["garments"] for p in photos)
        section("Photos", "labelled garment boxes, coloured by slot" if labelled else "no labelled photos")
        x = _MARGIN
        for photo, img in zip(photos, photo_images, strict=True):
            pw, ph = _draw_photo(sheet, d, img, photo, x, y, photo_box, tag_f)
            n = len(photo["garments"] or [])
            caption = f"{photo['photo_id']}  ·  {n} garment{'s' if n != 1 else ''}"
            d.text((x, y + ph + 8), _fit_text(d, caption, small_f, pw), fill=_MUTED, font=small_f)
            x += pw + _GAP * 2
        y += photo_h + 36
    sheet = sheet.crop((0, 0, width, min(height, y + _MARGIN)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG", optimize=True)
    log.info("contact sheet of %s written to %s (%dx%d)", world_dir, out, sheet.width, sheet.height)
    return out
