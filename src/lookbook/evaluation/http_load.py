"""A closed-loop HTTP load test: a real ``lookbook serve`` process, N concurrent clients on loopback.

The server runs in its own process (as in production). The clients are ``wrk`` (Debian's package)
when it is installed: a C load generator whose own cost is small, which matters when client and
server share two cores; otherwise ``concurrency`` asyncio tasks with httpx in this process, whose
per-request Python overhead is charged to the same two cores (the figures say which ran). Each
client sends its next request when the last answered, for ``seconds`` per endpoint after a warm-up,
cycling through the sampled users and items.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import tempfile
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


_WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def _wrk(
    url: str, paths: list[str], seconds: float, concurrency: int, workdir: Path
) -> dict[str, Any] | None:
    """Run ``wrk`` over ``paths``; ``None`` when it is not installed."""
    import re
    import shutil

    exe = shutil.which("wrk")
    if exe is None:
        return None
    listing = workdir / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = workdir / "paths.lua"
    script.write_text(_WRK_SCRIPT % listing)
    subprocess.run([exe, "-t1", f"-c{concurrency}", "-d2s", "-s", str(script), url], capture_output=True)
    out = subprocess.run(
        [exe, "-t2", f"-c{concurrency}", f"-d{max(int(seconds), 1)}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50_ms": round(ms("50"), 2),
        "p99_ms": round(ms("99"), 2),
        "requests": int(total.group(1)) if total else 0,
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "client": "wrk",
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
    from lookbook.touchpoints.factory import open_shop

    with open_shop(project) as shop:  # item ids to ask about (the server opens its own copy)
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
            with tempfile.TemporaryDirectory() as tmp:
                figures = _wrk(url, [path(i) for i in range(len(users))], seconds, concurrency, Path(tmp))
            if figures is None:
                figures = asyncio.run(_load(url, path, seconds, concurrency)) | {"client": "httpx"}
            out[name] = figures
            log.info("http %s: %s", name, out[name])
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
