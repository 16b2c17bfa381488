"""The JSON API over HTTP, against a real uvicorn server on a loopback port (``served``).

The shop behind it is ``CatalogShop`` (conftest): rules over a real generated catalog, so each
test can say exactly what the HTTP layer must do with what the shop answers or raises.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from lookbook.serving import ServeConfig, create_app, serve_in_thread
from lookbook.serving.schemas import (
    CarouselListOut,
    CategoriesOut,
    HealthOut,
    HomeOut,
    ItemListOut,
    ItemViewOut,
    UsersOut,
)

from .conftest import API_KEY, CatalogShop, Served

KEY = {"X-API-Key": API_KEY}


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as c:
        yield c


def _png(colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buf, "PNG")
    return buf.getvalue()


def _ids(response: httpx.Response) -> list[str]:
    return [r["item_id"] for r in response.json()["items"]]


def _home_ids(client: httpx.Client, **params: Any) -> set[str]:
    r = client.get("/api/home", params=params)
    assert r.status_code == 200, r.text
    return {i["item_id"] for c in r.json()["carousels"] for i in c["items"]}


# ------------------------------------------------------------------------------------------ reads
def test_every_read_endpoint_answers_in_its_documented_shape(client: httpx.Client, served: Served):
    user = client.get("/api/users").json()["users"][0]
    item = next(iter(_home_ids(client)))
    category = client.get("/api/categories").json()["categories"][0]
    cases = [
        ("/api/home", {"user_id": user, "device": "mobile", "region": "EU", "k": 5}, HomeOut),
        ("/api/home", {}, HomeOut),
        (f"/api/items/{item}", {}, ItemViewOut),
        (f"/api/items/{item}/similar", {"user_id": user, "k": 4}, ItemListOut),
        (f"/api/items/{item}/complete-the-look", {"per_slot": 2}, CarouselListOut),
        ("/api/search", {"q": "red", "k": 5}, ItemListOut),
        (f"/api/categories/{category}", {"user_id": user}, ItemListOut),
        ("/api/users", {"limit": 3}, UsersOut),
        ("/api/categories", {}, CategoriesOut),
        ("/healthz", {}, HealthOut),
    ]
    for path, params, model in cases:
        r = client.get(path, params=params)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("application/json")
        model.model_validate(r.json())  # the hand-built JSON matches the documented model
    home = client.get("/api/home", params={"user_id": user, "k": 5}).json()
    assert home["user_id"] == user and all(len(c["items"]) <= 5 for c in home["carousels"])
    assert home["carousels"][0]["key"] == "for_you"
    first = home["carousels"][0]["items"][0]
    assert first["image_url"] == f"/images/{first['item_id']}" and first["why"]
    assert len(client.get("/api/users", params={"limit": 3}).json()["users"]) == 3
    assert _ids(client.get("/api/search", params={"q": "red", "k": 5}))


def test_images_are_served_with_cache_headers_and_unknown_ids_are_404(client: httpx.Client, served: Served):
    item = next(iter(_home_ids(client)))
    r = client.get(f"/images/{item}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert "max-age=86400" in r.headers["cache-control"] and r.headers.get("etag")
    assert r.content == served.shop.image_path(item).read_bytes()
    missing = client.get("/images/no-such-item")
    assert missing.status_code == 404 and "no-such-item" in missing.json()["detail"]


def test_unknown_ids_are_404_with_the_field_named(client: httpx.Client):
    for path, params, field in [
        ("/api/items/nope", {}, "item_id"),
        ("/api/items/nope/similar", {}, "item_id"),
        ("/api/items/nope/complete-the-look", {}, "item_id"),
        ("/api/home", {"user_id": "nobody"}, "user_id"),
        ("/api/categories/nothing-here", {}, "category"),
        ("/api/no-such-endpoint", {}, "Not Found"),
    ]:
        r = client.get(path, params=params)
        assert r.status_code == 404, (path, r.text)
        assert field in r.json()["detail"], r.json()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/home", {"k": 0}, "query k"),
        ("/api/home", {"k": 101}, "query k"),
        ("/api/home", {"k": "ten"}, "query k"),
        ("/api/home", {"user_id": "x" * 201}, "query user_id"),
        ("/api/search", {}, "query q"),
        ("/api/search", {"q": ""}, "query q"),
        ("/api/search", {"q": "x" * 201}, "query q"),
        ("/api/items/it000001/similar", {"k": -1}, "query k"),
        ("/api/items/it000001/complete-the-look", {"per_slot": 21}, "query per_slot"),
        ("/api/users", {"limit": 0}, "query limit"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(
    client: httpx.Client, path: str, params: dict, field: str
):
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"].startswith(field), body
    assert body["errors"][0]["field"] == field


# ------------------------------------------------------------------------------------------ writes
def test_writes_need_the_api_key(client: httpx.Client):
    item = {"items": [{"item_id": "k-1", "title": "Keyed coat", "slot": "outerwear", "category": "coat"}]}
    missing = client.put("/api/items", json=item)
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "ApiKey"
    wrong = client.put("/api/items", json=item, headers={"X-API-Key": "not-the-key"})
    assert wrong.status_code == 403 and "wrong key" in wrong.json()["detail"]
    for call in (
        lambda h: client.delete("/api/items/it000001", headers=h),
        lambda h: client.post(
            "/api/events",
            json={"events": [{"user_id": "u", "item_id": "it000001", "kind": "view"}]},
            headers=h,
        ),
    ):
        assert call({}).status_code == 401
        assert call({"X-API-Key": "nope-nope"}).status_code == 403
    assert client.get("/api/items/k-1").status_code == 404, "a refused write changed the catalog"
    ok = client.put("/api/items", json=item, headers=KEY)
    assert ok.status_code == 200 and ok.json() == {"upserted": 1}


def test_without_a_configured_key_writes_are_disabled_and_reads_still_work(catalog_shop: CatalogShop):
    app = create_app(catalog_shop, ServeConfig(api_key=None, warm_up=False))
    with serve_in_thread(app) as server, httpx.Client(base_url=server.url) as client:
        for headers in ({}, KEY):
            r = client.post(
                "/api/events",
                json={"events": [{"user_id": "u", "item_id": "it000001", "kind": "view"}]},
                headers=headers,
            )
            assert r.status_code == 403 and "writes are disabled" in r.json()["detail"]
            assert "LOOKBOOK_API_KEY" in r.json()["detail"]
        assert client.get("/api/home").status_code == 200


def test_an_upserted_item_is_found_at_once_by_id_search_category_and_image(
    client: httpx.Client, served: Served
):
    png = _png()
    record = {
        "item_id": "new-coat-1",
        "title": "Ultramarine quilted coat",
        "description": "Warm, light and very blue.",
        "category": "coat",
        "slot": "outerwear",
        "brand": "Testa",
        "price": 149.5,
        "sizes": ["S", "M"],
        "in_stock": True,
        "attributes": {"colour": "blue", "material": "nylon"},
        "image_base64": base64.b64encode(png).decode(),
    }
    r = client.put("/api/items", json={"items": [record]}, headers=KEY)
    assert r.status_code == 200 and r.json() == {"upserted": 1}
    view = client.get("/api/items/new-coat-1").json()
    assert view["title"] == "Ultramarine quilted coat" and view["attributes"] == {
        "colour": "blue",
        "material": "nylon",
    }
    assert view["sizes"] == ["S", "M"] and view["price"] == 149.5
    assert "new-coat-1" in _ids(client.get("/api/search", params={"q": "ultramarine quilted"}))
    assert "new-coat-1" in _ids(client.get("/api/categories/coat", params={"k": 100}))
    assert client.get("/images/new-coat-1").content == png
    # a partial update changes only what it names
    r = client.put("/api/items", json={"items": [{"item_id": "new-coat-1", "price": 99.0}]}, headers=KEY)
    assert r.status_code == 200
    view = client.get("/api/items/new-coat-1").json()
    assert view["price"] == 99.0 and view["title"] == "Ultramarine quilted coat"


def test_a_sold_item_answers_out_of_stock_and_is_gone_from_every_list(client: httpx.Client, served: Served):
    user = client.get("/api/users").json()["users"][0]
    home = client.get("/api/home", params={"user_id": user}).json()
    victim = home["carousels"][0]["items"][0]
    item_id, category = victim["item_id"], victim["category"]
    neighbour = client.get(f"/api/items/{item_id}/similar").json()["items"][0]["item_id"]
    assert item_id in _ids(client.get(f"/api/categories/{category}", params={"k": 100}))

    r = client.delete(f"/api/items/{item_id}", headers=KEY)
    assert r.status_code == 200 and r.json() == {"deleted": 1}
    sold = client.get(f"/api/items/{item_id}")
    assert sold.status_code == 200 and sold.json()["in_stock"] is False, sold.text
    assert client.get(f"/api/items/{item_id}/similar").status_code == 404
    assert client.delete(f"/api/items/{item_id}", headers=KEY).status_code == 404
    assert item_id not in _home_ids(client, user_id=user, k=100)
    assert item_id not in _home_ids(client, k=100)
    assert item_id not in _ids(client.get(f"/api/categories/{category}", params={"k": 100}))
    assert item_id not in _ids(client.get(f"/api/items/{neighbour}/similar", params={"k": 100}))
    assert item_id not in _ids(client.get("/api/search", params={"q": victim["title"], "k": 100}))


def test_events_are_accepted_and_reach_the_users_feed_at_once(client: httpx.Client, served: Served):
    assert client.get("/api/home", params={"user_id": "brand-new-shopper"}).status_code == 404
    sneakers = _ids(client.get("/api/categories/sneakers"))[:2]
    events = [
        {"user_id": "brand-new-shopper", "item_id": sneakers[0], "kind": "view"},
        {"user_id": "brand-new-shopper", "item_id": sneakers[1], "kind": "purchase", "position": 2,
         "timestamp": "2026-03-01T10:00:00Z", "device": "ios", "region": "EU", "touchpoint": "home"},
    ]  # fmt: skip
    r = client.post("/api/events", json={"events": events}, headers=KEY)
    assert r.status_code == 200 and r.json() == {"accepted": 2}
    assert served.shop.history["brand-new-shopper"] == sneakers
    home = client.get("/api/home", params={"user_id": "brand-new-shopper"}).json()
    assert home["carousels"][0]["key"] == "for_you"
    assert {i["category"] for i in home["carousels"][0]["items"][:3]} == {"sneakers"}
    unknown = client.post(
        "/api/events",
        json={"events": [{"user_id": "a", "item_id": "no-such-item", "kind": "view"}]},
        headers=KEY,
    )
    assert unknown.status_code == 404 and "item_id" in unknown.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [{"item_id": "a", "price": -1}]}, "body items[0].price"),
        ({"items": [{"item_id": "a", "price": "cheap"}]}, "body items[0].price"),
        ({"items": [{"item_id": "a", "colour": "red"}]}, "body items[0].colour"),
        ({"items": [{"item_id": "a", "slot": "hat"}]}, "body items[0].slot"),
        ({"items": [{"item_id": ""}]}, "body items[0].item_id"),
        ({"items": [{"item_id": "a\nb"}]}, "body items[0].item_id"),
        ({"items": [{"item_id": "a", "attributes": {"colour": 3}}]}, "body items[0].attributes.colour"),
        ({"items": [{"title": "no id"}]}, "body items[0].item_id"),
        ({"items": []}, "body items"),
        ({"items": [{"item_id": str(j)} for j in range(1001)]}, "body items"),
        ({}, "body items"),
        ([{"item_id": "a"}], "body"),
        ({"items": [{"item_id": "a", "image_base64": "not base64!"}]}, "body items[0].image_base64"),
        (
            {"items": [{"item_id": "a", "image_base64": base64.b64encode(b"GIF89a....").decode()}]},
            "body items[0].image_base64",
        ),
        (
            {
                "items": [
                    {"item_id": "a", "image_base64": base64.b64encode(b"\x89PNG\r\n\x1a\ntruncated").decode()}
                ]
            },
            "body items[0].image_base64",
        ),
    ],
)
def test_bad_item_bodies_are_422_naming_the_field(client: httpx.Client, body: Any, field: str):
    r = client.put("/api/items", json=body, headers=KEY)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.json()["detail"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"user_id": "u", "item_id": "it000001", "kind": "stare"}, "body events[0].kind"),
        ({"user_id": "u", "item_id": "it000001"}, "body events[0].kind"),
        ({"item_id": "it000001", "kind": "view"}, "body events[0].user_id"),
        (
            {"user_id": "u", "item_id": "it000001", "kind": "view", "timestamp": "yesterday"},
            "body events[0].timestamp",
        ),
        (
            {"user_id": "u", "item_id": "it000001", "kind": "view", "timestamp": -86400},
            "body events[0].timestamp",
        ),
        ({"user_id": "u", "item_id": "it000001", "kind": "view", "position": -1}, "body events[0].position"),
    ],
)
def test_bad_events_are_422_naming_the_field(client: httpx.Client, event: dict, field: str):
    r = client.post("/api/events", json={"events": [event]}, headers=KEY)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.json()["detail"]


def test_oversized_and_malformed_bodies_are_refused_before_parsing(client: httpx.Client):
    huge = b'{"items": [' + b" " * 2_100_000 + b"]}"
    r = client.put("/api/items", content=huge, headers={**KEY, "content-type": "application/json"})
    assert r.status_code == 413 and "at most" in r.json()["detail"]
    r = client.put("/api/items", content=b"{not json", headers={**KEY, "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"].startswith("body: not valid JSON")


def test_shop_argument_errors_are_422_with_the_shops_message(client: httpx.Client, served: Served):
    r = client.get("/api/search", params={"q": "   "})  # passes the schema; the shop refuses it
    assert r.status_code == 422 and r.json() == {"detail": "q: expected a non-empty search query"}


# ------------------------------------------------------------------------------------ operations
def test_metrics_show_latency_per_route_template_and_the_shops_figures(client: httpx.Client):
    client.get("/api/items/it000001")
    client.get("/api/items/it000002/similar")
    client.get("/api/home", params={"k": 0})
    client.get("/definitely/not/a/route")
    text = client.get("/metrics").text
    series = 'lookbook_http_request_duration_seconds_count{method="GET",route="%s",status="%s"} 1.0'
    assert series % ("/api/items/{item_id}", 200) in text
    assert series % ("/api/items/{item_id}/similar", 200) in text
    assert series % ("/api/home", 422) in text
    assert series % ("unmatched", 404) in text
    assert (
        'lookbook_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/api/home",status="422"}'
        in text
    )
    assert "it000001" not in text, "raw paths must not become labels"
    assert "lookbook_index_size 160.0" in text
    assert 'lookbook_model_info{model="catalog_rules",version="1"} 1.0' in text
    assert "lookbook_shop_up 1.0" in text


def test_openapi_documents_every_endpoint_with_its_limits(client: httpx.Client):
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/api/home", "get"), ("/api/items/{item_id}", "get"), ("/api/items/{item_id}", "delete"),
        ("/api/items/{item_id}/similar", "get"), ("/api/items/{item_id}/complete-the-look", "get"),
        ("/api/search", "get"), ("/api/categories/{category}", "get"), ("/api/users", "get"),
        ("/api/categories", "get"), ("/api/items", "put"), ("/api/events", "post"), ("/healthz", "get"),
        ("/metrics", "get"), ("/images/{item_id}", "get"), ("/", "get"), ("/item/{item_id}", "get"),
    ]:  # fmt: skip
        assert method in paths[path], (path, method)
    k = next(p for p in paths["/api/home"]["get"]["parameters"] if p["name"] == "k")
    assert k["schema"]["minimum"] == 1 and k["schema"]["maximum"] == 100
    assert "APIKeyHeader" in doc["components"]["securitySchemes"]
    assert paths["/api/items"]["put"]["security"] == [{"APIKeyHeader": []}]
    assert "detail" in doc["components"]["schemas"]["ErrorOut"]["properties"]
    assert client.get("/docs").status_code == 200


class _Broken(CatalogShop):
    def similar(self, item_id: str, user_id: str | None = None, k: int = 12) -> list:
        raise RuntimeError("a bug deep in the shop")


def test_an_unexpected_error_is_a_logged_500_and_the_server_keeps_serving(
    small_world, tmp_path, caplog: pytest.LogCaptureFixture
):
    shop = _Broken(small_world, tmp_path)
    with (
        serve_in_thread(create_app(shop, ServeConfig(warm_up=False))) as server,
        httpx.Client(base_url=server.url) as client,
        caplog.at_level(logging.ERROR, logger="lookbook.serving"),
    ):
        r = client.get("/api/items/it000001/similar")
        assert r.status_code == 500 and "traceback" in r.json()["detail"]
        assert "a bug deep in the shop" not in r.text, "internals must not leak to clients"
        assert client.get("/api/items/it000001").status_code == 200
        metrics = client.get("/metrics").text
    assert any("a bug deep in the shop" in (rec.exc_text or "") for rec in caplog.records)
    assert 'route="/api/items/{item_id}/similar",status="500"} 1.0' in metrics


def test_warm_up_runs_the_feeds_before_the_server_reports_started_and_search_just_after(
    catalog_shop: CatalogShop,
):
    import time

    with serve_in_thread(create_app(catalog_shop, ServeConfig())):
        assert {"home_feed", "similar", "complete_the_look", "category"} <= set(catalog_shop.calls)
        deadline = time.monotonic() + 10
        while "search" not in catalog_shop.calls:  # the slow one, on a background thread
            assert time.monotonic() < deadline, "search was never warmed up"
            time.sleep(0.01)
