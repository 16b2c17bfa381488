"""The experiment building blocks: the split, interleaving credit, the bandit and its state, sizes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lookbook.errors import LookbookError
from lookbook.experiments.assignment import assign_arms, split_point
from lookbook.experiments.bandit import BanditState, EpsilonGreedy, ThompsonBandit
from lookbook.experiments.interleaving import TEAM_A, TEAM_B, credit, team_draft, verdict
from lookbook.experiments.power import users_per_arm

USERS = [f"u{i:05d}" for i in range(20_000)]


def test_the_split_is_sticky_follows_the_weights_and_differs_between_experiments() -> None:
    arms = assign_arms("alpha-test", USERS, [0.8, 0.2])
    assert np.array_equal(arms, assign_arms("alpha-test", USERS, [4, 1]))  # shares, not counts
    assert abs((arms == 1).mean() - 0.2) < 0.01
    other = assign_arms("exact-vs-hnsw", USERS, [0.5, 0.5])
    # independent: the share of arm 1 of one experiment inside arm 1 of the other is its own share
    assert abs(other[arms == 1].mean() - 0.5) < 0.03
    # stable across processes (no salted hash())
    code = (
        "from lookbook.experiments.assignment import split_point; print(split_point('alpha-test', 'u00042'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"})  # fmt: skip
    assert float(out.stdout) == split_point("alpha-test", "u00042")


@pytest.mark.parametrize("weights", [[], [1, -1], [0, 0], [float("nan"), 1]])
def test_bad_weights_are_named(weights) -> None:
    with pytest.raises(LookbookError, match="weights"):
        assign_arms("x", USERS[:3], weights)


def test_team_draft_alternates_fairly_and_credits_each_click_to_its_team() -> None:
    rng = np.random.default_rng(0)
    a = ["i1", "i2", "i3", "i4", "i5"]
    b = ["i2", "i6", "i1", "i7", "i8"]
    items, teams = team_draft(a, b, 6, rng)
    assert len(items) == len(set(items)) == 6
    assert abs(int((teams == TEAM_A).sum()) - int((teams == TEAM_B).sum())) <= 1
    for item, team in zip(items, teams, strict=True):  # each team's items come in its own order
        assert item in (a if team == TEAM_A else b)
    clicked = np.zeros(6, bool)
    clicked[[0, 1]] = True
    assert sum(credit(teams, clicked)) == 2
    assert credit(teams, clicked) == (int((teams[:2] == TEAM_A).sum()), int((teams[:2] == TEAM_B).sum()))
    # a short ranking: the other team fills the slate
    items, teams = team_draft(["x"], ["y", "z", "w"], 4, rng)
    assert sorted(items) == ["w", "x", "y", "z"]


def test_interleaving_finds_the_ranker_with_the_relevant_items_first() -> None:
    rng = np.random.default_rng(1)
    relevant = {f"r{i}" for i in range(5)}
    good = [f"r{i}" for i in range(5)] + [f"n{i}" for i in range(5)]
    bad = [f"n{i}" for i in range(5)] + [f"r{i}" for i in range(5)]
    a_clicks, b_clicks = [], []
    for _ in range(60):  # users, one slate each, position-biased clicks on relevant items
        items, teams = team_draft(bad, good, 10, rng)
        seen = rng.random(10) < 0.9 ** np.arange(10)
        clicked = seen & np.array([i in relevant for i in items]) & (rng.random(10) < 0.5)
        a, b = credit(teams, clicked)
        a_clicks.append(a)
        b_clicks.append(b)
    winner, p, wins_a, wins_b = verdict(a_clicks, b_clicks)
    assert winner == "b" and p < 0.01 and wins_b > wins_a
    assert verdict([1, 0], [1, 0]) == (None, 1.0, 0, 0)


def test_thompson_sampling_finds_the_best_alpha_with_less_regret_than_epsilon_greedy() -> None:
    grid = [0.0, 0.25, 0.5, 0.75, 1.0]
    truth = np.array([0.05, 0.08, 0.11, 0.09, 0.06])  # the best alpha is 0.5

    def run(bandit) -> float:
        rng = np.random.default_rng(7)
        regret = 0.0
        for _ in range(300):  # batches of 20 requests, as a server updates from its logs
            arms = bandit.choose("returning", rng, size=20)
            bandit.update("returning", arms, rng.random(20) < truth[arms])
            regret += float((truth.max() - truth[arms]).sum())
        return regret

    thompson, greedy = ThompsonBandit("alpha", grid), EpsilonGreedy("alpha", grid, epsilon=0.2)
    assert run(thompson) < run(greedy)
    assert thompson.best("returning") == 0.5
    assert thompson.best("new") in grid  # a segment with no data: the prior, no error
    assert thompson.state.history[-1] == (299, "returning", 0.5)


def test_the_bandit_state_survives_a_restart_and_a_write_killed_halfway(tmp_path: Path) -> None:
    path = tmp_path / "bandit.json"
    bandit = ThompsonBandit("alpha", [0.0, 0.5, 1.0])
    bandit.update("new", [1, 1, 2], [1, 0, 0])
    bandit.state.save(path)
    again = ThompsonBandit("alpha", [0.0, 0.5, 1.0], state=BanditState.load(path))
    assert again.state.counts("new")[0].tolist() == [0.0, 1.0, 0.0]
    assert again.state.counts("new")[1].tolist() == [0.0, 2.0, 1.0]
    # a process killed inside save(): the previous file is intact
    script = textwrap.dedent(f"""
        import os, json
        from pathlib import Path
        from lookbook.experiments.bandit import BanditState
        state = BanditState.load(Path({str(path)!r}))
        state.successes["new"] = [9.0, 9.0, 9.0]
        real_fsync = os.fsync
        def die(fd):
            os._exit(9)
        os.fsync = die
        state.save(Path({str(path)!r}))
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False)
    assert done.returncode == 9
    assert BanditState.load(path).successes["new"] == [0.0, 1.0, 0.0]
    with pytest.raises(LookbookError, match="start a new experiment"):
        ThompsonBandit("alpha", [0.0, 1.0], state=BanditState.load(path))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(LookbookError, match=r"broken\.json"):
        BanditState.load(tmp_path / "broken.json")


def test_sample_size_matches_the_textbook_and_grows_as_the_lift_shrinks() -> None:
    # 5 % baseline, +10 % relative, alpha 0.05, power 0.8: ~31,200 per arm (standard calculators)
    n = users_per_arm(0.05, 0.10)
    assert 31_000 <= n <= 31_500
    assert users_per_arm(0.05, 0.05) > 3.5 * n
    with pytest.raises(LookbookError, match="baseline_rate"):
        users_per_arm(0.0, 0.1)
    with pytest.raises(LookbookError, match="lift"):
        users_per_arm(0.5, 1.5)
