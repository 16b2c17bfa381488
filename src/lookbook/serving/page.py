"""The shop page: ``/``, ``/item/{id}``, ``/search?q=``, ``/category/{name}`` and ``/look`` (shop the
look of a photo), each with ``?user=`` for the demo shopper, served by the same app as the API.

Shop the look is a plain form post (``POST /look``, multipart): the answer is a whole page, drawn
by the same functions as every other page, so it works without scripts; a line of script only
submits the form once a photo is chosen. The upload is not kept: the page shows it back as a
small ``data:`` JPEG. Community photos are shopped with ``GET /look?photo=ID``.

A ``user`` the shop does not know is not an error page: the shop is shown to an anonymous visitor
with a notice, since a stale link should still lead somewhere. The "Shopping as" picker lists the
shop's most active shoppers in demo mode only (``ServeConfig.demo``); outside it the picker offers
just the shopper the page is for and "Anonymous". The picker's users and the category links are
reused for ``ServeConfig.lists_ttl`` seconds rather than asked of the ``Shop`` on every page view.

Every slate a page shows is logged as impressions, under the touchpoint names the JSON API uses and
the request's id (the page's ``X-Request-ID``). A sold item's page still answers: it says "Sold
out" and shows what is like it, when the shop still can.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from lookbook.errors import LookbookError, NotFound
from lookbook.serving import html
from lookbook.serving.access import ReadGate, request_id
from lookbook.serving.api import PHOTO_DESCRIPTION, READ_ERRORS, UPLOAD_ERRORS, read_upload
from lookbook.serving.config import ServeConfig
from lookbook.serving.convert import photo_url
from lookbook.serving.impressions import Impressions
from lookbook.serving.looks import LookService
from lookbook.serving.schemas import ID_PATTERN, MAX_ID, ErrorOut
from lookbook.serving.upload import PhotoRejected
from lookbook.touchpoints.api import Carousel, Context, RecItem, Shop

log = logging.getLogger(__name__)

T = TypeVar("T")

PageItemId = Annotated[str, PathParam(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
CategoryName = Annotated[str, PathParam(min_length=1, max_length=100)]
PageUser = Annotated[str | None, Query(max_length=MAX_ID, description="demo shopper; empty: anonymous")]
FormUser = Annotated[str | None, Form(max_length=MAX_ID, description="demo shopper; empty: anonymous")]
CommunityPhoto = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN, description="a community photo to shop"),
]
#: Recommendations on the shop-the-look page, and community photos in its feed.
LOOK_ITEMS = 12
FEED_PHOTOS = 12


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
    """Renders each page for one ``Shop``; also renders the HTML 404 for unknown page paths. Each
    page method takes ``rid``, the request's id, under which the slates it shows are logged."""

    def __init__(
        self,
        shop: Shop,
        config: ServeConfig,
        looks: LookService | None = None,
        impressions: Impressions | None = None,
    ) -> None:
        self.shop, self.config = shop, config
        self.looks = looks or LookService(shop, config)
        self.impressions = impressions or Impressions(shop)
        demo = config.demo
        self.users = Cached(
            lambda: [str(u) for u in shop.demo_users(config.demo_users)] if demo else [], config.lists_ttl
        )
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
            look=self.looks.available,
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
    def home(self, user: str | None, rid: str) -> Response:
        def draw(u: str | None, notice: str) -> str:
            carousels = self.shop.home_feed(u, Context(), 12)
            page = html.home_page(self.chrome(u, "/", notice=notice), carousels)
            self.impressions.carousels(rid, u, "home", carousels)
            return page

        return self.render("/", user, draw)

    def item(self, item_id: str, user: str | None, rid: str) -> Response:
        path = html.item_href(item_id, None)

        def draw(u: str | None, notice: str) -> str:
            view = self.shop.item(item_id)
            if view.in_stock:
                similar = self.shop.similar(item_id, u, 12)
                look = self.shop.complete_the_look(item_id, u, 3)
            else:  # sold: the page says so; the rows show what the shop can still find
                similar = _unless_gone(lambda: self.shop.similar(item_id, u, 12), list[RecItem]())
                look = _unless_gone(lambda: self.shop.complete_the_look(item_id, u, 3), list[Carousel]())
            page = html.item_page(self.chrome(u, path, notice=notice), view, similar, look)
            self.impressions.slate(rid, u, "similar", similar)
            self.impressions.carousels(rid, u, "complete_the_look", look)
            return page

        return self.render(path, user, draw)

    def search(self, q: str, user: str | None, rid: str) -> Response:
        q = q.strip()

        def draw(u: str | None, notice: str) -> str:
            chrome = self.chrome(u, "/search", query=q, notice=notice)
            if not q:
                return html.results_page(chrome, "Search", [], "Type what you are looking for above.")
            found = self.shop.search(q, u, 48)
            page = html.results_page(chrome, f"Results for “{q}”", found, f"Nothing matches “{q}”.")
            self.impressions.slate(rid, u, "search", found)
            return page

        return self.render("/search", user, draw)

    def category(self, name: str, user: str | None, rid: str) -> Response:
        path = html.category_href(name, None)

        def draw(u: str | None, notice: str) -> str:
            found = self.shop.category(name, u, 48)
            page = html.results_page(
                self.chrome(u, path, notice=notice), html.label(name), found, "Nothing here right now."
            )
            self.impressions.slate(rid, u, "category", found)
            return page

        return self.render(path, user, draw)

    def look(self, user: str | None, photo_id: str | None, rid: str) -> Response:
        """The shop-the-look page: the form and the community feed; with ``photo_id``, that
        community photo's look too. Blocking (a look runs the detector): call it on a thread."""
        if not self.looks.available:
            return self.missing(user, html.LOOK_PATH, "Shop the look is not available in this shop.")

        def draw(u: str | None, notice: str) -> str:
            shown = None
            if photo_id is not None:
                path = self.looks.photo_path(photo_id)
                look = self.looks.look(self.looks.decode(path.read_bytes()), u, LOOK_ITEMS)
                shown = html.LookShown(photo_url(photo_id), "A community look", look)
            feed = self.looks.feed(u, FEED_PHOTOS)
            page = html.look_page(self._chrome_look(u, notice), max_bytes=self.config.max_upload_bytes,
                                  shown=shown, feed=feed)  # fmt: skip
            if shown is not None:
                self.impressions.slate(rid, u, "shop_the_look", shown.look.recommendations)
            return page

        return self.render(html.LOOK_PATH, user, draw)

    def look_upload(self, data: bytes, user: str | None, rid: str) -> Response:
        """The look of an uploaded photo (its bytes already passed ``read_upload``); a photo that
        does not decode is the form again with the reason, under the status the API would give."""
        try:
            photo = self.looks.decode(data)
        except PhotoRejected as exc:
            return self.look_rejected(user, exc)
        preview = "data:image/jpeg;base64," + base64.b64encode(photo.preview_jpeg()).decode()

        def draw(u: str | None, notice: str) -> str:
            shown = html.LookShown(preview, "Your photo", self.looks.look(photo, u, LOOK_ITEMS))
            page = html.look_page(self._chrome_look(u, notice), max_bytes=self.config.max_upload_bytes,
                                  shown=shown)  # fmt: skip
            self.impressions.slate(rid, u, "shop_the_look", shown.look.recommendations)
            return page

        return self.render(html.LOOK_PATH, user, draw)

    def look_rejected(self, user: str | None, exc: PhotoRejected) -> Response:
        """The form again, saying why the photo was refused (the reason names the limit)."""
        user = user or None
        try:
            chrome = self._chrome_look(user, "")
        except Exception:  # the refusal must render even if the shop cannot list users right now
            log.exception("page chrome failed")
            chrome = html.Chrome(self.config.shop_name, self.config.currency, None, (), (), html.LOOK_PATH)
        reason = str(exc).removeprefix("photo: ")
        page = html.look_page(chrome, max_bytes=self.config.max_upload_bytes,
                              error=f"We could not use that photo: {reason}.")  # fmt: skip
        return HTMLResponse(page, status_code=exc.status)

    def _chrome_look(self, user: str | None, notice: str) -> html.Chrome:
        return self.chrome(user, html.LOOK_PATH, notice=notice)


def _about_user(exc: NotFound) -> bool:
    return "user" in str(exc).split(":", 1)[0]


def _unless_gone(call: Callable[[], list[T]], empty: list[T]) -> list[T]:
    """``call()``, or ``empty`` when the shop no longer finds the item (an unknown user still
    raises: ``render`` shows the page to an anonymous visitor then)."""
    try:
        return call()
    except NotFound as exc:
        if _about_user(exc):
            raise
        return empty


def page_router(pages: Pages, gate: ReadGate | None = None) -> APIRouter:
    """The HTML routes (in the OpenAPI document too, under ``page``, so the fuzz test covers them)."""
    gate = gate or ReadGate(pages.config)
    html_or_json = {
        "content": {"text/html": {}, "application/json": {"schema": ErrorOut.model_json_schema()}}
    }
    keyed = {code: {**spec, **html_or_json} for code, spec in READ_ERRORS.items()} if gate.enabled else {}
    router = APIRouter(
        tags=["page"],
        default_response_class=HTMLResponse,
        dependencies=gate.dependency(),
        responses={
            200: {"content": {"text/html": {}}},
            404: {"description": "no such item or category: the shop's 404 page", **html_or_json},
            422: {"description": "a parameter the page cannot use", **html_or_json},
            **keyed,
        },
    )

    @router.get("/", summary="Home page")
    def home(request: Request, user: PageUser = None) -> Response:
        return pages.home(user, request_id(request))

    @router.get("/item/{item_id}", summary="Item page: similar items and complete the look")
    def item(request: Request, item_id: PageItemId, user: PageUser = None) -> Response:
        return pages.item(item_id, user, request_id(request))

    @router.get("/search", summary="Search results page")
    def search(
        request: Request, q: Annotated[str, Query(max_length=200)] = "", user: PageUser = None
    ) -> Response:
        return pages.search(q, user, request_id(request))

    @router.get("/category/{name}", summary="Category page")
    def category(request: Request, name: CategoryName, user: PageUser = None) -> Response:
        return pages.category(name, user, request_id(request))

    @router.get(html.LOOK_PATH, summary="Shop the look: upload form and community photos")
    async def look(
        request: Request,
        user: PageUser = None,
        photo: CommunityPhoto = None,
    ) -> Response:
        rid = request_id(request)
        if photo is None:  # no detector to run: the shared pool
            return await run_in_threadpool(pages.look, user, None, rid)
        return await pages.looks.run(pages.look, user, photo, rid)

    @router.post(
        html.LOOK_PATH,
        summary="Shop the look of an uploaded photo",
        responses={code: {**spec, **html_or_json} for code, spec in UPLOAD_ERRORS.items()},
    )
    async def look_upload(
        request: Request,
        photo: Annotated[UploadFile, File(description=PHOTO_DESCRIPTION)],
        user: FormUser = None,
    ) -> Response:
        try:
            data = await run_in_threadpool(read_upload, photo, pages.config)
        except PhotoRejected as exc:
            return await run_in_threadpool(pages.look_rejected, user, exc)
        return await pages.looks.run(pages.look_upload, data, user, request_id(request))

    return router


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not an image): answer errors with a page too."""
    path = request.url.path
    if path.startswith(
        ("/api/", "/images/", "/photos/", "/static/", "/metrics", "/healthz", "/openapi", "/docs")
    ):
        return False
    return "text/html" in request.headers.get("accept", "")
