"""The shop page: ``/``, ``/item/{id}``, ``/search?q=`` and ``/category/{name}``, each with
``?user=`` for the demo shopper, served by the same app as the API.

A ``user`` the shop does not know is not an error page: the shop is shown to an anonymous visitor
with a notice, since a stale link should still lead somewhere. The picker's users and the category
links are reused for ``ServeConfig.lists_ttl`` seconds rather than asked of the ``Shop`` on every
page view.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import HTMLResponse, Response

from lookbook.errors import LookbookError, NotFound
from lookbook.serving import html
from lookbook.serving.config import ServeConfig
from lookbook.serving.schemas import ID_PATTERN, MAX_ID, ErrorOut
from lookbook.touchpoints.api import Context, Shop

log = logging.getLogger(__name__)

T = TypeVar("T")

PageItemId = Annotated[str, PathParam(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
CategoryName = Annotated[str, PathParam(min_length=1, max_length=100)]
PageUser = Annotated[str | None, Query(max_length=MAX_ID, description="demo shopper; empty: anonymous")]


class Cached(Generic[T]):
    """A value recomputed at most every ``ttl`` seconds (one caller recomputes, the others reuse)."""

    def __init__(self, compute: Callable[[], T], ttl: float) -> None:
        self.compute, self.ttl = compute, ttl
        self._value: T | None = None
        self._at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> T:
        if time.monotonic() - self._at > self.ttl or self._value is None:
            with self._lock:
                if time.monotonic() - self._at > self.ttl or self._value is None:
                    self._value = self.compute()
                    self._at = time.monotonic()
        return self._value


class Pages:
    """Renders each page for one ``Shop``; also renders the HTML 404 for unknown page paths."""

    def __init__(self, shop: Shop, config: ServeConfig) -> None:
        self.shop, self.config = shop, config
        self.users = Cached(lambda: [str(u) for u in shop.demo_users(config.demo_users)], config.lists_ttl)
        self.categories = Cached(lambda: [str(c) for c in shop.categories()], config.lists_ttl)

    def chrome(self, user: str | None, path: str, query: str = "", notice: str = "") -> html.Chrome:
        return html.Chrome(
            shop_name=self.config.shop_name,
            currency=self.config.currency,
            user=user or None,
            users=self.users.get(),
            categories=self.categories.get(),
            path=path,
            query=query,
            notice=notice,
        )

    def render(self, path: str, user: str | None, draw: Callable[[str | None, str], str]) -> Response:
        """``draw(user, notice)``; an unknown user is retried as anonymous with a notice, and an
        unknown item or category is a 404 page."""
        user = user or None
        try:
            return HTMLResponse(draw(user, ""))
        except NotFound as exc:
            if user is None or not _about_user(exc):
                return self.missing(user, path, str(exc))
        except LookbookError as exc:
            return self.missing(user, path, str(exc), status=422)
        notice = f"We do not know the shopper {user!r}; showing the shop to an anonymous visitor."
        try:
            return HTMLResponse(draw(None, notice))
        except LookbookError as exc:
            return self.missing(None, path, str(exc), status=404 if isinstance(exc, NotFound) else 422)

    def missing(self, user: str | None, path: str, what: str, status: int = 404) -> Response:
        try:
            chrome = self.chrome(user, path)
        except Exception:  # the 404 page must render even if the shop cannot list users right now
            log.exception("page chrome failed")
            chrome = html.Chrome(self.config.shop_name, self.config.currency, None, (), (), path)
        heading = "We could not find that" if status == 404 else "We could not show that"
        return HTMLResponse(html.not_found_page(chrome, what, heading), status_code=status)

    # --------------------------------------------------------------------------------- pages
    def home(self, user: str | None) -> Response:
        def draw(u: str | None, notice: str) -> str:
            carousels = self.shop.home_feed(u, Context(), 12)
            return html.home_page(self.chrome(u, "/", notice=notice), carousels)

        return self.render("/", user, draw)

    def item(self, item_id: str, user: str | None) -> Response:
        path = html.item_href(item_id, None)

        def draw(u: str | None, notice: str) -> str:
            view = self.shop.item(item_id)
            similar = self.shop.similar(item_id, u, 12)
            look = self.shop.complete_the_look(item_id, u, 3)
            return html.item_page(self.chrome(u, path, notice=notice), view, similar, look)

        return self.render(path, user, draw)

    def search(self, q: str, user: str | None) -> Response:
        q = q.strip()

        def draw(u: str | None, notice: str) -> str:
            chrome = self.chrome(u, "/search", query=q, notice=notice)
            if not q:
                return html.results_page(chrome, "Search", [], "Type what you are looking for above.")
            found = self.shop.search(q, u, 48)
            return html.results_page(chrome, f"Results for “{q}”", found, f"Nothing matches “{q}”.")

        return self.render("/search", user, draw)

    def category(self, name: str, user: str | None) -> Response:
        path = html.category_href(name, None)

        def draw(u: str | None, notice: str) -> str:
            found = self.shop.category(name, u, 48)
            return html.results_page(
                self.chrome(u, path, notice=notice), html.label(name), found, "Nothing here right now."
            )

        return self.render(path, user, draw)


def _about_user(exc: NotFound) -> bool:
    return "user" in str(exc).split(":", 1)[0]


def page_router(pages: Pages) -> APIRouter:
    """The HTML routes (in the OpenAPI document too, under ``page``, so the fuzz test covers them)."""
    html_or_json = {
        "content": {"text/html": {}, "application/json": {"schema": ErrorOut.model_json_schema()}}
    }
    router = APIRouter(
        tags=["page"],
        default_response_class=HTMLResponse,
        responses={
            200: {"content": {"text/html": {}}},
            404: {"description": "no such item or category: the shop's 404 page", **html_or_json},
            422: {"description": "a parameter the page cannot use", **html_or_json},
        },
    )

    @router.get("/", summary="Home page")
    def home(user: PageUser = None) -> Response:
        return pages.home(user)

    @router.get("/item/{item_id}", summary="Item page: similar items and complete the look")
    def item(item_id: PageItemId, user: PageUser = None) -> Response:
        return pages.item(item_id, user)

    @router.get("/search", summary="Search results page")
    def search(q: Annotated[str, Query(max_length=200)] = "", user: PageUser = None) -> Response:
        return pages.search(q, user)

    @router.get("/category/{name}", summary="Category page")
    def category(name: CategoryName, user: PageUser = None) -> Response:
        return pages.category(name, user)

    return router


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not an image): answer errors with a page too."""
    path = request.url.path
    if path.startswith(("/api/", "/images/", "/static/", "/metrics", "/healthz", "/openapi", "/docs")):
        return False
    return "text/html" in request.headers.get("accept", "")
