"""The shop page's HTML, written as small functions over the ``Shop``'s records.

No template engine: every dynamic value goes through ``esc`` (text and attributes) or ``href``
(URLs, with ids quoted), and the pages are small enough that f-strings stay readable. The page
keeps the chosen demo user in every link (``?user=``) rather than in a cookie, so a URL shows
exactly what someone saw.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from lookbook.serving.convert import image_url
from lookbook.touchpoints.api import Carousel, ItemView, RecItem

#: Bumped when shop.css changes, so browsers that cached the old file fetch the new one.
CSS_VERSION = "5"
CURRENT = ' class="current"'
#: Cards in a row load eagerly up to here (what the first screen shows), lazily after.
EAGER_CARDS = 6


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def href(path: str, user: str | None = None, **params: str | None) -> str:
    """A link that keeps the chosen user; empty parameters are left out."""
    query = {k: v for k, v in {**params, "user": user}.items() if v}
    return path + ("?" + urlencode(query) if query else "")


def item_href(item_id: str, user: str | None) -> str:
    return href("/item/" + quote(item_id, safe=""), user)


def category_href(category: str, user: str | None) -> str:
    return href("/category/" + quote(category, safe=""), user)


def label(text: str) -> str:
    """``'crossbody bag'`` -> ``'Crossbody bag'``: categories are stored lower case."""
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Chrome:
    """What every page's header needs: who is shopping, whom they could be, where they are."""

    shop_name: str
    currency: str
    user: str | None
    users: Sequence[str]
    categories: Sequence[str]
    path: str = "/"
    query: str = ""
    notice: str = ""

    def price(self, value: float) -> str:
        return f"{self.currency}{value:,.2f}" if value > 0 else ""


def layout(chrome: Chrome, title: str, main: str) -> str:
    users = list(chrome.users)
    if chrome.user and chrome.user not in users:
        users.insert(0, chrome.user)
    options = ['<option value="">Anonymous</option>'] + [
        f'<option value="{esc(u)}"{" selected" if u == chrome.user else ""}>{esc(u)}</option>' for u in users
    ]
    keep_query = f'<input type="hidden" name="q" value="{esc(chrome.query)}">' if chrome.query else ""
    cats = "".join(
        f'<a href="{esc(category_href(c, chrome.user))}"'
        f"{CURRENT if chrome.path == '/category/' + quote(c, safe='') else ''}>{esc(label(c))}</a>"
        for c in chrome.categories
    )
    user_field = f'<input type="hidden" name="user" value="{esc(chrome.user)}">' if chrome.user else ""
    notice = f'<p class="notice" role="status">{esc(chrome.notice)}</p>' if chrome.notice else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · {esc(chrome.shop_name)}</title>
<link rel="stylesheet" href="/static/shop.css?v={CSS_VERSION}">
</head>
<body>
<header class="top">
  <div class="bar">
    <a class="logo" href="{esc(href("/", chrome.user))}">{esc(chrome.shop_name)}</a>
    <form class="search" action="/search" method="get" role="search">
      <input type="search" name="q" value="{esc(chrome.query)}" aria-label="Search" maxlength="200"
             placeholder="Search for items, brands, colours" required>{user_field}
      <button type="submit">Search</button>
    </form>
    <form class="who" action="{esc(chrome.path)}" method="get">
      <label for="user-picker">Shopping as</label>
      <select id="user-picker" name="user" onchange="this.form.submit()">{"".join(options)}</select>
      {keep_query}
      <noscript><button type="submit">Go</button></noscript>
    </form>
  </div>
  <nav class="cats" aria-label="Categories">{cats}</nav>
</header>
<main>
{notice}{main}
</main>
<footer class="foot">{esc(chrome.shop_name)} · recommendations by the Lookbook engine ·
  <a href="/docs">API</a></footer>
</body>
</html>
"""


def card(r: RecItem, chrome: Chrome, *, eager: bool = True) -> str:
    loading = "eager" if eager else "lazy"
    sold = "" if r.in_stock else '<span class="sold">Sold out</span>'
    return (
        f'<a class="card" href="{esc(item_href(r.item_id, chrome.user))}" data-item="{esc(r.item_id)}">'
        f'<span class="pic"><img src="{esc(image_url(r.item_id))}" alt="{esc(r.title)}"'
        f' width="128" height="128" loading="{loading}" decoding="async"></span>'
        f'<span class="brand">{esc(r.brand)}</span>'
        f'<span class="name">{esc(r.title)}</span>'
        f'<span class="price">{esc(chrome.price(r.price))}{sold}</span>'
        f'<span class="why">{esc(r.why)}</span>'
        "</a>"
    )


def row(key: str, title: str, items: Iterable[RecItem], chrome: Chrome, heading: str = "h2") -> str:
    cards = "".join(card(r, chrome, eager=j < EAGER_CARDS) for j, r in enumerate(items))
    if not cards:
        return ""
    return (
        f'<section class="row" data-carousel="{esc(key)}"><{heading}>{esc(title)}</{heading}>'
        f'<div class="scroller">{cards}</div></section>'
    )


def grid(items: Sequence[RecItem], chrome: Chrome) -> str:
    cards = "".join(card(r, chrome, eager=j < 2 * EAGER_CARDS) for j, r in enumerate(items))
    return f'<div class="grid">{cards}</div>'


def home_page(chrome: Chrome, carousels: Sequence[Carousel]) -> str:
    if chrome.user:
        hero = (
            f'<section class="hero"><h1>Welcome back, {esc(chrome.user)}</h1>'
            "<p>Picked for you from what you have viewed, saved and bought.</p></section>"
        )
    else:
        hero = (
            '<section class="hero"><h1>The new season edit</h1>'
            "<p>What shoppers love right now, and what has just arrived.</p></section>"
        )
    rows = "".join(row(c.key, c.title, c.items, chrome) for c in carousels)
    return layout(chrome, "Home", hero + (rows or '<p class="empty">Nothing to show yet.</p>'))


def item_page(chrome: Chrome, item: ItemView, similar: Sequence[RecItem], look: Sequence[Carousel]) -> str:
    sizes = "".join(f'<span class="size">{esc(s)}</span>' for s in item.sizes)
    attrs = "".join(f"<dt>{esc(label(k))}</dt><dd>{esc(v)}</dd>" for k, v in _shown(item.attributes))
    stock = '<p class="stock in">In stock</p>' if item.in_stock else '<p class="stock out">Sold out</p>'
    crumbs = (
        f'<nav class="crumbs"><a href="{esc(href("/", chrome.user))}">Home</a> / '
        f'<a href="{esc(category_href(item.category, chrome.user))}">{esc(label(item.category))}</a> / '
        f"<span>{esc(item.title)}</span></nav>"
    )
    product = f"""<article class="product" data-item="{esc(item.item_id)}">
  <div class="photo">
    <img src="{esc(image_url(item.item_id))}" alt="{esc(item.title)}" width="128" height="128">
  </div>
  <div class="info">
    <p class="brand">{esc(item.brand)}</p>
    <h1>{esc(item.title)}</h1>
    <p class="price big">{esc(chrome.price(item.price))}</p>
    {stock}
    {f'<div class="sizes" aria-label="Sizes">{sizes}</div>' if sizes else ""}
    <p class="desc">{esc(item.description)}</p>
    {f'<dl class="attrs">{attrs}</dl>' if attrs else ""}
  </div>
</article>"""
    similar_html = row("similar", "Similar items", similar, chrome)
    look_rows = "".join(row(c.key, _look_title(c.title), c.items, chrome, heading="h3") for c in look)
    look_html = (
        '<section class="look" id="complete-the-look"><h2>Complete the look</h2>'
        f'<div class="look-grid">{look_rows}</div></section>'
        if look_rows
        else ""
    )
    return layout(chrome, item.title, crumbs + product + similar_html + look_html)


def results_page(chrome: Chrome, title: str, items: Sequence[RecItem], empty: str) -> str:
    count = f'<p class="count">{len(items)} item{"s" if len(items) != 1 else ""}</p>'
    body = grid(items, chrome) if items else f'<p class="empty">{esc(empty)}</p>'
    return layout(chrome, title, f'<section class="results"><h1>{esc(title)}</h1>{count}{body}</section>')


def not_found_page(chrome: Chrome, what: str, heading: str = "We could not find that") -> str:
    return layout(
        chrome,
        heading,
        f'<section class="missing"><h1>{esc(heading)}</h1><p>{esc(what)}</p>'
        f'<p><a class="button" href="{esc(href("/", chrome.user))}">Back to the shop</a></p></section>',
    )


def _look_title(title: str) -> str:
    """``"Complete the look: shoes"`` -> ``"Shoes"``: the section already says "Complete the look"."""
    prefix = "complete the look"
    if title.lower().startswith(prefix):
        title = title[len(prefix) :].lstrip(" :-–")
    return label(title) if title else "More"


def _shown(attributes: Mapping[str, str]) -> list[tuple[str, str]]:
    order = {"colour": 0, "material": 1, "pattern": 2, "shape": 3}
    return sorted(((k, v) for k, v in attributes.items() if v), key=lambda kv: (order.get(kv[0], 9), kv[0]))
