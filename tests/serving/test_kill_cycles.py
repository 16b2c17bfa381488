"""``kill -9`` a real ``lookbook serve`` while a writer adds items one by one, again and again: every
item the server acknowledged is there when it comes back, and the project always opens."""

from __future__ import annotations

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

#: Kill cycles in the suite (each restarts the server: a few seconds on the test project).
CYCLES = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(project: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "LOOKBOOK_API_KEY": API_KEY}
    cmd = [sys.executable, "-m", "lookbook", "-q", "serve", "--project", str(project), "--port", str(port)]
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


def test_no_acknowledged_item_is_lost_over_kill_cycles(built_project: Path, tmp_path_factory):
    project = copy_project(built_project, tmp_path_factory, "kill-cycles")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    rng = random.Random(7)
    counter = 0
    for _cycle in range(CYCLES):
        proc = _start(project, port)
        stop = threading.Event()

        def write(stop: threading.Event = stop) -> None:
            nonlocal counter
            with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
                while not stop.is_set():
                    counter += 1
                    item = {
                        "item_id": f"kill-{counter}",
                        "title": f"Kill-cycle test tee number {counter}",
                        "slot": "top",
                        "category": "t-shirt",
                        "price": 10.0 + counter,
                        "in_stock": True,
                    }
                    try:
                        r = client.put("/api/items", json={"items": [item]})
                    except httpx.TransportError:
                        return  # the server died mid-request: not acknowledged
                    if r.status_code == 200:
                        acknowledged.append(item["item_id"])

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(rng.uniform(1.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        writer.join(timeout=60)
    assert acknowledged, "the writer never got an item in"
    proc = _start(project, port)  # the project opens after the last kill
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            missing = [i for i in acknowledged if client.get(f"/api/items/{i}").status_code != 200]
            found = client.get(
                "/api/search", params={"q": f"kill-cycle test tee number {counter - 1}", "k": 50}
            )
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged items lost: {missing[:5]}"
        assert found.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
