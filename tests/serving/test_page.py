"""The shop page's HTML over HTTP (what a browser gets before any script runs)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from .conftest import API_KEY, Served

HTML = {"accept": "text/html"}


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30, headers=HTML) as c:
        yield c


def _cards(page: str) -> list[str]:
    """The item ids of the product cards on a page, in order."""
    return re.findall(r'<a class="card" href="[^"]+" data-item="([^"]+)"', page)


def test_home_page_for_an_anonymous_visitor_looks_like_a_shop(client: httpx.Client, served: Served):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<a class="logo" href="/">Lookbook</a>' in page
    assert '<form class="search" action="/search"' in page
    assert '<option value="">Anonymous</option>' in page
    for user in served.shop.demo_users(20):
        assert f'<option value="{user}">{user}</option>' in page
    assert 'href="/category/crossbody%20bag"' in page and ">Crossbody bag</a>" in page
    assert re.findall(r'data-carousel="([^"]+)"', page) == ["trending", "new_in", "dress", "shoes"]
    cards = _cards(page)
    assert len(cards) >= 24
    first = served.shop.home_feed(None, None, 12)[0].items[0]
    assert f'<img src="/images/{first.item_id}"' in page
    assert f"€{first.price:,.2f}" in page and first.brand in page
    assert '<link rel="stylesheet" href="/static/shop.css' in page
    assert "{" not in page.split("<main>")[1], "no raw JSON on the page"


def test_a_chosen_user_is_kept_in_every_link(client: httpx.Client, served: Served):
    user = served.shop.demo_users(1)[0]
    page = client.get("/", params={"user": user}).text
    assert f'<option value="{user}" selected>' in page
    assert f"Welcome back, {user}" in page
    assert 'data-carousel="for_you"' in page
    hrefs = re.findall(r'<a class="card" href="([^"]+)"', page)
    assert hrefs and all(h.endswith(f"?user={user}") for h in hrefs)
    assert f'<input type="hidden" name="user" value="{user}">' in page  # the search form keeps the user


def test_an_unknown_user_sees_the_anonymous_shop_with_a_notice(client: httpx.Client):
    r = client.get("/", params={"user": "ghost"})
    assert r.status_code == 200
    assert "We do not know the shopper &#x27;ghost&#x27;" in r.text
    assert 'data-carousel="trending"' in r.text


def test_item_page_has_details_similar_items_and_complete_the_look(client: httpx.Client, served: Served):
    user = served.shop.demo_users(1)[0]
    item = served.shop.item("it000001")
    page = client.get("/item/it000001", params={"user": user}).text
    assert f"<h1>{item.title}</h1>" in page
    assert f'<img src="/images/it000001" alt="{item.title}"' in page
    assert "In stock" in page or "Sold out" in page
    for size in item.sizes:
        assert f'<span class="size">{size}</span>' in page
    assert '<section class="row" data-carousel="similar"><h2>Similar items</h2>' in page
    assert '<section class="look" id="complete-the-look"><h2>Complete the look</h2>' in page
    similar = [r.item_id for r in served.shop.similar("it000001", user, 12)]
    assert similar[0] in page and "it000001" not in _cards(page)


def test_search_and_category_pages_show_grids(client: httpx.Client, served: Served):
    found = client.get("/search", params={"q": "red"}).text
    assert "Results for “red”" in found and '<div class="grid">' in found
    assert 'value="red"' in found  # the box keeps the query
    assert len(_cards(found)) == len(served.shop.search("red", None, 48))
    assert "Type what you are looking for" in client.get("/search").text
    assert "Nothing matches “zzqqxx”" in client.get("/search", params={"q": "zzqqxx"}).text
    cat = client.get("/category/crossbody bag").text
    assert "<h1>Crossbody bag</h1>" in cat and 'class="current">Crossbody bag' in cat
    assert len(_cards(cat)) == len(served.shop.category("crossbody bag", None, 48))


def test_missing_things_are_404_pages_for_browsers_and_json_for_programs(client: httpx.Client):
    for path in ("/item/no-such-item", "/category/no-such-category", "/no/such/page"):
        r = client.get(path)
        assert r.status_code == 404 and "We could not find that" in r.text, path
        assert 'class="logo"' in r.text
    r = client.get("/no/such/page", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_everything_from_the_catalog_is_escaped(client: httpx.Client):
    evil = {
        "item_id": 'x"><script>alert(1)<\\script>',  # ("/" is not allowed in ids over HTTP)
        "title": "<script>alert('t')</script> & co",
        "brand": '"><img src=x onerror=alert(2)>',
        "category": "<b>bold</b>",
        "slot": "top",
        "price": 10.0,
        "attributes": {"colour": "<i>red</i>"},
    }
    r = httpx.put(f"{client.base_url}/api/items", json={"items": [evil]}, headers={"X-API-Key": API_KEY})
    assert r.status_code == 200, r.text
    pages = [
        client.get("/item/" + quote(evil["item_id"], safe="")).text,
        client.get("/search", params={"q": "script"}).text,
        client.get("/category/<b>bold</b>").text,
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
        assert "<i>red" not in page
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt; &amp; co" in pages[0]


def test_the_stylesheet_is_served_and_cacheable(client: httpx.Client):
    r = client.get("/static/shop.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert ".card" in r.text and "max-age" in r.headers["cache-control"]
