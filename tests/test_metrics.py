"""``lookbook.metrics``: each metric against a hand-worked example and a slow reference loop.

The reference loops are written from the definitions, one user (or group, or question) at a time,
so anyone can read them; the vectorised functions are trusted because they agree.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lookbook.errors import LookbookError
from lookbook.metrics import (
    auc,
    average_precision,
    colour_dominance,
    coverage,
    dcg_at_k,
    fitb_accuracy,
    graded_ndcg,
    grouped_dcg,
    grouped_ndcg,
    ips_ndcg,
    mrr,
    ndcg_at_k,
    precision_at_k,
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


def ref_precision(ranked, relevant, k):
    values = []
    for row, rel in zip(ranked, relevant, strict=True):
        rel = {int(r) for r in rel}
        if rel:
            values.append(len([r for r in row[:k] if r in rel]) / k)
    return sum(values) / len(values)


def ref_dcg(gains, k):
    """DCG@k of one ranked list of gains: sum of gain / log2(position + 1), positions from 1."""
    return sum(g / math.log2(position + 1) for position, g in enumerate(gains[:k], start=1))


def ref_graded_ndcg(gains, pool, k):
    """NDCG@k of one row: the shown gains over the best possible order of the pool's gains."""
    ideal = ref_dcg(sorted(pool, reverse=True), k)
    return ref_dcg(list(gains), k) / ideal if ideal > 0 else math.nan


def ref_group_order(scores, tie_break):
    """Rows of one group best first: higher score, then higher tie-break, then earlier row; NaN last."""
    keyed = []
    for i, s in enumerate(scores):
        s = -math.inf if math.isnan(s) else s
        keyed.append((-s, -tie_break[i], i))
    return [i for _, _, i in sorted(keyed)]


def ref_grouped(scores, gains, starts, sizes, k, tie_break=None):
    """(DCG@k, ideal DCG@k) per group, one group at a time."""
    out = []
    for start, size in zip(starts, sizes, strict=True):
        s = list(scores[start : start + size])
        g = list(gains[start : start + size])
        t = [0.0] * size if tie_break is None else list(tie_break[start : start + size])
        shown = [g[i] for i in ref_group_order(s, t)]
        out.append((ref_dcg(shown, k), ref_dcg(sorted(g, reverse=True), k)))
    return out


def ref_average_precision(tp, n_truth):
    """VOC all-point AP: each rise in recall times the best precision at that recall or beyond."""
    points, hits = [], 0
    for i, t in enumerate(tp, start=1):
        hits += t
        points.append((hits / n_truth, hits / i))
    ap, previous = 0.0, 0.0
    for r, _ in points:
        if r > previous:
            ap += (r - previous) * max(p for r2, p in points if r2 >= r)
            previous = r
    return ap


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


def test_precision_at_k_hand_example():
    ranked = [[1, 2, 3, 4], [5, 6, -1, -1]]
    # user 0: 2 and 3 of the top 3 are relevant -> 2/3 ; user 1: 5 hits, the padding is a miss -> 1/3
    assert precision_at_k(ranked, [[2, 3, 9], [5]], k=3) == pytest.approx((2 / 3 + 1 / 3) / 2)
    # a list narrower than k: the missing slots count as misses
    assert precision_at_k([[7]], [[7]], k=4) == pytest.approx(0.25)


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
    assert precision_at_k(ranked, relevant, k) == pytest.approx(ref_precision(rows, rels, k))


def test_ranked_may_be_ragged_rows_with_misses_anywhere():
    # a page as the benchmarks read it back: ids not in the catalog map to -1, anywhere in the row
    ragged = [np.array([4, -1, 7]), np.array([2]), np.array([], dtype=np.int64)]
    padded = np.array([[4, -1, 7], [2, -1, -1], [-1, -1, -1]])
    relevant = [[7, 9], [2], [5]]
    for fn in (recall_at_k, ndcg_at_k, mrr, precision_at_k):
        assert fn(ragged, relevant, 3) == pytest.approx(fn(padded, relevant, 3))
    # user 0: hit at position 3 of ideal 2 ; user 1: perfect ; user 2: nothing found
    expected = ((1 / math.log2(4)) / (1 + 1 / math.log2(3)) + 1.0 + 0.0) / 3
    assert ndcg_at_k(ragged, relevant, 3) == pytest.approx(expected)


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
# Graded NDCG: dcg_at_k, graded_ndcg (shop the look), grouped_* and ips_ndcg (the reranker)
# --------------------------------------------------------------------------------------------------


def test_dcg_at_k_hand_example():
    # gains 3, 0, 1 at positions 1, 2, 3: 3/log2(2) + 0 + 1/log2(4) = 3.5 ; k=1 keeps only the first
    assert dcg_at_k([[3.0, 0.0, 1.0]], k=3)[0] == pytest.approx(3.5)
    assert dcg_at_k([[3.0, 0.0, 1.0]], k=1)[0] == pytest.approx(3.0)
    # ragged rows: a shorter row gains nothing past its end
    assert dcg_at_k([[1.0], [0.0, 2.0]], k=5).tolist() == pytest.approx([1.0, 2 / math.log2(3)])


def test_graded_ndcg_hand_example_ideal_is_the_pools_best_k():
    # shown gains 1, 3 ; the pool (everything that could be shown) holds 3, 2, 1, 0:
    # DCG = 1 + 3/log2(3) ; ideal DCG@2 = 3 + 2/log2(3)
    out = graded_ndcg([[1.0, 3.0]], [[0.0, 1.0, 3.0, 2.0]], k=2)
    assert out[0] == pytest.approx((1 + 3 / math.log2(3)) / (3 + 2 / math.log2(3)))
    # the best k of the pool, shown best first, is perfect
    assert graded_ndcg([[3.0, 2.0]], [[0.0, 1.0, 3.0, 2.0]], k=2)[0] == pytest.approx(1.0)


def test_graded_ndcg_is_nan_where_there_is_no_gain_to_have():
    out = graded_ndcg([[0.0, 0.0], [1.0]], [[0.0, 0.0, 0.0], [1.0, 0.0]], k=2)
    assert np.isnan(out[0]) and out[1] == pytest.approx(1.0)


def test_graded_ndcg_short_pool_keeps_its_own_values():
    # a pool shorter than k with a negative gain: the ideal is the pool itself, not padded zeros
    out = graded_ndcg([[2.0, -1.0]], [[-1.0, 2.0]], k=5)
    assert out[0] == pytest.approx(1.0)


@pytest.mark.parametrize("k", [1, 3, 10, 40])
def test_graded_ndcg_matches_reference_loop(k):
    rng = np.random.default_rng(10 + k)
    pools = [rng.random(rng.integers(1, 30)) for _ in range(25)]
    shown = [pool[rng.permutation(pool.size)[: rng.integers(0, pool.size + 1)]] for pool in pools]
    expected = [ref_graded_ndcg(g.tolist(), p.tolist(), k) for g, p in zip(shown, pools, strict=True)]
    assert graded_ndcg(shown, pools, k) == pytest.approx(expected, nan_ok=True)
    assert dcg_at_k(shown, k) == pytest.approx([ref_dcg(g.tolist(), k) for g in shown])


def test_ndcg_at_k_is_graded_ndcg_with_binary_gains():
    rng = np.random.default_rng(7)
    ranked, relevant = random_rankings(rng)
    gains = [[float(r in set(rel.tolist())) for r in row] for row, rel in zip(ranked, relevant, strict=True)]
    pools = [np.ones(len(rel)) for rel in relevant]
    per_row = graded_ndcg(gains, pools, 5)
    assert ndcg_at_k(ranked, relevant, 5) == pytest.approx(np.nanmean(per_row))


def test_grouped_ndcg_by_hand() -> None:
    # group 0: gains [0, 1, 3] scored [3, 2, 1] -> DCG = 0 + 1/log2(3) + 3/2 ; ideal = 3 + 1/log2(3)
    # group 1: no gain -> NaN
    scores = np.asarray([3.0, 2.0, 1.0, 0.5, 0.2])
    gains = np.asarray([0.0, 1.0, 3.0, 0.0, 0.0])
    out = grouped_ndcg(scores, gains, np.asarray([0, 3]), np.asarray([3, 2]), k=10)
    expected = (1 / np.log2(3) + 3 / 2) / (3 + 1 / np.log2(3))
    assert out[0] == pytest.approx(expected) and np.isnan(out[1])
    # k cuts: at k=1 only the first item counts
    assert grouped_ndcg(scores, gains, np.asarray([0]), np.asarray([3]), k=1)[0] == pytest.approx(0.0)


def test_ties_are_not_credited_with_the_logged_order() -> None:
    gains = np.asarray([1.0, 0.0])
    tied = np.zeros(2)
    first = grouped_ndcg(tied, gains, np.asarray([0]), np.asarray([2]), 10, tie_break=np.asarray([0.0, 1.0]))
    assert first[0] == pytest.approx(1 / np.log2(3))


def test_ips_ndcg_keeps_the_weights_that_a_per_group_ndcg_cancels() -> None:
    # two one-click slates: the click at the bottom of slate 1 is weighted 4 (seen 1/4 as often)
    gains = np.asarray([1.0, 0.0, 0.0, 1.0])
    weights = np.asarray([1.0, 1.0, 1.0, 4.0])
    starts, sizes = np.asarray([0, 2]), np.asarray([2, 2])
    top_first = np.asarray([1.0, 0.0, 1.0, 0.0])  # ranks slate 0 right, slate 1 wrong
    bottom_first = np.asarray([0.0, 1.0, 0.0, 1.0])  # the reverse
    d2 = 1 / np.log2(3)
    assert ips_ndcg(top_first, gains, weights, starts, sizes, 10) == pytest.approx((1 + 4 * d2) / 5)
    assert ips_ndcg(bottom_first, gains, weights, starts, sizes, 10) == pytest.approx((d2 + 4) / 5)
    plain = [np.mean(grouped_ndcg(s, gains, starts, sizes, 10)) for s in (top_first, bottom_first)]
    assert plain[0] == pytest.approx(plain[1])  # blind to which slate was right


def test_ips_ndcg_is_nan_without_any_gain():
    assert np.isnan(ips_ndcg([1.0, 2.0], [0.0, 0.0], [1.0, 1.0], np.asarray([0]), np.asarray([2]), 5))


@pytest.mark.parametrize("with_ties", [False, True])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_grouped_metrics_match_reference_loop(k, with_ties):
    rng = np.random.default_rng(k + 100 * with_ties)
    sizes = rng.integers(1, 12, size=30)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    n = int(sizes.sum())
    scores = rng.integers(0, 4, size=n).astype(float)  # many ties
    scores[rng.random(n) < 0.1] = np.nan  # unscored rows rank last
    gains = (2.0 ** rng.integers(0, 3, size=n) - 1) * (rng.random(n) < 0.5)  # 2**label - 1, some 0
    weights = 1 + 3 * rng.random(n)
    tie = rng.random(n) if with_ties else None
    ties = None if tie is None else tie.tolist()
    ref = ref_grouped(scores.tolist(), gains.tolist(), starts.tolist(), sizes.tolist(), k, ties)
    dcg, idcg = grouped_dcg(scores, gains, starts, sizes, k, tie_break=tie)
    assert dcg == pytest.approx([d for d, _ in ref])
    assert idcg == pytest.approx([i for _, i in ref])
    expected = [d / i if i > 0 else math.nan for d, i in ref]
    per_group = grouped_ndcg(scores, gains, starts, sizes, k, tie_break=tie)
    assert per_group == pytest.approx(expected, nan_ok=True)
    w_ref = ref_grouped(scores.tolist(), (gains * weights).tolist(), starts.tolist(), sizes.tolist(), k, ties)
    expected_ips = sum(d for d, _ in w_ref) / sum(i for _, i in w_ref)
    assert ips_ndcg(scores, gains, weights, starts, sizes, k, tie_break=tie) == pytest.approx(expected_ips)


def test_graded_ndcg_checks_its_inputs():
    with pytest.raises(LookbookError, match="ideal: expected 2 rows"):
        graded_ndcg([[1.0], [1.0]], [[1.0]], k=1)
    with pytest.raises(LookbookError, match="gains: expected finite"):
        graded_ndcg([[np.nan]], [[1.0]], k=1)
    with pytest.raises(LookbookError, match="k: expected"):
        dcg_at_k([[1.0]], k=0)


# --------------------------------------------------------------------------------------------------
# Average precision (detection)
# --------------------------------------------------------------------------------------------------


def test_average_precision_all_point_interpolation() -> None:
    # TP, FP, TP over 2 truths: precision envelope 1.0 up to recall 0.5, 2/3 up to 1.0
    assert average_precision([1, 0, 1], 2) == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert average_precision([], 3) == 0.0
    assert np.isnan(average_precision([1], 0))


def test_average_precision_matches_reference_loop():
    rng = np.random.default_rng(5)
    for _ in range(50):
        tp = (rng.random(rng.integers(1, 30)) < 0.5).astype(int)
        n_truth = int(tp.sum()) + int(rng.integers(0, 4))
        if n_truth == 0:
            continue
        assert average_precision(tp, n_truth) == pytest.approx(ref_average_precision(tp.tolist(), n_truth))


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
