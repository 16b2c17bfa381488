"""Diversity: per-category and per-brand caps, a maximum run of one category, and MMR.

A page ranked by score alone fills up with near-duplicates (ten black ankle boots), so the last
stage picks items greedily: at each of the ``k`` output positions it takes the best remaining
candidate that keeps the caps and the run rule, where "best" is maximal marginal relevance
(Carbonell & Goldstein 1998), ``lambda * relevance - (1 - lambda) * max similarity to the items
already picked``. ``lambda = 1`` is the score order; lower values trade relevance for variety.

The loop runs over output positions (``k``, about 20), never over candidates: each step is a few
vector operations over the pool (a masked argmax and one matrix-vector product for the new
similarities), so it stays well under a millisecond for a pool of a few hundred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, SchemaError

__all__ = ["DiversityConfig", "diversify"]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DiversityConfig:
    """Settings of ``diversify``; ``None`` turns a rule off.

    ``max_per_category`` / ``max_per_brand`` cap how many items of one fine category / brand a
    page shows; ``max_run`` caps how many items of one category may follow each other.
    ``mmr_lambda`` is MMR's trade-off (1: pure relevance; 0.7 is a common start for feeds).
    ``pool`` bounds how many top-scored candidates the greedy pass considers (items below the
    pool could only enter a page of ``k`` if the caps exclude almost everything above them).
    ``relax_when_short``: when no candidate can satisfy the caps and the run rule, the step takes
    the best remaining candidate anyway rather than returning a short page.
    """

    max_per_category: int | None = None
    max_per_brand: int | None = None
    max_run: int | None = None
    mmr_lambda: float = 1.0
    pool: int = 200
    relax_when_short: bool = True

    def __post_init__(self) -> None:
        for name in ("max_per_category", "max_per_brand", "max_run"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise SchemaError(f"DiversityConfig.{name}: expected an int >= 1 or None, got {value!r}")
        if isinstance(self.pool, bool) or not isinstance(self.pool, int) or self.pool < 1:
            raise SchemaError(f"DiversityConfig.pool: expected an int >= 1, got {self.pool!r}")
        lam = self.mmr_lambda
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not 0.0 <= lam <= 1.0:
            raise SchemaError(f"DiversityConfig.mmr_lambda: expected a number in [0, 1], got {lam!r}")

    @property
    def uses_vectors(self) -> bool:
        return self.mmr_lambda < 1.0


def diversify(
    scores: F32,
    category: I32,
    brand: I32,
    k: int,
    config: DiversityConfig = DiversityConfig(),
    vectors: F32 | None = None,
) -> I64:
    """Positions (into the inputs) of up to ``k`` picks, in page order.

    Parameters
    ----------
    scores:
        ``(n,)`` relevance, higher is better.
    category, brand:
        ``(n,)`` integer codes; -1 (unknown) is exempt from caps and runs.
    k:
        Page size.
    vectors:
        ``(n, D)`` item vectors for MMR's similarity (cosine; normalised here); required when
        ``config.mmr_lambda < 1``.
    """
    s = np.asarray(scores, dtype=np.float32)
    n = s.size
    if category.shape != (n,) or brand.shape != (n,):
        raise SchemaError(
            f"diversify: category {category.shape} and brand {brand.shape} must match scores ({n},)"
        )
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SchemaError(f"diversify k: expected an int >= 1, got {k!r}")
    if config.uses_vectors:
        if vectors is None:
            raise SchemaError("diversify vectors: MMR with mmr_lambda < 1 needs item vectors")
        if vectors.ndim != 2 or vectors.shape[0] != n:
            raise DimensionMismatch(f"diversify vectors: expected ({n}, D), got {vectors.shape}")
    if n == 0:
        return np.zeros(0, dtype=np.int64)

    # the pool: the top candidates by score, best first (stable: ties keep input order)
    m = min(n, max(config.pool, k))
    if m < n:
        top = np.argpartition(-s, m - 1)[:m]
        pool = top[np.argsort(-s[top], kind="stable")]
    else:
        pool = np.argsort(-s, kind="stable")
    rel = s[pool].astype(np.float64)
    span = rel[0] - rel[-1]
    rel = (rel - rel[-1]) / span if span > 0 else np.ones(m)  # [0, 1], comparable to a cosine
    cat = category[pool].astype(np.int64)
    brd = brand[pool].astype(np.int64)

    plain = (
        not config.uses_vectors
        and config.max_per_category is None
        and config.max_per_brand is None
        and config.max_run is None
    )
    if plain:
        return pool[: min(k, m)].astype(np.int64)

    if config.uses_vectors:
        v = np.asarray(vectors, dtype=np.float32)[pool]
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    lam = float(config.mmr_lambda)
    cat_count = np.zeros(int(cat.max(initial=-1)) + 2, dtype=np.int64)  # index code + 1; 0 = unknown
    brand_count = np.zeros(int(brd.max(initial=-1)) + 2, dtype=np.int64)
    taken = np.zeros(m, dtype=bool)
    max_sim: npt.NDArray[np.float64] | None = None
    run_cat, run_len = -1, 0
    out: list[int] = []
    for _ in range(min(k, m)):  # output positions, not candidates
        allowed = ~taken
        if config.max_per_category is not None:
            allowed &= (cat < 0) | (cat_count[cat + 1] < config.max_per_category)
        if config.max_per_brand is not None:
            allowed &= (brd < 0) | (brand_count[brd + 1] < config.max_per_brand)
        if config.max_run is not None and run_cat >= 0 and run_len >= config.max_run:
            allowed &= cat != run_cat
        if not allowed.any():
            if not config.relax_when_short:
                break
            allowed = ~taken
        value = rel if max_sim is None else lam * rel - (1.0 - lam) * max_sim
        j = int(np.argmax(np.where(allowed, value, -np.inf)))
        taken[j] = True
        out.append(j)
        cat_count[cat[j] + 1] += 1
        brand_count[brd[j] + 1] += 1
        if cat[j] >= 0 and cat[j] == run_cat:
            run_len += 1
        else:
            run_cat, run_len = int(cat[j]), 1
        if config.uses_vectors:
            sim = (v @ v[j]).astype(np.float64)
            max_sim = sim if max_sim is None else np.maximum(max_sim, sim)
    return pool[np.asarray(out, dtype=np.int64)].astype(np.int64)
