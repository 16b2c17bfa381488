"""A living shop tried as a new user would, on a real ``lookbook serve`` process: serve a copy of a
built project with keys, add an item with its picture, sell one, post a new shopper's events,
``kill -9`` the server again and again while a writer adds items one by one, start it again (every
acknowledged item is there, the sold one is listed nowhere), then retrain while requests flow: the
server swaps the new version in, ``/healthz`` names it, and no request failed."""

from __future__ import annotations

import base64
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import API_KEY, copy_project

pytestmark = pytest.mark.slow

#: Kill cycles in the suite (each restarts the server: a few seconds on the test project);
#: ``lookbook bench live`` runs 20 on the default world.
CYCLES = 2
READ_KEY = "read-key-0123456789"
KEYS = {"X-API-Key": API_KEY, "X-Read-Key": READ_KEY}
SHOPPER = "walk-shopper"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(project: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "LOOKBOOK_API_KEY": API_KEY, "LOOKBOOK_READ_KEY": READ_KEY}
    cmd = [sys.executable, "-m", "lookbook", "-q", "serve", "--project", str(project), "--port", str(port),
           "--reload-seconds", "0.5"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "lookbook serve did not come up"
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def _listed(client: httpx.Client, item_id: str, category: str, title: str) -> list[str]:
    """Where a read still shows ``item_id``."""
    found = []
    home = client.get("/api/home", params={"k": 50}).json()["carousels"]
    if any(it["item_id"] == item_id for car in home for it in car["items"]):
        found.append("home")
    listing = client.get(f"/api/categories/{category}", params={"k": 100}).json()["items"]
    if any(it["item_id"] == item_id for it in listing):
        found.append("category")
    hits = client.get("/api/search", params={"q": title, "k": 50}).json()["items"]
    if any(it["item_id"] == item_id for it in hits):
        found.append("search")
    return found


def _first_visit(client: httpx.Client, url: str) -> dict:
    """Reads need the key; add an item with its picture, sell one, post a new shopper's events."""
    assert httpx.get(f"{url}/api/home").status_code == 401, "reads need the read key"
    anonymous = client.get("/api/home", params={"k": 12}).json()["carousels"]
    donor = client.get(f"/api/items/{anonymous[0]['items'][0]['item_id']}").json()
    picture = base64.b64encode(client.get(f"/images/{donor['item_id']}").content).decode()
    template = {k: donor[k] for k in ("category", "slot", "brand", "sizes", "attributes")}
    new = {**template, "item_id": "walk-new", "title": "Walk-through saffron tee", "price": 31.0}
    assert client.put("/api/items", json={"items": [{**new, "image_base64": picture}]}).status_code == 200
    assert client.get("/api/items/walk-new").json()["price"] == 31.0
    assert client.get("/images/walk-new").status_code == 200
    sold = anonymous[0]["items"][1]
    assert client.delete(f"/api/items/{sold['item_id']}").status_code == 200
    clicked = [it["item_id"] for it in anonymous[1]["items"][:3]]
    events = [{"user_id": SHOPPER, "item_id": "walk-new", "kind": "purchase"}]
    events += [{"user_id": SHOPPER, "item_id": i, "kind": "click"} for i in clicked]
    assert client.post("/api/events", json={"events": events}).status_code == 200
    feed = client.get("/api/home", params={"user_id": SHOPPER, "k": 12}).json()["carousels"]
    assert feed[0]["key"] == "for_you", "a new shopper's events did not change their next feed"
    return {"template": template, "sold": sold, "donor": donor["item_id"]}


def _kill_cycles(project: Path, port: int, template: dict) -> list[str]:
    """``kill -9`` the server under a writer ``CYCLES`` times; the ids it acknowledged."""
    url = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    rng = random.Random(7)
    counter = 0
    for _cycle in range(CYCLES):
        proc = _start(project, port)
        stop = threading.Event()

        def write(stop: threading.Event = stop) -> None:
            nonlocal counter
            with httpx.Client(base_url=url, headers=KEYS, timeout=30) as client:
                while not stop.is_set():
                    counter += 1
                    title = f"Kill-cycle tee number {counter}"
                    item = {**template, "item_id": f"kill-{counter}", "title": title, "price": 10.0 + counter}
                    try:
                        r = client.put("/api/items", json={"items": [item]})
                    except httpx.TransportError:
                        return  # the server died mid-request: not acknowledged
                    if r.status_code == 200:
                        acknowledged.append(item["item_id"])

        writer = threading.Thread(target=write)
        acked = len(acknowledged)
        writer.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) == acked:  # the first write after a start waits for the encoders
            assert writer.is_alive() and time.monotonic() < deadline, "no write acknowledged after a restart"
            time.sleep(0.01)
        time.sleep(rng.uniform(1.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        writer.join(timeout=60)
    return acknowledged


def _retrain_while_reading(client: httpx.Client, project: Path, paths: list[str]) -> tuple[str, list[int]]:
    """``lookbook retrain --force`` in another process while 2 clients read ``paths``; waits for the
    server to serve the promoted version. Returns it and every read's status."""
    before = client.get("/healthz").json()["model_version"]
    statuses: list[int] = []
    stop = threading.Event()

    def read(w: int) -> None:
        with httpx.Client(base_url=str(client.base_url), headers=KEYS, timeout=30) as reader:
            while not stop.is_set():
                try:
                    statuses.append(reader.get(paths[w % len(paths)]).status_code)
                except httpx.TransportError:
                    statuses.append(599)

    readers = [threading.Thread(target=read, args=(w,)) for w in range(2)]
    for t in readers:
        t.start()
    try:
        cmd = [sys.executable, "-m", "lookbook", "-q", "retrain", "--project", str(project), "--force"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        deadline = time.monotonic() + 120
        while (after := client.get("/healthz").json()["model_version"]) == before:
            assert time.monotonic() < deadline, "the server did not swap the promoted version in"
            time.sleep(0.2)
        time.sleep(1.0)  # requests after the swap too
    finally:
        stop.set()
        for t in readers:
            t.join(60)
    return after, statuses


def test_a_new_user_walks_a_living_shop_through_kills_and_a_retrain(built_project: Path, tmp_path_factory):
    project = copy_project(built_project, tmp_path_factory, "living-walk")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(project, port)
    try:
        with httpx.Client(base_url=url, headers=KEYS, timeout=60) as client:
            seen = _first_visit(client, url)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    acknowledged = _kill_cycles(project, port, seen["template"])
    assert acknowledged, "the writer never got an item in"
    proc = _start(project, port)  # the project opens after the last kill
    try:
        with httpx.Client(base_url=url, headers=KEYS, timeout=60) as client:
            ids = [*acknowledged, "walk-new"]
            missing = [i for i in ids if client.get(f"/api/items/{i}").status_code != 200]
            assert not missing, f"{len(missing)} of {len(ids)} acknowledged items lost: {missing[:5]}"
            sold = seen["sold"]
            assert client.get(f"/api/items/{sold['item_id']}").json()["in_stock"] is False
            assert _listed(client, sold["item_id"], sold["category"], sold["title"]) == []
            home = f"/api/home?user_id={SHOPPER}&k=12"
            assert client.get(home).json()["carousels"][0]["key"] == "for_you"
            similar = f"/api/items/{seen['donor']}/similar?user_id={SHOPPER}&k=12"
            after, statuses = _retrain_while_reading(client, project, [home, similar])
            assert statuses and set(statuses) == {200}, f"failed requests during retrain and swap: {statuses}"
            assert f'lookbook_model_version_info{{version="{after}"}}' in client.get("/metrics").text
            assert client.get("/api/items/walk-new").json()["price"] == 31.0
            assert client.get(home).json()["carousels"][0]["key"] == "for_you"
    finally:
        _stop(proc)
