"""Running an app: ``run`` for ``lookbook serve`` (blocks), ``serve_in_thread`` for tests and
benchmarks (a real uvicorn server on a free loopback port, in a thread, stopped on exit)."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from lookbook.errors import LookbookError
from lookbook.touchpoints.api import Shop

log = logging.getLogger(__name__)


def warm_up(shop: Shop, *, background: bool = True) -> float:
    """One call per touchpoint before the first request, so the first shopper does not pay for lazy
    loading; returns the seconds it took.

    The feeds, item pages and category pages warm up here, before the server reports ready. Search
    (the sentence encoder: about 5 s of imports and loading; BM25 over the catalog) and the writer's
    encoders (``shop.preload()``, when the shop has one) warm up on a background thread when
    ``background``: a restart serves feeds seconds sooner, and a search or a write that arrives
    before they are loaded waits for them instead of failing. Failures are logged and ignored: an
    empty catalog or a shop without some model must still serve.
    """
    started = time.perf_counter()
    calls: list[tuple[str, Callable[[], object]]] = [("home_feed", lambda: shop.home_feed(None, None, 12))]
    try:
        feed = shop.home_feed(None, None, 12)
        item = next((r.item_id for c in feed for r in c.items), None)
        categories = shop.categories()
    except Exception:
        log.warning("warm-up: the home feed failed", exc_info=True)
        item, categories = None, []
    if item is not None:
        calls += [
            ("similar", lambda: shop.similar(item, None, 12)),
            ("complete_the_look", lambda: shop.complete_the_look(item, None, 3)),
        ]
    slow: list[tuple[str, Callable[[], object]]] = []
    if categories:
        calls.append(("category", lambda: shop.category(categories[0], None, 24)))
        slow.append(("search", lambda: shop.search(categories[0], None, 24)))
    preload = getattr(shop, "preload", None)
    if callable(preload):
        slow.append(("preload", preload))
    _run(calls)
    seconds = time.perf_counter() - started
    log.info("warm-up: %d touchpoints in %.2f s", len(calls), seconds)
    if background:
        threading.Thread(
            target=_run, args=(slow, "in the background"), name="lookbook-warm-up", daemon=True
        ).start()
    else:
        _run(slow)
    return seconds


def _run(calls: list[tuple[str, Callable[[], object]]], where: str = "") -> None:
    started = time.perf_counter()
    for name, call in calls:
        try:
            call()
        except Exception:
            log.warning("warm-up: %s failed", name, exc_info=True)
    if where:
        log.info(
            "warm-up %s: %s in %.2f s", where, ", ".join(n for n, _ in calls), time.perf_counter() - started
        )


@dataclass(frozen=True)
class RunningServer:
    """A server started by ``serve_in_thread``: where to reach it."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _uvicorn_config(app: FastAPI, log_level: str) -> uvicorn.Config:
    # One worker, no access log (a log line per request costs more than a cached feed); uvicorn
    # picks httptools and uvloop when they are installed, h11 and asyncio otherwise.
    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on", timeout_keep_alive=30)


class _Stopped(Exception):
    """SIGTERM, after uvicorn's graceful shutdown (see ``run``)."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def run(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve until Ctrl-C or SIGTERM; both stop gracefully (requests in flight finish).

    uvicorn handles the signal itself and, once shut down, raises it again for the previous
    handler, which by default kills the process before its caller can close the ``Shop``. The
    handler installed here turns that second SIGTERM into a normal return instead (Ctrl-C already
    arrives as ``KeyboardInterrupt``, which callers handle).
    """
    config = _uvicorn_config(app, log_level)
    config.host, config.port = host, port
    server = uvicorn.Server(config)
    if threading.current_thread() is not threading.main_thread():
        server.run()
        return
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except _Stopped:
        log.info("stopped by SIGTERM")
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def serve_in_thread(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    timeout: float = 120.0,
) -> Iterator[RunningServer]:
    """Start ``app`` on ``host:port`` (0: a free port) in a daemon thread; yield once it accepts
    connections; stop it (and wait for it) on exit.

    The socket is bound here, before the thread starts, so the port is known and taken at once
    (no race between choosing a free port and binding it).
    """
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says so, and without it every keep-alive response waits ~40 ms for a delayed ACK.
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except OSError as exc:
        raise LookbookError(f"serve host: cannot listen on {host!r} ({exc})") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise LookbookError(f"serve port: cannot bind {host}:{port} ({exc.strerror})") from None
    bound = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(app, log_level))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{bound}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise LookbookError(f"serve: the server on {host}:{bound} stopped while starting (see the log)")
        if time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise LookbookError(f"serve: the server on {host}:{bound} did not start within {timeout} s")
        time.sleep(0.01)
    log.info("serving on http://%s:%d", host, bound)
    try:
        yield RunningServer(host, bound)
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
