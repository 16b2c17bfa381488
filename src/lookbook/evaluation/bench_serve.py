"""``lookbook bench serve``: how fast the touchpoints answer, and how good the home feed is.

* **In process**: the home feed and similar items for sampled users, one request at a time after a
  warm-up, all stages included (retrieval through the index, affinity, constraints, diversity).
* **HTTP**: the same two endpoints on loopback under 32 concurrent clients (``http_load``).
* **Quality** against the world's truth: NDCG@20 of a user's "for you" carousel against the user's
  true top 20 among the items the shop may show them (in stock, not bought), beside the 20 most
  popular such items and the preference model's raw top 20 (the collaborative ranking alone).
* **Alpha sweep** for anchored recommendations (case study 000): the true items of a community
  photo are the anchors, candidates are their content neighbours, ``s = alpha (1 - d) +
  (1 - alpha) a``; as alpha grows the page follows the photo (share of items of the photo's hidden
  style) and leaves the user (true-affinity NDCG), which the PNG shows.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.metrics import ndcg_at_k
from lookbook.ranking import Anchor, RankConfig, Relation, concat, from_search, rank
from lookbook.touchpoints.common import IN_STOCK, live_rows
from lookbook.touchpoints.shop import ProjectShop

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
K = 20


def _ms(times: list[float]) -> dict[str, float]:
    a = np.asarray(times) * 1e3
    return {"p50_ms": round(float(np.median(a)), 3), "p99_ms": round(float(np.percentile(a, 99)), 3)}


def inprocess_latency(shop: ProjectShop, users: list[str], *, repeats: int = 3) -> dict[str, Any]:
    """Median / p99 of single requests (after one warm-up pass), computed every time: the response
    cache is off here, so these are the cost of all stages."""
    saved = shop.config
    shop.config = dataclasses.replace(saved, response_cache_seconds=0.0)
    try:
        return _inprocess_latency(shop, users, repeats)
    finally:
        shop.config = saved


def _inprocess_latency(shop: ProjectShop, users: list[str], repeats: int) -> dict[str, Any]:
    items = shop.state.catalog.ids.ids[live_rows(shop.state, np.ones(len(shop.state.catalog), bool))]
    rng = np.random.default_rng(0)
    heroes = rng.choice(items, size=len(users))
    for u, h in zip(users, heroes, strict=True):  # warm-up: first calls load lazily
        shop.home_feed(u, k=K)
        shop.similar(str(h), u)
    home, similar = [], []
    for _ in range(repeats):
        for u, h in zip(users, heroes, strict=True):
            t0 = time.perf_counter()
            shop.home_feed(u, k=K)
            home.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            shop.similar(str(h), u)
            similar.append(time.perf_counter() - t0)
    h, s = _ms(home), _ms(similar)
    return {
        "home_p50_ms": h["p50_ms"],
        "home_p99_ms": h["p99_ms"],
        "similar_p50_ms": s["p50_ms"],
        "similar_p99_ms": s["p99_ms"],
        "requests": len(home),
    }


def _mean_ndcg(pages: list[tuple[npt.ArrayLike, I64]]) -> float:
    """Mean NDCG@K over ``(shown rows, the user's true top K)`` pairs, one per user; NaN for none.

    Binary gains (``lookbook.metrics.ndcg_at_k``): a shown item counts when it is among the user's
    true top K, so the figure asks "did the page find what this user likes most", not how much.
    """
    if not pages:
        return float("nan")
    shown, ideal = zip(*pages, strict=True)
    return ndcg_at_k(list(shown), list(ideal), K)


def home_quality(shop: ProjectShop, oracle: Any, users: list[str]) -> dict[str, float]:
    """Mean NDCG@20 against each user's true top 20 among the items the shop may show them."""
    state = shop.state
    c = state.catalog
    ids = c.ids.ids
    out: dict[str, list[tuple[npt.ArrayLike, I64]]] = {"home": [], "popularity": [], "collaborative": []}
    if shop.reranker is not None:
        out["home_reranked"] = []
    for user in users:  # a few hundred users; each step is vectorised over the catalog
        ctx, a, _ = shop.user_context(user, state)
        eligible = c.alive & c.in_stock
        eligible[ctx.bought] = False
        rows = np.flatnonzero(eligible)
        truth = oracle.affinity([user] * rows.size, ids[rows].tolist())
        ideal = rows[np.argsort(-truth, kind="stable")[:K]]
        feed = shop.home_feed(user, k=K)
        shown = c.ids.lookup([r.item_id for r in feed[0].items], missing=-1)
        out["home"].append((shown, ideal))
        if "home_reranked" in out:
            on = dataclasses.replace(shop.config, use_reranker=True)
            saved, shop.config = shop.config, on
            try:
                feed = shop.home_feed(user, k=K)
            finally:
                shop.config = saved
            shown = c.ids.lookup([r.item_id for r in feed[0].items], missing=-1)
            out["home_reranked"].append((shown, ideal))
        out["popularity"].append((rows[np.argsort(-c.popularity[rows], kind="stable")[:K]], ideal))
        if a is not None:
            out["collaborative"].append((rows[np.argsort(-a[rows], kind="stable")[:K]], ideal))
    return {f"{name}_ndcg20": round(_mean_ndcg(v), 4) for name, v in out.items() if v}


def alpha_sweep(
    shop: ProjectShop, oracle: Any, photos: list[list[str]], users: list[str], alphas: tuple[float, ...]
) -> dict[str, list[float]]:
    """Per alpha: mean share of recommended items sharing the photo's dominant hidden style, and
    mean true-affinity NDCG@20 of the recommendations for the user."""
    state = shop.state
    c = state.catalog
    style_share = {a: [] for a in alphas}  # type: dict[float, list[float]]
    taste: dict[float, list[tuple[npt.ArrayLike, I64]]] = {a: [] for a in alphas}
    for anchors, user in zip(photos, users, strict=False):
        rows = c.ids.lookup(anchors, missing=-1)
        rows = rows[rows >= 0]
        if rows.size == 0:
            continue
        ctx, a, _ = shop.user_context(user, state)
        if a is None:
            continue
        found = shop.spaces.search("content", state.content[rows], 100, filter=IN_STOCK)
        labels = [Anchor(Relation.SIMILAR, label="the photo", item_row=int(r)) for r in rows]
        cand = concat([from_search(found, c, labels, affinity=a)])
        cand = cand.take(~np.isin(cand.rows, rows))
        styles = oracle.item_style(anchors)
        photo_style = np.bincount(styles).argmax()
        pool = np.unique(cand.rows)
        truth = oracle.affinity([user] * pool.size, c.ids.ids[pool].tolist())
        ideal = pool[np.argsort(-truth, kind="stable")[:K]]
        for alpha in alphas:
            ranked = rank(cand, c, ctx, RankConfig(k=K, alpha=alpha, use_reranker=False))
            shown = ranked.rows
            if shown.size == 0:
                continue
            style_share[alpha].append(
                float((oracle.item_style(c.ids.ids[shown].tolist()) == photo_style).mean())
            )
            taste[alpha].append((shown, ideal))
    return {
        "alpha": list(alphas),
        "photo_style_share": [round(float(np.mean(style_share[a])), 4) for a in alphas],
        "user_taste_ndcg20": [round(_mean_ndcg(taste[a]), 4) for a in alphas],
    }


def plot_alpha_sweep(sweep: dict[str, list[float]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    ax.plot(sweep["alpha"], sweep["photo_style_share"], "o-", label="follows the photo (share of its style)")
    ax.plot(sweep["alpha"], sweep["user_taste_ndcg20"], "s-", label="follows the user (true-taste NDCG@20)")
    ax.set_xlabel("alpha  (s = alpha (1 - d) + (1 - alpha) a)")
    ax.set_ylabel("score")
    ax.set_title("Anchored recommendations: the photo against the user")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def photo_anchor_sets(world_dir: Path, oracle: Any, n: int) -> list[list[str]]:
    """The true item ids of up to ``n`` community photos with at least two garments."""
    import pyarrow.parquet as pq

    photos = pq.read_table(world_dir / "photos.parquet", columns=["photo_id"]).column(0).to_pylist()
    out = []
    for pid in photos:  # a few hundred photos
        items = [g.item_id for g in oracle.photo_truth(pid) if g.item_id]
        if len(items) >= 2:
            out.append(items)
        if len(out) == n:
            break
    return out
