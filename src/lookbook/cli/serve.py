"""``lookbook serve --project DIR``: the HTTP API and the shop page of a built project.

The write key comes from ``--api-key`` or ``$LOOKBOOK_API_KEY``; without one the server still
serves every read and the page, and refuses writes with 403 (a message says how to enable them).
The read key (``--read-key`` or ``$LOOKBOOK_READ_KEY``) is off by default; with one, every read
(API, pages, images) needs it (``lookbook.serving.access``). ``--demo`` lists shoppers
(``/api/users`` and the page's picker), as ``lookbook demo`` does. The server reloads the project's
settings and promoted model version when they change (``--reload-seconds``), swapping a new model
version in while it serves; ``--retrain-every`` retrains the project on a schedule in a child process.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from lookbook.serving.config import API_KEY_ENV, READ_KEY_ENV

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "serve",
        help="serve a built project: JSON API, shop page, metrics",
        description="Open a project made by `lookbook build` and serve it with uvicorn (one worker): the "
        "JSON API under /api, the shop page at /, Prometheus metrics at /metrics, OpenAPI at /docs.",
    )
    parser.add_argument(
        "--project", type=Path, required=True, help="a project folder made by `lookbook build`"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"key that writes require in X-API-Key (default: ${API_KEY_ENV}; none: writes disabled)",
    )
    parser.add_argument(
        "--read-key",
        default=None,
        help=f"key every read needs in X-Read-Key or ?key= (default: ${READ_KEY_ENV}; none: reads are open)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="demo mode: list the most active shoppers (GET /api/users, the page's user picker)",
    )
    parser.add_argument(
        "--reload-seconds",
        type=float,
        default=1.0,
        help="how often to look for a changed settings.toml or promoted model version (default 1; 0: never)",
    )
    parser.add_argument(
        "--retrain-every",
        default=None,
        metavar="DURATION",
        help="retrain the project in a separate process this often (e.g. 6h, 30m; at least 60s); a "
        "promoted version is swapped in without a restart",
    )
    parser.add_argument("--index", default=None, help="index URI, when the project was built with one")
    parser.add_argument(
        "--cache-seconds",
        type=float,
        default=None,
        help="reuse an unchanged home feed / similar page this long (default: the settings' "
        "response_cache_seconds, 30; 0: compute every time)",
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=10.0, help="largest shop-the-look photo upload (default 10)"
    )
    parser.add_argument(
        "--max-upload-megapixels",
        type=float,
        default=40.0,
        help="largest declared photo size, refused before decoding (default 40)",
    )
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    # Imported here: opening a shop loads torch and the models, which `lookbook --help` must not.
    from lookbook.serving import ServeConfig, create_app
    from lookbook.serving.retrain_schedule import parse_duration
    from lookbook.serving.server import run
    from lookbook.touchpoints.factory import open_shop
    from lookbook.touchpoints.threads import limit_math_threads

    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    read_key = args.read_key or os.environ.get(READ_KEY_ENV) or None
    config = ServeConfig(
        api_key=api_key,
        host=args.host,
        port=args.port,
        max_upload_bytes=round(args.max_upload_mb * 1e6),
        max_upload_pixels=round(args.max_upload_megapixels * 1e6),
        read_key=read_key,
        demo=args.demo,
        reload_interval=args.reload_seconds,
        retrain_every=parse_duration(args.retrain_every) if args.retrain_every else 0.0,
    )
    limit_math_threads()
    shop = open_shop(args.project, index=args.index)  # the project's settings.toml
    if args.cache_seconds is not None:
        shop.override(response_cache_seconds=max(args.cache_seconds, 0.0))
    try:
        if api_key is None:
            log.warning("no API key (--api-key or $%s): writes are disabled", API_KEY_ENV)
        if read_key is not None:
            log.info("reads need the read key (X-Read-Key, or ?key= once in a browser)")
        log.info(
            "serving %s on http://%s:%d (page at /, API docs at /docs)", args.project, args.host, args.port
        )
        run(create_app(shop, config), host=args.host, port=args.port)
    finally:
        shop.close()
    return 0
