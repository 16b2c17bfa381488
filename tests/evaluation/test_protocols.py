"""Seeded protocols: deterministic for a seed, and never use an item of the set as a wrong answer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lookbook.errors import LookbookError, NotFound
from lookbook.evaluation.protocols import (
    FitbQuestions,
    co_set_items,
    compatibility_from_table,
    fitb_from_table,
    fitb_questions,
    split_sets,
    swapped_sets,
)
from lookbook.schema import IdMap


@pytest.fixture()
def catalog():
    """60 items in 4 slots (15 each); 40 random sets of 2-5 items of distinct slots."""
    rng = np.random.default_rng(0)
    slots = np.array(["top", "bottom", "shoes", "bag"])[np.arange(60) % 4]
    sets = []
    for _ in range(40):
        size = int(rng.integers(2, 5))
        chosen_slots = rng.choice(4, size=size, replace=False)
        sets.append(np.array([4 * int(rng.integers(0, 15)) + s for s in chosen_slots], dtype=np.int64))
    return slots, sets


def same_questions(a: FitbQuestions, b: FitbQuestions) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)


# --------------------------------------------------------------------------------------------------
# split_sets
# --------------------------------------------------------------------------------------------------


def test_split_sets_is_a_seeded_partition():
    ids = [f"s{i}" for i in range(50)]
    train, test = split_sets(ids, test_fraction=0.2, seed=3)
    assert test.size == 10 and train.size == 40
    assert np.array_equal(np.sort(np.r_[train, test]), np.arange(50))
    again = split_sets(ids, test_fraction=0.2, seed=3)
    assert np.array_equal(again[1], test)
    assert not np.array_equal(split_sets(ids, test_fraction=0.2, seed=4)[1], test)


def test_split_sets_keeps_one_set_on_each_side():
    train, test = split_sets(["a", "b"], test_fraction=0.01)
    assert train.size == 1 and test.size == 1


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1])
def test_split_sets_names_a_bad_fraction(bad):
    with pytest.raises(LookbookError, match="test_fraction"):
        split_sets(["a", "b", "c"], test_fraction=bad)


def test_split_sets_rejects_repeated_ids():
    with pytest.raises(LookbookError, match="set_ids"):
        split_sets(["a", "a", "b"])


# --------------------------------------------------------------------------------------------------
# fitb_questions
# --------------------------------------------------------------------------------------------------


def test_fitb_questions_are_deterministic_for_a_seed(catalog):
    slots, sets = catalog
    a = fitb_questions(sets, slots, n_choices=4, seed=7)
    assert same_questions(a, fitb_questions(sets, slots, n_choices=4, seed=7))
    assert not same_questions(a, fitb_questions(sets, slots, n_choices=4, seed=8))


def test_fitb_questions_structure(catalog):
    slots, sets = catalog
    q = fitb_questions(sets, slots, n_choices=4, seed=1)
    assert len(q) == len(sets)  # every slot has enough items outside any set
    assert q.candidates.shape == (len(sets), 4)
    for i in range(len(q)):
        full = sets[q.set_index[i]]
        blank = q.blank_position[i]
        answer = q.candidates[i, q.answer_index[i]]
        assert answer == full[blank]
        assert np.array_equal(q.question(i), np.delete(full, blank))
        wrong = np.delete(q.candidates[i], q.answer_index[i])
        assert len(set(wrong.tolist())) == 3, "wrong answers are distinct"
        assert not np.isin(wrong, full).any(), "a wrong answer is never an item of the set"
        assert (slots[wrong] == slots[answer]).all(), "wrong answers come from the blank's slot"


def test_fitb_answer_position_is_shuffled(catalog):
    slots, sets = catalog
    q = fitb_questions(sets * 5, slots, n_choices=4, seed=0)
    assert set(np.unique(q.answer_index).tolist()) == {0, 1, 2, 3}


def test_fitb_never_uses_set_items_even_when_the_slot_pool_is_tight():
    # slot "a" has exactly 4 items, and the set holds one of them: the 3 wrong answers are forced
    slots = np.array(["a", "a", "a", "a", "b", "b"])
    q = fitb_questions([np.array([0, 4])] * 30, slots, n_choices=4, seed=0)
    for i in range(len(q)):
        if q.blank_position[i] == 0:
            assert sorted(q.candidates[i].tolist()) == [0, 1, 2, 3]
    # slot "b" has only 1 item outside the set: its position can never be blanked with 3 wrong answers
    assert (q.blank_position == 0).all()


def test_fitb_skips_sets_with_no_blankable_position():
    slots = np.array(["a", "a", "b", "b"])
    q = fitb_questions([np.array([0, 2]), np.array([1, 3])], slots, n_choices=4, seed=0)
    assert len(q) == 0


def test_fitb_rejects_unknown_item_rows(catalog):
    slots, _ = catalog
    with pytest.raises(LookbookError, match=r"sets\[1\]"):
        fitb_questions([np.array([0, 1]), np.array([2, 99])], slots)


# --------------------------------------------------------------------------------------------------
# swapped_sets
# --------------------------------------------------------------------------------------------------


def test_swapped_sets_pairs_each_real_set_with_a_one_item_swap(catalog):
    slots, sets = catalog
    out, labels = swapped_sets(sets, slots, seed=2)
    assert len(out) == 2 * len(sets) and labels.tolist() == [1, 0] * len(sets)
    for i, real in enumerate(sets):
        assert np.array_equal(out[2 * i], real)
        fake = out[2 * i + 1]
        changed = np.flatnonzero(fake != real)
        assert changed.size == 1
        j = changed[0]
        assert fake[j] not in real
        assert slots[fake[j]] == slots[real[j]]


def test_swapped_sets_are_deterministic_for_a_seed(catalog):
    slots, sets = catalog
    a, _ = swapped_sets(sets, slots, seed=5)
    b, _ = swapped_sets(sets, slots, seed=5)
    c, _ = swapped_sets(sets, slots, seed=6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


# --------------------------------------------------------------------------------------------------
# Truth for real data, and a data set's own questions
# --------------------------------------------------------------------------------------------------


def test_co_set_items_hand_example():
    sets = [np.array([0, 1, 2]), np.array([2, 3]), np.array([4, 5])]
    out = co_set_items(sets, np.array([2, 5, 6, 2]), n_items=7)
    assert [o.tolist() for o in out] == [[0, 1, 3], [4], [], [0, 1, 3]]


def test_fitb_and_compatibility_from_tables():
    ids = IdMap(["a", "b", "c", "d", "e"], name="item_id")
    fitb = pa.table(
        {
            "question": [["a", "b"], ["c"]],
            "answers": [["c", "d"], ["e", "a"]],
            "blank_position": [2, 0],
            "answer": ["d", "a"],
            "answer_index": [1, 1],
        }
    )
    q = fitb_from_table(fitb, ids)
    assert q.question(0).tolist() == [0, 1] and q.question(1).tolist() == [2]
    assert q.candidates.tolist() == [[2, 3], [4, 0]]
    assert q.answers.tolist() == [3, 0]
    compat = pa.table({"label": [1, 0], "item_ids": [["a", "b", "c"], ["d", "e"]]})
    sets, labels = compatibility_from_table(compat, ids)
    assert [s.tolist() for s in sets] == [[0, 1, 2], [3, 4]] and labels.tolist() == [1, 0]
    with pytest.raises(NotFound):
        compatibility_from_table(pa.table({"label": [1], "item_ids": [["a", "zz"]]}), ids)


def test_fitb_questions_dataclass_names_the_bad_field():
    with pytest.raises(LookbookError, match="answer_index"):
        FitbQuestions.from_lists([[0, 1]], [[2, 3]], answer_index=[0, 1])
