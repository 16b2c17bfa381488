"""Errors as ``{"detail": "..."}`` with a status, for every way a request can be wrong.

FastAPI's own 422 body is a list of pydantic error objects; a person reading a response (or a
log) wants one sentence that names the field, so validation errors are flattened to
``"query k: Input should be less than or equal to 100"`` and the structured list is kept beside it
under ``errors`` for programs. ``Shop`` errors map by class: ``NotFound`` is 404, any other
``LookbookError`` (a bad argument the ``Shop`` caught) is 422, except an upload that is no usable
photo (``PhotoRejected``), which carries its own status (400, 413 or 415).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from lookbook.errors import LookbookError, NotFound
from lookbook.serving.convert import JSONBytes
from lookbook.serving.upload import PhotoRejected

log = logging.getLogger(__name__)


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "items", 0, "price")`` -> ``"body items[0].price"``; ``("query", "k")`` -> ``"query k"``;
    a dict entry -> ``"body items[0].attributes['colour']"``."""
    if not loc:
        return "request"
    where, *path = loc
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part == "[key]":  # pydantic's marker after a dict key that failed: the key itself
            name += " (key)"
        elif str(part).isidentifier():
            name += f".{part}" if name else str(part)
        else:  # a dict key (attributes) or anything not a plain name
            name += f"[{str(part)!r}]"
    return f"{where} {name}" if name else str(where)


def validation_detail(errors: Sequence[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """One sentence naming every failing field (the first five), and the structured list."""
    items = [_one(e) for e in errors]
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in items[:5])
    more = f" (and {len(items) - 5} more)" if len(items) > 5 else ""
    return (shown or "request: invalid") + more, items


def _one(error: dict[str, Any]) -> dict[str, str]:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":  # loc is ("body", character offset)
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = (error.get("ctx") or {}).get("error", "")
        return {"field": "body", "message": f"not valid JSON{at}" + (f" ({reason})" if reason else "")}
    return {"field": field_name(loc), "message": str(error.get("msg", "invalid"))}


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    detail, items = validation_detail(exc.errors())
    return JSONBytes({"detail": detail, "errors": items}, status_code=422)


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    return JSONBytes({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def _not_found(request: Request, exc: NotFound) -> Response:
    return JSONBytes({"detail": str(exc)}, status_code=404)


async def _photo_rejected(request: Request, exc: PhotoRejected) -> Response:
    return JSONBytes({"detail": str(exc)}, status_code=exc.status)


async def _lookbook(request: Request, exc: LookbookError) -> Response:
    return JSONBytes({"detail": str(exc)}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; anything else reaches ``ServingMiddleware`` and becomes a logged 500."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, _not_found)  # type: ignore[arg-type]
    app.add_exception_handler(PhotoRejected, _photo_rejected)  # type: ignore[arg-type]
    app.add_exception_handler(LookbookError, _lookbook)  # type: ignore[arg-type]
