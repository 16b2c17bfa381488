"""Diversity: caps per category and brand, the longest run of one category, and MMR's lambda."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import SchemaError
from lookbook.ranking import DiversityConfig, diversify


def _longest_run(categories: list[int]) -> int:
    """The readable reference: the longest stretch of one category."""
    best = run = 0
    prev = None
    for c in categories:
        run = run + 1 if c == prev else 1
        best, prev = max(best, run), c
    return best


def test_plain_config_is_the_score_order() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(50).astype(np.float32)
    codes = np.zeros(50, np.int32)
    out = diversify(scores, codes, codes, 10)
    assert out.tolist() == np.argsort(-scores)[:10].tolist()


def test_caps_per_category_and_brand_hold() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random(60).astype(np.float32)
    category = rng.integers(0, 4, 60).astype(np.int32)
    brand = rng.integers(0, 5, 60).astype(np.int32)
    out = diversify(scores, category, brand, 12, DiversityConfig(max_per_category=3, max_per_brand=3))
    assert len(out) == 12
    assert np.bincount(category[out]).max() <= 3 and np.bincount(brand[out]).max() <= 3
    # within the caps, greedy keeps relevance: the best item is first
    assert out[0] == int(np.argmax(scores))


def test_unknown_codes_are_exempt_from_caps() -> None:
    scores = np.linspace(1, 0, 6).astype(np.float32)
    category = np.full(6, -1, np.int32)
    out = diversify(
        scores, category, category, 6, DiversityConfig(max_per_category=1, max_run=1, relax_when_short=False)
    )
    assert out.tolist() == [0, 1, 2, 3, 4, 5]


def test_no_run_longer_than_max_run() -> None:
    scores = np.linspace(1, 0, 8).astype(np.float32)
    category = np.asarray([0, 0, 0, 0, 1, 1, 1, 1], np.int32)
    brand = np.zeros(8, np.int32)
    relaxed = diversify(scores, category, brand, 8, DiversityConfig(max_run=2))
    assert relaxed.tolist() == [0, 1, 4, 2, 3, 5, 6, 7]  # the last pick breaks the rule rather than stop
    strict = diversify(scores, category, brand, 8, DiversityConfig(max_run=2, relax_when_short=False))
    assert strict.tolist() == [0, 1, 4, 2, 3, 5, 6]
    assert _longest_run(category[strict].tolist()) <= 2


def test_max_run_on_random_pages_matches_the_reference() -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        scores = rng.random(80).astype(np.float32)
        category = rng.integers(0, 3, 80).astype(np.int32)
        out = diversify(scores, category, np.zeros(80, np.int32), 20, DiversityConfig(max_run=1))
        assert len(out) == 20 and _longest_run(category[out].tolist()) == 1


def _clusters() -> tuple[np.ndarray, np.ndarray]:
    """Three tight clusters of five near-duplicates; cluster A scores highest, then B, then C."""
    rng = np.random.default_rng(3)
    centres = np.eye(3, 8, dtype=np.float32)
    vectors = np.repeat(centres, 5, axis=0) + 0.05 * rng.normal(size=(15, 8)).astype(np.float32)
    scores = np.concatenate(
        [0.9 + 0.01 * rng.random(5), 0.8 + 0.01 * rng.random(5), 0.7 + 0.01 * rng.random(5)]
    )
    return scores.astype(np.float32), vectors


def _mean_similarity(vectors: np.ndarray) -> float:
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = v @ v.T
    return float(sim[~np.eye(len(v), dtype=bool)].mean())


def test_mmr_lambda_one_is_pure_relevance() -> None:
    scores, vectors = _clusters()
    codes = np.zeros(15, np.int32)
    out = diversify(scores, codes, codes, 6, DiversityConfig(mmr_lambda=1.0), vectors)
    assert out.tolist() == np.argsort(-scores)[:6].tolist()


def test_lower_lambda_increases_diversity() -> None:
    scores, vectors = _clusters()
    codes = np.zeros(15, np.int32)
    sims = []
    for lam in (1.0, 0.3, 0.1):
        out = diversify(scores, codes, codes, 3, DiversityConfig(mmr_lambda=lam), vectors)
        sims.append(_mean_similarity(vectors[out]))
        if lam < 1.0:
            assert sorted(int(i) // 5 for i in out) == [0, 1, 2]  # one item of each cluster
    assert sims[0] > 0.9 and sims[0] > sims[1] >= sims[2]


def test_lower_lambda_lowers_similarity_on_random_pools() -> None:
    rng = np.random.default_rng(4)
    codes = np.zeros(200, np.int32)
    by_lambda = {lam: [] for lam in (1.0, 0.7, 0.4)}
    for _ in range(10):
        scores = rng.random(200).astype(np.float32)
        vectors = rng.normal(size=(200, 4)).astype(np.float32)
        for lam, sims in by_lambda.items():
            out = diversify(scores, codes, codes, 10, DiversityConfig(mmr_lambda=lam), vectors)
            sims.append(_mean_similarity(vectors[out]))
    means = [float(np.mean(s)) for s in by_lambda.values()]
    assert means[0] > means[1] > means[2]


def test_mmr_needs_vectors_and_configs_check_themselves() -> None:
    codes = np.zeros(3, np.int32)
    with pytest.raises(SchemaError, match="needs item vectors"):
        diversify(np.ones(3, np.float32), codes, codes, 2, DiversityConfig(mmr_lambda=0.5))
    with pytest.raises(SchemaError, match="mmr_lambda"):
        DiversityConfig(mmr_lambda=1.5)
    with pytest.raises(SchemaError, match="max_run"):
        DiversityConfig(max_run=0)
