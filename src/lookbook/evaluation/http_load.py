"""A closed-loop HTTP load test: a real ``lookbook serve`` process, N concurrent clients on loopback.

The server runs in its own process (as in production), the clients in this one: ``concurrency``
asyncio tasks share one connection pool and each sends its next request when the last answered, for
``seconds`` per endpoint after a short warm-up. Requests per second and latency percentiles are
what the clients saw, so they include the client's own overhead on this two-core machine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"lookbook serve exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"lookbook serve not ready at {url} after {timeout:.0f} s")


async def _load(url: str, paths: Callable[[int], str], seconds: float, concurrency: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10.0) as client:

        async def worker(w: int, until: float, record: bool) -> None:
            nonlocal errors
            i = w
            while time.perf_counter() < until:
                t0 = time.perf_counter()
                r = await client.get(paths(i))
                if record:
                    latencies.append(time.perf_counter() - t0)
                    errors += r.status_code != 200
                i += concurrency

        warm = time.perf_counter() + min(2.0, seconds / 4)
        await asyncio.gather(*(worker(w, warm, False) for w in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(w, started + seconds, True) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1e3
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.median(ms)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "requests": len(latencies),
        "errors": int(errors),
    }


def http_benchmark(
    project: Path,
    users: list[str],
    *,
    seconds: float = 10.0,
    concurrency: int = 32,
    timeout: float = 120.0,
    cache_seconds: float | None = None,
) -> dict[str, Any]:
    """``{"home": {rps, p50_ms, p99_ms, ...}, "similar": {...}}`` against a fresh server process
    (``cache_seconds``: its response cache; None keeps the server's default)."""
    from lookbook.touchpoints.shop import Shop

    with Shop.open(project) as shop:  # item ids to ask about (the server opens its own copy)
        state = shop.state
        live = state.catalog.ids.ids[state.catalog.alive & state.catalog.in_stock]
    rng = np.random.default_rng(1)
    heroes = rng.choice(live, size=len(users)).tolist()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "lookbook", "-q", "serve", "--project", str(project), "--port", str(port)]
    if cache_seconds is not None:
        cmd += ["--cache-seconds", str(cache_seconds)]
    proc = subprocess.Popen(cmd, env={**os.environ, "LOOKBOOK_API_KEY": ""})
    try:
        _wait_ready(url, proc, timeout)
        out = {}
        for name, path in (
            ("home", lambda i: f"/api/home?user_id={users[i % len(users)]}&k=20"),
            (
                "similar",
                lambda i: f"/api/items/{heroes[i % len(heroes)]}/similar?user_id={users[i % len(users)]}",
            ),
        ):
            out[name] = asyncio.run(_load(url, path, seconds, concurrency))
            log.info("http %s: %s", name, out[name])
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
