"""One pure-ASGI middleware around the whole app: request id, body size limit, latency metric,
last-resort 500.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one runs the app in a separate task
and streams the response through a queue, which costs more per request than the feed's own
ranking at the throughput the benchmark asks for.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lookbook.serving.access import (
    REQUEST_ID_KEY,
    SET_READ_COOKIE_KEY,
    incoming_request_id,
    read_cookie_header,
)
from lookbook.serving.metrics import UNMATCHED, AppMetrics

log = logging.getLogger(__name__)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ServingMiddleware:
    """Gives every request an id (the client's sane ``X-Request-ID``, else a new one: in the scope
    for the endpoints, in the ``X-Request-ID`` header of every response, in the 500 log line),
    bounds request bodies (413 before parsing), times every request into the per-route
    histogram, and turns an exception no handler caught into a JSON 500 with a logged traceback,
    so one bad request never takes a connection (or the server) down with it. When the read-key
    check admitted a request by ``?key=``, the response sets the read cookie (``read_key``; see
    ``serving.access``).

    ``upload_limits`` gives photo upload paths their own, larger bound (a photo is megabytes where
    a JSON batch is kilobytes); the endpoint still counts the file itself against its limit, since
    a multipart body also holds framing and other fields. A body refused on such a path is timed
    under that path rather than as unmatched: the refusal happens before routing, but the path
    has no parameters, so it is a fixed label.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: AppMetrics,
        max_body_bytes: int,
        upload_limits: Mapping[str, int] | None = None,
        read_key: str | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.upload_limits = dict(upload_limits or {})
        self.read_key = read_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False
        rid = incoming_request_id(_header(scope, b"x-request-id"))
        scope[REQUEST_ID_KEY] = rid

        async def send_and_watch(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                headers = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
                if self.read_key is not None and scope.get(SET_READ_COOKIE_KEY):
                    headers.append(
                        (b"set-cookie", read_cookie_header(self.read_key, scope["scheme"] == "https"))
                    )
                message = {**message, "headers": headers}
            await send(message)

        try:
            if scope["method"] in _BODY_METHODS:
                receive, problem = await self._buffer_body(scope, receive)
                if problem is not None:
                    await _send_json(send_and_watch, problem[0], problem[1])
                    return
            await self.app(scope, receive, send_and_watch)
        except Exception:
            log.exception("unhandled error in %s %s (request %s)", scope["method"], scope.get("path"), rid)
            if not response_started:
                await _send_json(send_and_watch, 500, "internal error; the server log has the traceback")
            status = 500
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None)
            if template is None:
                template = scope.get("path") if scope.get("path") in self.upload_limits else UNMATCHED
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - started)

    async def _buffer_body(self, scope: Scope, receive: Receive) -> tuple[Receive, tuple[int, str] | None]:
        """Read the whole body (at most ``max_body_bytes``, or the path's upload limit) and hand the
        app a replay of it."""
        limit = self.upload_limits.get(scope.get("path", ""), self.max_body_bytes)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return receive, (400, "Content-Length: not an integer")
                if declared > limit:
                    return receive, (413, f"body: at most {limit} bytes, Content-Length says {declared}")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _replay(b"", receive, disconnected=True), None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return receive, (413, f"body: at most {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay(b"".join(chunks), receive), None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def _replay(body: bytes, receive: Receive, *, disconnected: bool = False) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if disconnected:
            return {"type": "http.disconnect"}
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers: list[tuple[bytes, Any]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
