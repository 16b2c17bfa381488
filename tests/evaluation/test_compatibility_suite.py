"""The compatibility suite asks several rounds of questions, each a faithful view of a held-out set."""

from __future__ import annotations

import numpy as np

from lookbook.evaluation.compatibility_suite import SuiteConfig, _ask


def test_rounds_multiply_the_questions_and_each_question_comes_from_its_set() -> None:
    slots = np.repeat(np.arange(3), 20)
    rng = np.random.default_rng(0)
    test = [
        np.array([rng.integers(0, 20), 20 + rng.integers(0, 20), 40 + rng.integers(0, 20)]) for _ in range(15)
    ]
    questions, auc_sets, labels = _ask(test, slots, SuiteConfig(rounds=3))
    assert len(questions) == 45
    assert len(auc_sets) == labels.size == 90 and labels.sum() == 45
    for i in range(len(questions)):
        source = test[questions.set_index[i]]
        answer = questions.candidates[i, questions.answer_index[i]]
        assert sorted([*questions.question(i).tolist(), int(answer)]) == sorted(source.tolist())
        wrong = np.delete(questions.candidates[i], questions.answer_index[i])
        assert (slots[wrong] == slots[answer]).all() and not np.isin(wrong, source).any()
    # the rounds differ (fresh blanks or decoys), so the questions are not three copies
    first, second = questions.candidates[:15], questions.candidates[15:30]
    assert not np.array_equal(first, second)
