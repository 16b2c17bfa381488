"""Shop the look over HTTP, against the real ``Shop`` on a built project behind a real server: a
real photo in, garments, anchors and recommendations out; every way an upload can be wrong is a
4xx that says what is wrong; the community photo feed; the page.
"""

from __future__ import annotations

import io
import re
import resource
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from lookbook.serving.schemas import PhotoFeedOut, ShopTheLookOut

from .conftest import PhotoProject, Served, real_photo

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def client(real_served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_served.url, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def photos_client(photo_served: PhotoProject) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=photo_served.served.url, timeout=120) as c:
        yield c


def _post(client: httpx.Client, data: bytes, name: str = "photo.jpg", kind: str = "image/jpeg", **form: str):
    params = {"k": form.pop("k")} if "k" in form else None
    return client.post("/api/shop-the-look", files={"photo": (name, data, kind)}, data=form, params=params)


def _image(fmt: str, size: tuple[int, int] = (320, 240), mode: str = "RGB") -> bytes:
    """A small photo with some texture (noise compresses badly, so a truncation cuts real data)."""
    import numpy as np

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buf, fmt)
    return buf.getvalue()


def _catalog_slot(served: Served, item_id: str) -> str:
    return served.shop.item(item_id).slot


# ------------------------------------------------------------------------------------ a real photo
@pytest.mark.realdata
def test_a_real_photo_becomes_garments_anchors_and_recommendations(photo_served: PhotoProject):
    served, user = photo_served.served, photo_served.user
    data = real_photo().read_bytes()
    with httpx.Client(base_url=served.url, timeout=120) as client:
        r = _post(client, data, user_id=user, k="8")
    assert r.status_code == 200, r.text
    look = ShopTheLookOut.model_validate(r.json())
    assert (look.width, look.height) == (768, 1024) and look.user_id == user
    slots = [g.slot for g in look.garments]
    assert {"top", "bottom"} <= set(slots), slots
    for g in look.garments:
        x0, y0, x1, y1 = g.box
        assert 0 <= x0 < x1 <= look.width and 0 <= y0 < y1 <= look.height, g.box
        assert 0.3 <= g.confidence <= 1.0
        assert g.anchors, f"no anchors for the {g.slot}"
        for a in g.anchors:
            assert a.slot == g.slot == _catalog_slot(served, a.item_id), (g.slot, a.item_id)
            assert a.image_url == f"/images/{a.item_id}" and a.title and a.distance >= 0
        assert [a.distance for a in g.anchors] == sorted(a.distance for a in g.anchors)
    top = next(g for g in look.garments if g.slot == "top")
    bottom = next(g for g in look.garments if g.slot == "bottom")
    assert top.box[1] < bottom.box[1], "the top is above the trousers"
    recs = look.recommendations
    assert 0 < len(recs) <= 8 and all(rec.why and rec.image_url == f"/images/{rec.item_id}" for rec in recs)
    assert len({rec.item_id for rec in recs}) == len(recs)
    assert look.photo_score is not None and -1.0 <= look.photo_score <= 1.0
    assert {"upload_decode", "detect", "match", "rank", "total"} <= set(look.timings)


@pytest.mark.realdata
def test_the_photo_is_judged_by_its_content_and_shown_upright(photo_served: PhotoProject):
    """The same photo stored sideways with an EXIF orientation, named .txt and sent as octet-stream,
    by an anonymous visitor: boxes come back in the upright photo, as a browser shows it."""
    with Image.open(real_photo()) as im:
        sideways = im.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back upright
        exif = Image.Exif()
        exif[0x0112] = 6
        buf = io.BytesIO()
        sideways.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    with httpx.Client(base_url=photo_served.served.url, timeout=120) as client:
        r = _post(client, buf.getvalue(), name="notes.txt", kind="application/octet-stream")
    assert r.status_code == 200, r.text
    look = ShopTheLookOut.model_validate(r.json())
    assert (look.width, look.height) == (768, 1024), "reported upright"
    assert {"top", "bottom"} <= {g.slot for g in look.garments}
    top = next(g for g in look.garments if g.slot == "top")
    assert top.box[3] < look.height / 2, "the top is in the upper half of the upright photo"
    assert look.photo_score is None and look.recommendations


@pytest.mark.realdata
def test_photos_sent_at_once_are_all_answered_alike(photo_served: PhotoProject):
    """Looks run one at a time on their own thread (the detector's graphs take one photo at a
    time): simultaneous uploads queue there and each gets the same, whole answer."""
    from concurrent.futures import ThreadPoolExecutor

    data = real_photo().read_bytes()

    def shop(_: int) -> dict:
        with httpx.Client(base_url=photo_served.served.url, timeout=300) as client:
            r = _post(client, data)
            assert r.status_code == 200, r.text
            return r.json()

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(shop, range(3)))
    for answer in answers[1:]:
        assert answer["garments"] == answers[0]["garments"]
        assert answer["recommendations"] == answers[0]["recommendations"]


@pytest.mark.realdata
def test_an_unknown_shopper_is_404_before_any_detection(photo_served: PhotoProject):
    with httpx.Client(base_url=photo_served.served.url, timeout=120) as client:
        r = _post(client, real_photo().read_bytes(), user_id="nobody-at-all")
    assert r.status_code == 404 and r.json()["detail"].startswith("user_id: unknown user"), r.text


def test_a_photo_without_a_person_has_no_garments_and_no_recommendations(client: httpx.Client):
    r = _post(client, _image("PNG", (300, 400)), name="wall.png", kind="image/png")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["garments"] == [] and body["recommendations"] == [] and body["photo_score"] is None
    assert (body["width"], body["height"]) == (300, 400)


# ------------------------------------------------------------------------------------ bad uploads
def test_an_upload_over_the_size_limit_is_413(client: httpx.Client):
    just_over = b"\xff\xd8\xff\xe0" + b"\0" * (10_000_001 - 4)  # JPEG magic: only the size is wrong
    r = _post(client, just_over)
    assert r.status_code == 413 and "larger than 10 MB" in r.json()["detail"], r.text
    r = _post(client, b"\xff\xd8\xff\xe0" + b"\0" * 12_000_000)  # refused while the body streams in
    assert r.status_code == 413 and "at most" in r.json()["detail"], r.text
    assert client.get("/healthz").status_code == 200


def test_text_renamed_jpg_is_415(client: httpx.Client):
    r = _post(client, b"Dear shop,\nthis is not a photo.\n" * 20, name="look.jpg", kind="image/jpeg")
    assert r.status_code == 415, r.text
    detail = r.json()["detail"]
    assert detail.startswith("photo: expected a JPEG, PNG or WebP image") and "text" in detail
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert _post(client, gif.getvalue(), name="a.jpg").status_code == 415


def test_a_decompression_bomb_is_413_without_decoding_it(client: httpx.Client):
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 million pixels in ~50 KB
    assert len(bomb.getvalue()) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB; the server runs in this process
    r = _post(client, bomb.getvalue(), name="bomb.png", kind="image/png")
    assert r.status_code == 413 and "pixels" in r.json()["detail"], r.text
    # 49 million pixels: under Pillow's own bomb threshold, over the server's limit (40 million)
    big = io.BytesIO()
    Image.new("L", (7_000, 7_000)).save(big, "PNG")
    r = _post(client, big.getvalue(), name="big.png", kind="image/png")
    assert r.status_code == 413, r.text
    assert (
        r.json()["detail"] == "photo: the image declares 7000 x 7000 = 49,000,000 pixels; at most 40,000,000"
    )
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"peak memory grew by {grown_mb:.0f} MB: was a bomb decoded?"
    assert client.get("/healthz").status_code == 200


def test_truncated_and_empty_images_are_400(client: httpx.Client):
    jpeg = _image("JPEG", (640, 480))
    r = _post(client, jpeg[: len(jpeg) // 2])
    assert r.status_code == 400 and "truncated or corrupt" in r.json()["detail"], r.text
    png = _image("PNG", (64, 64))
    r = _post(client, png[:40], name="x.png", kind="image/png")  # the header itself is cut
    assert r.status_code == 400 and "truncated or corrupt" in r.json()["detail"], r.text
    r = _post(client, b"")
    assert r.status_code == 400 and r.json()["detail"] == "photo: the file is empty"


def test_form_mistakes_are_422_naming_the_field(client: httpx.Client):
    r = client.post("/api/shop-the-look", data={"user_id": "u1"})
    assert r.status_code == 422 and r.json()["detail"].startswith("body photo"), r.text
    r = _post(client, _image("JPEG"), user_id="a/b")
    assert r.status_code == 422 and r.json()["detail"].startswith("body user_id"), r.text
    r = _post(client, _image("JPEG"), k="0")
    assert r.status_code == 422 and r.json()["detail"].startswith("query k"), r.text


def test_webp_and_transparent_png_are_read(client: httpx.Client):
    for fmt, mode in (("WEBP", "RGB"), ("PNG", "RGBA")):
        r = _post(client, _image(fmt, (200, 150), mode), name="photo", kind="application/octet-stream")
        assert r.status_code == 200, (fmt, r.text)
        assert (r.json()["width"], r.json()["height"]) == (200, 150)


# ------------------------------------------------------------------------------------ operations
def test_the_endpoints_are_documented_and_timed(client: httpx.Client):
    assert _post(client, b"not an image").status_code == 415
    assert _post(client, b"\xff\xd8\xff" + b"\0" * 11_000_000).status_code == 413  # refused before routing
    assert _post(client, _image("PNG", (64, 64)), name="p.png", kind="image/png").status_code == 200
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/shop-the-look"]["post"]
    form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    ref = form["$ref"].rsplit("/", 1)[-1]
    assert {"photo", "user_id"} <= set(doc["components"]["schemas"][ref]["properties"])
    assert {"200", "400", "404", "413", "415", "422"} <= set(op["responses"])
    assert "get" in doc["paths"]["/api/photos"] and "get" in doc["paths"]["/photos/{photo_id}"]
    assert {"get", "post"} <= set(doc["paths"]["/look"])
    metrics = client.get("/metrics").text
    for status in (200, 413, 415):
        series = f'_count{{method="POST",route="/api/shop-the-look",status="{status}"}} '
        assert re.search(re.escape(series) + "[1-9]", metrics), status


# ------------------------------------------------------------------------------------ the photo feed
def test_a_project_without_community_photos_has_an_empty_feed(client: httpx.Client, real_served: Served):
    user = real_served.shop.demo_users(1)[0]
    r = client.get("/api/photos", params={"user_id": user})
    assert r.status_code == 200 and r.json() == {"request_id": r.headers["x-request-id"], "user_id": user,
                                                 "photos": []}  # fmt: skip
    assert client.get("/api/photos").json()["photos"] == []
    assert client.get("/api/photos", params={"user_id": "ghost"}).status_code == 404
    r = client.get("/photos/anything")
    assert r.status_code == 404 and r.json()["detail"].startswith("photo_id: unknown photo")
    page = client.get("/look", params={"user": user}, headers=HTML).text
    assert 'class="feed"' not in page and 'class="look-steps"' in page


@pytest.mark.realdata
def test_the_feed_ranks_community_photos_for_the_shopper(
    photos_client: httpx.Client, photo_served: PhotoProject
):
    liked, unliked = photo_served.liked, photo_served.unliked
    r = photos_client.get("/api/photos", params={"user_id": photo_served.user})
    assert r.status_code == 200, r.text
    feed = PhotoFeedOut.model_validate(r.json())
    assert [p.photo_id for p in feed.photos] == [liked, unliked], "the user's taste first"
    assert feed.photos[0].score > feed.photos[1].score
    anonymous = photos_client.get("/api/photos").json()["photos"]
    assert [p["photo_id"] for p in anonymous] == [unliked, liked], "anonymous: most confident first"
    assert [p["photo_id"] for p in photos_client.get("/api/photos", params={"k": 1}).json()["photos"]] == [
        unliked
    ]
    first = feed.photos[0]
    assert (first.width, first.height) == (768, 1024) and first.image_url == f"/photos/{liked}"
    assert {"top", "bottom"} <= {g.slot for g in first.garments}
    assert all(a.slot == g.slot for g in first.garments for a in g.anchors)
    image = photos_client.get(first.image_url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == real_photo().read_bytes() and "max-age" in image.headers["cache-control"]
    assert photos_client.get("/photos/no-such-photo").status_code == 404


# ------------------------------------------------------------------------------------ the page
@pytest.mark.realdata
def test_the_look_page_shows_the_feed_and_shops_a_community_photo(
    photos_client: httpx.Client, photo_served: PhotoProject
):
    user = photo_served.user
    page = photos_client.get("/look", params={"user": user}, headers=HTML)
    assert page.status_code == 200 and "<h1>Shop the look</h1>" in page.text
    assert re.findall(r'data-photo="([^"]+)"', page.text) == [photo_served.liked, photo_served.unliked]
    assert f'<input type="hidden" name="user" value="{user}">' in page.text
    assert f'class="look-link current" href="/look?user={user}"' in page.text
    shop = photos_client.get("/look", params={"user": user, "photo": photo_served.liked}, headers=HTML)
    assert shop.status_code == 200, shop.text[-500:]
    result = shop.text.split('class="look-result"')[1]
    assert f'<img src="/photos/{photo_served.liked}"' in result
    assert {"top", "bottom"} <= set(re.findall(r'class="garment-box" data-slot="([^"]+)"', result))
    assert len(re.findall(r'<a class="card" href="[^"]+\?user=', result)) > 0
    missing = photos_client.get("/look", params={"photo": "no-such-photo"}, headers=HTML)
    assert missing.status_code == 404 and "unknown photo" in missing.text


@pytest.mark.realdata
def test_uploading_on_the_page_shows_the_photo_outlined_beside_the_cards(photos_client: httpx.Client):
    files = {"photo": ("me.jpg", real_photo().read_bytes(), "image/jpeg")}
    r = photos_client.post("/look", files=files, data={"user": "ghost"}, headers=HTML)
    assert r.status_code == 200, r.text[-500:]
    assert "We do not know the shopper" in r.text, "an unknown user is shown the anonymous look"
    result = r.text.split('class="look-result"')[1]
    assert '<img src="data:image/jpeg;base64,' in result
    assert len(re.findall(r'class="garment-box"', result)) >= 2
    assert re.search(r'class="garment-label">top \d\.\d\d<', result)
    assert len(re.findall(r'<a class="anchor" href="/item/', result)) >= 2
    assert len(re.findall(r'<a class="card" href="/item/', result)) > 0


def test_a_refused_upload_on_the_page_is_the_form_with_the_reason(client: httpx.Client):
    files = {"photo": ("look.jpg", b"plain text, not a photo", "image/jpeg")}
    r = client.post("/look", files=files, headers=HTML)
    assert r.status_code == 415 and "We could not use that photo" in r.text
    assert '<form class="upload"' in r.text and "JPEG, PNG or WebP" in r.text
    jpeg = _image("JPEG", (640, 480))
    r = client.post("/look", files={"photo": ("x.jpg", jpeg[:3000], "image/jpeg")}, headers=HTML)
    assert r.status_code == 400 and "truncated or corrupt" in r.text


def test_a_shop_without_a_project_offers_no_shop_the_look(served: Served):
    with httpx.Client(base_url=served.url, timeout=30) as client:
        r = _post(client, _image("JPEG"))
        assert r.status_code == 404 and "not available" in r.json()["detail"]
        feed = client.get("/api/photos").json()
        assert feed == {"request_id": feed["request_id"], "user_id": None, "photos": []}
        assert "look-link" not in client.get("/", headers=HTML).text
        page = client.get("/look", headers=HTML)
        assert page.status_code == 404 and "Shop the look is not available" in page.text


def test_uploads_do_not_widen_the_json_body_limit(served: Served):
    huge = b'{"items": [' + b" " * 2_100_000 + b"]}"
    headers = {"content-type": "application/json", "x-api-key": "x"}
    assert httpx.put(f"{served.url}/api/items", content=huge, headers=headers).status_code == 413
