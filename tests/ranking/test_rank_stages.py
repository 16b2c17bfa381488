"""Candidates from search results, merging duplicates across anchors, and the alpha blend."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import SchemaError
from lookbook.index.base import SearchResult
from lookbook.index.numpy_backend import NumpyIndex
from lookbook.ranking import (
    Anchor,
    Candidates,
    CatalogArrays,
    Relation,
    blend_scores,
    concat,
    dedupe_min_distance,
    from_rows,
    from_search,
)

JACKET = Anchor(Relation.SIMILAR, "the jacket you saved")
JEANS = Anchor(Relation.GOES_WITH, "your jeans")


def _candidates(
    rows: list[int], anchor: list[int], d: list[float], a: list[float] | None = None
) -> Candidates:
    n = len(rows)
    return Candidates(
        np.asarray(rows),
        np.asarray(anchor),
        np.asarray(d, np.float32),
        np.asarray(a if a is not None else [np.nan] * n, np.float32),
        np.full(n, np.nan, np.float32),
        (JACKET, JEANS),
    )


def test_dedupe_keeps_the_smallest_distance_and_its_anchor() -> None:
    c = _candidates(
        [5, 3, 5, 3, 7], [0, 0, 1, 1, 1], [0.4, 0.1, 0.2, 0.3, 0.5], [np.nan, 0.9, 0.6, np.nan, 0.1]
    )
    out = dedupe_min_distance(c)
    assert out.rows.tolist() == [3, 5, 7]
    assert out.d.tolist() == pytest.approx([0.1, 0.2, 0.5])
    assert out.anchor.tolist() == [0, 1, 1]
    # affinity is about the (user, item) pair: the known value survives whichever path won
    assert out.a.tolist() == pytest.approx([0.9, 0.6, 0.1])


def test_dedupe_treats_unknown_distance_as_farthest_and_ties_go_to_the_first_anchor() -> None:
    out = dedupe_min_distance(_candidates([2, 2, 4, 4], [0, 1, 1, 0], [np.nan, 0.7, 0.3, 0.3]))
    assert out.d.tolist() == pytest.approx([0.7, 0.3])
    assert out.anchor.tolist() == [1, 0]


def test_dedupe_matches_a_reference_loop_on_random_candidates() -> None:
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 30, 200).tolist()
    d = rng.random(200).astype(np.float32).tolist()
    out = dedupe_min_distance(_candidates(rows, [0] * 200, d))
    best: dict[int, float] = {}
    for r, x in zip(rows, d, strict=True):  # the readable reference
        best[r] = min(best.get(r, np.inf), x)
    assert dict(zip(out.rows.tolist(), out.d.tolist(), strict=True)) == pytest.approx(best)


def test_blend_is_alpha_times_closeness_plus_the_rest_times_affinity() -> None:
    c = _candidates([1, 2, 3, 4], [0, 0, 1, 1], [0.2, 0.5, np.nan, 0.0], [0.3, np.nan, 0.8, -0.2])
    for alpha in (0.0, 0.25, 1.0):
        expected = [
            alpha * (1 - d) + (1 - alpha) * a
            for d, a in [(0.2, 0.3), (0.5, 0.0), (1.0, 0.8), (0.0, -0.2)]  # NaN d -> 1, NaN a -> 0
        ]
        assert blend_scores(c, alpha).tolist() == pytest.approx(expected)
    assert blend_scores(c, 0.5, missing_distance=0.5, missing_affinity=1.0)[1:3].tolist() == pytest.approx(
        [0.5 * 0.5 + 0.5 * 1.0, 0.5 * 0.5 + 0.5 * 0.8]
    )
    with pytest.raises(SchemaError, match="alpha"):
        blend_scores(c, 1.5)


def test_from_search_drops_padding_and_unknown_ids_and_turns_scores_into_distances(
    catalog: CatalogArrays,
) -> None:
    result = SearchResult(
        np.asarray([["a", "zz", "c"], ["d", "", ""]]),
        np.asarray([[0.9, 0.8, 0.5], [0.7, -np.inf, -np.inf]], np.float32),
    )
    affinity = np.linspace(0, 0.7, 8).astype(np.float32)
    c = from_search(result, catalog, (JACKET, JEANS), affinity=affinity)
    assert c.rows.tolist() == [0, 2, 3] and c.anchor.tolist() == [0, 0, 1]
    assert c.d.tolist() == pytest.approx([0.1, 0.5, 0.3])
    assert c.a.tolist() == pytest.approx(affinity[[0, 2, 3]].tolist())
    assert np.isnan(c.style).all()
    with pytest.raises(SchemaError, match="2 anchors for 1 queries"):
        from_search(SearchResult(result.ids[:1], result.scores[:1]), catalog, (JACKET, JEANS))


def test_from_search_reads_a_real_index(catalog: CatalogArrays) -> None:
    index = NumpyIndex(dim=2)
    vectors = np.asarray([[np.cos(t), np.sin(t)] for t in np.linspace(0, 1.5, 8)], np.float32)
    index.upsert(list("abcdefgh"), vectors)
    c = from_search(index.search(vectors[[0, 7]], k=3), catalog, (JACKET, JEANS))
    assert c.rows.tolist() == [0, 1, 2, 7, 6, 5]
    assert c.d[0] == pytest.approx(0.0, abs=1e-6) and (np.diff(c.d[:3]) > 0).all()


def test_concat_reindexes_anchors_and_from_rows_has_one() -> None:
    popular = from_rows([4, 5], Anchor(Relation.POPULAR_IN_SIZE))
    both = concat([_candidates([1], [1], [0.2]), popular])
    assert both.anchors[2].relation is Relation.POPULAR_IN_SIZE
    assert both.anchor.tolist() == [1, 2, 2] and np.isnan(both.d[1:]).all()
    with pytest.raises(SchemaError, match="index 3 but only 2 anchors"):
        _candidates([1], [3], [0.1])
