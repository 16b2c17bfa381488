"""The contact sheet: drawn from a saved world, a sensible size, robust to what a world lacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from lookbook.datasets.contact_sheet import draw_contact_sheet
from lookbook.datasets.synthetic.photos import render_photos
from lookbook.datasets.synthetic.render import ItemLook, render_items
from lookbook.datasets.synthetic.vocab import COLOURS, VOCABS
from lookbook.datasets.world import World, save_world
from lookbook.errors import LookbookError
from lookbook.schema import Domain, Slot
from lookbook.tables import ITEMS_SCHEMA, PHOTOS_SCHEMA

ITEM_COLUMNS = ("item_id", "title", "slot", "category", "attributes", "image")


def make_world(root: Path, *, labelled: bool = True, per_slot: int = 2) -> Path:
    """A tiny fashion world: a few rendered items per slot, two outfits, two photos of them."""
    vocab = VOCABS[Domain.FASHION]
    rows, looks, by_slot = [], [], {}
    for s, slot in enumerate(vocab.slots):
        for j in range(per_slot):
            cats = vocab.categories[slot]
            item_look = ItemLook(
                Domain.FASHION,
                slot,
                cats[j % len(cats)],
                COLOURS[(3 * s + j) % len(COLOURS)].name,
                "solid" if j % 2 == 0 else vocab.patterns[1 + s % 5],
                vocab.materials_by_slot[slot][0],
                "regular",
                seed=10 * s + j,
            )
            item_id = f"{slot.value}-{j}"
            rows.append(
                {
                    "item_id": item_id,
                    "title": f"{item_look.colour} {item_look.category}",
                    "slot": slot.value,
                    "category": item_look.category,
                    "attributes": [("colour", item_look.colour)],
                    "image": f"images/{item_id}.png",
                }
            )
            looks.append(item_look)
            by_slot.setdefault(slot, []).append((item_id, item_look))
    render_items(looks, [root / r["image"] for r in rows], size=64, workers=1, show_progress=False)
    outfits = [
        [by_slot[s][0] for s in (Slot.TOP, Slot.BOTTOM, Slot.SHOES, Slot.BAG)],
        [by_slot[s][1] for s in (Slot.DRESS, Slot.OUTERWEAR, Slot.SHOES, Slot.ACCESSORY)],
    ]
    sets = pa.table({"set_id": ["outfit-a", "outfit-b"], "item_ids": [[i for i, _ in o] for o in outfits]})
    paths = [root / "photos" / f"p{i}.png" for i in range(len(outfits))]
    garments = render_photos(Domain.FASHION, outfits, [0, 1], paths, workers=1, show_progress=False)
    photos = pa.Table.from_pylist(
        [
            {
                "photo_id": f"p{i}",
                "image": f"photos/p{i}.png",
                "split": "test",
                "garments": [g.as_row() for g in gs] if labelled else [],
            }
            for i, gs in enumerate(garments)
        ],
        schema=PHOTOS_SCHEMA,
    )
    items = pa.Table.from_pylist(rows, schema=pa.schema([ITEMS_SCHEMA.field(c) for c in ITEM_COLUMNS]))
    save_world(World(items=items, sets=sets, photos=photos, meta={"domain": "fashion"}), root)
    return root


def test_contact_sheet_is_written_at_a_readable_size(tmp_path: Path) -> None:
    world = make_world(tmp_path / "world")
    out = draw_contact_sheet(world, tmp_path / "sheets" / "sheet.png")
    assert out == tmp_path / "sheets" / "sheet.png"
    with Image.open(out) as img:
        assert 1200 <= img.width <= 1600
        assert 1000 <= img.height <= 4000
        pixels = np.asarray(img.convert("RGB"))
    assert (pixels == 255).all(axis=-1).mean() > 0.4  # a white page ...
    assert pixels.reshape(-1, 3).std(axis=0).min() > 20  # ... with pictures on it


def test_contact_sheet_without_labelled_photos(tmp_path: Path) -> None:
    world = make_world(tmp_path / "world", labelled=False)
    out = draw_contact_sheet(world, tmp_path / "sheet.png", per_slot=3)
    with Image.open(out) as img:
        assert img.width >= 1200


def test_missing_images_become_labelled_grey_tiles(tmp_path: Path) -> None:
    world = make_world(tmp_path / "world")
    (world / "images" / "top-0.png").unlink()
    out = draw_contact_sheet(world, tmp_path / "sheet.png")
    assert out.exists()


def test_per_slot_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(LookbookError, match="per_slot"):
        draw_contact_sheet(tmp_path, tmp_path / "sheet.png", per_slot=0)
