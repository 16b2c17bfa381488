"""``create_app(shop, config)``: the FastAPI app that serves one ``Shop``.

Routes: the JSON API under ``/api`` (``api``), the shop page at ``/`` (``page``), item images at
``/images/{item_id}``, community photos at ``/photos/{photo_id}``, ``/healthz``, ``/metrics``
(Prometheus text), ``/static/shop.css`` (the page's style) and the OpenAPI document at
``/openapi.json`` with its viewer at ``/docs``. The app does not own the ``Shop``: whoever opened
it closes it (``lookbook serve`` does, after the server stops).

While it serves a shop with a project behind it, a thread watches the project's settings file and
promoted model version and reloads the shop when either changes (``serving.reload``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from lookbook import __version__
from lookbook.serving import convert, html
from lookbook.serving.access import ReadGate
from lookbook.serving.api import (
    READ_ERRORS,
    ItemId,
    PhotoId,
    api_router,
    image_response,
    photo_response,
)
from lookbook.serving.config import ServeConfig
from lookbook.serving.errors import install_error_handlers
from lookbook.serving.impressions import Impressions
from lookbook.serving.looks import LookService
from lookbook.serving.metrics import AppMetrics
from lookbook.serving.middleware import ServingMiddleware
from lookbook.serving.page import Pages, page_router, wants_html
from lookbook.serving.reload import ReloadWatcher
from lookbook.serving.retrain_schedule import RetrainSchedule
from lookbook.serving.schemas import MAX_ID, ErrorOut, HealthOut
from lookbook.serving.server import warm_up
from lookbook.serving.style import CSS
from lookbook.touchpoints.api import Shop

log = logging.getLogger(__name__)

_DESCRIPTION = """Recommendations for every touchpoint of a shop from one embedding space.

Reads need no key, unless the server was started with a read key (`--read-key`): then every read
needs it in the `X-Read-Key` header (or `?key=` once in a browser, which sets a cookie).
Writes (`PUT /api/items`, `DELETE /api/items/{item_id}`, `POST /api/events`, `PUT /api/users`)
need the server's write key in the `X-API-Key` header, and are refused with 403 when the server was
started without one. Every error is `{"detail": "..."}` naming the field that is wrong.

Every response has an `X-Request-ID` header (the client's own, when it sends a sane one), and every
touchpoint response also has it as `request_id`: send it back in the events the shown items lead to
(`POST /api/events`, field `request_id`), so clicks and purchases join the impressions that caused
them. `GET /api/users` (the demo's shopper list) answers in demo mode only.

`POST /api/shop-the-look` takes a photo (multipart field `photo`) and returns the garments found in
it, the catalog items nearest to each, and items to shop the look with.
"""

#: Room in an upload's body for the multipart framing and the form's other fields, beyond the file.
UPLOAD_FRAMING_BYTES = 65_536


def create_app(shop: Shop, config: ServeConfig | None = None) -> FastAPI:
    """An app serving ``shop``; nothing is computed until the first request."""
    config = config or ServeConfig()
    metrics = AppMetrics(shop)
    gate = ReadGate(config)
    impressions = Impressions(shop, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Runs before uvicorn reports "started", so serve_in_thread (and a load balancer's first
        # probe) wait for the warm-up. Sync endpoints run on anyio's thread pool (40 threads by
        # default); the Shop's work is CPU-bound under the GIL, so more threads than a few per core
        # only add switching and tail latency: requests beyond ``threads`` wait in the event loop.
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        if config.warm_up:
            await run_in_threadpool(warm_up, shop)
        watcher = _watcher(shop, config, metrics)
        schedule = _schedule(shop, config, metrics)
        app.state.reloader, app.state.retrainer = watcher, schedule
        for worker in (watcher, schedule):
            if worker is not None:
                worker.start()
        try:
            yield
        finally:
            for worker in (schedule, watcher):
                if worker is not None:
                    await run_in_threadpool(worker.stop)

    app = FastAPI(
        lifespan=lifespan,
        title=f"{config.shop_name} API",
        version=__version__,
        description=_DESCRIPTION,
        openapi_tags=[
            {"name": "touchpoints", "description": "ranked items for one page of the shop"},
            {"name": "catalog", "description": "items, demo users and categories"},
            {"name": "writes", "description": "catalog and event writes (X-API-Key)"},
            {"name": "page", "description": "the shop's HTML pages"},
            {"name": "operations", "description": "health, metrics, images"},
        ],
    )
    looks = LookService(shop, config)
    app.state.shop, app.state.config, app.state.metrics, app.state.looks = shop, config, metrics, looks
    app.state.impressions, app.state.reloader, app.state.retrainer = impressions, None, None
    install_error_handlers(app)
    pages = Pages(shop, config, looks, impressions)
    _html_errors(app, pages, gate)
    app.include_router(api_router(shop, config, looks, impressions, gate))
    app.include_router(page_router(pages, gate))
    read = {"dependencies": gate.dependency(), "responses": READ_ERRORS if gate.enabled else {}}
    css = CSS.encode()

    @app.get("/static/shop.css", include_in_schema=False)
    def stylesheet() -> Response:
        # the page links it with ?v=CSS_VERSION, so it may be cached for long
        return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})

    @app.get(
        "/images/{item_id}",
        tags=["operations"],
        summary="An item's image",
        response_class=Response,
        responses={
            200: {"content": {"image/png": {}, "image/jpeg": {}}},
            404: {"model": ErrorOut},
            **read["responses"],
        },
        dependencies=read["dependencies"],
    )
    def image(item_id: ItemId) -> Response:
        return image_response(shop, item_id, config.image_max_age)

    @app.get(
        "/photos/{photo_id}",
        tags=["operations"],
        summary="A community photo",
        response_class=Response,
        responses={
            200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
            404: {"model": ErrorOut},
            **read["responses"],
        },
        dependencies=read["dependencies"],
    )
    def photo(photo_id: PhotoId) -> Response:
        return photo_response(looks, photo_id, config.image_max_age)

    @app.get("/healthz", tags=["operations"], response_model=HealthOut, summary="Liveness and shop figures")
    def healthz() -> Response:
        """Open even with a read key (load balancers probe it): figures, no shopper data."""
        version = str(shop.model_version())
        return convert.JSONBytes({"status": "ok", "model_version": version, "stats": _jsonable(shop.stats())})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}},
    )
    def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    upload_limit = config.max_upload_bytes + UPLOAD_FRAMING_BYTES
    app.add_middleware(
        ServingMiddleware,
        metrics=metrics,
        max_body_bytes=config.max_body_bytes,
        upload_limits={"/api/shop-the-look": upload_limit, "/look": upload_limit},
        read_key=config.read_key,
    )
    return app


def _watcher(shop: Shop, config: ServeConfig, metrics: AppMetrics) -> ReloadWatcher | None:
    """The reload watcher of a shop with a project behind it (None: nothing to watch, or off)."""
    if config.reload_interval <= 0:
        return None
    root = shop.project_root()
    if root is None:
        return None
    return ReloadWatcher(
        shop, root, config.reload_interval, on_reload=lambda outcome: metrics.reloads.labels(outcome).inc()
    )


def _schedule(shop: Shop, config: ServeConfig, metrics: AppMetrics) -> RetrainSchedule | None:
    """The retrain schedule of a shop with a project behind it (None: not asked for)."""
    root = shop.project_root()
    if config.retrain_every <= 0 or root is None:
        return None
    return RetrainSchedule(
        root, config.retrain_every, on_done=lambda outcome: metrics.retrains.labels(outcome).inc()
    )


def _html_errors(app: FastAPI, pages: Pages, gate: ReadGate) -> None:
    """Browsers get pages for errors too: the shop's 404 page for unknown page paths, and a bare
    page (no categories, no shoppers: the visitor has no key) when a read key is missing or wrong.
    API clients keep JSON."""
    json_handler = app.exception_handlers[StarletteHTTPException]

    async def handler(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_html(request) and gate.admits(request):
            user = request.query_params.get("user") or None
            user = user if user and len(user) <= MAX_ID else None
            return pages.missing(user, request.url.path, "No such page.")
        if exc.status_code in (401, 403) and gate.enabled and wants_html(request):
            chrome = html.Chrome(pages.config.shop_name, pages.config.currency, None, (), (), "/")
            page = html.not_found_page(
                chrome, "This shop asks for its key: open it with the link you were given.", "Key needed"
            )
            return HTMLResponse(page, status_code=exc.status_code)
        return await json_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, handler)  # type: ignore[arg-type]


def _jsonable(value: Any) -> Any:
    """``shop.stats()`` as JSON: numbers and strings pass, containers recurse, anything else is str."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    try:
        return _jsonable(value.item())  # numpy scalars
    except AttributeError:
        return str(value)
