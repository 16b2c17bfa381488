"""The JSON API under ``/api``: one endpoint per touchpoint, catalog writes and events.

Endpoints are plain ``def`` functions: FastAPI runs them on its thread pool, so a slow write
(a new item is encoded before it is indexed) never stalls the event loop that the reads share.
Shop the look is the exception: its upload is read and checked on that pool, then the detector
runs on the looks' own single thread (``LookService.run``), so photos queue there rather than
taking the threads the feeds need. Each returns ``JSONBytes`` built from the ``Shop``'s dataclasses
(see ``convert``); the response models are declared for the OpenAPI document only.

Every touchpoint response carries the request's id (``request_id``, also the ``X-Request-ID``
header) and logs what it showed as impressions under that id (``serving.impressions``). Reads need
the read key when the server has one (``serving.access``); writes need the write key.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, Security, UploadFile
from fastapi import Path as PathParam
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from lookbook.errors import NotFound, SchemaError
from lookbook.serving import convert
from lookbook.serving.access import ReadGate, request_id
from lookbook.serving.config import API_KEY_ENV, ServeConfig
from lookbook.serving.impressions import Impressions
from lookbook.serving.looks import LookService
from lookbook.serving.schemas import (
    ID_PATTERN,
    MAX_ID,
    CarouselListOut,
    CategoriesOut,
    DeleteOut,
    ErrorOut,
    EventsIn,
    EventsOut,
    HomeOut,
    ItemListOut,
    ItemsIn,
    ItemViewOut,
    PhotoFeedOut,
    ShopTheLookOut,
    UpsertOut,
    UsersIn,
    UsersOut,
)
from lookbook.serving.upload import PhotoRejected, check_image, check_photo, read_limited
from lookbook.touchpoints.api import Context, Shop

log = logging.getLogger(__name__)

ItemId = Annotated[str, PathParam(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
UserId = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN, description="a shopper; none: anonymous"),
]
K = Annotated[int, Query(ge=1, le=100, description="how many items")]
ContextText = Annotated[str | None, Query(min_length=1, max_length=50)]

_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
#: What a read can be refused with when the server has a read key.
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no read key (the server was started with --read-key)"},
    403: {"model": ErrorOut, "description": "a wrong read key"},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no X-API-Key header"},
    403: {"model": ErrorOut, "description": "wrong key, or writes disabled (no key configured)"},
    413: {"model": ErrorOut, "description": "body larger than the configured limit"},
    **_ERRORS,
}

#: What an upload can be refused with besides the usual 404 (unknown user) and 422 (bad form field).
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "a truncated or corrupt image, or a malformed form"},
    413: {"model": ErrorOut, "description": "a file over max_upload_bytes, or over max_upload_pixels"},
    415: {"model": ErrorOut, "description": "content that is not JPEG, PNG or WebP (names do not count)"},
}
PHOTO_DESCRIPTION = "A photo of an outfit: JPEG, PNG or WebP, judged by its content, not its name."
_PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
FormUserId = Annotated[
    str | None,
    Form(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN, description="a shopper; none: anonymous"),
]
PhotoId = Annotated[str, PathParam(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]

#: The only image formats the encoders and browsers both read, and the suffix their files get.
_IMAGE_SUFFIX = {"PNG": ".png", "JPEG": ".jpg"}


def api_key_dependency(config: ServeConfig) -> Callable[[str | None], None]:
    """A dependency that admits a request only with the configured key (compared in constant time)."""
    header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the key writes require")

    # (a default, not Annotated: the header object is local, and string annotations are resolved
    # against the module's globals)
    def require_key(key: str | None = Security(header)) -> None:
        if config.api_key is None:
            raise HTTPException(
                403, f"writes are disabled: no API key is configured (start with --api-key or {API_KEY_ENV})"
            )
        if not key:
            raise HTTPException(
                401, "X-API-Key: header required for writes", headers={"WWW-Authenticate": "ApiKey"}
            )
        if not secrets.compare_digest(key.encode(), config.api_key.encode()):
            raise HTTPException(403, "X-API-Key: wrong key")

    return require_key


def read_upload(upload: UploadFile, config: ServeConfig) -> bytes:
    """The upload's bytes, refused (``PhotoRejected``) when over the size limit, not a photo by
    content, or declaring too many pixels: nothing is decoded yet. Blocking: run it on a thread."""
    data = read_limited(upload.file, config.max_upload_bytes, "photo")
    check_photo(data, max_pixels=config.max_upload_pixels, name="photo")
    return data


def api_router(
    shop: Shop,
    config: ServeConfig,
    looks: LookService,
    impressions: Impressions | None = None,
    gate: ReadGate | None = None,
) -> APIRouter:
    """Every JSON endpoint, bound to one ``Shop``."""
    router = APIRouter(prefix="/api", responses=_ERRORS)
    log_slate = impressions or Impressions(shop)
    gate = gate or ReadGate(config)
    require_key = api_key_dependency(config)
    write = {"dependencies": [Security(require_key)], "responses": _WRITE_ERRORS, "tags": ["writes"]}
    read: dict[str, Any] = {"dependencies": gate.dependency()}
    if gate.enabled:
        read["responses"] = READ_ERRORS

    @router.get("/home", response_model=HomeOut, tags=["touchpoints"], summary="Home feed carousels", **read)
    def home(
        request: Request,
        user_id: UserId = None,
        device: ContextText = None,
        region: ContextText = None,
        k: Annotated[int, Query(ge=1, le=100, description="items per carousel")] = 12,
    ) -> Response:
        carousels = shop.home_feed(user_id, Context(device=device, region=region), k)
        rid = request_id(request)
        log_slate.carousels(rid, user_id, "home", carousels)
        body = {"request_id": rid, "user_id": user_id, "carousels": [convert.carousel(c) for c in carousels]}
        return convert.JSONBytes(body)

    @router.get("/items/{item_id}", response_model=ItemViewOut, tags=["catalog"], summary="One item", **read)
    def item(item_id: ItemId) -> Response:
        """An item of the catalog; a sold one too, with ``in_stock`` false (it is in no list)."""
        return convert.JSONBytes(convert.item_view(shop.item(item_id)))

    @router.get("/items/{item_id}/similar", response_model=ItemListOut, tags=["touchpoints"], **read)
    def similar(request: Request, item_id: ItemId, user_id: UserId = None, k: K = 12) -> Response:
        """Items like this one, ordered for the shopper."""
        found = shop.similar(item_id, user_id, k)
        rid = request_id(request)
        log_slate.slate(rid, user_id, "similar", found)
        return convert.JSONBytes({"request_id": rid, "items": convert.rec_items(found)})

    @router.get(
        "/items/{item_id}/complete-the-look", response_model=CarouselListOut, tags=["touchpoints"], **read
    )
    def complete_the_look(
        request: Request,
        item_id: ItemId,
        user_id: UserId = None,
        per_slot: Annotated[int, Query(ge=1, le=20, description="items per other slot")] = 3,
        attribute: Annotated[
            str | None, Query(min_length=1, max_length=100, description="e.g. a colour: 'red'")
        ] = None,
    ) -> Response:
        """Items of other slots that go with this one, a carousel per slot."""
        carousels = shop.complete_the_look(item_id, user_id, per_slot, attribute)
        rid = request_id(request)
        log_slate.carousels(rid, user_id, "complete_the_look", carousels)
        return convert.JSONBytes({"request_id": rid, "carousels": [convert.carousel(c) for c in carousels]})

    @router.get("/search", response_model=ItemListOut, tags=["touchpoints"], **read)
    def search(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=200, description="free text")],
        user_id: UserId = None,
        k: K = 24,
    ) -> Response:
        """Text search, ordered for the shopper."""
        found = shop.search(q, user_id, k)
        rid = request_id(request)
        log_slate.slate(rid, user_id, "search", found)
        return convert.JSONBytes({"request_id": rid, "items": convert.rec_items(found)})

    @router.get("/categories/{category}", response_model=ItemListOut, tags=["touchpoints"], **read)
    def category(
        request: Request,
        category: Annotated[str, PathParam(min_length=1, max_length=100)],
        user_id: UserId = None,
        k: K = 24,
    ) -> Response:
        """A category page, ordered for the shopper."""
        found = shop.category(category, user_id, k)
        rid = request_id(request)
        log_slate.slate(rid, user_id, "category", found)
        return convert.JSONBytes({"request_id": rid, "items": convert.rec_items(found)})

    @router.post(
        "/shop-the-look",
        response_model=ShopTheLookOut,
        tags=["touchpoints"],
        summary="Shop the look of a photo",
        dependencies=read["dependencies"],
        responses={**UPLOAD_ERRORS, **read.get("responses", {})},
    )
    async def shop_the_look(
        request: Request,
        photo: Annotated[UploadFile, File(description=PHOTO_DESCRIPTION)],
        user_id: FormUserId = None,
        k: Annotated[int, Query(ge=1, le=100, description="how many recommendations")] = 20,
    ) -> Response:
        """The garments found in the photo (boxes in the upright photo's pixels, each with the
        catalog items nearest to it) and items to shop the look with, ordered for the shopper."""
        data = await run_in_threadpool(read_upload, photo, config)
        look = await looks.run(looks.look_bytes, data, user_id, k)
        rid = request_id(request)
        log_slate.slate(rid, user_id, "shop_the_look", look.recommendations)
        return convert.JSONBytes({"request_id": rid, **convert.photo_look(look)})

    @router.get(
        "/photos", response_model=PhotoFeedOut, tags=["touchpoints"], summary="Community photo feed", **read
    )
    def photos(request: Request, user_id: UserId = None, k: K = 20) -> Response:
        """The project's community photos ranked for the shopper (empty when it has none)."""
        found = looks.feed(user_id, k)
        body = {"request_id": request_id(request), "user_id": user_id,
                "photos": [convert.feed_photo(p) for p in found]}  # fmt: skip
        return convert.JSONBytes(body)

    @router.get("/users", response_model=UsersOut, tags=["catalog"], summary="Demo users", **read)
    def users(limit: Annotated[int, Query(ge=1, le=100)] = config.demo_users) -> Response:
        """The most active shoppers, for a demo's user picker: served in demo mode only
        (``lookbook serve --demo``, ``lookbook demo``), 404 otherwise."""
        if not config.demo:
            raise NotFound("users: the shopper list is served in demo mode only (lookbook serve --demo)")
        return convert.JSONBytes({"users": [str(u) for u in shop.demo_users(limit)]})

    @router.get(
        "/categories", response_model=CategoriesOut, tags=["catalog"], summary="Live categories", **read
    )
    def categories() -> Response:
        return convert.JSONBytes({"categories": [str(c) for c in shop.categories()]})

    @router.put("/items", response_model=UpsertOut, summary="Add or update items", **write)
    def upsert_items(body: ItemsIn) -> Response:
        """Items are written to the store and every index before the response: the next request
        sees them. Unknown ids are added; known ones are updated with the fields given. Images are
        decoded in full first, under the same pixel limit as photo uploads: a batch with one image
        that is not a whole PNG or JPEG is refused (422 naming it) before anything is written."""
        with tempfile.TemporaryDirectory(prefix="lookbook-upload-") as tmp:
            records = [_with_image(item.record(), Path(tmp), j, config) for j, item in enumerate(body.items)]
            n = shop.upsert_items(records)
        return convert.JSONBytes({"upserted": int(n)})

    @router.delete("/items/{item_id}", response_model=DeleteOut, summary="An item was sold", **write)
    def delete_item(item_id: ItemId) -> Response:
        """Gone from every page and index at once (its history stays, and ``GET /api/items/{item_id}``
        answers with ``in_stock`` false)."""
        return convert.JSONBytes({"deleted": int(shop.delete_items([item_id]))})

    @router.post("/events", response_model=EventsOut, summary="Shopper events", **write)
    def add_events(body: EventsIn) -> Response:
        """Each event moves its user's vector before the response: the next feed reflects it. An
        event may carry the ``request_id`` of the response that showed its item."""
        return convert.JSONBytes({"accepted": int(shop.add_events([e.record() for e in body.events]))})

    @router.put("/users", response_model=UpsertOut, summary="Add or update shopper profiles", **write)
    def upsert_users(body: UsersIn) -> Response:
        """Sizes per size group and region; the size constraint of every touchpoint uses them from
        the next request on. Fields left out are not sent to the shop (a partial update)."""
        return convert.JSONBytes({"upserted": int(shop.upsert_users([u.record() for u in body.users]))})

    return router


def image_response(shop: Shop, item_id: str, max_age: int) -> Response:
    """An item's image file, cacheable (images are content-addressed: they never change in place)."""
    path = shop.image_path(item_id)
    if path is None or not Path(path).is_file():
        raise NotFound(f"item_id: no image for {item_id!r}")
    return FileResponse(path, headers={"Cache-Control": f"public, max-age={max_age}"})


def photo_response(looks: LookService, photo_id: str, max_age: int) -> Response:
    """A community photo's file, cacheable like item images (the build writes them once)."""
    path = looks.photo_path(photo_id)
    media_type = _PHOTO_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": f"public, max-age={max_age}"})


def _with_image(record: dict[str, Any], folder: Path, row: int, config: ServeConfig) -> dict[str, Any]:
    """Decode ``image_base64`` into a file the store copies in; the record then names that file.

    The image is decoded in full here, under ``max_upload_pixels`` (the photo uploads' limit), so a
    decompression bomb, pixels that do not decode or bytes that are no PNG or JPEG are refused with
    the field named, before the shop is called, rather than in the encoder after the store took
    the row (or, worse, encoded as zeros).
    """
    data = record.pop("image_base64", None)
    if data is None:
        return record
    name = f"body items[{row}].image_base64"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise SchemaError(f"{name}: not valid base64") from None
    try:
        fmt = check_image(raw, max_pixels=config.max_upload_pixels, name=name, formats=tuple(_IMAGE_SUFFIX))
    except PhotoRejected as exc:  # 422 like every other field of the body; the message says why
        raise SchemaError(str(exc)) from None
    path = folder / f"{row}{_IMAGE_SUFFIX[fmt]}"
    path.write_bytes(raw)
    record["image"] = str(path)
    return record
