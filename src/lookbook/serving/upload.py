"""Photo uploads: bytes from a client to an RGB array the garment detector can take, or a 4xx.

Every check happens before the expensive step it protects, and each refusal says what is wrong:

- size: the upload is read at most ``limit + 1`` bytes (a ``Content-Length`` can lie) -> 413;
- type: the first bytes must be JPEG, PNG or WebP (a file name or a declared content type says
  nothing about the content) -> 415;
- decompression bombs: ``Image.open`` only parses the header, so the declared pixel count is
  checked against the limit before one pixel is decoded (Pillow's own ``DecompressionBombError``
  is caught too, and its warning threshold is treated as a refusal) -> 413;
- a header that parses but data that does not decode (truncated, corrupt) -> 400.

Decoding then applies the EXIF orientation (browsers show photos upright, so boxes must be found on
the upright photo to land where the shopper sees the garment) and reduces the photo to the side the
detector works at; JPEGs are reduced inside the decoder (``draft``), which never builds the full
frame. Boxes found on the reduced photo are scaled back to the upright original's pixels.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from lookbook.errors import LookbookError

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]

#: The formats a browser shows and the detector reads, by the bytes they start with.
FORMATS = ("JPEG", "PNG", "WEBP")
ACCEPT = "image/jpeg,image/png,image/webp"
#: Longest side of the copy of an upload the shop-the-look page shows back to the shopper.
PREVIEW_SIDE = 900


class PhotoRejected(LookbookError):
    """An upload that cannot be a photo: ``status`` is the HTTP status that says why (400, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded upload: ``rgb`` is the upright photo reduced to at most the analysis side,
    ``width`` x ``height`` the upright original's size (what boxes are reported in), ``format``
    the format its bytes were."""

    rgb: U8
    width: int
    height: int
    format: str

    def to_original(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box on the analysed photo, in the upright original's pixels (clipped to the photo)."""
        sx, sy = self.width / self.rgb.shape[1], self.height / self.rgb.shape[0]
        x0, y0, x1, y1 = box
        w, h = float(self.width), float(self.height)
        return (
            min(max(x0 * sx, 0.0), w),
            min(max(y0 * sy, 0.0), h),
            min(max(x1 * sx, 0.0), w),
            min(max(y1 * sy, 0.0), h),
        )

    def preview_jpeg(self, side: int = PREVIEW_SIDE, quality: int = 82) -> bytes:
        """A small JPEG of the photo for the page to show back (the upload itself is not kept)."""
        im = Image.fromarray(self.rgb)
        im.thumbnail((side, side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality, optimize=True)
        return buf.getvalue()


def read_limited(stream: BinaryIO, limit: int, name: str = "photo") -> bytes:
    """At most ``limit`` bytes of ``stream``; one more byte than that is a 413 (never trusts the
    declared length: it reads and counts)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PhotoRejected(413, f"{name}: the file is larger than {_megabytes(limit)} ({limit:,} bytes)")
    return data


def sniff(data: bytes) -> str | None:
    """``"JPEG"``, ``"PNG"`` or ``"WEBP"`` from the first bytes, or ``None``."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_photo(data: bytes, *, max_pixels: int, name: str = "photo") -> str:
    """The format, if the header says this is a photo of at most ``max_pixels``, else
    ``PhotoRejected``; decodes no pixel (cheap enough to run before queueing for the detector)."""
    fmt = _format(data, name)
    with _open(data, fmt, max_pixels, name):
        return fmt


def decode_photo(data: bytes, *, max_pixels: int, max_side: int, name: str = "photo") -> Photo:
    """The upload as an upright RGB array of at most ``max_side`` pixels a side (see the module doc)."""
    fmt = _format(data, name)
    with _open(data, fmt, max_pixels, name) as im:
        stored_w, stored_h = im.size  # from the header, before draft reduces it
        if fmt == "JPEG":  # let the decoder scale down by 1/2, 1/4 or 1/8: the full frame is never built
            im.draft("RGB", (max_side, max_side))
        try:
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            raise PhotoRejected(400, f"{name}: the {fmt} image is truncated or corrupt ({exc})") from None
        upright = _upright(im)
        turned = upright.size != im.size
        width, height = (stored_h, stored_w) if turned else (stored_w, stored_h)
        try:
            upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            rgb = _to_rgb(upright)
        except (OSError, ValueError) as exc:  # a pixel mode no conversion exists for
            raise PhotoRejected(415, f"{name}: unsupported {fmt} pixel format {im.mode!r} ({exc})") from None
    log.debug("photo %s %dx%d analysed at %dx%d", fmt, width, height, rgb.shape[1], rgb.shape[0])
    return Photo(rgb, width, height, fmt)


def check_image(data: bytes, *, max_pixels: int, name: str, formats: Sequence[str] = FORMATS) -> str:
    """The format, once every pixel of ``data`` decoded (a catalog image is kept and encoded, so a
    header that parses is not enough: garbage pixel data must fail here, not in the encoder);
    ``PhotoRejected`` otherwise: not one of ``formats`` (415), over ``max_pixels`` by its header,
    checked before decoding (413), or pixels that do not decode (400).

    The whole frame is decoded (no JPEG ``draft``): a bounded cost, since ``max_pixels`` holds, and
    the only way to know every pixel is there. Blocking: call it outside any lock the shop holds.
    """
    if not data:
        raise PhotoRejected(400, f"{name}: the file is empty")
    fmt = sniff(data)
    if fmt is None or fmt not in formats:
        found = f"it is {fmt}" if fmt else _what(data)
        raise PhotoRejected(
            415, f"{name}: expected {' or '.join(formats)} bytes; the content is not ({found})"
        )
    with _open(data, fmt, max_pixels, name) as im:
        try:
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            raise PhotoRejected(400, f"{name}: the {fmt} image is truncated or corrupt ({exc})") from None
    return fmt


# ----------------------------------------------------------------------------------------- helpers
def _open(data: bytes, fmt: str, max_pixels: int, name: str) -> Image.Image:
    """``Image.open`` restricted to the sniffed format, with the declared size checked."""
    try:
        im = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise PhotoRejected(413, f"{name}: the image declares too many pixels ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoRejected(400, f"{name}: the {fmt} header is truncated or corrupt ({exc})") from None
    w, h = im.size
    # Pillow warns (DecompressionBombWarning) from MAX_IMAGE_PIXELS on and only refuses from twice
    # that; a warning is no protection, so both thresholds refuse here, whatever the limit says.
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    if w * h > limit or w < 1 or h < 1:
        im.close()
        declared = f"{w} x {h} = {w * h:,} pixels"
        raise PhotoRejected(413, f"{name}: the image declares {declared}; at most {limit:,}")
    return im


def _format(data: bytes, name: str) -> str:
    if not data:
        raise PhotoRejected(400, f"{name}: the file is empty")
    fmt = sniff(data)
    if fmt is None:
        raise PhotoRejected(
            415, f"{name}: expected a JPEG, PNG or WebP image; the content is neither ({_what(data)})"
        )
    return fmt


def _upright(im: Image.Image) -> Image.Image:
    """The photo as browsers show it (EXIF orientation applied); a broken EXIF block leaves it as
    stored rather than refusing a photo whose pixels are fine."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        log.debug("unreadable EXIF orientation; the photo is used as stored", exc_info=True)
        return im


def _to_rgb(im: Image.Image) -> U8:
    """Any mode to ``(H, W, 3)`` uint8: transparency onto white (photos are shown on white),
    16-bit and float greys scaled to 8 bits rather than clipped."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        grey = np.asarray(im, dtype=np.float32)
        top = float(grey.max()) if grey.size else 0.0
        grey = grey * (255.0 / top) if top > 255.0 else grey
        return np.repeat(np.clip(grey + 0.5, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        im = white
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def _what(data: bytes) -> str:
    """A hint at what was sent instead: text, or the first bytes in hex."""
    head = data[:16]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "it starts with bytes " + head[:8].hex(" ")
    if text.isprintable() or all(c.isprintable() or c.isspace() for c in text):
        return "it looks like text"
    return "it starts with bytes " + head[:8].hex(" ")


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 100_000 else f"{n / 1_000:g} KB"
