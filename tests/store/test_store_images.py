"""Item images are decoded, fully and within the pixel limit, before they are accepted.

Found by probing a served shop: a 12000 x 12000 PNG was accepted after half a minute, and a PNG
with valid chunks but garbage pixel data was accepted and served (and encoded to a zero vector).
Both are now row errors naming ``image``, and nothing of them lands under ``images/``.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lookbook.schema import Item
from lookbook.store import DEFAULT_MAX_IMAGE_PIXELS, IMAGES_DIR, Store, ingest_file, open_store


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png(path: Path, width: int, height: int, idat: bytes) -> Path:
    """A PNG whose chunks are all well formed (lengths, CRCs), with the given pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
    return path


def _garbage_png(path: Path) -> Path:
    return _png(path, 32, 32, np.random.default_rng(0).bytes(600))


def _huge_png(path: Path) -> Path:
    """A header declaring 12000 x 12000 pixels (144 million) over a few bytes of data."""
    return _png(path, 12_000, 12_000, zlib.compress(b"\x00" * 64))


def _stored_images(store: Store) -> list[Path]:
    return [p for p in (store.root / IMAGES_DIR).rglob("*") if p.is_file()]


def test_the_default_limit_is_the_uploads_limit() -> None:
    assert DEFAULT_MAX_IMAGE_PIXELS == 40_000_000


# Pillow warns on opening a header that declares more than its own threshold (89M pixels); the
# store refuses such an image anyway, so the warning is expected here.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (_garbage_png, "does not decode"),
        (_huge_png, "must have at most 40,000,000 pixels, got 12000 x 12000"),
        (lambda p: (p.write_text("not a picture"), p)[1], "must be an image"),
    ],
    ids=["garbage-pixels", "over-the-limit", "not-an-image"],
)
def test_a_bad_image_is_a_row_error_naming_image(
    store: Store, tmp_path: Path, write_csv: Any, make_image: Any, make: Any, fragment: str
) -> None:
    make_image(tmp_path / "good.png", b"good")
    make(tmp_path / "bad.png")
    path = write_csv(
        tmp_path / "items.csv",
        ["item_id", "title", "image"],
        [["a", "Good", "good.png"], ["b", "Bad", "bad.png"]],
    )
    report = ingest_file(store, "items", path, show_progress=False)
    assert (report.loaded, report.rejected) == (1, 1)
    err = report.errors[0]
    assert (err.line, err.field) == (3, "image") and fragment in err.message
    assert store.item_ids().ids.tolist() == ["a"]
    assert len(_stored_images(store)) == 1  # the bad image was never placed


def test_records_are_checked_the_same_and_strict_writes_nothing(store: Store, tmp_path: Path) -> None:
    bad = _garbage_png(tmp_path / "bad.png")
    report = store.upsert_items([Item("x", "X", image=str(bad))], strict=True)
    assert not report.committed and report.errors[0].field == "image"
    assert store.counts()["items"] == 0 and _stored_images(store) == []


def test_the_pixel_limit_is_the_stores(project: Path, tmp_path: Path, make_image: Any) -> None:
    image = make_image(tmp_path / "eight.png", b"8x8")  # 64 pixels
    with open_store(project, max_image_pixels=63) as store:
        report = store.upsert_items([Item("x", "X", image=str(image))])
        assert report.rejected == 1 and "at most 63 pixels, got 8 x 8 = 64" in report.errors[0].message
        store.max_image_pixels = 64
        assert store.upsert_items([Item("x", "X", image=str(image))]).inserted == 1


def test_an_image_already_in_the_project_is_not_decoded_again(
    catalog: Store, tmp_path: Path, make_image: Any
) -> None:
    image = make_image(tmp_path / "a.png", b"a")
    catalog.upsert_items([Item("x", "X", image=str(image))])
    stored = catalog.get_item("x")
    catalog.max_image_pixels = 1  # would refuse it if it were decoded again
    again = catalog.upsert_items([stored])
    assert (again.rejected, again.unchanged) == (0, 1)
