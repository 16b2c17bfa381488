"""Pictures of the shop page in headless Chromium: the README's ``docs/shop.png`` and the browser
tests' screenshots.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/install-chromium.sh``), driven
by Playwright (the ``test`` extra), which never downloads a browser of its own. The flags are the
ones this machine needs: without the background-networking ones Chromium spends its start-up on
connections the closed network refuses. Playwright gives every launch a fresh profile.

    python -m lookbook.serving.screenshot --project runs/demo/project --out docs/shop.png
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 860}


@contextlib.contextmanager
def chromium(executable: Path = CHROMIUM) -> Iterator[Any]:
    """A headless Chromium ``Browser`` (Playwright's), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(executable), headless=True, args=list(CHROMIUM_FLAGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def wait_for_images(page: Any, timeout_ms: int = 15_000) -> None:
    """Until every image that started loading has finished (lazy ones off screen are not waited for)."""
    page.wait_for_function(
        "() => Array.from(document.images).filter(i => i.loading !== 'lazy').every(i => i.complete)",
        timeout=timeout_ms,
    )


def save_png(raw: bytes, out: Path, colours: int = 256) -> Path:
    """Write a screenshot as an optimised palette PNG: flat product renders and a white page keep
    their look in 256 colours at a fraction of the size (the README's picture stays < 300 KB)."""
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(raw)) as im:
        im.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


def shop_screenshot(
    browser: Any, base_url: str, out: Path, *, user: str | None = None, path: str = "/"
) -> Path:
    """A first-screen picture of a page of the shop at ``base_url`` (``user``: the demo shopper)."""
    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
    try:
        url = base_url.rstrip("/") + path + ("?" + urlencode({"user": user}) if user else "")
        page.goto(url, wait_until="load")
        wait_for_images(page)
        return save_png(page.screenshot(full_page=False), out)
    finally:
        page.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a built project in this process and photograph its home page for one demo user."""
    parser = argparse.ArgumentParser(prog="python -m lookbook.serving.screenshot", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--project", type=Path, help="a project made by `lookbook build`")
    source.add_argument("--url", help="a running server instead, e.g. http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs/shop.png"))
    parser.add_argument("--user", help="demo user (default: the shop's first demo user)")
    parser.add_argument("--path", default="/", help="page to photograph (default: the home page)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.url:
        with chromium() as browser:
            shop_screenshot(browser, args.url, args.out, user=args.user, path=args.path)
    else:
        from lookbook.serving import ServeConfig, create_app, serve_in_thread
        from lookbook.touchpoints.factory import open_shop

        with open_shop(args.project) as shop:
            user = args.user or next(iter(shop.demo_users(1)), None)
            with serve_in_thread(create_app(shop, ServeConfig(demo=True))) as server, chromium() as browser:
                shop_screenshot(browser, server.url, args.out, user=user, path=args.path)
    log.info("wrote %s (%d KB)", args.out, args.out.stat().st_size // 1024)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
