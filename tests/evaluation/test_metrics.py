"""Each metric against a hand-worked example, and against a slow reference loop on random data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lookbook.errors import LookbookError
from lookbook.evaluation.metrics import (
    auc,
    colour_dominance,
    coverage,
    fitb_accuracy,
    mrr,
    ndcg_at_k,
    recall_at_k,
)

# --------------------------------------------------------------------------------------------------
# Reference loops, written from the definitions
# --------------------------------------------------------------------------------------------------


def ref_fitb(scores, answer):
    total = 0.0
    for row, right in zip(scores, answer, strict=True):
        best = max(row)
        tied = [j for j, s in enumerate(row) if s == best]
        total += (1.0 / len(tied)) if right in tied else 0.0
    return total / len(scores)


def ref_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(pos) * len(neg))


def ref_recall(ranked, relevant, k):
    values = []
    for row, rel in zip(ranked, relevant, strict=True):
        rel = {int(r) for r in rel}
        if rel:
            values.append(len([r for r in row[:k] if r in rel]) / len(rel))
    return sum(values) / len(values)


def ref_ndcg(ranked, relevant, k):
    values = []
    for row, rel in zip(ranked, relevant, strict=True):
        rel = {int(r) for r in rel}
        if not rel:
            continue
        dcg = sum(1.0 / math.log2(j + 2) for j, r in enumerate(row[:k]) if r in rel)
        idcg = sum(1.0 / math.log2(j + 2) for j in range(min(len(rel), k)))
        values.append(dcg / idcg)
    return sum(values) / len(values)


def ref_mrr(ranked, relevant, k):
    values = []
    for row, rel in zip(ranked, relevant, strict=True):
        rel = {int(r) for r in rel}
        if not rel:
            continue
        rr = 0.0
        for j, r in enumerate(row[:k]):
            if r in rel:
                rr = 1.0 / (j + 1)
                break
        values.append(rr)
    return sum(values) / len(values)


def ref_coverage(ranked, n_items, k):
    seen = set()
    for row in ranked:
        seen.update(int(r) for r in row[:k] if r >= 0)
    return len(seen) / n_items


def ref_colour_dominance(colours, anchors, model_top, truth):
    model_shares, true_shares = [], []
    for anchor, top, true in zip(anchors, model_top, truth, strict=True):
        c = colours[anchor]
        top = [r for r in top if r >= 0]
        true = [r for r in true if r >= 0]
        if c < 0 or not top or not true:
            continue
        model_shares.append(sum(colours[r] == c for r in top) / len(top))
        true_shares.append(sum(colours[r] == c for r in true) / len(true))
    return (sum(model_shares) / len(model_shares)) / (sum(true_shares) / len(true_shares))


def random_rankings(rng, users=40, n_items=30, width=12):
    ranked = np.stack([rng.permutation(n_items)[:width] for _ in range(users)])
    ranked[rng.random(ranked.shape) < 0.1] = -1  # some padding
    # keep padding at the end of rows, as recommenders return it
    ranked = np.stack([np.r_[row[row >= 0], row[row < 0]] for row in ranked])
    relevant = [rng.choice(n_items, size=rng.integers(0, 6), replace=False) for _ in range(users)]
    relevant[0] = np.array([ranked[0, 0]])  # at least one user with a relevant item
    return ranked, relevant


# --------------------------------------------------------------------------------------------------
# FITB
# --------------------------------------------------------------------------------------------------


def test_fitb_accuracy_hand_example_with_a_tie():
    scores = [[0.9, 0.1, 0.2, 0.3], [0.1, 0.5, 0.5, 0.2], [0.3, 0.2, 0.1, 0.0]]
    # right, right but tied with one other (1/2), wrong
    assert fitb_accuracy(scores, [0, 1, 3]) == pytest.approx((1 + 0.5 + 0) / 3)


def test_fitb_accuracy_constant_scores_is_chance_not_perfect():
    assert fitb_accuracy(np.zeros((5, 4)), np.zeros(5, dtype=int)) == pytest.approx(0.25)


def test_fitb_accuracy_matches_reference_loop():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 4, size=(200, 4)).astype(float)  # many ties
    answer = rng.integers(0, 4, size=200)
    assert fitb_accuracy(scores, answer) == pytest.approx(ref_fitb(scores.tolist(), answer.tolist()))


def test_fitb_accuracy_rejects_answer_out_of_range():
    with pytest.raises(LookbookError, match="answer_index"):
        fitb_accuracy(np.zeros((2, 4)), [0, 4])


# --------------------------------------------------------------------------------------------------
# AUC
# --------------------------------------------------------------------------------------------------


def test_auc_hand_example():
    # positives 0.35, 0.8 ; negatives 0.1, 0.4: 0.35>0.1, 0.35<0.4, 0.8>both -> 3/4
    assert auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)


def test_auc_counts_ties_half():
    # positives 0.5, 0.9 ; negatives 0.5, 0.2: (0.5 vs 0.5) = 1/2, the other three pairs right -> 3.5/4
    assert auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]) == pytest.approx(0.875)
    assert auc([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0]) == pytest.approx(0.5)


def test_auc_matches_reference_loop():
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 10, size=150).astype(float)
    labels = rng.integers(0, 2, size=150)
    assert auc(scores, labels) == pytest.approx(ref_auc(scores.tolist(), labels.tolist()))


def test_auc_needs_both_classes():
    with pytest.raises(LookbookError, match="labels"):
        auc([0.1, 0.2], [1, 1])


# --------------------------------------------------------------------------------------------------
# Ranking metrics
# --------------------------------------------------------------------------------------------------


def test_recall_at_k_hand_example():
    ranked = [[1, 2, 3, 4], [5, 6, 7, 8]]
    # user 0: 2 of {2, 9} in the top 3 -> 1/2 ; user 1: 8 is 4th, outside the top 3 -> 0
    assert recall_at_k(ranked, [[2, 9], [8]], k=3) == pytest.approx(0.25)


def test_ndcg_at_k_hand_example():
    # hits at positions 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal: two hits first = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k([[3, 1, 4, 5]], [[1, 5]], k=4) == pytest.approx(expected)
    assert expected == pytest.approx(0.65092, abs=1e-5)


def test_ndcg_with_fewer_relevant_items_than_k_uses_the_smaller_ideal():
    # one relevant item, 3rd of 3: DCG = 1/log2(4) = 0.5; ideal = one hit at rank 1 = 1
    assert ndcg_at_k([[3, 1, 4]], [[4]], k=3) == pytest.approx(0.5)
    # and ranking it first is perfect even though k > |relevant|
    assert ndcg_at_k([[4, 1, 3]], [[4]], k=3) == pytest.approx(1.0)


def test_mrr_hand_example():
    ranked = [[3, 1, 4], [5, 6, 7], [9, 8, 2]]
    # first hit at 2 -> 1/2 ; none -> 0 ; first hit at 1 -> 1
    assert mrr(ranked, [[1], [9], [9, 2]]) == pytest.approx(0.5)
    assert mrr(ranked, [[4], [9], [2]], k=2) == pytest.approx(0.0)


def test_coverage_hand_example_ignores_padding():
    assert coverage([[0, 1], [1, 2]], n_items=10) == pytest.approx(0.3)
    assert coverage([[0, -1], [1, -1]], n_items=4) == pytest.approx(0.5)
    assert coverage([[0, 1], [2, 3]], n_items=4, k=1) == pytest.approx(0.5)


def test_relevant_may_be_ragged_padded_or_a_mask():
    rng = np.random.default_rng(3)
    ranked, relevant = random_rankings(rng)
    width = max(len(r) for r in relevant)
    padded = np.full((len(relevant), width), -1)
    mask = np.zeros((len(relevant), 30), dtype=bool)
    for i, rel in enumerate(relevant):
        padded[i, : len(rel)] = rel
        mask[i, rel] = True
    for fn in (recall_at_k, ndcg_at_k, mrr):
        expected = fn(ranked, relevant, 5)
        assert fn(ranked, padded, 5) == pytest.approx(expected)
        assert fn(ranked, mask, 5) == pytest.approx(expected)


@pytest.mark.parametrize("k", [1, 3, 10, 15])
def test_ranking_metrics_match_reference_loops(k):
    rng = np.random.default_rng(k)
    ranked, relevant = random_rankings(rng)
    rows, rels = ranked.tolist(), [r.tolist() for r in relevant]
    assert recall_at_k(ranked, relevant, k) == pytest.approx(ref_recall(rows, rels, k))
    assert ndcg_at_k(ranked, relevant, k) == pytest.approx(ref_ndcg(rows, rels, k))
    assert mrr(ranked, relevant, k) == pytest.approx(ref_mrr(rows, rels, k))
    assert coverage(ranked, 30, k) == pytest.approx(ref_coverage(rows, 30, k))


def test_ranked_rows_must_not_repeat_an_item():
    with pytest.raises(LookbookError, match="ranked"):
        recall_at_k([[1, 1, 2]], [[1]], k=3)


def test_k_must_be_positive():
    with pytest.raises(LookbookError, match="k: expected"):
        ndcg_at_k([[1, 2]], [[1]], k=0)


def test_rows_without_relevant_items_are_skipped_and_all_empty_raises():
    assert recall_at_k([[1, 2], [3, 4]], [[1], []], k=1) == pytest.approx(1.0)
    with pytest.raises(LookbookError, match="relevant"):
        recall_at_k([[1, 2]], [[]], k=1)


# --------------------------------------------------------------------------------------------------
# Colour dominance
# --------------------------------------------------------------------------------------------------

RED, BLUE, GREEN = 0, 1, 2


def test_colour_dominance_hand_example():
    # items 0..9 with these colours; anchor 0 is red, anchor 1 is blue
    colours = np.array([RED, BLUE, RED, RED, BLUE, GREEN, BLUE, BLUE, RED, GREEN])
    anchors = [0, 1]
    model_top = [
        [2, 3, 4, 5],  # red, red, blue, green -> 2/4 red
        [4, 6, 7, 8],  # blue, blue, blue, red -> 3/4 blue
    ]
    truth = [
        [8, 4, 5, 9],  # red, blue, green, green -> 1/4 red
        [6, 2, 3, 9],  # blue, red, red, green -> 1/4 blue
    ]
    # model share (0.5 + 0.75) / 2 = 0.625 ; true share 0.25 -> 2.5
    assert colour_dominance(colours, anchors, model_top, truth) == pytest.approx(2.5)


def test_colour_dominance_skips_unknown_anchor_colour_and_padding():
    colours = np.array([RED, -1, RED, BLUE, BLUE])
    # anchor 1 has no known colour; anchor 0's top has a pad
    value = colour_dominance(colours, [0, 1], [[2, -1], [2, 3]], [[2, 3], [3, 4]])
    assert value == pytest.approx(1.0 / 0.5)


def test_colour_dominance_is_none_when_colours_are_unknown():
    assert colour_dominance(np.full(4, -1), [0, 1], [[2], [3]], [[3], [2]]) is None


def test_colour_dominance_is_none_when_truth_never_shares_the_colour():
    colours = np.array([RED, RED, BLUE])
    assert colour_dominance(colours, [0], [[1]], [[2]]) is None


def test_colour_dominance_matches_reference_loop():
    rng = np.random.default_rng(4)
    colours = rng.integers(-1, 4, size=50)
    anchors = rng.integers(0, 50, size=30)
    model_top = rng.integers(-1, 50, size=(30, 6))
    truth = [rng.integers(0, 50, size=rng.integers(1, 8)) for _ in range(30)]
    expected = ref_colour_dominance(colours, anchors, model_top, truth)
    assert colour_dominance(colours, anchors, model_top, truth) == pytest.approx(expected)
