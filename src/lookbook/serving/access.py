"""Who asked, and may they read: request ids and the optional read key.

Request ids: every response carries ``X-Request-ID``; a client's own id (a proxy's or a tracing
system's) is kept when it is sane, so one id follows the request through every log; otherwise
the server makes one (a uuid4 in hex). ``ServingMiddleware`` puts it in the ASGI scope, where the
endpoints read it (``request_id``) for the ``request_id`` field of touchpoint responses and the
impressions they log; events sent back with that id join a click to the slate that caused it.

The read key (``ServeConfig.read_key``, ``lookbook serve --read-key``): off by default, since the
demo is meant to be browsed. When set, every read route (the JSON API, the pages, item images,
community photos) needs it, in the ``X-Read-Key`` header (API clients), as ``?key=`` (a link),
or in the ``lookbook_read`` cookie that a request admitted by ``?key=`` sets. The cookie is what
keeps the pages usable: an ``<img>`` cannot send a header, and carrying the key in every link
would leak it through the ``Referer`` header, browser history and logs; the cookie holds a hash
of the key, not the key, is ``HttpOnly`` and ``SameSite=Lax``. Not behind the key: ``/healthz``
and ``/metrics`` (load balancers and scrapers; they carry no shopper data), the stylesheet and
the API's own documentation, and the writes, which need the write key (``X-API-Key``) instead.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, APIKeyQuery

from lookbook.serving.config import READ_KEY_ENV, ServeConfig
from lookbook.serving.schemas import REQUEST_ID_PATTERN

#: Where ``ServingMiddleware`` leaves the request id in the ASGI scope.
REQUEST_ID_KEY = "lookbook.request_id"
#: Set in the scope by the read-key check when ``?key=`` admitted the request: the middleware then
#: sends the cookie with the response (a dependency cannot add headers to a ``Response`` an
#: endpoint builds itself).
SET_READ_COOKIE_KEY = "lookbook.set_read_cookie"
READ_HEADER = "X-Read-Key"
READ_QUERY = "key"
READ_COOKIE = "lookbook_read"

_SANE_ID = re.compile(REQUEST_ID_PATTERN)


def new_request_id() -> str:
    return uuid.uuid4().hex


def incoming_request_id(value: bytes | None) -> str:
    """The client's ``X-Request-ID`` when it is sane (1-128 of ``A-Z a-z 0-9 . _ : -``), else a new
    one: an id that could break a log line, a header or a store column is replaced, not refused."""
    if value:
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            return new_request_id()
        if _SANE_ID.fullmatch(text):
            return text
    return new_request_id()


def request_id(request: Request) -> str:
    """The id ``ServingMiddleware`` gave this request (a fresh one when the app runs without it)."""
    rid = request.scope.get(REQUEST_ID_KEY)
    if rid is None:
        rid = request.scope[REQUEST_ID_KEY] = new_request_id()
    return str(rid)


def cookie_value(read_key: str) -> str:
    """What the read cookie holds: a hash of the key, so the key itself never sits in a browser."""
    return hashlib.sha256(b"lookbook-read:" + read_key.encode()).hexdigest()


def read_cookie_header(read_key: str, secure: bool) -> bytes:
    flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
    return f"{READ_COOKIE}={cookie_value(read_key)}{flags}".encode()


class ReadGate:
    """Checks the read key of one app (``admits``) and makes the route dependency that enforces it."""

    def __init__(self, config: ServeConfig) -> None:
        self.key = config.read_key
        self._key = None if self.key is None else self.key.encode()
        self._cookie = None if self.key is None else cookie_value(self.key).encode()

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def credential(self, header: str | None, query: str | None, cookie: str | None) -> str | None:
        """Which credential admits the request (``"header"``, ``"query"``, ``"cookie"``), or None."""
        if self._key is None or self._cookie is None:
            return "open"
        if header and secrets.compare_digest(header.encode(), self._key):
            return "header"
        if query and secrets.compare_digest(query.encode(), self._key):
            return "query"
        if cookie and secrets.compare_digest(cookie.encode(), self._cookie):
            return "cookie"
        return None

    def admits(self, request: Request) -> bool:
        """Whether ``request`` may see the shop's data (used by the HTML error pages)."""
        return self.enabled is False or self.credential(
            request.headers.get(READ_HEADER), request.query_params.get(READ_QUERY),
            request.cookies.get(READ_COOKIE),
        ) is not None  # fmt: skip

    def dependency(self) -> list[Any]:
        """``dependencies=`` for read routes: nothing when reads are open (so the OpenAPI document
        claims no security the server does not ask for), else the check, documented as three
        alternative API-key schemes."""
        if not self.enabled:
            return []
        return [Security(self._require())]

    def _require(self) -> Callable[..., None]:
        hint = f"start the server without --read-key / ${READ_KEY_ENV} to open reads"
        header = APIKeyHeader(
            name=READ_HEADER, auto_error=False, scheme_name="ReadKeyHeader",
            description=f"the server's read key (reads need it when it was started with one; {hint})",
        )  # fmt: skip
        query = APIKeyQuery(
            name=READ_QUERY, auto_error=False, scheme_name="ReadKeyQuery",
            description="the read key in the URL; the response sets a cookie that admits later requests",
        )  # fmt: skip
        cookie = APIKeyCookie(
            name=READ_COOKIE, auto_error=False, scheme_name="ReadKeyCookie",
            description="set by a response to a request admitted with ?key=",
        )  # fmt: skip

        # (defaults, not Annotated: the scheme objects are local, and string annotations are
        # resolved against the module's globals)
        def require_read_key(
            request: Request,
            from_header: str | None = Security(header),
            from_query: str | None = Security(query),
            from_cookie: str | None = Security(cookie),
        ) -> None:
            how = self.credential(from_header, from_query, from_cookie)
            if how == "query":
                request.scope[SET_READ_COOKIE_KEY] = True
            if how is not None:
                return
            if from_header or from_query or from_cookie:
                raise HTTPException(403, f"{READ_HEADER}: wrong read key")
            raise HTTPException(
                401,
                f"{READ_HEADER}: this server needs its read key for reads "
                f"(header {READ_HEADER}, or ?{READ_QUERY}= once in a browser)",
                headers={"WWW-Authenticate": "ApiKey"},
            )

        return require_read_key
