"""``ServeConfig``: what the HTTP layer needs besides the ``Shop``."""

from __future__ import annotations

from dataclasses import dataclass

from lookbook.errors import LookbookError

#: Environment variable the CLI reads the write key from when ``--api-key`` is not given.
API_KEY_ENV = "LOOKBOOK_API_KEY"


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
    each touchpoint once at start-up, before the server accepts requests, so lazy loading (the
    text encoder behind search takes seconds) is not paid by the first shopper. ``threads`` bounds
    how many requests run inside the ``Shop`` at once (the rest queue): its work is CPU-bound, so a
    few threads per core give the best throughput and tail latency.
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

    def __post_init__(self) -> None:
        if self.api_key is not None and len(self.api_key) < 8:
            raise LookbookError("ServeConfig api_key: expected >= 8 characters (or None: writes disabled)")
        if not 0 <= self.port <= 65_535:
            raise LookbookError(f"ServeConfig port: expected 0..65535, got {self.port}")
        if self.threads < 1:
            raise LookbookError(f"ServeConfig threads: expected >= 1, got {self.threads}")
        if self.max_body_bytes < 1_024:
            raise LookbookError(f"ServeConfig max_body_bytes: expected >= 1024, got {self.max_body_bytes}")
