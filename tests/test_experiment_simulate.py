"""Experiments against a small world's hidden shoppers, on a real built project (slow lane)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lookbook.errors import LookbookError
from lookbook.experiments.simulate import parse_arm, parse_grid, run_experiment
from lookbook.experiments.simulator import arm_config
from lookbook.touchpoints.config import TouchpointConfig

ARMS = [("personal", {"alpha": "0"}), ("anchored", {"alpha": "1"})]


def _store_counts(project: Path) -> dict[str, int]:
    from lookbook.store import open_store

    with open_store(project, create=False, read_only=True) as store:
        return store.counts()


def test_an_ab_test_and_interleaving_report_the_contract_beside_the_truth(built_project: Path) -> None:
    world = built_project.parent / "world"
    before = _store_counts(built_project)
    ab = run_experiment(world=world, project=built_project, design="ab", touchpoint="home", arms=ARMS,
                        users=40, days=1, seed=3)  # fmt: skip
    assert _store_counts(built_project) == before  # the simulation wrote to a private copy
    truth = ab["truth"]
    assert set(truth["arms"]) == {"personal", "anchored"} and truth["winner"] in truth["arms"]
    for t in truth["arms"].values():
        assert 0.0 <= t["true_ndcg20"] <= 1.0 and 0.0 < t["true_click_rate"] < 1.0
    arms = ab["arms"]
    assert sum(a["users"] for a in arms.values()) == 40
    for a in arms.values():
        assert a["impressions"] > 0 and 0.0 <= a["purchase_rate"] <= a["ctr"] <= 1.0
        lo, hi = a["ctr_ci95"]
        assert lo <= a["ctr"] <= hi
    assert 0.0 <= ab["p_value"] <= 1.0
    assert ab["winner"] in (None, "personal", "anchored")
    if ab["winner"] is None:
        assert ab["users_to_verdict"] is None
    else:
        assert 2 <= ab["users_to_verdict"] <= 40

    inter = run_experiment(world=world, project=built_project, design="interleave", touchpoint="home",
                           arms=ARMS, users=40, days=1, seed=3)  # fmt: skip
    assert inter["design"] == "interleave" and 0.0 <= inter["p_value"] <= 1.0
    assert inter["truth"]["winner"] == truth["winner"]  # the truth does not depend on the design
    assert set(inter) >= {"winner", "p_value", "users_to_verdict", "truth", "users", "days", "touchpoint"}


def test_a_bandit_learns_a_grid_value_and_is_compared_with_epsilon_greedy(built_project: Path) -> None:
    world = built_project.parent / "world"
    out = run_experiment(world=world, project=built_project, design="bandit", touchpoint="home",
                         grid=("alpha", [0.0, 0.5, 1.0]), users=24, days=2, seed=1)  # fmt: skip
    assert out["alpha_learned"] in (0.0, 0.5, 1.0) and out["alpha_best_fixed"] in (0.0, 0.5, 1.0)
    assert out["regret"] >= 0.0 and out["regret_epsilon_greedy"] >= 0.0
    assert set(out["truth"]["arms"]) == {"alpha=0", "alpha=0.5", "alpha=1"}


def test_arms_and_grids_are_parsed_and_bad_ones_named() -> None:
    assert parse_arm("fast:exact=false,alpha=0.3") == ("fast", {"exact": "false", "alpha": "0.3"})
    assert parse_grid("alpha=0,0.5,1") == ("alpha", [0.0, 0.5, 1.0])
    with pytest.raises(LookbookError, match="--arms"):
        parse_arm("alpha=0.3")
    with pytest.raises(LookbookError, match="--grid"):
        parse_grid("alpha=0")
    config = arm_config(TouchpointConfig(), "home", {"alpha": "0.6", "exact": "true", "mmr_lambda": 0.5})
    assert config.home.for_you.alpha == 0.6 and config.home.exact is True
    assert config.home.for_you.diversity.mmr_lambda == 0.5
    assert arm_config(TouchpointConfig(), "similar", {"beta": 0.1}).similar.beta == 0.1
    with pytest.raises(LookbookError, match="beta"):
        arm_config(TouchpointConfig(), "home", {"beta": 0.1})


def test_experiment_size_prints_users_per_arm() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lookbook", "experiment", "size", "--baseline-rate", "0.05", "--lift", "0.1",
         "--json"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert 31_000 <= json.loads(out.stdout)["users_per_arm"] <= 31_500
