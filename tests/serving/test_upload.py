"""Photo uploads without a server: what is refused before decoding, and what decoding gives."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lookbook.errors import LookbookError
from lookbook.serving import ServeConfig
from lookbook.serving.upload import PhotoRejected, check_image, check_photo, decode_photo, read_limited, sniff

LIMITS = {"max_pixels": 40_000_000}


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _refused(data: bytes, **kw: int) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as info:
        decode_photo(data, max_pixels=kw.get("max_pixels", 40_000_000), max_side=kw.get("max_side", 1_600))
    return info.value


def test_formats_are_told_by_their_first_bytes():
    rgb = Image.new("RGB", (8, 8))
    assert sniff(_encode(rgb, "JPEG")) == "JPEG" and sniff(_encode(rgb, "PNG")) == "PNG"
    assert sniff(_encode(rgb, "WEBP")) == "WEBP"
    assert sniff(_encode(rgb, "GIF")) is None and sniff(b"RIFF\0\0\0\0WAVE") is None and sniff(b"") is None


def test_reading_stops_one_byte_past_the_limit():
    asked: list[int] = []

    class Counting(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            asked.append(-1 if n is None else n)
            return super().read(n)

    stream = Counting(b"x" * 5_000)
    with pytest.raises(PhotoRejected) as info:
        read_limited(stream, 1_024)
    assert info.value.status == 413 and asked == [1_025]
    assert read_limited(io.BytesIO(b"x" * 1_024), 1_024) == b"x" * 1_024


def test_refusals_carry_their_status():
    assert _refused(b"hello, this is text").status == 415
    assert _refused(b"").status == 400
    jpeg = _encode(
        Image.fromarray(np.random.default_rng(1).integers(0, 255, (300, 400, 3), np.uint8)), "JPEG"
    )
    assert _refused(jpeg[: len(jpeg) // 2]).status == 400
    assert _refused(jpeg, max_pixels=400 * 300 - 1).status == 413
    bomb = _encode(Image.new("1", (20_000, 20_000)), "PNG")
    with pytest.raises(PhotoRejected) as info:
        check_photo(bomb, **LIMITS)
    assert info.value.status == 413


def test_photos_are_decoded_upright_and_reduced_with_boxes_mapped_back():
    im = Image.new("RGB", (400, 300), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown turned 90 degrees
    photo = decode_photo(_encode(im, "JPEG", exif=exif.tobytes()), max_pixels=10**6, max_side=200)
    assert (photo.width, photo.height) == (300, 400) and photo.rgb.shape == (200, 150, 3)
    assert photo.to_original((10, 20, 150, 250)) == (20.0, 40.0, 300.0, 400.0)  # clipped to the photo
    assert photo.preview_jpeg()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("mode", "fmt", "value"),
    [("RGBA", "PNG", (0, 0, 0, 0)), ("LA", "PNG", (0, 0)), ("I;16", "PNG", 60_000), ("L", "WEBP", 90)],
)
def test_any_pixel_mode_becomes_rgb(mode: str, fmt: str, value: object):
    photo = decode_photo(_encode(Image.new(mode, (40, 30), value), fmt), max_pixels=10**6, max_side=100)
    assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == (30, 40, 3)
    if mode in ("RGBA", "LA"):
        assert (photo.rgb == 255).all(), "transparent pixels are shown on white"
    if mode == "I;16":
        assert (photo.rgb == 255).all(), "16-bit grey is scaled to 8 bits, not clipped"


def test_upload_limits_are_checked_when_the_server_is_configured():
    config = ServeConfig()
    assert (config.max_upload_bytes, config.max_upload_pixels) == (10_000_000, 40_000_000)
    for bad in ({"max_upload_bytes": 10}, {"max_upload_pixels": 0}, {"photo_max_side": 8}):
        with pytest.raises(LookbookError, match=next(iter(bad))):
            ServeConfig(**bad)


def test_an_item_image_is_decoded_in_full_and_held_to_its_formats():
    noise = np.random.default_rng(0).integers(0, 255, (10, 20, 3), dtype=np.uint8)
    png = _encode(Image.fromarray(noise), "PNG")
    assert check_image(png, max_pixels=200, name="image", formats=("PNG", "JPEG")) == "PNG"
    for data, status, words in [
        (_encode(Image.new("RGB", (20, 11)), "PNG"), 413, "20 x 11 = 220 pixels; at most 200"),
        (png[: len(png) // 2], 400, "truncated or corrupt"),  # the header parses, the pixels do not
        (_encode(Image.new("RGB", (8, 8)), "WEBP"), 415, "expected PNG or JPEG bytes"),
        (b"plain text", 415, "it looks like text"),
    ]:
        with pytest.raises(PhotoRejected) as info:
            check_image(data, max_pixels=200, name="image", formats=("PNG", "JPEG"))
        assert info.value.status == status and words in str(info.value), str(info.value)
        assert str(info.value).startswith("image: ")
