"""``lookbook bench live``: a living shop's targets, measured on a real server over HTTP.

Every figure comes from a real ``lookbook serve`` process on a private copy of the project (the
project itself is never written): its clients are in this process, on loopback.

* **kill cycles**: a writer adds items one by one while the server is killed with ``SIGKILL`` at a
  random moment (1 to 3 s after its first acknowledged write), ``cycles`` times; each restart is
  timed (process start to a healthy ``/healthz``, and to the first acknowledged write, which waits
  for the encoders to load), and at the end every acknowledged item must be served
  (``lost_writes``);
* **item upserts**: ``PUT /api/items`` of one item with its own picture (a different one each time,
  so the encoder's cache never answers), sequentially, after one untimed write (the first write
  after a start waits for the encoders, counted in the kill cycles' ``first_write`` figure);
* **events**: a new shopper's first events must change their next home feed; a burst of events on
  a cold item must bring it into "Trending now" (seconds until it shows);
* **retrain and swap**: ``lookbook retrain --force`` in a child process (as ``serve
  --retrain-every`` runs it, at nice 10), timed, while the server idles; then a ``lookbook models
  rollback`` while 8 clients request home feeds and similar items: the swap window runs from the
  rollback to two seconds after the first ``/healthz`` that names the swapped-in version; failed
  requests and latencies are counted in it and before it;
* **impression logging**: the time ``log_impressions`` adds to a request, in process on the copy.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["LiveBenchConfig", "live_benchmark"]

KEY = "bench-live-key-0123456789"


@dataclass(frozen=True)
class LiveBenchConfig:
    """``cycles`` kill cycles; ``upserts`` timed item writes; ``clients`` concurrent readers during the
    swap; ``impressions`` timed ``log_impressions`` calls; ``seed`` for the random kill moments."""

    cycles: int = 20
    upserts: int = 50
    clients: int = 8
    impressions: int = 2_000
    seed: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Server:
    proc: subprocess.Popen[str]
    url: str
    startup_s: float  # process start to a healthy /healthz
    ready_at: float  # perf_counter() when it was healthy


def _start(project: Path, port: int, *extra: str, timeout: float = 300.0) -> _Server:
    import httpx

    env = {**os.environ, "LOOKBOOK_API_KEY": KEY}
    cmd = [sys.executable, "-m", "lookbook", "-q", "serve", "--project", str(project), "--port", str(port),
           "--demo", *extra]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"lookbook serve exited with {proc.returncode}: {proc.communicate()[1][-2000:]}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return _Server(proc, url, time.perf_counter() - started, time.perf_counter())
        except httpx.TransportError:
            pass
        if time.perf_counter() - started > timeout:
            proc.kill()
            raise RuntimeError(f"lookbook serve not ready after {timeout:.0f} s")
        time.sleep(0.05)


def _stop(server: _Server) -> None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@contextmanager
def _serving(project: Path, port: int, *extra: str) -> Iterator[_Server]:
    server = _start(project, port, *extra)
    try:
        yield server
    finally:
        _stop(server)


def _template(client: Any) -> dict[str, Any]:
    """A realistic item to write: an existing in-stock top's fields, under a new id."""
    users = client.get("/api/users", params={"limit": 1}).json()["users"]
    feed = client.get("/api/home", params={"user_id": users[0], "k": 12}).json()
    first = feed["carousels"][0]["items"][0]["item_id"]
    item = client.get(f"/api/items/{first}").json()
    return {k: item[k] for k in ("title", "category", "slot", "brand", "price", "sizes", "attributes")}


def kill_cycles(project: Path, cycles: int, seed: int) -> dict[str, Any]:
    """Kill a server under a writer ``cycles`` times; every acknowledged item must come back."""
    import httpx

    rng = random.Random(seed)
    port = _free_port()
    acknowledged: list[str] = []
    restarts: list[float] = []
    first_writes: list[float] = []
    counter = 0
    template: dict[str, Any] | None = None
    for cycle in range(cycles):
        server = _start(project, port)
        restarts.append(server.startup_s)
        if template is None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                template = _template(client)
        stop = threading.Event()

        def write(
            stop: threading.Event = stop, url: str = server.url, base: dict[str, Any] = template
        ) -> None:
            nonlocal counter
            with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as client:
                while not stop.is_set():
                    counter += 1
                    item = {**base, "item_id": f"kill-{counter}", "title": f"Kill-cycle tee {counter}"}
                    try:
                        r = client.put("/api/items", json={"items": [item]})
                    except httpx.TransportError:
                        return  # died mid-request: not acknowledged
                    if r.status_code == 200:
                        acknowledged.append(item["item_id"])

        writer = threading.Thread(target=write)
        acked = len(acknowledged)
        writer.start()
        while len(acknowledged) == acked and writer.is_alive():  # the first write loads the encoders
            if time.perf_counter() - server.ready_at > 120:
                raise RuntimeError("no write was acknowledged within 120 s of a restart")
            time.sleep(0.01)
        first_writes.append(time.perf_counter() - server.ready_at + server.startup_s)
        time.sleep(rng.uniform(1.0, 3.0))  # then a kill at a random moment of steady writing
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        stop.set()
        writer.join(timeout=60)
        log.info("kill cycle %d/%d: %d items acknowledged so far", cycle + 1, cycles, len(acknowledged))
    with _serving(project, port) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        restarts.append(server.startup_s)
        lost = [i for i in acknowledged if client.get(f"/api/items/{i}").status_code != 200]
    return {
        "kill_cycles": cycles,
        "acknowledged_writes": len(acknowledged),
        "lost_writes": len(lost),
        "project_opens": True,
        "restart_s_median": round(float(np.median(restarts)), 2),
        "restart_s_max": round(float(np.max(restarts)), 2),
        "first_write_after_restart_s_median": round(float(np.median(first_writes)), 2),
    }


def upsert_latency(client: Any, n: int) -> dict[str, Any]:
    """``n`` sequential ``PUT /api/items``, each with a different existing picture."""
    template = _template(client)
    pool = client.get("/api/categories/" + template["category"], params={"k": 100}).json()["items"]
    users = client.get("/api/users", params={"limit": 20}).json()["users"]
    for u in users:  # more pictures than one category has
        for car in client.get("/api/home", params={"user_id": u, "k": 24}).json()["carousels"]:
            pool += car["items"]
    ids = list(dict.fromkeys(it["item_id"] for it in pool))[:n]
    images = [base64.b64encode(client.get(f"/images/{i}").content).decode() for i in ids]
    warm = {**template, "item_id": "bench-upsert-warm", "title": "Bench warm-up top"}
    client.put("/api/items", json={"items": [warm]}).raise_for_status()  # waits for the encoders to load
    ms = []
    for j, image in enumerate(images):
        item = {
            **template,
            "item_id": f"bench-upsert-{j}",
            "title": f"Bench linen top {j}",
            "image_base64": image,
        }
        t0 = time.perf_counter()
        r = client.put("/api/items", json={"items": [item]})
        ms.append((time.perf_counter() - t0) * 1e3)
        r.raise_for_status()
    return {
        "item_upserts": len(ms),
        "item_upsert_ms_p50": round(float(np.median(ms)), 1),
        "item_upsert_ms_p99": round(float(np.percentile(ms, 99)), 1),
    }


def events_and_trending(client: Any, timeout: float = 120.0) -> dict[str, Any]:
    """A new shopper's events change their next feed; a burst of events on a cold item brings it
    into "Trending now" (seconds until an anonymous home feed shows it)."""
    template_feed = client.get("/api/home", params={"k": 12}).json()["carousels"]
    shown = {it["item_id"] for car in template_feed for it in car["items"]}
    cold = [
        it["item_id"] for it in client.get("/api/search", params={"q": "linen", "k": 100}).json()["items"]
    ]
    cold = [i for i in cold if i not in shown] or cold
    shopper = f"bench-shopper-{int(time.time())}"
    # no timestamps: the shop's clock stamps them (a demo world's clock is replayed, not the wall's)
    first = [{"user_id": shopper, "item_id": i, "kind": "purchase"} for i in cold[:3]]
    client.post("/api/events", json={"events": first}).raise_for_status()
    feed = client.get("/api/home", params={"user_id": shopper, "k": 12}).json()["carousels"]
    changed = bool(feed) and feed[0]["key"] == "for_you"
    target = cold[-1]
    burst = [
        {"user_id": f"{shopper}-{j}", "item_id": target, "kind": kind}
        for j in range(40)
        for kind in ("click", "add_to_bag", "purchase")
    ]
    started = time.perf_counter()
    client.post("/api/events", json={"events": burst}).raise_for_status()
    moved: float | None = None
    while time.perf_counter() - started < timeout:
        cars = client.get("/api/home", params={"k": 12}).json()["carousels"]
        trending = next((c for c in cars if c["key"] == "trending"), None)
        if trending is not None and target in {it["item_id"] for it in trending["items"]}:
            moved = time.perf_counter() - started
            break
        time.sleep(0.5)
    return {
        "event_changes_next_feed": changed,
        "trending_moves_s": None if moved is None else round(moved, 1),
    }


def _lookbook(*args: str, nice: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lookbook", "-q", *args]
    done = subprocess.run(
        cmd, capture_output=True, text=True, preexec_fn=(lambda: os.nice(10)) if nice else None
    )
    if done.returncode != 0:
        raise RuntimeError(f"lookbook {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done


def _served_version(client: Any, other_than: str, timeout: float = 600.0) -> str:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        served = str(client.get("/healthz").json()["model_version"])
        if served != other_than:
            return served
        time.sleep(0.1)
    raise RuntimeError(f"the server still serves {other_than} after {timeout:.0f} s")


def retrain_and_swap(project: Path, url: str, clients: int) -> dict[str, Any]:
    """Retrain in a child process (nice 10, as ``serve --retrain-every`` runs it) while the server
    is idle, timed; then, with ``clients`` threads reading (home feeds and similar items of sampled
    shoppers, the response cache as configured), roll back to the previous version: the server
    swaps it in under load. Failures and latencies per window: before the rollback (the baseline)
    and from the rollback to two seconds after ``/healthz`` names the swapped-in version."""
    import httpx

    with httpx.Client(base_url=url, timeout=30) as client:
        users = client.get("/api/users", params={"limit": 64}).json()["users"]
        feeds = [client.get("/api/home", params={"user_id": u, "k": 4}).json() for u in users[:16]]
        heroes = [f["carousels"][0]["items"][0]["item_id"] for f in feeds if f["carousels"]]
        before = client.get("/healthz").json()["model_version"]
        started = time.perf_counter()
        _lookbook("retrain", "--project", str(project), "--force", "--json", nice=True)
        retrain_s = time.perf_counter() - started
        retrained = _served_version(client, before)
        retrained_seen_s = time.perf_counter() - started - retrain_s
    samples: list[tuple[float, float, int]] = []  # (end time, seconds, status)
    stop = threading.Event()

    def read(w: int) -> None:
        rng = random.Random(w)
        with httpx.Client(base_url=url, timeout=30) as client:
            while not stop.is_set():
                u = rng.choice(users)
                path = (f"/api/home?user_id={u}&k=12" if rng.random() < 0.6
                        else f"/api/items/{rng.choice(heroes)}/similar?user_id={u}&k=12")  # fmt: skip
                t0 = time.perf_counter()
                try:
                    status = client.get(path).status_code
                except httpx.TransportError:
                    status = 599
                t1 = time.perf_counter()
                samples.append((t1, t1 - t0, status))

    threads = [threading.Thread(target=read, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    try:
        time.sleep(5.0)
        t_swap = time.perf_counter()
        _lookbook("models", "rollback", "--project", str(project))
        with httpx.Client(base_url=url, timeout=30) as client:
            swapped = _served_version(client, retrained)
        t_seen = time.perf_counter()
        time.sleep(2.0)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    arr = np.asarray(samples)

    def window(lo: float, hi: float) -> dict[str, Any]:
        part = arr[(arr[:, 0] >= lo) & (arr[:, 0] < hi)] if arr.size else arr
        if not len(part):
            return {"requests": 0}
        ms = part[:, 1] * 1e3
        return {
            "requests": len(part),
            "failed_requests": int((part[:, 2] != 200).sum()),
            "p50_ms": round(float(np.median(ms)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(ms.max()), 1),
        }

    swap = window(t_swap, t_seen + 2.0)
    return {
        "retrain_s": round(retrain_s, 1),
        "retrained_version_served_after_s": round(retrained_seen_s, 1),
        "swap": f"{retrained} -> {swapped} under {clients} clients",
        "swap_seen_s": round(t_seen - t_swap, 1),
        "before_swap": window(0.0, t_swap),
        "during_swap": swap,
        "swap_failed_requests": swap.get("failed_requests", 0),
        "swap_max_latency_ms": swap.get("max_ms"),
    }


def impression_latency(project: Path, n: int) -> dict[str, Any]:
    """What ``log_impressions`` adds to a request: ``n`` calls with 12-item slates, in process."""
    from lookbook.touchpoints.factory import open_shop

    with open_shop(project) as shop:
        users = shop.demo_users(50)
        feed = shop.home_feed(users[0], k=12)
        items = [it.item_id for it in feed[0].items]
        scores = [it.score for it in feed[0].items]
        ms = []
        for j in range(n):
            t0 = time.perf_counter()
            shop.log_impressions(f"bench-{j}", users[j % len(users)], "home/for_you", items, scores)
            ms.append((time.perf_counter() - t0) * 1e3)
    return {
        "impressions_logged": n,
        "impression_log_ms_p50": round(float(np.median(ms)), 4),
        "impression_log_ms_p99": round(float(np.percentile(ms, 99)), 4),
    }


def live_benchmark(project: Path, workdir: Path, config: LiveBenchConfig | None = None) -> dict[str, Any]:
    """Every figure above on a sparse copy of ``project`` in ``workdir`` (removed after)."""
    import shutil

    import httpx

    from lookbook.project.layout import copy_project

    config = config or LiveBenchConfig()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the figures
    load = os.getloadavg()[0]
    if load > 0.5:
        log.warning(
            "load average %.1f before the benchmark: figures will be slower than on an idle machine", load
        )
    copy = copy_project(project, workdir / "live-bench")
    try:
        out: dict[str, Any] = {"project": str(project), "load_before": round(load, 2)}
        started = time.perf_counter()
        out.update(kill_cycles(copy, config.cycles, config.seed))
        log.info("kill cycles done in %.0f s", time.perf_counter() - started)
        with (
            _serving(copy, _free_port()) as server,
            httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=60) as client,
        ):
            out.update(upsert_latency(client, config.upserts))
            out.update(events_and_trending(client))
        with _serving(copy, _free_port()) as server:
            out.update(retrain_and_swap(copy, server.url, config.clients))
        out.update(impression_latency(copy, config.impressions))
        return out
    finally:
        shutil.rmtree(copy, ignore_errors=True)
