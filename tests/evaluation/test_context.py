"""Context popularity against plain popularity for cold users, scored on a small world's truth."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
from lookbook.datasets.synthetic.oracle import Oracle
from lookbook.datasets.world import load_world, save_world
from lookbook.errors import LookbookError
from lookbook.evaluation.context import (
    _per_user_ndcg,
    evaluate_context_popularity,
    event_contexts,
    format_context,
)
from lookbook.metrics import ndcg_at_k


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("context") / "world"
    cfg = WorldConfig(
        n_items=300, n_users=200, seed=5, n_photos=0, n_sets=0, events_per_user=60, image_size=64
    )
    make_synthetic_world(cfg, out, show_progress=False, workers=1)
    return out


@pytest.fixture(scope="module")
def taste_region_world(world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same world with each event's region replaced by its user's dominant true style: a
    context that really says something about taste (the generator draws regions at random)."""
    out = tmp_path_factory.mktemp("context") / "taste-region"
    shutil.copytree(world_dir, out, ignore=shutil.ignore_patterns("images"))
    world = load_world(out)
    oracle = Oracle.load(out)
    style = np.argmax(oracle.users.style_end, axis=1)
    rows = oracle.user_ids.lookup(world.events.column("user_id").to_pylist())
    region = pa.array([f"style{s}" for s in style[rows].tolist()], pa.string())
    events = world.events.set_column(world.events.column_names.index("region"), "region", region)
    world.events = events
    save_world(world, out)
    return out


def test_the_report_compares_each_context_with_plain_popularity(world_dir: Path) -> None:
    result = evaluate_context_popularity(world_dir, k=20, seed=1)
    active = len(set(load_world(world_dir).events.column("user_id").to_pylist()))
    assert result["k"] == 20 and result["n_cold_users"] == round(0.2 * active)
    assert set(result["contexts"]) == {"device", "region", "hour", "device+region"}
    for row in [result["plain"], result["popularity_model"], *result["contexts"].values()]:
        assert 0.0 < row["ndcg"] < 1.0
    for row in result["contexts"].values():
        assert row["delta"] == pytest.approx(row["ndcg"] - result["plain"]["ndcg"], abs=1e-9)
        assert row["delta_se"] >= 0.0 and row["values"] >= 2
        assert row["helps"] == (row["delta"] > 2 * row["delta_se"])
    assert result["best"] == "plain" or result["contexts"][result["best"]]["helps"]
    text = format_context(result)
    assert "plain popularity" in text and "context device+region" in text


def test_the_same_seed_gives_the_same_report(world_dir: Path) -> None:
    a = evaluate_context_popularity(world_dir, contexts=("region",), seed=3)
    b = evaluate_context_popularity(world_dir, contexts=("region",), seed=3)
    assert a == b


def test_an_infinite_prior_is_plain_popularity(world_dir: Path) -> None:
    result = evaluate_context_popularity(world_dir, contexts=("device", "region"), prior=1e12)
    for row in result["contexts"].values():
        assert row["ndcg"] == pytest.approx(result["plain"]["ndcg"], abs=1e-12)
        assert not row["helps"]


def test_a_context_that_tells_taste_is_found_to_help(world_dir: Path, taste_region_world: Path) -> None:
    random_region = evaluate_context_popularity(world_dir, contexts=("region",), prior=5.0)
    told = evaluate_context_popularity(taste_region_world, contexts=("region",), prior=5.0)
    assert told["plain"]["ndcg"] == pytest.approx(random_region["plain"]["ndcg"])  # same events, same truth
    assert told["contexts"]["region"]["helps"] and told["best"] == "region"
    assert told["contexts"]["region"]["delta"] > random_region["contexts"]["region"]["delta"]


def test_event_contexts_reads_columns_parts_of_the_day_and_combinations() -> None:
    ts = pa.array([0, 7 * 3600, 13 * 3600, 23 * 3600], pa.timestamp("s", tz="UTC"))
    events = pa.table(
        {"timestamp": ts, "device": ["app", None, "web", "app"], "region": ["n", "s", "s", None]}
    )
    assert event_contexts(events, "hour").tolist() == ["night", "morning", "afternoon", "evening"]
    assert event_contexts(events, "device").tolist() == ["app", "", "web", "app"]
    assert event_contexts(events, "device+region").tolist() == ["app|n", "|s", "web|s", "app|"]
    with pytest.raises(LookbookError, match="contexts"):
        event_contexts(events, "weather")


def test_per_user_ndcg_averages_to_the_metric() -> None:
    rng = np.random.default_rng(0)
    ranked = np.stack([rng.permutation(50)[:10] for _ in range(30)])
    ideal = np.stack([rng.permutation(50)[:10] for _ in range(30)])
    ideal[3, 4:] = -1  # a user with fewer true items than k
    rows = _per_user_ndcg(ranked, ideal, 10)
    assert rows.shape == (30,)
    assert rows.mean() == pytest.approx(ndcg_at_k(ranked, ideal, 10))


def test_bad_arguments_name_themselves(world_dir: Path) -> None:
    with pytest.raises(LookbookError, match="cold_fraction"):
        evaluate_context_popularity(world_dir, cold_fraction=1.0)
    with pytest.raises(LookbookError, match="k: expected"):
        evaluate_context_popularity(world_dir, k=0)
