"""What a living shop asks of the HTTP layer (issue 13), over ``CatalogShop`` behind a real server:
request ids, impressions per served slate, events that send the id back, shopper profiles, the
model version in /healthz and /metrics, the optional read key, demo mode, item images decoded
before the shop sees them, sold items, and reloading when the project's files change.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from lookbook.errors import LookbookError
from lookbook.serving import ServeConfig, create_app, serve_in_thread
from lookbook.serving.reload import ReloadWatcher
from lookbook.serving.schemas import CarouselListOut, HealthOut, HomeOut, ItemListOut

from .conftest import API_KEY, CatalogShop, Served

KEY = {"X-API-Key": API_KEY}
READ_KEY = "read-key-0123456789"
HTML = {"accept": "text/html"}


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as c:
        yield c


@pytest.fixture
def shop(served: Served) -> CatalogShop:
    return served.shop


def _serve(shop: CatalogShop, **config: Any) -> Any:
    return serve_in_thread(create_app(shop, ServeConfig(**{"warm_up": False, "lists_ttl": 0.0, **config})))


def _png(size: tuple[int, int] = (32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def _png_chunks(width: int, height: int, idat: bytes) -> bytes:
    """A PNG with valid chunks (lengths and CRCs right) around whatever ``idat`` holds."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ------------------------------------------------------------------------------------ request ids
TOUCHPOINTS = [
    ("/api/home", {}),
    ("/api/items/it000001/similar", {}),
    ("/api/items/it000001/complete-the-look", {}),
    ("/api/search", {"q": "red"}),
    ("/api/categories/sneakers", {}),
]


@pytest.mark.parametrize(("path", "params"), TOUCHPOINTS)
def test_every_touchpoint_response_carries_a_request_id_in_body_and_header(
    client: httpx.Client, path: str, params: dict
):
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    rid = r.json()["request_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid), rid  # a uuid4 in hex
    assert r.headers["x-request-id"] == rid
    assert client.get(path, params=params).json()["request_id"] != rid, "one id per request"


def test_a_sane_incoming_request_id_is_echoed_and_an_insane_one_replaced(client: httpx.Client):
    mine = "edge-7f3a:0001.retry_2"
    r = client.get("/api/home", headers={"X-Request-ID": mine})
    assert r.json()["request_id"] == mine and r.headers["x-request-id"] == mine
    for bad in ("has space", "x" * 129, "semi;colon", "<script>"):
        r = client.get("/api/search", params={"q": "red"}, headers={"X-Request-ID": bad})
        rid = r.json()["request_id"]
        assert rid != bad and re.fullmatch(r"[0-9a-f]{32}", rid) and r.headers["x-request-id"] == rid


def test_every_response_has_the_header_errors_and_pages_included(client: httpx.Client):
    for r in (
        client.get("/healthz"),
        client.get("/api/items/nope"),
        client.get("/api/home", params={"k": 0}),
        client.get("/", headers=HTML),
        client.get("/no/such/page"),
    ):
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), (r.url, r.headers)


def test_openapi_documents_the_request_id_of_touchpoint_responses(client: httpx.Client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("HomeOut", "ItemListOut", "CarouselListOut", "ShopTheLookOut", "PhotoFeedOut"):
        assert "request_id" in schemas[model]["required"], model
        assert schemas[model]["properties"]["request_id"]["type"] == "string"


# ------------------------------------------------------------------------------------ impressions
def test_the_home_feed_logs_each_carousel_as_its_own_slate(client: httpx.Client, shop: CatalogShop):
    user = shop.demo_users(1)[0]
    body = client.get("/api/home", params={"user_id": user, "k": 5}).json()
    HomeOut.model_validate(body)
    logged = [c for c in shop.impressions if c.request_id == body["request_id"]]
    assert [c.touchpoint for c in logged] == [f"home.{c['key']}" for c in body["carousels"]]
    assert "home.for_you" in {c.touchpoint for c in logged}
    for call, carousel in zip(logged, body["carousels"], strict=True):
        assert call.user_id == user
        assert list(call.item_ids) == [i["item_id"] for i in carousel["items"]]  # positions: the order shown
        assert list(call.scores) == pytest.approx([i["score"] for i in carousel["items"]])


def test_list_touchpoints_log_one_slate_each(client: httpx.Client, shop: CatalogShop):
    cases = [
        ("/api/items/it000001/similar", {"k": 4}, "similar"),
        ("/api/search", {"q": "red", "k": 5}, "search"),
        ("/api/categories/sneakers", {"k": 6}, "category"),
    ]
    for path, params, touchpoint in cases:
        body = client.get(path, params=params).json()
        ItemListOut.model_validate(body)
        (call,) = [c for c in shop.impressions if c.request_id == body["request_id"]]
        assert call.touchpoint == touchpoint and call.user_id is None
        assert list(call.item_ids) == [i["item_id"] for i in body["items"]]
    body = client.get("/api/items/it000001/complete-the-look", params={"per_slot": 2}).json()
    CarouselListOut.model_validate(body)
    calls = [c for c in shop.impressions if c.request_id == body["request_id"]]
    assert [c.touchpoint for c in calls] == [f"complete_the_look.{c['key']}" for c in body["carousels"]]
    assert all(len(c.item_ids) <= 2 for c in calls)


def test_pages_log_what_they_show_under_their_request_id(client: httpx.Client, shop: CatalogShop):
    r = client.get("/", headers=HTML)
    touchpoints = {c.touchpoint for c in shop.impressions if c.request_id == r.headers["x-request-id"]}
    assert {"home.trending", "home.new_in"} <= touchpoints
    r = client.get("/item/it000001", headers=HTML)
    touchpoints = {c.touchpoint for c in shop.impressions if c.request_id == r.headers["x-request-id"]}
    assert "similar" in touchpoints and any(t.startswith("complete_the_look.") for t in touchpoints)


def test_empty_slates_and_failed_requests_log_nothing(client: httpx.Client, shop: CatalogShop):
    r = client.get("/api/search", params={"q": "zzqqxx"})
    assert r.status_code == 200 and r.json()["items"] == []
    assert client.get("/api/home", params={"user_id": "nobody"}).status_code == 404
    assert not [c for c in shop.impressions if c.touchpoint == "search" or c.user_id == "nobody"]


class _NoImpressions(CatalogShop):
    def log_impressions(self, *args: Any) -> None:
        raise RuntimeError("the impression queue is broken")


def test_a_failing_impression_log_never_fails_the_request(small_world: Path, tmp_path: Path):
    shop = _NoImpressions(small_world, tmp_path)
    with _serve(shop) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            assert client.get("/api/home").status_code == 200
        metrics = client.get("/metrics").text
    assert "lookbook_impressions_failed_total 12.0" in metrics  # 3 requests x 4 carousels


# ------------------------------------------------------------------------------------ events, users
def test_events_carry_the_request_id_of_the_slate_back_to_the_shop(client: httpx.Client, shop: CatalogShop):
    shown = client.get("/api/categories/sneakers", params={"k": 3}).json()
    event = {"user_id": "u-click", "item_id": shown["items"][0]["item_id"], "kind": "click",
             "request_id": shown["request_id"], "position": 0, "touchpoint": "category"}  # fmt: skip
    plain = {"user_id": "u-click", "item_id": shown["items"][1]["item_id"], "kind": "view"}
    r = client.post("/api/events", json={"events": [event, plain]}, headers=KEY)
    assert r.status_code == 200 and r.json() == {"accepted": 2}, r.text
    assert shop.events[-2]["request_id"] == shown["request_id"] and shop.events[-2]["position"] == 0
    assert "request_id" not in shop.events[-1]
    bad = {**event, "request_id": "not a request id"}
    r = client.post("/api/events", json={"events": [bad]}, headers=KEY)
    assert r.status_code == 422 and r.json()["detail"].startswith("body events[0].request_id"), r.text


def test_shopper_profiles_are_written_with_the_api_key(client: httpx.Client, shop: CatalogShop):
    users = [
        {"user_id": "profile-1", "sizes": {"top": "M", "shoes": "38"}, "region": "EU"},
        {"user_id": "profile-2", "region": "US"},
    ]
    assert client.put("/api/users", json={"users": users}).status_code == 401
    assert (
        client.put("/api/users", json={"users": users}, headers={"X-API-Key": "wrong-key"}).status_code == 403
    )
    assert not shop.users
    r = client.put("/api/users", json={"users": users}, headers=KEY)
    assert r.status_code == 200 and r.json() == {"upserted": 2}, r.text
    assert shop.users["profile-1"] == users[0]
    assert shop.users["profile-2"] == {"user_id": "profile-2", "region": "US"}  # nothing invented


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"users": []}, "body users"),
        ({"users": [{"sizes": {"top": "M"}}]}, "body users[0].user_id"),
        ({"users": [{"user_id": "a/b"}]}, "body users[0].user_id"),
        ({"users": [{"user_id": "u", "sizes": {"top": ""}}]}, "body users[0].sizes.top"),
        ({"users": [{"user_id": "u", "sizes": {"top": 40}}]}, "body users[0].sizes.top"),
        ({"users": [{"user_id": "u", "region": "x" * 51}]}, "body users[0].region"),
        ({"users": [{"user_id": "u", "taste": [1, 2]}]}, "body users[0].taste"),
    ],
)
def test_bad_profiles_are_422_naming_the_field(
    client: httpx.Client, shop: CatalogShop, body: Any, field: str
):
    r = client.put("/api/users", json=body, headers=KEY)
    assert r.status_code == 422 and r.json()["detail"].startswith(field), r.text
    assert not shop.users


# ------------------------------------------------------------------------------------ model version
def test_healthz_and_metrics_name_the_model_version(client: httpx.Client, shop: CatalogShop):
    health = client.get("/healthz").json()
    HealthOut.model_validate(health)
    assert health["model_version"] == "v-test-1" and health["status"] == "ok" and health["stats"]["items"]
    assert 'lookbook_model_version_info{version="v-test-1"} 1.0' in client.get("/metrics").text
    shop.version = "v-test-2"  # a reload swapped it: both follow without a restart
    assert client.get("/healthz").json()["model_version"] == "v-test-2"
    text = client.get("/metrics").text
    assert 'lookbook_model_version_info{version="v-test-2"} 1.0' in text and "v-test-1" not in text


# ------------------------------------------------------------------------------------ read key
def test_without_a_read_key_reads_are_open_and_the_document_claims_no_key(client: httpx.Client):
    assert client.get("/api/home").status_code == 200
    assert client.get("/images/it000001").status_code == 200
    doc = client.get("/openapi.json").json()
    assert "ReadKeyHeader" not in doc["components"].get("securitySchemes", {})
    assert "security" not in doc["paths"]["/api/home"]["get"]


def test_a_read_key_guards_every_read_and_nothing_else(catalog_shop: CatalogShop):
    with _serve(catalog_shop, api_key=API_KEY, read_key=READ_KEY) as server:
        url = server.url
        reads = ["/api/home", "/api/items/it000001", "/api/search?q=red", "/api/categories",
                 "/api/items/it000001/similar", "/images/it000001", "/", "/item/it000001"]  # fmt: skip
        with httpx.Client(base_url=url) as anon:
            for path in reads:
                r = anon.get(path)
                assert r.status_code == 401, (path, r.status_code)
                assert anon.get(path, headers={"X-Read-Key": "not-the-key"}).status_code == 403, path
            assert "X-Read-Key" in anon.get("/api/home").json()["detail"]
            page = anon.get("/", headers=HTML)
            assert page.status_code == 401 and "Key needed" in page.text
            assert "crossbody" not in page.text, "a visitor without the key sees no catalog"
            # open: probes, scrapers, the stylesheet and the documentation
            for path in ("/healthz", "/metrics", "/static/shop.css", "/openapi.json", "/docs"):
                assert anon.get(path).status_code == 200, path
            # writes take the write key, not the read key
            event = {"events": [{"user_id": "u", "item_id": "it000001", "kind": "view"}]}
            assert anon.post("/api/events", json=event, headers=KEY).status_code == 200
        with httpx.Client(base_url=url, headers={"X-Read-Key": READ_KEY}) as keyed:
            for path in reads:
                assert keyed.get(path).status_code == 200, path
            assert "set-cookie" not in keyed.get("/api/home").headers  # the header needs no cookie
        doc = httpx.get(f"{url}/openapi.json").json()
        schemes = doc["components"]["securitySchemes"]
        header = schemes["ReadKeyHeader"]
        assert (header["type"], header["in"], header["name"]) == ("apiKey", "header", "X-Read-Key")
        alternatives = doc["paths"]["/api/home"]["get"]["security"]
        assert {"ReadKeyHeader": []} in alternatives and {"ReadKeyQuery": []} in alternatives
        assert doc["paths"]["/api/items"]["put"]["security"] == [{"APIKeyHeader": []}]


def test_a_browser_opens_the_shop_once_with_the_key_then_browses_by_cookie(catalog_shop: CatalogShop):
    with _serve(catalog_shop, read_key=READ_KEY) as server, httpx.Client(base_url=server.url) as browser:
        first = browser.get("/", params={"key": READ_KEY}, headers=HTML)
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert cookie.startswith("lookbook_read=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert READ_KEY not in cookie, "the cookie holds a hash, not the key"
        assert "key=" not in first.text.split("<main>")[1], "links do not carry the key"
        card = re.search(r'<a class="card" href="([^"]+)"', first.text).group(1)
        assert browser.get(card, headers=HTML).status_code == 200  # the cookie admits links and images
        assert browser.get("/images/it000001").status_code == 200
        browser.cookies.clear()
        assert browser.get("/images/it000001").status_code == 401


def test_serve_config_checks_the_new_fields():
    for bad in ({"read_key": "short"}, {"read_key": "has\nnewline-123"}, {"reload_interval": -1.0}):
        with pytest.raises(LookbookError):
            ServeConfig(**bad)
    assert ServeConfig().demo is False and ServeConfig().read_key is None


# ------------------------------------------------------------------------------------ demo mode
def test_the_shopper_list_is_served_in_demo_mode_only(catalog_shop: CatalogShop):
    top = catalog_shop.demo_users(3)
    with _serve(catalog_shop) as server, httpx.Client(base_url=server.url) as client:
        r = client.get("/api/users")
        assert r.status_code == 404 and "demo mode" in r.json()["detail"], r.text
        page = client.get("/", headers=HTML).text
        assert 'id="user-picker"' not in page and top[0] not in page
        mine = client.get("/", params={"user": top[0]}, headers=HTML).text  # a link for one shopper
        options = re.findall(r'<option value="([^"]*)"', mine)
        assert options == ["", top[0]], "outside demo mode the picker offers only this shopper"
    with _serve(catalog_shop, demo=True) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/api/users", params={"limit": 3}).json() == {"users": top}
        assert f'<option value="{top[1]}">' in client.get("/", headers=HTML).text


# ------------------------------------------------------------------------------------ item images
@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (_png_chunks(12_000, 12_000, zlib.compress(b"\x00" * 100)), "pixels"),  # a bomb, by its header
        (_png_chunks(64, 64, bytes(range(256)) * 8), "truncated or corrupt"),  # garbage pixel data
        (_png_chunks(64, 64, zlib.compress(b"\x00" * 100)), "truncated or corrupt"),  # pixels missing
        (b"just some text, not an image", "PNG or JPEG"),
        (b"GIF89a" + b"\x00" * 40, "PNG or JPEG"),
    ],
    ids=["bomb", "garbage-pixels", "short-pixels", "text", "gif"],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns; the server refuses
def test_item_images_are_decoded_before_the_shop_is_called(
    client: httpx.Client, shop: CatalogShop, image: bytes, reason: str
):
    good = {"item_id": "img-ok", "title": "Fine coat", "slot": "outerwear", "image_base64": _b64(_png())}
    bad = {"item_id": "img-bad", "title": "Odd coat", "slot": "outerwear", "image_base64": _b64(image)}
    started = time.perf_counter()
    r = client.put("/api/items", json={"items": [good, bad]}, headers=KEY)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("body items[1].image_base64: ") and reason in detail, detail
    assert time.perf_counter() - started < 2.0, "refused from the header, not after decoding a bomb"
    assert shop.calls["upsert_items"] == 0, "the shop was called with a bad image"
    assert client.get("/api/items/img-ok").status_code == 404, "nothing of the batch was written"


def test_a_whole_image_is_accepted_and_served(client: httpx.Client, shop: CatalogShop):
    jpeg = io.BytesIO()
    Image.new("RGB", (48, 40), (10, 200, 30)).save(jpeg, "JPEG")
    item = {
        "item_id": "img-jpeg",
        "title": "Green coat",
        "slot": "outerwear",
        "image_base64": _b64(jpeg.getvalue()),
    }
    assert client.put("/api/items", json={"items": [item]}, headers=KEY).status_code == 200
    assert client.get("/images/img-jpeg").content == jpeg.getvalue()


def test_item_images_obey_the_servers_pixel_limit(catalog_shop: CatalogShop):
    with _serve(catalog_shop, api_key=API_KEY, max_upload_pixels=1_000) as server:
        item = {"item_id": "big", "title": "Big", "slot": "top", "image_base64": _b64(_png((40, 30)))}
        r = httpx.put(f"{server.url}/api/items", json={"items": [item]}, headers=KEY)
    assert r.status_code == 422 and "40 x 30 = 1,200 pixels; at most 1,000" in r.json()["detail"], r.text


# ------------------------------------------------------------------------------------ sold items
def test_a_sold_items_page_says_sold_out(client: httpx.Client, shop: CatalogShop):
    assert client.delete("/api/items/it000001", headers=KEY).status_code == 200
    view = client.get("/api/items/it000001")
    assert view.status_code == 200 and view.json()["in_stock"] is False
    page = client.get("/item/it000001", headers=HTML)
    assert page.status_code == 200 and '<p class="stock out">Sold out</p>' in page.text
    assert client.get("/images/it000001").status_code == 200


# ------------------------------------------------------------------------------------ reload
class _ProjectShop(CatalogShop):
    """A ``CatalogShop`` with a project folder to watch; ``reload`` reads the promoted version from
    ``models/CURRENT`` and refuses a settings file that says ``broken``."""

    root: Path

    def project_root(self) -> Path | None:
        return self.root

    def reload(self) -> str:
        self.reloads += 1
        settings = self.root / "settings.toml"
        if settings.exists() and "broken" in settings.read_text():
            raise LookbookError("settings.toml: home.alpha: expected a number in [0, 1], got 2")
        self.version = (self.root / "models" / "CURRENT").read_text().strip()
        return self.version


@pytest.fixture
def project_shop(small_world: Path, tmp_path: Path) -> _ProjectShop:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "settings.toml").write_text("[home]\nalpha = 0.5\n")
    (root / "models" / "CURRENT").write_text("v1\n")
    shop = _ProjectShop(small_world, tmp_path)
    shop.root = root
    return shop


def _replace(path: Path, text: str) -> None:
    """Written beside and renamed over, as `lookbook models promote` does (a new inode every time)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def test_the_watcher_reloads_once_per_change_and_survives_a_broken_file(project_shop: _ProjectShop):
    outcomes: list[str] = []
    watcher = ReloadWatcher(project_shop, project_shop.root, interval=1.0, on_reload=outcomes.append)
    assert watcher.poll() is None and project_shop.reloads == 0, "no change, no reload"
    _replace(project_shop.root / "models" / "CURRENT", "v2\n")
    assert watcher.poll() == "v2" and watcher.poll() is None
    _replace(project_shop.root / "settings.toml", "broken = true\n")
    assert watcher.poll() is None and project_shop.version == "v2"  # still serving what it had
    assert watcher.poll() is None and project_shop.reloads == 2, "a broken file is not retried every second"
    _replace(project_shop.root / "settings.toml", "[home]\nalpha = 0.4\n")
    assert watcher.poll() == "v2"
    (project_shop.root / "settings.toml").unlink()  # removed: back to defaults, also a change
    assert watcher.poll() == "v2" and outcomes == ["ok", "failed", "ok", "ok"]


def test_a_running_server_takes_a_promoted_version_without_a_restart(project_shop: _ProjectShop):
    with _serve(project_shop, reload_interval=0.1) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/healthz").json()["model_version"] == "v-test-1"
        _replace(project_shop.root / "models" / "CURRENT", "v7\n")
        deadline = time.monotonic() + 10
        while client.get("/healthz").json()["model_version"] != "v7":
            assert time.monotonic() < deadline, "the server did not reload"
            time.sleep(0.05)
        assert 'lookbook_reloads_total{outcome="ok"} 1.0' in client.get("/metrics").text
    assert project_shop.reloads == 1


def test_a_shop_without_a_project_is_not_watched(catalog_shop: CatalogShop):
    app = create_app(catalog_shop, ServeConfig(warm_up=False))
    with serve_in_thread(app):
        assert app.state.reloader is None
