"""One call that turns a request's candidates into a page: every ranking stage, in order.

``rank`` composes merge/dedupe -> hard constraints -> score (the ``alpha`` blend, then the learned
reranker when one is given) -> diversity -> cut to ``k`` -> explanations. Constraints run before
scoring so the reranker (the only stage that costs more than microseconds per item) never scores
an item that cannot be shown. Each touchpoint holds one ``RankConfig``: its ``alpha``, its
constraints and its diversity rules; the stages are plain functions, so a touchpoint that needs
another order can call them itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.ranking.candidates import Anchor, Candidates
from lookbook.ranking.catalog import CatalogArrays
from lookbook.ranking.constraints import Constraints, apply_constraints
from lookbook.ranking.context import UserContext
from lookbook.ranking.diversity import DiversityConfig, diversify
from lookbook.ranking.explain import explain
from lookbook.ranking.reranker import Reranker
from lookbook.ranking.stages import blend_scores, dedupe_min_distance

log = logging.getLogger(__name__)

__all__ = ["RankConfig", "Ranked", "rank"]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RankConfig:
    """How one touchpoint ranks.

    ``alpha`` weighs closeness to the anchors against the user's affinity (``blend_scores``);
    ``missing_distance`` / ``missing_affinity`` stand in for unknown ``d`` / ``a``.
    ``use_reranker`` lets a touchpoint ignore a loaded reranker (e.g. similar items, where the
    anchor distance is the point). ``rerank_depth`` reranks only the top candidates by blend
    (``None``: all that pass the constraints).
    """

    k: int = 20
    alpha: float = 0.5
    missing_distance: float = 1.0
    missing_affinity: float = 0.0
    constraints: Constraints = field(default_factory=Constraints)
    diversity: DiversityConfig = field(default_factory=DiversityConfig)
    use_reranker: bool = True
    rerank_depth: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise SchemaError(f"RankConfig.k: expected an int >= 1, got {self.k!r}")
        if (
            isinstance(self.alpha, bool)
            or not isinstance(self.alpha, int | float)
            or not 0.0 <= self.alpha <= 1.0
        ):
            raise SchemaError(f"RankConfig.alpha: expected a number in [0, 1], got {self.alpha!r}")
        for name in ("missing_distance", "missing_affinity"):
            if not np.isfinite(getattr(self, name)):
                raise SchemaError(f"RankConfig.{name}: expected a finite number, got {getattr(self, name)!r}")
        if self.rerank_depth is not None and (
            isinstance(self.rerank_depth, bool)
            or not isinstance(self.rerank_depth, int)
            or self.rerank_depth < 1
        ):
            raise SchemaError(
                f"RankConfig.rerank_depth: expected an int >= 1 or None, got {self.rerank_depth!r}"
            )
        if not isinstance(self.constraints, Constraints):
            raise SchemaError(
                f"RankConfig.constraints: expected Constraints, got {type(self.constraints).__name__}"
            )
        if not isinstance(self.diversity, DiversityConfig):
            raise SchemaError(
                f"RankConfig.diversity: expected DiversityConfig, got {type(self.diversity).__name__}"
            )


@dataclass(frozen=True, eq=False)
class Ranked:
    """A ranked page: parallel arrays, best first, at most ``k`` long.

    ``scores`` are the ranking scores (the reranker's when ``reranked``, else the blend);
    ``anchor``, ``d`` and ``a`` are the kept provenance (``anchor`` indexes ``anchors``), ``why``
    the explanations. ``n_candidates`` / ``n_unique`` / ``n_eligible`` count what came in, what
    was left after deduplication and after the constraints.
    """

    rows: I64
    item_ids: npt.NDArray[np.str_]
    scores: F32
    why: npt.NDArray[np.object_]
    anchor: I32
    d: F32
    a: F32
    anchors: tuple[Anchor, ...]
    reranked: bool
    n_candidates: int
    n_unique: int
    n_eligible: int

    def __len__(self) -> int:
        return int(self.rows.size)


def rank(
    candidates: Candidates,
    catalog: CatalogArrays,
    user: UserContext,
    config: RankConfig = RankConfig(),
    *,
    vectors: F32 | None = None,
    reranker: Reranker | None = None,
) -> Ranked:
    """Rank ``candidates`` into a page of at most ``config.k`` items.

    Parameters
    ----------
    candidates:
        Every (candidate, anchor) found for the request, duplicates included.
    catalog, user:
        The catalog snapshot and the request's user, coded against it.
    vectors:
        ``(len(catalog), D)`` unit item vectors aligned with catalog rows, for MMR; required when
        ``config.diversity.mmr_lambda < 1``.
    reranker:
        A fitted ``Reranker``; used when given and ``config.use_reranker``.
    """
    n_in = len(candidates)
    if n_in and (candidates.rows.min() < 0 or candidates.rows.max() >= len(catalog)):
        bad = candidates.rows[(candidates.rows < 0) | (candidates.rows >= len(catalog))][0]
        raise SchemaError(
            f"rank candidates.rows: catalog rows must be in [0, {len(catalog)}), got {int(bad)}"
        )
    if config.diversity.uses_vectors:
        if vectors is None:
            raise SchemaError("rank vectors: RankConfig.diversity.mmr_lambda < 1 needs item vectors for MMR")
        if vectors.ndim != 2 or vectors.shape[0] != len(catalog):
            raise DimensionMismatch(
                f"rank vectors: expected ({len(catalog)}, D) aligned with catalog rows, got {vectors.shape}"
            )

    c = dedupe_min_distance(candidates)
    n_unique = len(c)
    c = apply_constraints(c, catalog, config.constraints, user)
    n_eligible = len(c)
    scores = blend_scores(
        c, config.alpha, missing_distance=config.missing_distance, missing_affinity=config.missing_affinity
    )
    reranked = reranker is not None and config.use_reranker and n_eligible > 0
    if reranked:
        assert reranker is not None
        depth = config.rerank_depth
        if depth is not None and depth < n_eligible:
            top = np.argpartition(-scores, depth - 1)[:depth]
            c = c.take(top)
        scores = reranker.score_candidates(c, catalog, user)

    order = diversify(
        scores,
        catalog.category[c.rows],
        catalog.brand[c.rows],
        config.k,
        config.diversity,
        vectors[c.rows] if config.diversity.uses_vectors and vectors is not None else None,
    )
    page = c.take(order)
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "rank: %d candidates, %d unique, %d eligible, %d shown", n_in, n_unique, n_eligible, len(page)
        )
    return Ranked(
        rows=page.rows,
        item_ids=catalog.ids.to_ids(page.rows),
        scores=scores[order],
        why=explain(page),
        anchor=page.anchor,
        d=page.d,
        a=page.a,
        anchors=page.anchors,
        reranked=reranked,
        n_candidates=n_in,
        n_unique=n_unique,
        n_eligible=n_eligible,
    )
