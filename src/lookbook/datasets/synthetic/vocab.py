"""The vocabulary of the demo worlds: slots, categories, colours, patterns, materials, shapes, styles.

Everything a synthetic item can be is listed here once, as data. The taste model draws from it,
the renderer paints it, and the titles describe it. Hidden styles are named only so that a person
reading the truth files can make sense of them: their names never reach an item's text.
"""

from __future__ import annotations

from dataclasses import dataclass

from lookbook.schema import Domain, Slot


@dataclass(frozen=True)
class Colour:
    """A catalog colour: its RGB for rendering, words for titles, and whether it is a neutral."""

    name: str
    rgb: tuple[int, int, int]
    words: tuple[str, ...]
    neutral: bool
    hue: float | None  # degrees on the colour wheel; None for neutrals


COLOURS: tuple[Colour, ...] = (
    Colour("black", (28, 28, 30), ("black", "jet black", "onyx"), True, None),
    Colour("white", (238, 238, 232), ("white", "off-white", "ivory"), True, None),
    Colour("grey", (135, 137, 142), ("grey", "charcoal", "slate grey"), True, None),
    Colour("navy", (32, 46, 92), ("navy", "dark blue", "midnight blue"), True, None),
    Colour("beige", (214, 194, 158), ("beige", "sand", "camel"), True, None),
    Colour("brown", (112, 72, 42), ("brown", "chocolate", "cognac"), True, None),
    Colour("red", (192, 32, 42), ("red", "scarlet", "cherry red"), False, 0.0),
    Colour("pink", (234, 146, 172), ("pink", "blush", "rose"), False, 340.0),
    Colour("orange", (230, 118, 38), ("orange", "rust", "tangerine"), False, 28.0),
    Colour("yellow", (234, 198, 48), ("yellow", "mustard", "lemon"), False, 50.0),
    Colour("olive", (108, 114, 48), ("olive", "khaki green", "moss"), False, 75.0),
    Colour("green", (38, 128, 70), ("green", "emerald", "forest green"), False, 140.0),
    Colour("blue", (58, 108, 200), ("blue", "cobalt", "sky blue"), False, 220.0),
    Colour("purple", (108, 58, 138), ("purple", "plum", "violet"), False, 280.0),
)
COLOUR_INDEX: dict[str, int] = {c.name: i for i, c in enumerate(COLOURS)}


@dataclass(frozen=True)
class DomainVocab:
    """What the items of one domain can be.

    ``categories`` maps each slot to its fine categories; ``materials_by_slot`` restricts materials
    to the ones that make sense (no denim sunglasses, no marble rugs). ``styles`` are the hidden
    tastes: each favours some colours, patterns, materials and shapes, and a price tier.
    """

    domain: Domain
    slots: tuple[Slot, ...]
    categories: dict[Slot, tuple[str, ...]]
    patterns: tuple[str, ...]
    materials: tuple[str, ...]
    materials_by_slot: dict[Slot, tuple[str, ...]]
    shapes: tuple[str, ...]
    styles: tuple[Style, ...]
    base_price: dict[Slot, float]
    slot_weights: dict[Slot, float]


@dataclass(frozen=True)
class Style:
    """A hidden style: what it favours, and how expensive it tends to be (price tier multiplier)."""

    name: str
    colours: tuple[str, ...]
    patterns: tuple[str, ...]
    materials: tuple[str, ...]
    shapes: tuple[str, ...]
    price_tier: float


FASHION = DomainVocab(
    domain=Domain.FASHION,
    slots=(Slot.TOP, Slot.BOTTOM, Slot.DRESS, Slot.OUTERWEAR, Slot.SHOES, Slot.BAG, Slot.ACCESSORY),
    categories={
        Slot.TOP: ("t-shirt", "blouse", "shirt", "sweater", "tank top"),
        Slot.BOTTOM: ("jeans", "trousers", "skirt", "shorts"),
        Slot.DRESS: ("mini dress", "midi dress", "maxi dress"),
        Slot.OUTERWEAR: ("jacket", "coat", "blazer"),
        Slot.SHOES: ("sneakers", "boots", "heels", "sandals", "loafers"),
        Slot.BAG: ("tote", "crossbody bag", "backpack", "clutch"),
        Slot.ACCESSORY: ("hat", "scarf", "sunglasses", "belt"),
    },
    patterns=("solid", "striped", "checked", "dotted", "floral", "graphic"),
    materials=("cotton", "denim", "leather", "wool", "silk", "linen", "knit", "synthetic"),
    materials_by_slot={
        Slot.TOP: ("cotton", "silk", "linen", "knit", "synthetic", "wool"),
        Slot.BOTTOM: ("denim", "cotton", "wool", "linen", "leather", "synthetic"),
        Slot.DRESS: ("cotton", "silk", "linen", "knit", "synthetic"),
        Slot.OUTERWEAR: ("wool", "leather", "denim", "cotton", "synthetic"),
        Slot.SHOES: ("leather", "synthetic", "cotton"),
        Slot.BAG: ("leather", "cotton", "synthetic"),
        Slot.ACCESSORY: ("wool", "leather", "cotton", "silk", "synthetic"),
    },
    shapes=("slim", "regular", "oversized"),
    styles=(
        Style(
            "minimal",
            ("black", "white", "grey", "beige", "navy"),
            ("solid",),
            ("cotton", "wool", "linen"),
            ("slim", "regular"),
            1.3,
        ),
        Style(
            "boho",
            ("beige", "brown", "orange", "olive", "yellow"),
            ("floral", "striped"),
            ("linen", "cotton", "knit"),
            ("oversized",),
            0.9,
        ),
        Style(
            "sporty",
            ("blue", "red", "white", "black", "grey"),
            ("graphic", "striped", "solid"),
            ("synthetic", "cotton"),
            ("regular", "oversized"),
            0.8,
        ),
        Style(
            "classic",
            ("navy", "beige", "white", "brown", "grey"),
            ("solid", "checked"),
            ("wool", "cotton", "leather", "silk"),
            ("regular", "slim"),
            1.4,
        ),
        Style(
            "street",
            ("black", "grey", "olive", "yellow", "orange"),
            ("graphic", "solid"),
            ("denim", "cotton", "synthetic"),
            ("oversized",),
            0.9,
        ),
        Style(
            "romantic",
            ("pink", "white", "purple", "red", "beige"),
            ("floral", "dotted"),
            ("silk", "cotton", "knit"),
            ("slim", "regular"),
            1.1,
        ),
        Style(
            "edgy",
            ("black", "red", "grey", "purple", "navy"),
            ("solid", "graphic"),
            ("leather", "denim", "synthetic"),
            ("slim",),
            1.2,
        ),
        Style(
            "preppy",
            ("navy", "green", "white", "red", "blue"),
            ("striped", "checked"),
            ("cotton", "wool", "knit"),
            ("regular",),
            1.2,
        ),
    ),
    base_price={
        Slot.TOP: 30.0,
        Slot.BOTTOM: 45.0,
        Slot.DRESS: 60.0,
        Slot.OUTERWEAR: 110.0,
        Slot.SHOES: 80.0,
        Slot.BAG: 70.0,
        Slot.ACCESSORY: 25.0,
    },
    slot_weights={
        Slot.TOP: 0.24,
        Slot.BOTTOM: 0.18,
        Slot.DRESS: 0.12,
        Slot.OUTERWEAR: 0.10,
        Slot.SHOES: 0.16,
        Slot.BAG: 0.10,
        Slot.ACCESSORY: 0.10,
    },
)

HOME = DomainVocab(
    domain=Domain.HOME,
    slots=(Slot.SOFA, Slot.ARMCHAIR, Slot.COFFEE_TABLE, Slot.RUG, Slot.LAMP, Slot.SHELF, Slot.SIDE_TABLE),
    categories={
        Slot.SOFA: ("two-seater sofa", "three-seater sofa", "corner sofa"),
        Slot.ARMCHAIR: ("armchair", "wingback chair", "lounge chair"),
        Slot.COFFEE_TABLE: ("round coffee table", "rectangular coffee table"),
        Slot.RUG: ("rectangular rug", "round rug", "runner rug"),
        Slot.LAMP: ("floor lamp", "table lamp"),
        Slot.SHELF: ("bookcase", "wall shelf", "ladder shelf"),
        Slot.SIDE_TABLE: ("side table", "nightstand"),
    },
    patterns=("solid", "striped", "geometric", "floral", "herringbone"),
    materials=("fabric", "velvet", "leather", "oak", "walnut", "metal", "glass", "rattan", "marble", "wool"),
    materials_by_slot={
        Slot.SOFA: ("fabric", "velvet", "leather"),
        Slot.ARMCHAIR: ("fabric", "velvet", "leather", "rattan"),
        Slot.COFFEE_TABLE: ("oak", "walnut", "metal", "glass", "marble"),
        Slot.RUG: ("wool", "fabric"),
        Slot.LAMP: ("metal", "glass", "rattan", "oak"),
        Slot.SHELF: ("oak", "walnut", "metal"),
        Slot.SIDE_TABLE: ("oak", "walnut", "metal", "marble", "rattan"),
    },
    shapes=("rounded", "boxy", "slender"),
    styles=(
        Style(
            "scandinavian",
            ("white", "grey", "beige", "blue"),
            ("solid", "geometric"),
            ("oak", "fabric", "wool"),
            ("slender", "rounded"),
            1.0,
        ),
        Style(
            "industrial",
            ("black", "grey", "brown", "orange"),
            ("solid", "herringbone"),
            ("metal", "leather", "walnut"),
            ("boxy",),
            1.1,
        ),
        Style(
            "mid_century",
            ("orange", "olive", "brown", "yellow", "green"),
            ("solid", "geometric"),
            ("walnut", "velvet", "fabric"),
            ("slender", "rounded"),
            1.3,
        ),
        Style(
            "boho",
            ("beige", "orange", "pink", "olive", "brown"),
            ("floral", "striped", "geometric"),
            ("rattan", "wool", "fabric"),
            ("rounded",),
            0.8,
        ),
        Style(
            "classic",
            ("navy", "beige", "red", "brown", "green"),
            ("floral", "striped", "herringbone"),
            ("velvet", "leather", "walnut", "marble"),
            ("rounded", "boxy"),
            1.5,
        ),
        Style(
            "modern",
            ("black", "white", "grey", "purple", "blue"),
            ("solid",),
            ("glass", "marble", "metal"),
            ("boxy", "slender"),
            1.4,
        ),
    ),
    base_price={
        Slot.SOFA: 900.0,
        Slot.ARMCHAIR: 400.0,
        Slot.COFFEE_TABLE: 250.0,
        Slot.RUG: 200.0,
        Slot.LAMP: 120.0,
        Slot.SHELF: 220.0,
        Slot.SIDE_TABLE: 110.0,
    },
    slot_weights={
        Slot.SOFA: 0.14,
        Slot.ARMCHAIR: 0.13,
        Slot.COFFEE_TABLE: 0.13,
        Slot.RUG: 0.15,
        Slot.LAMP: 0.17,
        Slot.SHELF: 0.13,
        Slot.SIDE_TABLE: 0.15,
    },
)

VOCABS: dict[Domain, DomainVocab] = {Domain.FASHION: FASHION, Domain.HOME: HOME}

CLOTHING_SIZES: tuple[str, ...] = ("XS", "S", "M", "L", "XL")
SHOE_SIZES: tuple[str, ...] = ("36", "37", "38", "39", "40", "41", "42", "43")
ONE_SIZE = "ONE"


def size_scale(slot: Slot) -> tuple[str, ...]:
    """Which size scale an item of ``slot`` is sold in (home items and bags come in one size)."""
    if slot in (Slot.TOP, Slot.BOTTOM, Slot.DRESS, Slot.OUTERWEAR):
        return CLOTHING_SIZES
    if slot is Slot.SHOES:
        return SHOE_SIZES
    return (ONE_SIZE,)


def size_group(slot: Slot) -> str | None:
    """The key of ``User.sizes`` that applies to ``slot`` (``None`` when size does not matter)."""
    if slot in (Slot.TOP, Slot.DRESS, Slot.OUTERWEAR):
        return "top"
    if slot is Slot.BOTTOM:
        return "bottom"
    if slot is Slot.SHOES:
        return "shoes"
    return None
