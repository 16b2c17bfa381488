"""The hidden taste model of a demo world: what items really are, what users really like.

Nothing here is visible to models. Items carry a mixture over hidden styles, a hidden appeal
(``quality``) and a hidden fit offset (runs small / large); users carry a style mixture that may
drift over the weeks, colour likes, a budget, brand loyalty and sizes. Two functions define the
truth every evaluation is scored against:

* ``affinity``: how much a user likes an item at a given week. Mostly low-rank (style and colour
  taste) plus item appeal, price fit and brand loyalty, so that a good collaborative model can
  learn it but popularity cannot.
* ``pair_compatibility``: how well two items go together: shared style, colour harmony (neutrals
  go with everything, analogous and complementary hues work, some hue distances clash), pattern
  clash, and slot complementarity (a top goes with a bottom, never with another top). Same colour
  scores only a little above neutral, so a model that just matches colours is biased, the failure
  mode case study 004 admits to; evaluation measures it as colour dominance.

All functions are vectorised over arrays of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt

from lookbook.datasets.synthetic.vocab import COLOURS, DomainVocab
from lookbook.schema import Slot

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

# Weights of the affinity terms; chosen so that style explains most of the variance, colour a good
# share, and appeal / price / brand the rest (printed in truth/model.json for whoever inspects a world).
W_STYLE = 3.0
W_COLOUR = 1.0
W_QUALITY = 0.5
W_BRAND = 0.8
W_PRICE = 0.6

# Weights of the compatibility terms.
C_STYLE = 2.0
C_CLASH_PATTERN = -0.6


@dataclass(frozen=True)
class ItemTruth:
    """Hidden per-item arrays, row-aligned with the world's items table."""

    style: F32  # (n, S) mixture over hidden styles, rows sum to 1
    dominant_style: I32  # (n,)
    slot: I32  # (n,) index into vocab.slots
    colour: I32  # (n,) index into COLOURS
    pattern: I32  # (n,) index into vocab.patterns
    material: I32  # (n,)
    shape: I32  # (n,)
    brand: I32  # (n,)
    log_price: F32  # (n,)
    quality: F32  # (n,) hidden appeal, standard normal
    fit_offset: I32  # (n,) -1 runs small, 0 true to size, +1 runs large
    created_week: I32  # (n,)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: Path) -> ItemTruth:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class UserTruth:
    """Hidden per-user arrays, row-aligned with the world's users table."""

    style_start: F32  # (n, S)
    style_end: F32  # (n, S) where the taste has drifted to by the last week
    colour_pref: F32  # (n, C)
    budget: F32  # (n,) preferred log price offset relative to the slot's base price
    price_sensitivity: F32  # (n,)
    brand_fav: I32  # (n, 3) favourite brand indices, -1 = none
    brand_bonus: F32  # (n,)
    activity: F32  # (n,) relative activity (power law)
    size_top: I32  # (n,) index into CLOTHING_SIZES
    size_bottom: I32
    size_shoes: I32  # index into SHOE_SIZES

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: Path) -> UserTruth:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{f.name: data[f.name] for f in fields(cls)})


def user_style_at(users: UserTruth, user_rows: npt.ArrayLike, progress: float | npt.ArrayLike) -> F32:
    """Users' style mixtures at ``progress`` in [0, 1] through the simulated weeks (linear drift)."""
    rows = np.asarray(user_rows)
    t = np.asarray(progress, dtype=np.float32)
    if t.ndim:
        t = t[:, None]
    return ((1 - t) * users.style_start[rows] + t * users.style_end[rows]).astype(np.float32)


def price_offset(items: ItemTruth, base_log_price: F32) -> F32:
    """An item's log price relative to its slot's base price (how expensive it is *for its kind*)."""
    return (items.log_price - base_log_price[items.slot]).astype(np.float32)


def affinity(
    users: UserTruth,
    items: ItemTruth,
    base_log_price: F32,
    user_rows: npt.ArrayLike,
    item_rows: npt.ArrayLike,
    progress: float | npt.ArrayLike = 1.0,
) -> F32:
    """True affinity of each (user, item) pair, element-wise over equal-length row arrays."""
    u = np.asarray(user_rows)
    i = np.asarray(item_rows)
    style = np.einsum("ns,ns->n", user_style_at(users, u, progress), items.style[i])
    colour = users.colour_pref[u, items.colour[i]]
    offset = price_offset(items, base_log_price)[i]
    price = -users.price_sensitivity[u] * (offset - users.budget[u]) ** 2
    brand = (users.brand_fav[u] == items.brand[i][:, None]).any(axis=1) * users.brand_bonus[u]
    return (
        W_STYLE * style + W_COLOUR * colour + W_QUALITY * items.quality[i] + W_BRAND * brand + W_PRICE * price
    ).astype(np.float32)


def affinity_matrix(
    users: UserTruth,
    items: ItemTruth,
    base_log_price: F32,
    user_rows: npt.ArrayLike,
    item_rows: npt.ArrayLike | None = None,
    progress: float = 1.0,
) -> F32:
    """True affinity of every user in ``user_rows`` for every item in ``item_rows``: (n_users, n_items)."""
    u = np.asarray(user_rows)
    i = np.arange(items.style.shape[0]) if item_rows is None else np.asarray(item_rows)
    style = user_style_at(users, u, progress) @ items.style[i].T
    colour = users.colour_pref[u][:, items.colour[i]]
    offset = price_offset(items, base_log_price)[i]
    price = -users.price_sensitivity[u][:, None] * (offset[None, :] - users.budget[u][:, None]) ** 2
    brand = np.zeros((u.size, i.size), dtype=np.float32)
    for k in range(users.brand_fav.shape[1]):  # 3 favourites: a loop over columns, not items
        brand += (users.brand_fav[u, k][:, None] == items.brand[i][None, :]) * users.brand_bonus[u][:, None]
    return (
        W_STYLE * style
        + W_COLOUR * colour
        + W_QUALITY * items.quality[i][None, :]
        + W_BRAND * brand
        + W_PRICE * price
    ).astype(np.float32)


def colour_harmony() -> F32:
    """(C, C) harmony of two colours: neutrals go with anything; analogous and complementary hues
    work; hues 60-140 degrees apart clash; the same hue twice is good but not the best choice, so a
    model that only matches colours is measurably biased without the truth avoiding same colours."""
    n = len(COLOURS)
    h = np.zeros((n, n), dtype=np.float32)
    for a, ca in enumerate(COLOURS):
        for b, cb in enumerate(COLOURS):
            if ca.neutral and cb.neutral:
                h[a, b] = 0.45  # black with black is as good as black with white
            elif ca.neutral or cb.neutral:
                h[a, b] = 0.5
            else:
                assert ca.hue is not None and cb.hue is not None
                d = abs(ca.hue - cb.hue) % 360
                d = min(d, 360 - d)
                if d == 0:
                    h[a, b] = 0.3  # monochrome works, but a neutral or an analogous hue works better
                elif d <= 40:
                    h[a, b] = 0.4
                elif d >= 150:
                    h[a, b] = 0.3
                elif 60 <= d <= 140:
                    h[a, b] = -0.9
                else:
                    h[a, b] = -0.2
    return h


def slot_complementarity(vocab: DomainVocab) -> F32:
    """(K, K) how well two slots combine in one outfit / room: 0 = fine, negative = never together."""
    k = len(vocab.slots)
    m = np.zeros((k, k), dtype=np.float32)
    index = {s: j for j, s in enumerate(vocab.slots)}
    np.fill_diagonal(m, -3.0)  # two tops, two sofas
    if Slot.DRESS in index:
        for other in (Slot.TOP, Slot.BOTTOM):
            m[index[Slot.DRESS], index[other]] = m[index[other], index[Slot.DRESS]] = -3.0
    return m


@dataclass(frozen=True)
class SlotPairWeights:
    """What matters for each pair of slots (case study 001: a sofa-to-rug match weighs colour, a
    table-to-table match weighs material). ``colour`` multiplies the colour-harmony term; ``material``
    is a bonus when both items share a material. Both (K, K), symmetric."""

    colour: F32
    material: F32


_FASHION_PAIRS = {  # (slot, slot): (colour weight, same-material bonus)
    ("top", "bottom"): (1.6, 0.0),
    ("dress", "shoes"): (1.5, 0.0),
    ("top", "outerwear"): (1.4, 0.0),
    ("shoes", "bag"): (0.4, 0.8),
    ("outerwear", "shoes"): (0.8, 0.5),
    ("bag", "accessory"): (0.6, 0.5),
    ("bottom", "shoes"): (0.7, 0.3),
}
_HOME_PAIRS = {
    ("sofa", "rug"): (1.8, 0.0),
    ("sofa", "armchair"): (1.2, 0.5),
    ("coffee_table", "side_table"): (0.5, 0.8),
    ("shelf", "coffee_table"): (0.6, 0.6),
    ("armchair", "rug"): (1.4, 0.0),
    ("lamp", "side_table"): (0.6, 0.5),
    ("shelf", "side_table"): (0.6, 0.6),
}


def slot_pair_weights(vocab: DomainVocab) -> SlotPairWeights:
    """The per-slot-pair weights of a domain (1.0 colour weight and no material bonus elsewhere)."""
    k = len(vocab.slots)
    colour = np.ones((k, k), dtype=np.float32)
    material = np.zeros((k, k), dtype=np.float32)
    index = {s.value: j for j, s in enumerate(vocab.slots)}
    table = _FASHION_PAIRS if vocab.domain.value == "fashion" else _HOME_PAIRS
    for (u, v), (wc, wm) in table.items():
        i, j = index[u], index[v]
        colour[i, j] = colour[j, i] = wc
        material[i, j] = material[j, i] = wm
    return SlotPairWeights(colour, material)


def pair_compatibility(
    items: ItemTruth,
    harmony: F32,
    slot_matrix: F32,
    a_rows: npt.ArrayLike,
    b_rows: npt.ArrayLike,
    solid_pattern: int = 0,
    weights: SlotPairWeights | None = None,
) -> F32:
    """True compatibility of each (a, b) pair, element-wise (``weights=None``: every slot pair alike)."""
    a = np.asarray(a_rows)
    b = np.asarray(b_rows)
    sa, sb = items.style[a], items.style[b]
    cos = np.einsum("ns,ns->n", sa, sb) / (np.linalg.norm(sa, axis=1) * np.linalg.norm(sb, axis=1) + 1e-9)
    both_patterned = (items.pattern[a] != solid_pattern) & (items.pattern[b] != solid_pattern)
    colour = harmony[items.colour[a], items.colour[b]]
    material = 0.0
    if weights is not None:
        ua, ub = items.slot[a], items.slot[b]
        colour = colour * weights.colour[ua, ub]
        material = weights.material[ua, ub] * (items.material[a] == items.material[b])
    return (
        C_STYLE * cos
        + colour
        + material
        + C_CLASH_PATTERN * both_patterned
        + slot_matrix[items.slot[a], items.slot[b]]
    ).astype(np.float32)
