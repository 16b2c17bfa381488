"""The compatibility harness: perfect and random scorers land where they must, colour dominance reads
1.0 for the truth and more for a monochrome scorer, and the vectorised scoring agrees with loops."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch, LookbookError
from lookbook.evaluation.compatibility import (
    CosineScorer,
    PairScorer,
    RandomScorer,
    SameColourScorer,
    colour_codes,
    compare,
    evaluate_scorer,
    fitb_scores,
    format_table,
    set_scores,
    top_k_partners,
)
from lookbook.evaluation.protocols import FitbQuestions, fitb_questions, swapped_sets


class MatrixScorer:
    """Scores pairs by looking them up in a dense (n_items, n_items) truth matrix."""

    def __init__(self, matrix):
        self.matrix = np.asarray(matrix, dtype=np.float64)

    def __call__(self, a_rows, b_rows):
        return self.matrix[a_rows, b_rows]


@pytest.fixture(scope="module")
def outfits():
    """Toy truth: 1,000 outfits, each one item of each of 4 slots; items go together only within
    their own outfit. Every outfit is its own style, so a wrong answer can never also be right."""
    n_outfits, n_slots = 1000, 4
    slots = np.tile(np.arange(n_slots), n_outfits)
    outfit = np.repeat(np.arange(n_outfits), n_slots)
    sets = [np.flatnonzero(outfit == o) for o in range(n_outfits)]
    truth = MatrixScorer((outfit[:, None] == outfit[None, :]).astype(float))
    return slots, sets, truth


@pytest.fixture(scope="module")
def tasks(outfits):
    slots, sets, _ = outfits
    questions = fitb_questions(sets, slots, n_choices=4, seed=0)
    auc_sets, auc_labels = swapped_sets(sets, slots, seed=0)
    return questions, auc_sets, auc_labels


def test_baselines_are_pair_scorers():
    for scorer in (RandomScorer(0), SameColourScorer([0, 1]), CosineScorer(np.eye(2))):
        assert isinstance(scorer, PairScorer)


def test_perfect_scorer_gets_fitb_and_auc_of_one(outfits, tasks):
    slots, _, truth = outfits
    questions, auc_sets, auc_labels = tasks
    result = evaluate_scorer(
        truth, questions, auc_sets, auc_labels, colours=None, slots=slots, anchors=None, truly_compatible=None
    )
    assert result == {"fitb": 1.0, "auc": 1.0, "colour_dominance": None}


def test_random_scorer_gets_chance(outfits, tasks):
    slots, _, _ = outfits
    questions, auc_sets, auc_labels = tasks
    result = evaluate_scorer(
        RandomScorer(seed=0),
        questions,
        auc_sets,
        auc_labels,
        colours=None,
        slots=slots,
        anchors=None,
        truly_compatible=None,
    )
    assert result["fitb"] == pytest.approx(0.25, abs=0.05)
    assert result["auc"] == pytest.approx(0.5, abs=0.05)


def test_random_scorer_is_a_deterministic_symmetric_hash():
    scorer = RandomScorer(seed=3)
    a, b = np.array([0, 5, 7, 7]), np.array([1, 2, 9, 9])
    first = scorer(a, b)
    assert np.array_equal(first, scorer(a, b))
    assert np.array_equal(first, scorer(b, a))
    assert first[2] == first[3]
    assert ((first >= 0) & (first < 1)).all()
    assert not np.array_equal(first, RandomScorer(seed=4)(a, b))


def test_same_colour_scorer_prefers_same_colour_and_breaks_ties():
    scorer = SameColourScorer([0, 0, 1, -1, -1])
    s = scorer(np.array([0, 0, 3, 1]), np.array([1, 2, 4, 1]))
    assert s[0] > 1.0 > s[1] and s[2] < 1.0  # unknown colours never match
    assert np.unique(s).size == s.size


def test_cosine_scorer_hand_example():
    scorer = CosineScorer([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])
    s = scorer(np.array([0, 0, 1, 3]), np.array([1, 2, 2, 0]))
    assert s == pytest.approx([1 / np.sqrt(2), 0.0, 1 / np.sqrt(2), 0.0])


def test_set_scores_hand_example_with_mixed_sizes():
    add = MatrixScorer(np.add.outer(np.arange(6), np.arange(6)))  # score of (a, b) = a + b
    # {0,1,2}: (0+1 + 0+2 + 1+2) / 3 = 2 ; {3,4}: 7 ; {0,5}: 5
    assert set_scores(add, [np.array([0, 1, 2]), np.array([3, 4]), np.array([0, 5])]) == pytest.approx(
        [2.0, 7.0, 5.0]
    )


def test_set_scores_and_fitb_scores_match_reference_loops():
    rng = np.random.default_rng(0)
    scorer = MatrixScorer(rng.random((40, 40)))
    sets = [rng.choice(40, size=rng.integers(2, 7), replace=False) for _ in range(30)]
    expected = [
        np.mean([scorer.matrix[s[i], s[j]] for i in range(len(s)) for j in range(i + 1, len(s))])
        for s in sets
    ]
    assert set_scores(scorer, sets) == pytest.approx(expected)

    contexts = [rng.choice(40, size=rng.integers(1, 5), replace=False) for _ in range(20)]
    candidates = rng.integers(0, 40, size=(20, 4))
    questions = FitbQuestions.from_lists(contexts, candidates, answer_index=np.zeros(20, dtype=int))
    expected = [
        [np.mean([scorer.matrix[c, cand] for c in ctx]) for cand in row]
        for ctx, row in zip(contexts, candidates, strict=True)
    ]
    assert fitb_scores(scorer, questions) == pytest.approx(np.array(expected))


def test_top_k_partners_matches_reference_loop_and_excludes_own_slot():
    rng = np.random.default_rng(1)
    n = 50
    slots = rng.integers(0, 3, size=n)
    scorer = MatrixScorer(rng.random((n, n)))
    anchors = np.array([0, 7, 21])
    top = top_k_partners(scorer, anchors, slots, k=5)
    for a, row in zip(anchors, top, strict=True):
        others = [i for i in range(n) if slots[i] != slots[a]]
        expected = sorted(others, key=lambda i: -scorer.matrix[a, i])[:5]
        assert row.tolist() == expected


def test_top_k_partners_pads_when_other_slots_are_small():
    slots = np.array([0, 0, 0, 1])
    top = top_k_partners(RandomScorer(0), np.array([0]), slots, k=3)
    assert top.tolist() == [[3, -1, -1]]


# --------------------------------------------------------------------------------------------------
# Colour dominance through the harness
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def colour_world():
    """120 items in 3 slots and 4 colours (10 items of each colour per slot). The truth prefers
    *different* colours (a bonus of 0.1 for a contrast, on top of noise), so truly compatible items
    are mostly other colours."""
    rng = np.random.default_rng(5)
    n = 120
    slots = np.arange(n) % 3
    colours = (np.arange(n) // 3) % 4
    noise = rng.random((n, n))
    truth = (noise + noise.T) / 2 + 0.1 * (colours[:, None] != colours[None, :])
    anchors = np.arange(0, n, 2)
    scorer = MatrixScorer(truth)
    truly = [top_k_partners(scorer, np.array([a]), slots, k=10)[0] for a in anchors]
    return slots, colours, scorer, anchors, truly


def test_colour_dominance_is_one_for_a_scorer_that_ranks_by_the_truth(colour_world):
    slots, colours, truth, anchors, truly = colour_world
    result = evaluate_scorer(
        truth, None, None, None, colours=colours, slots=slots, anchors=anchors, truly_compatible=truly, k=10
    )
    assert result["colour_dominance"] == pytest.approx(1.0)


def test_colour_dominance_is_above_one_for_the_same_colour_scorer(colour_world):
    slots, colours, _, anchors, truly = colour_world
    result = evaluate_scorer(
        SameColourScorer(colours),
        None,
        None,
        None,
        colours=colours,
        slots=slots,
        anchors=anchors,
        truly_compatible=truly,
        k=10,
    )
    # each anchor's 10 partners all share its colour (there are 20 such items in other slots),
    # while the truth's share is small: the ratio is its inverse
    true_share = np.mean([np.mean(colours[t] == colours[a]) for a, t in zip(anchors, truly, strict=True)])
    assert true_share < 0.25
    assert result["colour_dominance"] == pytest.approx(1.0 / true_share)
    assert result["colour_dominance"] > 1.0


def test_colour_dominance_is_none_without_colours(colour_world):
    slots, _, truth, anchors, truly = colour_world
    unknown = np.full(slots.size, -1)
    for colours in (None, unknown):
        result = evaluate_scorer(
            truth, None, None, None, colours=colours, slots=slots, anchors=anchors, truly_compatible=truly
        )
        assert result["colour_dominance"] is None


def test_colour_codes_marks_missing_as_unknown():
    assert colour_codes(["red", "", None, "blue", "red", float("nan")]).tolist() == [1, -1, -1, 0, 1, -1]


# --------------------------------------------------------------------------------------------------
# compare and the table
# --------------------------------------------------------------------------------------------------


def test_compare_returns_the_cli_json_shape_and_a_table(outfits, tasks):
    slots, sets, truth = outfits
    questions, auc_sets, auc_labels = tasks
    colours = (np.arange(slots.size) // 4) % 5  # an outfit is one colour: the truth is monochrome
    anchors = np.arange(0, 200, 7)
    truly = [np.delete(sets[a // 4], a % 4) for a in anchors]
    result = compare(
        {"random": RandomScorer(0), "truth": truth},
        questions,
        auc_sets,
        auc_labels,
        colours=colours,
        slots=slots,
        anchors=anchors,
        truly_compatible=truly,
        k=3,
        show_progress=False,
    )
    assert list(result) == ["models"]
    assert list(result["models"]) == ["random", "truth"]
    assert set(result["models"]["truth"]) == {"fitb", "auc", "colour_dominance"}
    assert result["models"]["truth"]["colour_dominance"] == pytest.approx(1.0)
    json.dumps(result)  # plain floats and None
    table = format_table({"dataset": "toy", **result})
    lines = table.splitlines()
    assert lines[0] == "dataset: toy"
    assert "FITB" in lines[1] and "AUC" in lines[1]
    assert lines[3].split() == [
        "random",
        *(f"{result['models']['random'][m]:.3f}" for m in ("fitb", "auc")),
        f"{result['models']['random']['colour_dominance']:.2f}",
    ]
    assert lines[4].split()[:3] == ["truth", "1.000", "1.000"]


def test_format_table_shows_missing_numbers_as_na():
    table = format_table({"models": {"content_cosine": {"fitb": 0.5, "auc": None, "colour_dominance": None}}})
    assert table.splitlines()[2].split() == ["content_cosine", "0.500", "n/a", "n/a"]


def test_harness_names_bad_inputs(outfits, tasks):
    slots, _, truth = outfits
    questions, auc_sets, auc_labels = tasks
    with pytest.raises(LookbookError, match="auc_labels"):
        evaluate_scorer(
            truth,
            None,
            auc_sets,
            auc_labels[:-1],
            colours=None,
            slots=slots,
            anchors=None,
            truly_compatible=None,
        )
    with pytest.raises(LookbookError, match="truly_compatible"):
        evaluate_scorer(
            truth,
            None,
            None,
            None,
            colours=None,
            slots=slots,
            anchors=np.array([0, 1]),
            truly_compatible=[np.array([2])],
        )
    with pytest.raises(DimensionMismatch, match="scorer"):
        evaluate_scorer(
            lambda a, b: np.zeros(3),
            questions,
            None,
            None,
            colours=None,
            slots=slots,
            anchors=None,
            truly_compatible=None,
        )
    with pytest.raises(LookbookError, match="scorers"):
        compare({}, questions, None, None, colours=None, slots=slots, anchors=None, truly_compatible=None)
