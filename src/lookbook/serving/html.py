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

from lookbook.schema import SLOT_COLOURS, Slot
from lookbook.serving.convert import image_url, photo_url
from lookbook.serving.looks import FeedPhoto, Garment, PhotoLook
from lookbook.touchpoints.api import Carousel, ItemView, RecItem

#: Bumped when shop.css changes, so browsers that cached the old file fetch the new one.
CSS_VERSION = "6"
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
    look: bool = False  # the shop can shop the look of a photo: the header links to it

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
    # the picker lists shoppers in demo mode only; outside it, a page for a shopper can still go
    # back to "Anonymous", and an anonymous page has nobody to pick
    picker = (
        f'''<form class="who" action="{esc(chrome.path)}" method="get">
      <label for="user-picker">Shopping as</label>
      <select id="user-picker" name="user" onchange="this.form.submit()">{"".join(options)}</select>
      {keep_query}
      <noscript><button type="submit">Go</button></noscript>
    </form>'''
        if users
        else ""
    )
    cats = "".join(
        f'<a href="{esc(category_href(c, chrome.user))}"'
        f"{CURRENT if chrome.path == '/category/' + quote(c, safe='') else ''}>{esc(label(c))}</a>"
        for c in chrome.categories
    )
    user_field = f'<input type="hidden" name="user" value="{esc(chrome.user)}">' if chrome.user else ""
    notice = f'<p class="notice" role="status">{esc(chrome.notice)}</p>' if chrome.notice else ""
    look_link = (
        f'<a class="look-link{" current" if chrome.path == LOOK_PATH else ""}" '
        f'href="{esc(href(LOOK_PATH, chrome.user))}">{CAMERA}<span>Shop the look</span></a>'
        if chrome.look
        else ""
    )
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
    {look_link}
    {picker}
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


# ------------------------------------------------------------------------------------- shop the look
LOOK_PATH = "/look"
CAMERA = (
    '<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" fill="none" '
    'stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"><path d="M4 7.5h3.2l1.6-2.5h6.4'
    'l1.6 2.5H20a1 1 0 0 1 1 1V18a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8.5a1 1 0 0 1 1-1z"/>'
    '<circle cx="12" cy="13" r="3.6"/></svg>'
)
#: Submits the form as soon as a photo is chosen (the button stays for browsers without scripts),
#: and refuses a file over the limit before sending megabytes the server would refuse anyway.
UPLOAD_SCRIPT = """<script>
(() => {
  const form = document.querySelector("form.upload");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const status = form.querySelector(".upload-status");
  const max = Number(form.dataset.maxBytes);
  form.classList.add("js");
  input.addEventListener("change", () => {
    const file = input.files[0];
    if (!file) return;
    if (file.size > max) {
      status.textContent = `That photo is ${(file.size / 1e6).toFixed(1)} MB; photos of up to `
        + `${max / 1e6} MB fit.`;
      status.classList.add("bad");
      input.value = "";
      return;
    }
    status.classList.remove("bad");
    status.textContent = "Looking for the garments in your photo…";
    form.classList.add("busy");
    form.submit();
  });
})();
</script>"""


@dataclass(frozen=True)
class LookShown:
    """A look to show: the photo's URL (``/photos/...`` or a ``data:`` URL of the upload's preview),
    what it is, and what shop the look made of it."""

    src: str
    alt: str
    look: PhotoLook


def look_page(
    chrome: Chrome,
    *,
    max_bytes: int,
    shown: LookShown | None = None,
    feed: Sequence[FeedPhoto] = (),
    error: str = "",
) -> str:
    """The upload form; then the photo with its garments outlined beside what to shop; then the
    community photos ranked for the shopper."""
    user_field = f'<input type="hidden" name="user" value="{esc(chrome.user)}">' if chrome.user else ""
    failed = f'<p class="upload-status bad" role="alert">{esc(error)}</p>' if error else ""
    status = failed or '<p class="upload-status" role="status" aria-live="polite"></p>'
    intro = f"""<section class="look-intro">
  <div class="look-copy">
    <h1>Shop the look</h1>
    <p>Upload a photo of an outfit: we find each piece in it and the items in the shop that match.</p>
  </div>
  <form class="upload" action="{LOOK_PATH}" method="post" enctype="multipart/form-data"
        data-max-bytes="{max_bytes}">
    <label class="button pick">{CAMERA}<span>{"Try another photo" if shown else "Upload a photo"}</span>
      <input id="photo-input" type="file" name="photo" accept="image/jpeg,image/png,image/webp" required>
    </label>{user_field}
    <button class="button send" type="submit">Shop the look</button>
    <span class="hint">JPEG, PNG or WebP · up to {max_bytes / 1_000_000:g} MB</span>
    {status}
  </form>
</section>"""
    body = intro + (_look_result(shown, chrome) if shown else _LOOK_STEPS) + _feed(feed, chrome)
    return layout(chrome, "Shop the look", body + UPLOAD_SCRIPT)


def _look_result(shown: LookShown, chrome: Chrome) -> str:
    look = shown.look
    boxes = "".join(_box(g, look.width, look.height) for g in look.garments)
    figure = (
        f'<figure class="shot" style="aspect-ratio: {look.width} / {look.height}">'
        f'<img src="{esc(shown.src)}" alt="{esc(shown.alt)}" width="{look.width}" height="{look.height}">'
        f"{boxes}</figure>"
    )
    if look.garments:
        found = "".join(_garment_row(g, chrome) for g in look.garments)
        garments = f'<h2>In this photo</h2><ol class="garments">{found}</ol>'
    else:
        garments = (
            '<h2>In this photo</h2><p class="empty">We could not find a garment in this photo. '
            "A photo of one person, head to toe, works best.</p>"
        )
    recs = look.recommendations
    for_whom = " for you" if chrome.user else ""
    shop = (
        f'<h2>Shop the look</h2><p class="count">{len(recs)} item{"s" if len(recs) != 1 else ""} '
        f"picked from this photo{for_whom}</p>{grid(recs, chrome)}"
        if recs
        else ""
    )
    return (
        f'<section class="look-result" data-garments="{len(look.garments)}">'
        f'<div class="look-photo">{figure}</div><div class="look-side">{garments}{shop}</div></section>'
    )


def _slot_colour(slot: str) -> str:
    try:
        r, g, b = SLOT_COLOURS.get(Slot(slot), (110, 110, 110))
    except ValueError:
        r, g, b = (110, 110, 110)
    return f"rgb({r}, {g}, {b})"


def _box(g: Garment, width: int, height: int) -> str:
    """A garment's outline over the photo, placed in shares of the photo so it scales with it."""
    x0, y0, x1, y1 = g.box
    w, h = max(width, 1), max(height, 1)
    style = (
        f"--slot: {_slot_colour(g.slot)}; left: {100 * x0 / w:.2f}%; top: {100 * y0 / h:.2f}%; "
        f"width: {100 * (x1 - x0) / w:.2f}%; height: {100 * (y1 - y0) / h:.2f}%"
    )
    return (
        f'<span class="garment-box" data-slot="{esc(g.slot)}" style="{style}">'
        f'<span class="garment-label">{esc(g.slot)} {g.confidence:.2f}</span></span>'
    )


def _garment_row(g: Garment, chrome: Chrome) -> str:
    thumbs = "".join(
        f'<a class="anchor" href="{esc(item_href(a.item_id, chrome.user))}" data-item="{esc(a.item_id)}"'
        f' title="{esc(a.title)}{" · " + esc(chrome.price(a.price)) if a.price > 0 else ""}">'
        f'<img src="{esc(image_url(a.item_id))}" alt="{esc(a.title)}" width="64" height="64"'
        ' loading="eager" decoding="async"></a>'
        for a in g.anchors
    )
    closest = f'<span class="closest">closest: {esc(g.anchors[0].title)}</span>' if g.anchors else ""
    return (
        f'<li class="garment" data-slot="{esc(g.slot)}" style="--slot: {_slot_colour(g.slot)}">'
        f'<div class="garment-head"><span class="swatch"></span>'
        f'<span class="slot">{esc(label(g.slot))}</span>'
        f'<span class="confidence">{g.confidence:.0%} sure</span>{closest}</div>'
        f'<div class="anchors">{thumbs or _NO_ANCHORS}</div></li>'
    )


#: What the page says before a photo is chosen: what will happen, in the shop's voice.
_LOOK_STEPS = """<ol class="look-steps">
  <li><b>1</b><p><strong>Upload a photo</strong> of an outfit: one person, head to toe, works best.</p></li>
  <li><b>2</b><p><strong>We outline each piece</strong> and find the closest items in the shop.</p></li>
  <li><b>3</b><p><strong>Shop the look</strong>: pieces like them, ordered for your taste.</p></li>
</ol>"""
_NO_ANCHORS = '<span class="empty">Nothing like it in stock right now.</span>'


def _feed(feed: Sequence[FeedPhoto], chrome: Chrome) -> str:
    if not feed:
        return ""
    tiles = []
    for j, p in enumerate(feed):
        boxes = "".join(_box(g, p.width, p.height) for g in p.garments)
        slots = " · ".join(dict.fromkeys(label(g.slot) for g in p.garments))
        tiles.append(
            f'<a class="feed-photo" href="{esc(href(LOOK_PATH, chrome.user, photo=p.photo_id))}"'
            f' data-photo="{esc(p.photo_id)}" data-score="{p.score:.4f}">'
            f'<figure class="shot" style="aspect-ratio: {p.width} / {p.height}">'
            f'<img src="{esc(photo_url(p.photo_id))}" alt="A community look" width="{p.width}"'
            f' height="{p.height}" loading="{"eager" if j < EAGER_CARDS else "lazy"}" decoding="async">'
            f'{boxes}</figure><span class="feed-slots">{esc(slots)}</span></a>'
        )
    title = "Looks picked for you" if chrome.user else "Looks from the community"
    note = "Shop any of them: pick a photo." if chrome.user else "Pick a photo to shop its look."
    return (
        f'<section class="feed" id="community"><h2>{title}</h2><p class="count">{note}</p>'
        f'<div class="feed-grid">{"".join(tiles)}</div></section>'
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
