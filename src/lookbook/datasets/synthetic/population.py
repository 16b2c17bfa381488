"""Sampling the shoppers of a demo world: hidden tastes, activity and the profile the shop knows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lookbook.datasets.synthetic.catalog import Brands
from lookbook.datasets.synthetic.config import WorldConfig
from lookbook.datasets.synthetic.taste import UserTruth
from lookbook.datasets.synthetic.vocab import CLOTHING_SIZES, COLOUR_INDEX, COLOURS, SHOE_SIZES, DomainVocab
from lookbook.schema import Domain

REGIONS = ("north", "south", "east", "west")
DEVICES = ("mobile", "desktop", "app")


def sample_users(cfg: WorldConfig, vocab: DomainVocab, brands: Brands, rng: np.random.Generator) -> UserTruth:
    """Draw hidden tastes. Style mixtures are sparse (Dirichlet 0.25): most shoppers have one or
    two styles. A share of users drifts towards another style by the last week."""
    n = cfg.n_users
    n_styles = len(vocab.styles)
    start = rng.dirichlet(np.full(n_styles, 0.25), size=n).astype(np.float32)
    target = np.eye(n_styles, dtype=np.float32)[rng.integers(0, n_styles, n)]
    drifting = (rng.random(n) < cfg.drifting_users)[:, None]
    end = np.where(drifting, (1 - cfg.drift) * start + cfg.drift * target, start).astype(np.float32)

    colour_pref = rng.normal(0, 0.35, size=(n, len(COLOURS))).astype(np.float32)
    top_style = start.argmax(axis=1)
    palette = [np.array([COLOUR_INDEX[c] for c in st.colours]) for st in vocab.styles]
    for j in range(n_styles):  # loop over styles, vectorised over their users
        rows = np.flatnonzero(top_style == j)
        liked = palette[j][rng.integers(0, palette[j].size, size=(rows.size, 2))]
        colour_pref[rows[:, None], liked] += 0.8

    tiers = np.log(np.array([st.price_tier for st in vocab.styles], dtype=np.float32))
    budget = (tiers[top_style] + rng.normal(0, 0.3, n)).astype(np.float32)

    brand_fav = np.full((n, 3), -1, dtype=np.int32)
    loyal = rng.random(n) < 0.5
    n_fav = rng.integers(1, 4, n)
    per_style = [np.flatnonzero(brands.style == j) for j in range(n_styles)]
    for j in range(n_styles):
        rows = np.flatnonzero(loyal & (top_style == j))
        picks = per_style[j][rng.integers(0, per_style[j].size, size=(rows.size, 3))]
        keep = np.arange(3)[None, :] < n_fav[rows][:, None]
        brand_fav[rows] = np.where(keep, picks, -1)

    activity = (rng.pareto(cfg.activity_alpha, n) + 1.0).astype(np.float32)
    activity = np.minimum(activity, 20 * activity.mean())
    activity /= activity.mean()

    size_top = rng.choice(len(CLOTHING_SIZES), size=n, p=[0.1, 0.25, 0.3, 0.25, 0.1]).astype(np.int32)
    size_bottom = np.clip(
        size_top + rng.choice([-1, 0, 1], size=n, p=[0.2, 0.6, 0.2]), 0, len(CLOTHING_SIZES) - 1
    )
    size_shoes = np.clip(np.round(rng.normal(3.5, 1.5, n)), 0, len(SHOE_SIZES) - 1).astype(np.int32)
    return UserTruth(
        style_start=start,
        style_end=end,
        colour_pref=colour_pref,
        budget=budget,
        price_sensitivity=rng.uniform(0.5, 2.0, n).astype(np.float32),
        brand_fav=brand_fav,
        brand_bonus=np.where(loyal, rng.uniform(0.5, 1.5, n), 0.0).astype(np.float32),
        activity=activity.astype(np.float32),
        size_top=size_top,
        size_bottom=size_bottom.astype(np.int32),
        size_shoes=size_shoes,
    )


def users_table(
    cfg: WorldConfig, users: UserTruth, rng: np.random.Generator
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The profile the shop knows (sizes, region) in the USERS layout, plus region and device codes."""
    n = users.activity.size
    ids = np.char.add("u", np.char.zfill(np.arange(n).astype(str), 6)).tolist()
    region = rng.integers(0, len(REGIONS), n)
    device = rng.integers(0, len(DEVICES), n)
    if cfg.domain is Domain.FASHION:
        sizes = [
            [("top", CLOTHING_SIZES[t]), ("bottom", CLOTHING_SIZES[b]), ("shoes", SHOE_SIZES[s])]
            for t, b, s in zip(
                users.size_top.tolist(), users.size_bottom.tolist(), users.size_shoes.tolist(), strict=True
            )
        ]
    else:
        sizes = [[] for _ in range(n)]
    table = pa.table(
        {
            "user_id": ids,
            "sizes": pa.array(sizes, type=pa.map_(pa.string(), pa.string())),
            "region": [REGIONS[r] for r in region.tolist()],
            "attributes": pa.array(
                [[("device", DEVICES[d])] for d in device.tolist()], type=pa.map_(pa.string(), pa.string())
            ),
        }
    )
    return table, region, device
