"""``ServeConfig``: what the HTTP layer needs besides the ``Shop``."""

from __future__ import annotations

from dataclasses import dataclass

from lookbook.errors import LookbookError

#: Environment variable the CLI reads the write key from when ``--api-key`` is not given.
API_KEY_ENV = "LOOKBOOK_API_KEY"
#: Environment variable the CLI reads the read key from when ``--read-key`` is not given.
READ_KEY_ENV = "LOOKBOOK_READ_KEY"


@dataclass(frozen=True)
class ServeConfig:
    """Settings of one app.

    ``api_key``: the key write endpoints require in ``X-API-Key``; ``None`` disables writes (403
    with a message that says how to enable them) rather than leaving them open, so a server started
    without a key can never be written to by accident. ``max_body_bytes`` bounds any request body
    before it is parsed (a 2 MB JSON batch is about 2,000 items with descriptions, or a few images).
    ``max_items`` / ``max_events`` bound one batch, so one request cannot hold the write lock for
    long. ``demo_users`` is how many users the page's picker lists, and ``lists_ttl`` how long the
    picker and the category links are reused before the shop is asked again. ``image_max_age`` is the
    ``Cache-Control`` lifetime of item images: an item's image file never changes in place (the
    store names images by content hash), so browsers may keep them for a day. ``warm_up`` calls
    each touchpoint once at start-up, so lazy loading is not paid by the first shopper: the feeds
    before the server accepts requests, search and the writer's encoders (seconds of loading) on a
    background thread just after (``serving.server.warm_up``). ``threads`` bounds
    how many requests run inside the ``Shop`` at once (the rest queue): its work is CPU-bound, so a
    few threads per core give the best throughput and tail latency.

    Shop the look takes photo uploads, which are bounded apart from JSON bodies: ``max_upload_bytes``
    (10 MB: a phone's full-size JPEG fits, a video renamed .jpg does not) is read at most plus one
    byte, and ``max_upload_pixels`` (40 million: a 50 MP camera is refused, every phone is not) is
    checked against the size the image's header declares, before any pixel is decoded, since a
    PNG of a few KB can declare gigabytes of pixels. ``photo_max_side`` is the longest side a photo
    is analysed at: detection needs no more, and a full-size decode of 40 MP costs hundreds of MB.
    Item images sent with ``PUT /api/items`` are held to the same ``max_upload_pixels``.

    ``read_key``: when set, every read (the JSON API, the pages, item images and community photos)
    needs it, in the ``X-Read-Key`` header, as ``?key=`` or in the cookie a page visit with ``?key=``
    sets (see ``serving.access``); ``None`` (the default) leaves reads open, as a demo wants.
    ``demo`` lists shoppers: ``GET /api/users`` and the page's "Shopping as" picker exist for the
    demo only, since outside it a list of the most active shoppers' ids is nobody's business.
    ``reload_interval`` is how often (seconds) the server looks at the project's ``settings.toml``
    and ``models/CURRENT`` and, when either changed, asks the shop to reload; 0 turns that off.
    ``retrain_every``: seconds between scheduled retrains of the project in a separate process
    (``serving.retrain_schedule``); 0 (the default) schedules none.
    """

    api_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    shop_name: str = "Lookbook"
    currency: str = "€"
    max_body_bytes: int = 2_000_000
    max_items: int = 1_000
    max_events: int = 10_000
    demo_users: int = 20
    lists_ttl: float = 5.0
    image_max_age: int = 86_400
    warm_up: bool = True
    threads: int = 4
    max_upload_bytes: int = 10_000_000
    max_upload_pixels: int = 40_000_000
    photo_max_side: int = 1_600
    read_key: str | None = None
    demo: bool = False
    reload_interval: float = 1.0
    retrain_every: float = 0.0

    def __post_init__(self) -> None:
        if self.api_key is not None and len(self.api_key) < 8:
            raise LookbookError("ServeConfig api_key: expected >= 8 characters (or None: writes disabled)")
        if self.read_key is not None and (len(self.read_key) < 8 or not self.read_key.isprintable()):
            raise LookbookError(
                "ServeConfig read_key: expected >= 8 printable characters (or None: reads are open)"
            )
        if not self.reload_interval >= 0:
            raise LookbookError(
                f"ServeConfig reload_interval: expected seconds >= 0 (0: off), got {self.reload_interval}"
            )
        if not (self.retrain_every == 0 or self.retrain_every >= 60):
            raise LookbookError(
                f"ServeConfig retrain_every: expected 0 (off) or >= 60 seconds, got {self.retrain_every}"
            )
        if not 0 <= self.port <= 65_535:
            raise LookbookError(f"ServeConfig port: expected 0..65535, got {self.port}")
        if self.threads < 1:
            raise LookbookError(f"ServeConfig threads: expected >= 1, got {self.threads}")
        if self.max_body_bytes < 1_024:
            raise LookbookError(f"ServeConfig max_body_bytes: expected >= 1024, got {self.max_body_bytes}")
        if self.max_upload_bytes < 1_024:
            raise LookbookError(
                f"ServeConfig max_upload_bytes: expected >= 1024, got {self.max_upload_bytes}"
            )
        if self.max_upload_pixels < 1:
            raise LookbookError(f"ServeConfig max_upload_pixels: expected >= 1, got {self.max_upload_pixels}")
        if self.photo_max_side < 64:
            raise LookbookError(f"ServeConfig photo_max_side: expected >= 64, got {self.photo_max_side}")
