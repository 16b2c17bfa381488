"""Content-addressed item images: ``PROJECT/images/<sha[:2]>/<sha256>.<ext>``.

Why content addresses: the same picture used by two items, or ingested twice from two folders, is
stored once; the image feature cache (keyed by image hash) needs no second hashing pass; and an
image file never changes once written, so nothing can see a half-replaced picture.

Images are placed *before* the ingest transaction commits, each under a temporary name and then
renamed, so a killed ingest can leave at most an unreferenced (orphan) image behind, which is
harmless, and never a table row pointing at a missing or partial file. Files are hard-linked
(no copy, no extra disk) when source and project share a file system, else copied. A hard link
shares the source's bytes: editing the source picture in place afterwards would change the stored
one too, so treat ingested images as immutable.

Before an image is placed it is decoded, fully, with a pixel limit (``max_pixels``, by default the
same 40 million as photo uploads): the header's declared size is checked first, so a 12000 x 12000
picture is refused without decoding a pixel, and then every pixel is decoded, so a file whose
chunks are valid but whose pixel data is garbage is refused here rather than accepted, served and
encoded to a zero vector. Only the formats a browser shows are read (``IMAGE_FORMATS``): Pillow
can open more, some through external programs, none of which a shop page could display.
Images already stored in the project (``images/xx/<sha256>.ext``, read back from the store) were
checked when they came in and are not decoded again; URIs are kept as given.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from lookbook.store.sql import IMAGES_DIR

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "IMAGE_FORMATS",
    "IMAGE_TABLE_SCHEMA",
    "image_error",
    "is_uri",
    "place_images",
    "stored_name",
]

#: Largest image accepted, in pixels: the same default as photo uploads (``serving``'s
#: ``max_upload_pixels``), about a 7700 x 5200 photo, far above any product shot.
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
#: Formats an item image may be in: what a browser shows.
IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_STORED = re.compile(rf"^{IMAGES_DIR}/([0-9a-f]{{2}})/([0-9a-f]{{64}})\.[A-Za-z0-9]+$")
_CHUNK = 1 << 20

#: One row per distinct image value of an ingest: where it is stored, its hash, or why it failed.
IMAGE_TABLE_SCHEMA = pa.schema(
    [("value", pa.string()), ("stored", pa.string()), ("sha256", pa.string()), ("error", pa.string())]
)


def is_uri(value: str) -> bool:
    """``https://...``, ``s3://...``: kept as given (not fetched, not checked)."""
    return bool(_URI.match(value))


def stored_name(sha256: str, suffix: str) -> str:
    """Project-relative path of an image with this hash (``images/ab/ab12....jpg``)."""
    ext = suffix.lower().lstrip(".") or "bin"
    return f"{IMAGES_DIR}/{sha256[:2]}/{sha256}.{ext}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _place(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        tmp.replace(dst)
    finally:
        if tmp.exists():
            tmp.unlink()


def image_error(path: Path, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> str | None:
    """Why the image file at ``path`` is not acceptable (``None``: it is); decodes it fully.

    The declared size is checked against ``max_pixels`` (and Pillow's own bomb threshold, where it
    only warns) before any pixel is decoded; then the whole image is decoded, so corrupt or
    truncated pixel data is found now. The message is what follows "field image:" in a row error.
    """
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as im:
            w, h = im.size
            limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
            if w < 1 or h < 1 or w * h > limit:
                return f"must have at most {limit:,} pixels, got {w} x {h} = {w * h:,}"
            im.load()
    except Image.DecompressionBombError as exc:
        return f"must have at most {max_pixels:,} pixels ({exc})"
    except UnidentifiedImageError:
        return f"must be an image in one of {list(IMAGE_FORMATS)} (cannot identify {path.name})"
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return f"must be a readable image: it does not decode ({exc})"
    return None


def _store_one(
    value: str, base_dir: Path, root: Path, max_pixels: int
) -> tuple[str | None, str | None, str | None]:
    """(stored path, sha256, error) for one image value."""
    if is_uri(value):
        return value, None, None
    already = _STORED.match(value)
    if already and (root / value).is_file():
        return value, already.group(2), None
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        return None, None, f"file must exist (looked for {path})"
    error = image_error(path, max_pixels)
    if error is not None:
        return None, None, error
    try:
        sha = _sha256(path)
        name = stored_name(sha, path.suffix)
        _place(path, root / name)
    except OSError as exc:
        return None, None, f"file cannot be read ({exc.strerror or exc})"
    return name, sha, None


def place_images(
    values: Sequence[str],
    *,
    base_dir: Path | None,
    root: Path,
    show_progress: bool = False,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> pa.Table:
    """Check, hash and place each distinct image value; returns a table in ``IMAGE_TABLE_SCHEMA``.

    Relative paths resolve against ``base_dir`` (the input file's folder; the working directory
    when ``None``). A value already of the form ``images/xx/<sha256>.ext`` that exists in the
    project is kept as it is, so tables read back from the store can be upserted again.
    Each new image is decoded first (``image_error``, at most ``max_pixels``); one that fails is
    not placed and its row carries the reason. Decoding and hashing run on a few threads (Pillow's
    decoders and ``hashlib`` release the GIL).
    """
    base = (base_dir or Path.cwd()).resolve()
    values = list(values)
    results: list[tuple[str | None, str | None, str | None]] = []
    if values:
        workers = min(8, 2 * (os.cpu_count() or 1), len(values))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            it = pool.map(lambda v: _store_one(v, base, root, max_pixels), values)
            results = list(tqdm(it, total=len(values), desc="images", unit="img", disable=not show_progress))
    bad = sum(1 for r in results if r[2] is not None)
    log.debug("placed %d images (%d refused) under %s", len(values) - bad, bad, root / IMAGES_DIR)
    return pa.table(
        {
            "value": pa.array(values, pa.string()),
            "stored": pa.array([r[0] for r in results], pa.string()),
            "sha256": pa.array([r[1] for r in results], pa.string()),
            "error": pa.array([r[2] for r in results], pa.string()),
        },
        schema=IMAGE_TABLE_SCHEMA,
    )
