"""BM25 text retrieval and reciprocal rank fusion."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import SchemaError
from lookbook.index.base import SearchResult
from lookbook.index.text import TextIndex, reciprocal_rank_fusion

TEXTS = {
    "bag1": "red leather shoulder bag",
    "bag2": "black canvas tote bag",
    "shoe1": "red suede ankle boots",
    "top1": "white cotton shirt",
    "top2": "red cotton t-shirt with leather trim",
}


@pytest.fixture(scope="module")
def index() -> TextIndex:
    return TextIndex(list(TEXTS), list(TEXTS.values()))


def test_bm25_ranks_items_sharing_more_and_rarer_terms_first(index) -> None:
    got = index.search(["red leather bag"], 3)
    assert got.row(0)[0] == "bag1"
    assert set(got.row(0)) <= {"bag1", "bag2", "top2", "shoe1"}
    assert np.all(np.diff(got.scores[0][got.ids[0] != ""]) <= 0)


def test_items_without_any_query_term_are_not_returned(index) -> None:
    got = index.search(["leather"], 5)
    assert set(got.row(0)) == {"bag1", "top2"}
    assert index.search(["velvet"], 5).row(0) == []


def test_mask_filters_inside_the_search(index) -> None:
    mask = np.array([not i.startswith("bag") for i in TEXTS])
    got = index.search(["red leather bag"], 5, mask=mask)
    assert got.row(0) and not any(i.startswith("bag") for i in got.row(0))


def test_rrf_rewards_items_ranked_well_by_both_lists() -> None:
    dense = SearchResult(np.array([["a", "b", "c"]]), np.zeros((1, 3), np.float32))
    sparse = SearchResult(np.array([["c", "b", ""]]), np.zeros((1, 3), np.float32))
    fused = reciprocal_rank_fusion([dense, sparse], 3, c=60)
    # c (3rd and 1st: 1/63 + 1/61) just beats b (2nd twice: 2/62); a is in one list only
    assert fused.row(0) == ["c", "b", "a"]
    np.testing.assert_allclose(fused.scores[0], [1 / 63 + 1 / 61, 2 / 62, 1 / 61], rtol=1e-6)


def test_bad_input_is_named(index) -> None:
    with pytest.raises(SchemaError, match="2 ids but 1 texts"):
        TextIndex(["a", "b"], ["x"])
    with pytest.raises(SchemaError, match="mask"):
        index.search(["red"], 3, mask=np.ones(2, bool))
    with pytest.raises(SchemaError, match="different numbers of queries"):
        reciprocal_rank_fusion(
            [SearchResult(np.array([["a"]]), np.zeros((1, 1), np.float32)),
             SearchResult(np.array([["a"], ["b"]]), np.zeros((2, 1), np.float32))],
            1,
        )  # fmt: skip
