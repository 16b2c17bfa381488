"""The HTTP face of a built project: a JSON API per touchpoint, catalog and event writes, metrics,
and a server-rendered shop page, all from one FastAPI app over a ``Shop``.

``create_app(shop, ServeConfig(...))`` builds the app; ``serve_in_thread`` runs it on a real port
for tests and benchmarks; ``lookbook serve --project DIR`` runs it for people. The names are
imported on first use, so ``lookbook --help`` (which reads ``serving.config``) does not load FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lookbook.serving.app import create_app
    from lookbook.serving.config import ServeConfig
    from lookbook.serving.server import serve_in_thread

__all__ = ["ServeConfig", "create_app", "serve_in_thread"]

_HOMES = {
    "create_app": "lookbook.serving.app",
    "ServeConfig": "lookbook.serving.config",
    "serve_in_thread": "lookbook.serving.server",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'lookbook.serving' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
