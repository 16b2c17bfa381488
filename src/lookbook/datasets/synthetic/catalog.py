"""Sampling a demo catalog: hidden item truth first, then the visible attributes and text.

Visible attributes (colour, pattern, material, shape, brand, price) are drawn from each item's
hidden dominant style, with noise, so that content features carry real but imperfect evidence of
style: a content model can learn something, but not everything. Titles and descriptions describe
the visible attributes in varied words and never name the style.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.datasets.synthetic.config import WorldConfig
from lookbook.datasets.synthetic.taste import ItemTruth
from lookbook.datasets.synthetic.vocab import COLOUR_INDEX, COLOURS, DomainVocab, size_scale

_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ve",
    "sa",
    "no",
    "ri",
    "ta",
    "el",
    "an",
    "or",
    "lu",
    "be",
    "ze",
    "fi",
    "mo",
    "ra",
    "ni",
    "co",
    "du",
    "va",
    "ly",
    "ste",
    "bro",
    "kin",
    "mar",
    "sol",
    "tor",
    "vin",
    "nord",
)
N_BRANDS = 40
STYLE_FIDELITY = 0.85  # chance that an attribute follows the item's style rather than chance


@dataclass(frozen=True)
class Brands:
    """The brands of a domain: names, the style each leans to, and a price tier multiplier."""

    names: tuple[str, ...]
    style: npt.NDArray[np.int32]
    tier: npt.NDArray[np.float32]


def make_brands(vocab: DomainVocab) -> Brands:
    """Brand names are fixed per domain (not per seed), so "Kalomi" means the same in every world."""
    rng = np.random.default_rng(7 if vocab.domain.value == "fashion" else 11)
    names: list[str] = []
    while len(names) < N_BRANDS:
        parts = rng.choice(len(_SYLLABLES), size=rng.integers(2, 4))
        name = "".join(_SYLLABLES[p] for p in parts).capitalize()
        if name not in names:
            names.append(name)
    style = (np.arange(N_BRANDS) % len(vocab.styles)).astype(np.int32)
    tier = np.exp(rng.normal(0.0, 0.25, N_BRANDS)).astype(np.float32)
    return Brands(tuple(names), style, tier)


def _sample_rows(rng: np.random.Generator, probs: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """One category per row from row-specific distributions (n, k), by inverse CDF: vectorised."""
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(probs.shape[0])[:, None]
    return np.minimum((u > cdf).sum(axis=1), probs.shape[1] - 1).astype(np.int32)


def _favour(n_options: int, favoured: list[list[int]]) -> npt.NDArray[np.float64]:
    """(rows, n_options) distributions putting STYLE_FIDELITY of the mass on each row's favoured options."""
    p = np.full((len(favoured), n_options), (1 - STYLE_FIDELITY) / n_options)
    for r, fav in enumerate(favoured):
        if fav:
            p[r, fav] += STYLE_FIDELITY / len(fav)
        else:
            p[r] += STYLE_FIDELITY / n_options
    return p


def sample_items(cfg: WorldConfig, vocab: DomainVocab, brands: Brands, rng: np.random.Generator) -> ItemTruth:
    """Draw the hidden truth and visible attribute codes of ``cfg.n_items`` items."""
    n = cfg.n_items
    n_styles = len(vocab.styles)
    slot_p = np.array([vocab.slot_weights[s] for s in vocab.slots])
    slot = rng.choice(len(vocab.slots), size=n, p=slot_p / slot_p.sum()).astype(np.int32)
    style_p = np.linspace(1.4, 0.7, n_styles)  # some styles are simply more common
    dominant = rng.choice(n_styles, size=n, p=style_p / style_p.sum()).astype(np.int32)
    style = 0.75 * np.eye(n_styles, dtype=np.float32)[dominant] + 0.25 * rng.dirichlet(
        np.full(n_styles, 0.5), size=n
    ).astype(np.float32)

    colour_p = _favour(len(COLOURS), [[COLOUR_INDEX[c] for c in st.colours] for st in vocab.styles])
    colour = _sample_rows(rng, colour_p[dominant])
    pattern_p = _favour(
        len(vocab.patterns), [[vocab.patterns.index(p) for p in st.patterns] for st in vocab.styles]
    )
    pattern = _sample_rows(rng, pattern_p[dominant])
    shape_p = _favour(len(vocab.shapes), [[vocab.shapes.index(p) for p in st.shapes] for st in vocab.styles])
    shape = _sample_rows(rng, shape_p[dominant])

    # materials depend on (style, slot): favoured materials the slot allows, only allowed ones otherwise
    n_mat = len(vocab.materials)
    table = np.zeros((n_styles, len(vocab.slots), n_mat))
    for k, s in enumerate(vocab.slots):
        allowed = [vocab.materials.index(m) for m in vocab.materials_by_slot[s]]
        for j, st in enumerate(vocab.styles):
            fav = [vocab.materials.index(m) for m in st.materials if vocab.materials.index(m) in allowed]
            table[j, k, allowed] = (1 - STYLE_FIDELITY) / len(allowed)
            table[j, k, fav or allowed] += STYLE_FIDELITY / len(fav or allowed)
    material = _sample_rows(rng, table[dominant, slot])

    # brand: usually one that leans to the item's style
    own = rng.random(n) < 0.9
    per_style = [np.flatnonzero(brands.style == j) for j in range(n_styles)]
    brand = rng.integers(0, len(brands.names), size=n).astype(np.int32)
    pick = rng.random(n)
    for j in range(n_styles):  # loop over styles (8), vectorised over items
        rows = np.flatnonzero(own & (dominant == j))
        brand[rows] = per_style[j][(pick[rows] * per_style[j].size).astype(int)]

    base = np.log(np.array([vocab.base_price[s] for s in vocab.slots], dtype=np.float32))
    tiers = np.log(np.array([st.price_tier for st in vocab.styles], dtype=np.float32))
    log_price = base[slot] + tiers[dominant] + np.log(brands.tier[brand]) + rng.normal(0, 0.25, n)

    created_week = np.where(rng.random(n) < cfg.new_item_share, rng.integers(1, cfg.weeks, size=n), 0).astype(
        np.int32
    )
    return ItemTruth(
        style=style.astype(np.float32),
        dominant_style=dominant,
        slot=slot,
        colour=colour,
        pattern=pattern,
        material=material,
        shape=shape,
        brand=brand,
        log_price=log_price.astype(np.float32),
        quality=rng.normal(0, 1, n).astype(np.float32),
        fit_offset=rng.choice([-1, 0, 1], size=n, p=[0.12, 0.76, 0.12]).astype(np.int32),
        created_week=created_week,
    )


def sample_size_bits(vocab: DomainVocab, items: ItemTruth, rng: np.random.Generator) -> npt.NDArray[np.int32]:
    """Which sizes of its scale each item is offered in, as a bit mask (bit k = k-th size of the scale).

    Most items come in a contiguous run of sizes; some runs skip the extremes, so a shopper's size
    is sometimes missing and size constraints matter.
    """
    n = items.slot.size
    scale_len = np.array([len(size_scale(s)) for s in vocab.slots])[items.slot]
    trimmable = scale_len >= 4  # a one-size item is always offered in its one size
    lo = np.where(trimmable & (rng.random(n) < 0.35), rng.integers(0, 2, n), 0)
    hi = np.where(trimmable & (rng.random(n) < 0.35), scale_len - 1 - rng.integers(0, 2, n), scale_len - 1)
    k = np.arange(max(scale_len.max(), 1))[None, :]
    bits = ((k >= lo[:, None]) & (k <= hi[:, None])) << k
    return bits.sum(axis=1).astype(np.int32)


# -------------------------------------------------------------------------------------------------
# Words
# -------------------------------------------------------------------------------------------------

_PATTERN_WORDS = {
    "solid": ("", "plain", "solid"),
    "striped": ("striped", "stripe", "pinstriped"),
    "checked": ("checked", "plaid", "check"),
    "dotted": ("polka-dot", "dotted", "spotted"),
    "floral": ("floral", "flower-print", "botanical"),
    "graphic": ("graphic", "printed", "logo-print"),
    "geometric": ("geometric", "graphic-pattern", "angular-print"),
    "herringbone": ("herringbone", "chevron", "zigzag"),
}
_MATERIAL_WORDS = {
    "cotton": ("cotton", "organic cotton", "soft cotton"),
    "denim": ("denim", "rigid denim", "stretch denim"),
    "leather": ("leather", "smooth leather", "genuine leather"),
    "wool": ("wool", "merino wool", "wool blend"),
    "silk": ("silk", "satin silk", "washed silk"),
    "linen": ("linen", "pure linen", "linen blend"),
    "knit": ("knit", "chunky knit", "rib knit"),
    "synthetic": ("recycled polyester", "technical fabric", "nylon"),
    "fabric": ("woven fabric", "upholstery fabric", "textured weave"),
    "velvet": ("velvet", "plush velvet", "cotton velvet"),
    "oak": ("oak", "solid oak", "light oak"),
    "walnut": ("walnut", "dark walnut", "walnut veneer"),
    "metal": ("metal", "powder-coated steel", "brushed metal"),
    "glass": ("glass", "tempered glass", "smoked glass"),
    "rattan": ("rattan", "woven rattan", "cane"),
    "marble": ("marble", "white-veined marble", "polished stone"),
}
_SHAPE_WORDS = {
    "slim": ("slim-fit", "fitted", "close-cut"),
    "regular": ("regular-fit", "standard-cut", "straight"),
    "oversized": ("oversized", "relaxed", "roomy"),
    "rounded": ("rounded", "softly curved", "curvy"),
    "boxy": ("boxy", "square-lined", "clean-lined"),
    "slender": ("slender", "slim-legged", "airy"),
}
_TITLE_TEMPLATES = (
    "{colour} {material} {category}",
    "{pattern} {colour} {category}",
    "{brand} {category} in {colour}",
    "{shape} {category}, {colour}",
    "{colour} {pattern} {material} {category}",
)
_DESCRIPTION_SENTENCES = (
    "{a_shape} {category} made from {material}.",
    "This {category} comes in {colour}{pattern_phrase}.",
    "{Colour} {category} in {material} with {a_shape_lower} silhouette.",
    "Crafted in {material}; the colour is {colour}{pattern_phrase}.",
    "By {brand}. {Shape} and easy to wear{pattern_tail}.",
)


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _tidy(text: str) -> str:
    return " ".join(text.split()).replace(" ,", ",")


def item_texts(
    vocab: DomainVocab, items: ItemTruth, brands: Brands, category: list[str], rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    """Titles and descriptions in varied wording. A per-item Python loop: this runs once per world,
    at about 100k items/s, and string building does not vectorise in numpy."""
    n = items.slot.size
    template = rng.integers(0, len(_TITLE_TEMPLATES), n)
    word_pick = rng.integers(0, 3, size=(n, 4))
    sentence_pick = rng.random((n, len(_DESCRIPTION_SENTENCES))) < 0.6
    titles: list[str] = []
    descriptions: list[str] = []
    for r in range(n):
        colour_word = COLOURS[items.colour[r]].words[word_pick[r, 0]]
        pattern_name = vocab.patterns[items.pattern[r]]
        pattern_word = _PATTERN_WORDS[pattern_name][word_pick[r, 1]]
        material_word = _MATERIAL_WORDS[vocab.materials[items.material[r]]][word_pick[r, 2]]
        shape_word = _SHAPE_WORDS[vocab.shapes[items.shape[r]]][word_pick[r, 3]]
        words = {
            "colour": colour_word,
            "Colour": colour_word.capitalize(),
            "pattern": pattern_word,
            "material": material_word,
            "shape": shape_word,
            "Shape": shape_word.capitalize(),
            "a_shape_lower": _article(shape_word),
            "a_shape": ("An " if shape_word[0] in "aeiou" else "A ") + shape_word,
            "category": category[r],
            "brand": brands.names[items.brand[r]],
            "pattern_phrase": ""
            if pattern_name == "solid"
            else f" with {_article(_PATTERN_WORDS[pattern_name][0])} pattern",
            "pattern_tail": "" if pattern_name == "solid" else f", {pattern_word or pattern_name} throughout",
        }
        titles.append(_tidy(_TITLE_TEMPLATES[template[r]].format(**words)).capitalize())
        chosen = [s for s, keep in zip(_DESCRIPTION_SENTENCES, sentence_pick[r], strict=True) if keep]
        descriptions.append(
            _tidy(" ".join(s.format(**words) for s in (chosen or _DESCRIPTION_SENTENCES[:2])))
        )
    return titles, descriptions


def items_table(
    cfg: WorldConfig,
    vocab: DomainVocab,
    items: ItemTruth,
    brands: Brands,
    size_bits: npt.NDArray[np.int32],
    in_stock: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> tuple[pa.Table, list[str]]:
    """The visible catalog (ITEMS layout) and the fine category of each item."""
    n = items.slot.size
    ids = np.char.add("it", np.char.zfill(np.arange(n).astype(str), 6))
    cat_pick = rng.random(n)
    category = [
        vocab.categories[vocab.slots[s]][int(p * len(vocab.categories[vocab.slots[s]]))]
        for s, p in zip(items.slot.tolist(), cat_pick.tolist(), strict=True)
    ]
    titles, descriptions = item_texts(vocab, items, brands, category, rng)
    start = datetime.fromisoformat(cfg.start_date)
    hours = rng.uniform(0, 24 * 7, n)
    created = [
        start + timedelta(weeks=int(w), hours=float(h))
        if w > 0
        else start - timedelta(days=60) + timedelta(hours=float(h))
        for w, h in zip(items.created_week.tolist(), hours.tolist(), strict=True)
    ]
    scales = [size_scale(s) for s in vocab.slots]
    sizes = [
        [scales[s][k] for k in range(len(scales[s])) if (b >> k) & 1]
        for s, b in zip(items.slot.tolist(), size_bits.tolist(), strict=True)
    ]
    attributes = [
        [
            ("colour", COLOURS[c].name),
            ("pattern", vocab.patterns[p]),
            ("material", vocab.materials[m]),
            ("shape", vocab.shapes[h]),
        ]
        for c, p, m, h in zip(
            items.colour.tolist(),
            items.pattern.tolist(),
            items.material.tolist(),
            items.shape.tolist(),
            strict=True,
        )
    ]
    table = pa.table(
        {
            "item_id": pa.array(ids.tolist()),
            "title": titles,
            "description": descriptions,
            "category": category,
            "slot": pa.array([vocab.slots[s].value for s in items.slot.tolist()]),
            "brand": [brands.names[b] for b in items.brand.tolist()],
            "price": np.round(np.exp(items.log_price.astype(np.float64)), 2),
            "sizes": pa.array(sizes, type=pa.list_(pa.string())),
            "in_stock": in_stock,
            "attributes": pa.array(attributes, type=pa.map_(pa.string(), pa.string())),
            "image": [f"images/{i}.png" for i in ids.tolist()],
            "created_at": pa.array(created, type=pa.timestamp("us", tz="UTC")),
        }
    )
    return table, category
