"""The shop page in a real browser: Debian's Chromium, headless, driven by Playwright, against the
real ``Shop`` on a built project behind a real server.

A shopper opens the home page, picks a demo user, sees carousels whose images really loaded,
clicks a product, finds similar items and complete-the-look rows, searches, and opens a category.
Chromium comes from ``scripts/install-chromium.sh`` (apt-get, idempotent); the test skips, saying
why, only when it cannot be installed here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lookbook.serving.screenshot import CHROMIUM, chromium, save_png, wait_for_images

from .conftest import PhotoProject, Served, copy_project, real_photo, serve_real_shop

pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e '.[test]'")

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "scripts" / "install-chromium.sh"

# a real browser against a built project (and the Chromium install): the slow lane only
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium_binary() -> Path:
    """Debian's Chromium, installed by the project's script when missing."""
    if not CHROMIUM.exists():
        done = subprocess.run(
            ["bash", str(INSTALL)], capture_output=True, text=True, timeout=900, check=False
        )
        if done.returncode != 0 or not CHROMIUM.exists():
            pytest.skip(
                f"cannot install Chromium with {INSTALL.name}: {(done.stderr or done.stdout).strip()[-300:]}"
            )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_binary: Path) -> Iterator[Any]:
    with chromium(chromium_binary) as b:
        yield b


@pytest.fixture(scope="module")
def shop_server(built_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_real_shop(copy_project(built_project, tmp_path_factory, "browser-project")) as served:
        yield served


def _loaded_images(page: Any, selector: str) -> list[int]:
    """naturalWidth of each eager image under ``selector`` (0 = broken or not loaded)."""
    return (
        page.locator(selector)
        .first.locator("img")
        .evaluate_all("imgs => imgs.filter(i => i.loading !== 'lazy').map(i => i.naturalWidth)")
    )


def test_a_shopper_browses_the_shop_in_chromium(browser: Any, shop_server: Served, tmp_path: Path):
    user = shop_server.shop.demo_users(3)[1]
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    # the home page, anonymous, then as a demo user picked in the header's picker
    page.goto(shop_server.url + "/", wait_until="load")
    assert page.title() == "Home · Lookbook"
    assert page.locator("header .logo").inner_text() == "LOOKBOOK"  # styled upper case
    with page.expect_navigation():
        page.select_option("#user-picker", user)
    assert page.url.endswith(f"/?user={user}")
    assert page.locator("#user-picker").input_value() == user
    wait_for_images(page)
    rows = page.locator("section.row")
    assert rows.count() >= 2
    assert page.locator("section.row").first.get_attribute("data-carousel") == "for_you"
    first_row = _loaded_images(page, "section.row")
    assert len(first_row) >= 4 and all(w > 0 for w in first_row), first_row
    assert page.locator("section.row >> nth=0 >> .price").first.inner_text().startswith("€")
    save_png(page.screenshot(), tmp_path / "home.png")

    # a product card leads to the item page, with similar items and complete the look
    card = page.locator("section.row >> nth=0 >> a.card").first
    item_id = card.get_attribute("data-item")
    with page.expect_navigation():
        card.click()
    assert f"/item/{item_id}" in page.url and f"user={user}" in page.url
    wait_for_images(page)
    assert page.locator("article.product h1").inner_text() == shop_server.shop.item(item_id).title
    assert page.eval_on_selector("article.product .photo img", "i => i.naturalWidth") > 0
    similar = page.locator('section[data-carousel="similar"] a.card')
    assert similar.count() > 0 and item_id not in similar.evaluate_all("cs => cs.map(c => c.dataset.item)")
    look = page.locator("#complete-the-look section.row")
    assert look.count() > 0 and page.locator("#complete-the-look a.card").count() > 0
    assert all(w > 0 for w in _loaded_images(page, '[data-carousel="similar"]'))
    save_png(page.screenshot(full_page=True), tmp_path / "item.png")

    # the search box
    word = shop_server.shop.item(item_id).category
    page.fill("header input[name=q]", word)
    with page.expect_navigation():
        page.press("header input[name=q]", "Enter")
    assert "/search?" in page.url and f"user={user}" in page.url
    assert page.locator(".results h1").inner_text() == f"Results for “{word}”"
    assert page.locator(".grid a.card").count() > 0
    wait_for_images(page)

    # a category link in the header
    with page.expect_navigation():
        page.locator("nav.cats a").nth(2).click()
    assert "/category/" in page.url
    assert page.locator("nav.cats a.current").count() == 1
    assert page.locator(".grid a.card").count() > 0
    save_png(page.screenshot(), tmp_path / "category.png")
    page.close()

    assert not errors, errors
    for name in ("home", "item", "category"):
        shot = tmp_path / f"{name}.png"
        assert shot.exists() and 10_000 < shot.stat().st_size < 600_000


@pytest.mark.realdata
def test_a_shopper_shops_the_look_of_a_photo_in_chromium(
    browser: Any, photo_served: PhotoProject, tmp_path: Path
):
    served, user = photo_served.served, photo_served.user
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    # from the home page, the header's link keeps the chosen user
    page.goto(f"{served.url}/?user={user}", wait_until="load")
    with page.expect_navigation():
        page.click("header a.look-link")
    assert page.url.endswith(f"/look?user={user}")
    assert page.locator("h1").inner_text() == "Shop the look"
    wait_for_images(page)
    feed = page.locator(".feed-photo")
    assert feed.count() == 2 and feed.first.get_attribute("data-photo") == photo_served.liked
    assert page.eval_on_selector(".feed-photo img", "i => i.naturalWidth") == 768
    assert page.locator(".upload .send").is_hidden(), "with scripts, choosing a photo submits the form"

    # choosing a photo submits it; the answer is the photo with its garments outlined, and the cards
    with page.expect_navigation(timeout=120_000):
        page.set_input_files("#photo-input", str(real_photo()))
    wait_for_images(page)
    result = page.locator("section.look-result")
    assert result.count() == 1
    boxes = result.locator(".garment-box")
    slots = boxes.evaluate_all("bs => bs.map(b => b.dataset.slot)")
    assert {"top", "bottom"} <= set(slots), slots
    labels = result.locator(".garment-label").all_inner_texts()
    assert any(t.startswith("top 0.") or t == "top 1.00" for t in labels), labels
    photo = result.locator(".shot img").bounding_box()
    for b in boxes.all():  # every outline lies on the photo as drawn
        box = b.bounding_box()
        assert box["x"] >= photo["x"] - 1 and box["x"] + box["width"] <= photo["x"] + photo["width"] + 1
        assert box["y"] >= photo["y"] - 1 and box["y"] + box["height"] <= photo["y"] + photo["height"] + 1
    assert result.locator(".shot img").evaluate("i => i.naturalWidth") > 0
    anchors = result.locator(".garment .anchor img")
    assert anchors.count() >= len(slots) and all(
        w > 0 for w in anchors.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    )
    cards = result.locator("a.card")
    assert cards.count() > 0 and all(h.endswith(f"?user={user}") for h in cards.evaluate_all(
        "cs => cs.map(c => c.getAttribute('href'))"
    ))  # fmt: skip
    assert cards.first.locator(".price").inner_text().startswith("€")
    assert page.locator("#user-picker").input_value() == user
    shot = save_png(page.screenshot(), tmp_path / "look.png")
    save_png(page.screenshot(full_page=True), tmp_path / "look-full.png")
    page.close()

    assert not errors, errors
    assert 10_000 < shot.stat().st_size < 600_000


def test_the_readme_screenshot_script_writes_a_small_png(
    chromium_binary: Path, shop_server: Served, tmp_path: Path
):
    out = tmp_path / "shop.png"
    user = shop_server.shop.demo_users(1)[0]
    cmd = [sys.executable, "-m", "lookbook.serving.screenshot", "--url", shop_server.url, "--out", str(out)]
    subprocess.run([*cmd, "--user", user], check=True, timeout=120, capture_output=True)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size < 300_000


def test_the_install_script_is_idempotent(chromium_binary: Path):
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    done = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=60, check=True)
    assert "chromium present" in done.stdout
