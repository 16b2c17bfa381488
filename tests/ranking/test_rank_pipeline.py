"""``rank`` end to end, and the explanations every item carries."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.index.base import SearchResult
from lookbook.ranking import (
    FALLBACK_REASON,
    Anchor,
    CatalogArrays,
    Constraints,
    DiversityConfig,
    RankConfig,
    Relation,
    UserContext,
    anchor_reasons,
    concat,
    explain,
    from_rows,
    from_search,
    rank,
)

JACKET = Anchor(Relation.SIMILAR, "the jacket you saved")
JEANS = Anchor(Relation.GOES_WITH, "your jeans")


def _search() -> SearchResult:
    # a and h are found under both anchors; h is closer to the jeans
    ids = np.asarray([["h", "a", "b", "f"], ["a", "h", "d", "g"]])
    scores = np.asarray([[0.9, 0.8, 0.7, 0.6], [0.5, 0.95, 0.4, 0.3]], np.float32)
    return SearchResult(ids, scores)


def test_explanations_name_the_anchor() -> None:
    reasons = anchor_reasons((JACKET, JEANS, Anchor(Relation.POPULAR_IN_SIZE)))
    assert reasons.tolist() == [
        "similar to the jacket you saved",
        "goes with your jeans",
        "popular in your size",
        FALLBACK_REASON,
    ]
    c = concat([from_rows([3], JACKET), from_rows([5], JEANS)])
    assert explain(c).tolist() == ["similar to the jacket you saved", "goes with your jeans"]
    with pytest.raises(SchemaError, match="needs a label"):
        Anchor(Relation.SIMILAR)


def test_rank_composes_every_stage(catalog: CatalogArrays, user: UserContext) -> None:
    c = from_search(_search(), catalog, (JACKET, JEANS))
    page = rank(c, catalog, user, RankConfig(k=3, alpha=1.0))
    # b is disliked, f has no dress in M; a, h, d, g remain; by closeness h (0.05) > a (0.2) > d (0.6)
    assert page.item_ids.tolist() == ["h", "a", "d"]
    assert page.scores.tolist() == pytest.approx([0.95, 0.8, 0.4])
    assert page.why.tolist() == [
        "goes with your jeans",
        "similar to the jacket you saved",
        "goes with your jeans",
    ]
    assert page.anchor.tolist() == [1, 0, 1] and page.d.tolist() == pytest.approx([0.05, 0.2, 0.6])
    assert (page.n_candidates, page.n_unique, page.n_eligible) == (8, 6, 4)
    assert not page.reranked


def test_alpha_zero_ranks_by_affinity(catalog: CatalogArrays, user: UserContext) -> None:
    affinity = np.asarray([0.1, 0, 0, 0.9, 0, 0, 0.5, 0.3], np.float32)
    c = from_search(_search(), catalog, (JACKET, JEANS), affinity=affinity)
    page = rank(c, catalog, user, RankConfig(k=4, alpha=0.0))
    assert page.item_ids.tolist() == ["d", "g", "h", "a"]


def test_per_touchpoint_constraints_and_diversity(catalog: CatalogArrays, user: UserContext) -> None:
    c = from_search(_search(), catalog, (JACKET, JEANS))
    open_rules = RankConfig(
        k=10, alpha=1.0, constraints=Constraints(in_stock=False, size_available=False, exclude_disliked=False)
    )
    assert set(rank(c, catalog, user, open_rules).item_ids.tolist()) == set("abdfgh")
    one_per_brand = RankConfig(
        k=10, alpha=1.0, diversity=DiversityConfig(max_per_brand=1, relax_when_short=False)
    )
    # a and h are both Acme: only the closer one stays
    assert rank(c, catalog, user, one_per_brand).item_ids.tolist() == ["h", "d", "g"]


class _ByPopularity:
    """A stand-in reranker: scores candidates by catalog popularity (row number here)."""

    def score_candidates(self, c, catalog, user):
        return catalog.popularity[c.rows]


def test_a_reranker_reorders_unless_the_touchpoint_opts_out(
    catalog: CatalogArrays, user: UserContext
) -> None:
    c = from_search(_search(), catalog, (JACKET, JEANS))
    reranked = rank(c, catalog, user, RankConfig(k=4, alpha=1.0), reranker=_ByPopularity())  # type: ignore[arg-type]
    assert reranked.reranked and reranked.item_ids.tolist() == ["h", "g", "d", "a"]
    ignored = rank(c, catalog, user, RankConfig(k=4, alpha=1.0, use_reranker=False), reranker=_ByPopularity())  # type: ignore[arg-type]
    assert not ignored.reranked and ignored.item_ids.tolist() == ["h", "a", "d", "g"]
    shallow = rank(c, catalog, user, RankConfig(k=4, alpha=1.0, rerank_depth=2), reranker=_ByPopularity())  # type: ignore[arg-type]
    assert shallow.item_ids.tolist() == ["h", "a"]  # only the two best by blend were reranked


def test_mmr_needs_catalog_aligned_vectors(catalog: CatalogArrays, user: UserContext) -> None:
    c = from_search(_search(), catalog, (JACKET, JEANS))
    mmr = RankConfig(k=3, diversity=DiversityConfig(mmr_lambda=0.5))
    with pytest.raises(SchemaError, match="needs item vectors"):
        rank(c, catalog, user, mmr)
    with pytest.raises(DimensionMismatch, match=r"expected \(8, D\)"):
        rank(c, catalog, user, mmr, vectors=np.ones((3, 4), np.float32))
    vectors = np.eye(8, dtype=np.float32)
    assert len(rank(c, catalog, user, mmr, vectors=vectors)) == 3


def test_bad_input_is_named(catalog: CatalogArrays, user: UserContext) -> None:
    with pytest.raises(SchemaError, match=r"catalog rows must be in \[0, 8\), got 9"):
        rank(from_rows([1, 9], JACKET), catalog, user)
    with pytest.raises(SchemaError, match=r"RankConfig\.k"):
        RankConfig(k=0)
    empty = rank(from_rows([], JACKET), catalog, user)
    assert len(empty) == 0 and empty.n_eligible == 0
