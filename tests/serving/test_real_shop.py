"""The API over the real ``Shop`` on a built project (a private copy of the session's build), and
``lookbook serve`` as a real process: writes reach the store and every index before the response.
"""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from lookbook.serving.schemas import CarouselListOut, HomeOut, ItemListOut, ItemViewOut

from .conftest import API_KEY, Served, copy_project

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def client(real_served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_served.url, timeout=120) as c:
        yield c


def _ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["item_id"] for i in r.json()["items"]]


def _feed_ids(client: httpx.Client, **params: object) -> set[str]:
    r = client.get("/api/home", params={"k": 100, **params})
    assert r.status_code == 200, r.text
    return {i["item_id"] for c in r.json()["carousels"] for i in c["items"]}


def test_every_touchpoint_answers_over_http(client: httpx.Client, real_served: Served):
    user = client.get("/api/users").json()["users"][0]
    home = HomeOut.model_validate(client.get("/api/home", params={"user_id": user, "k": 6}).json())
    assert home.carousels and home.carousels[0].key == "for_you"
    item = home.carousels[0].items[0]
    assert 0 < len(home.carousels[0].items) <= 6 and item.why and item.price == round(item.price, 2)
    ItemViewOut.model_validate(client.get(f"/api/items/{item.item_id}").json())
    similar = ItemListOut.model_validate(
        client.get(f"/api/items/{item.item_id}/similar", params={"k": 5}).json()
    )
    assert 0 < len(similar.items) <= 5 and item.item_id not in {i.item_id for i in similar.items}
    look = CarouselListOut.model_validate(client.get(f"/api/items/{item.item_id}/complete-the-look").json())
    assert look.carousels and all(c.key != item.slot for c in look.carousels)
    assert _ids(client.get("/api/search", params={"q": item.title, "user_id": user}))
    assert _ids(client.get(f"/api/categories/{item.category}"))
    assert client.get(f"/images/{item.item_id}").headers["content-type"] == "image/png"
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["stats"]["items"] > 0
    assert health["model_version"] == real_served.shop.model_version()


def test_an_upserted_item_is_served_at_once(client: httpx.Client):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 40, 200)).save(buf, "PNG")
    record = {
        "item_id": "api-coat-1",
        "title": "Ultramarine quilted nylon coat",
        "description": "A quilted coat in ultramarine nylon.",
        "category": "coat",
        "slot": "outerwear",
        "brand": "Testa",
        "price": 149.5,
        "sizes": ["S", "M", "L"],
        "in_stock": True,
        "attributes": {"colour": "blue", "material": "nylon"},
        "image_base64": base64.b64encode(buf.getvalue()).decode(),
    }
    r = client.put("/api/items", json={"items": [record]}, headers=KEY)
    assert r.status_code == 200 and r.json() == {"upserted": 1}, r.text
    view = client.get("/api/items/api-coat-1").json()
    assert view["title"] == record["title"] and view["price"] == 149.5 and view["sizes"] == ["S", "M", "L"]
    assert "api-coat-1" in _ids(
        client.get("/api/search", params={"q": "ultramarine quilted nylon coat", "k": 10})
    )
    assert "api-coat-1" in _ids(client.get("/api/categories/coat", params={"k": 100}))
    assert client.get("/images/api-coat-1").content == buf.getvalue()


def test_a_sold_item_disappears_from_every_touchpoint(client: httpx.Client):
    user = client.get("/api/users").json()["users"][0]
    home = client.get("/api/home", params={"user_id": user}).json()
    victim = home["carousels"][0]["items"][0]
    item_id = victim["item_id"]
    neighbour = _ids(client.get(f"/api/items/{item_id}/similar"))[0]
    r = client.delete(f"/api/items/{item_id}", headers=KEY)
    assert r.status_code == 200 and r.json() == {"deleted": 1}
    sold = client.get(f"/api/items/{item_id}")  # known, sold: the same answer before and after a restart
    assert sold.status_code == 200 and sold.json()["in_stock"] is False, sold.text
    page = client.get(f"/item/{item_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "Sold out" in page.text
    assert item_id not in _feed_ids(client, user_id=user)
    assert item_id not in _feed_ids(client)
    assert item_id not in _ids(client.get(f"/api/categories/{victim['category']}", params={"k": 100}))
    assert item_id not in _ids(client.get(f"/api/items/{neighbour}/similar", params={"k": 100}))
    assert item_id not in _ids(client.get("/api/search", params={"q": victim["title"], "k": 100}))


def test_events_give_a_new_shopper_a_feed_at_once(client: httpx.Client):
    assert client.get("/api/home", params={"user_id": "api-new-shopper"}).status_code == 404
    items = sorted(_feed_ids(client))[:3]
    events = [{"user_id": "api-new-shopper", "item_id": i, "kind": "add_to_bag"} for i in items]
    r = client.post("/api/events", json={"events": events}, headers=KEY)
    assert r.status_code == 200 and r.json() == {"accepted": 3}
    home = client.get("/api/home", params={"user_id": "api-new-shopper"})
    assert home.status_code == 200 and home.json()["carousels"][0]["key"] == "for_you"
    unknown = client.post(
        "/api/events",
        json={"events": [{"user_id": "x", "item_id": "no-such-item", "kind": "view"}]},
        headers=KEY,
    )
    assert unknown.status_code == 404 and "item_id" in unknown.json()["detail"]


def test_metrics_report_the_index_and_the_models_built(client: httpx.Client, real_served: Served):
    client.get("/api/home")
    text = client.get("/metrics").text
    stats = real_served.shop.stats()
    assert f"lookbook_index_size {float(stats['index_items'])}" in text
    for model, version in stats["model_versions"].items():
        assert f'lookbook_model_info{{model="{model}",version="{version}"}} 1.0' in text
    assert 'route="/api/home",status="200"' in text


# ------------------------------------------------------------------------------ lookbook serve
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_lookbook_serve_runs_the_app_and_stops_cleanly(built_project: Path, tmp_path_factory):
    project = copy_project(built_project, tmp_path_factory, "cli-project")
    port = _free_port()
    env = {**os.environ, "LOOKBOOK_API_KEY": API_KEY}
    cmd = [sys.executable, "-m", "lookbook", "-q", "serve", "--project", str(project), "--port", str(port),
           "--demo"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "lookbook serve did not come up"
            time.sleep(0.5)
        user = httpx.get(f"{url}/api/users").json()["users"][0]
        assert httpx.get(f"{url}/api/home", params={"user_id": user}).status_code == 200
        assert "Lookbook" in httpx.get(f"{url}/", params={"user": user}).text
        event = {"events": [{"user_id": user, "item_id": sorted(_feed_ids(httpx.Client(base_url=url)))[0],
                             "kind": "view"}]}  # fmt: skip
        assert httpx.post(f"{url}/api/events", json=event, headers=KEY).status_code == 200  # key from the env
        assert httpx.post(f"{url}/api/events", json=event).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read()[-2000:] if proc.stderr else ""


def test_lookbook_serve_on_a_missing_project_fails_with_a_message(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "lookbook", "serve", "--project", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and "lookbook build" in done.stderr
