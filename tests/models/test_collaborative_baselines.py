"""Popularity, ALS and EASE: the protocol, the closed forms, and that structure beats popularity."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import LookbookError, NotFittedError
from lookbook.evaluation.collaborative import evaluate_models
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.baselines import (
    ALSConfig,
    ALSRecommender,
    EASEConfig,
    EASERecommender,
    PopularityRecommender,
)
from lookbook.models.collaborative.data import EventWeights, InteractionData
from lookbook.models.collaborative.loading import interactions_from_arrays, temporal_split
from lookbook.models.collaborative.tuning import TunedALS, TunedEASE, tune, tuned_als


def planted_log(
    n_users: int = 300, n_items: int = 120, n_groups: int = 4, per_user: int = 20, seed: int = 0
) -> InteractionData:
    """Users in ``n_groups`` taste groups: 80% of a user's events are items of their group (skewed
    towards a few of them), 20% are globally popular items. Popularity only knows the second part."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), per_user)
    group = users % n_groups
    own = rng.random(users.size) < 0.8
    within = np.minimum(rng.zipf(1.3, users.size) - 1, n_items // n_groups - 1)
    popular = np.minimum(rng.zipf(1.5, users.size) - 1, n_items - 1)
    item = np.where(own, within * n_groups + group, popular)
    return interactions_from_arrays(
        np.char.add("u", users.astype(str)),
        np.char.add("i", item.astype(str)),
        rng.integers(0, 10_000, users.size),
        None,
        EventWeights(half_life_days=None),
        np.char.add("i", np.arange(n_items).astype(str)),
    )


@pytest.fixture(scope="module")
def split() -> tuple[InteractionData, InteractionData]:
    return temporal_split(planted_log(), 0.2)


def test_every_baseline_is_a_recommender_and_refuses_to_score_unfitted() -> None:
    for model in (PopularityRecommender(), ALSRecommender(), EASERecommender(), TunedALS(), TunedEASE()):
        assert isinstance(model, Recommender)
        with pytest.raises(NotFittedError):
            model.score(np.array([0]))


def test_popularity_scores_are_the_summed_positive_weights() -> None:
    data = interactions_from_arrays(
        ["a", "a", "b", "b", "c"],
        ["x", "y", "y", "y", "x"],
        [0, 1, 2, 3, 4],
        ["purchase", "click", "click", "return", "view"],
        EventWeights(half_life_days=None),
    )
    scores = PopularityRecommender().fit(data).score(np.array([0, 2]))
    # x: purchase 5 + view 0.25; y: click 1 (a) + click-then-return floored to 0 (b)
    np.testing.assert_allclose(scores, [[5.25, 1.0], [5.25, 1.0]])
    assert scores.dtype == np.float32


def test_ease_matches_its_closed_form_and_guards_the_catalog_size(split) -> None:
    train, _ = split
    model = EASERecommender(EASEConfig(l2=30.0)).fit(train)
    x = (train.matrix().toarray() > 0).astype(np.float64)
    p = np.linalg.inv(x.T @ x + 30.0 * np.eye(train.n_items))
    b = np.eye(train.n_items) - p / np.diag(p)[None, :]
    np.testing.assert_allclose(model.item_weights, b, atol=1e-5)
    assert np.all(np.diag(model.item_weights) == 0)
    np.testing.assert_allclose(model.score(np.array([3, 7])), x[[3, 7]] @ b, atol=1e-4)
    with pytest.raises(LookbookError, match="max_items"):
        EASERecommender(EASEConfig(max_items=50)).fit(train)


def test_als_exposes_float32_factors_that_give_its_scores(split) -> None:
    train, _ = split
    model = ALSRecommender(ALSConfig(factors=8, iterations=3)).fit(train)
    assert model.user_factors.shape == (train.n_users, 8) and model.user_factors.dtype == np.float32
    assert model.item_factors.shape == (train.n_items, 8) and model.item_factors.dtype == np.float32
    users = np.array([0, 5])
    np.testing.assert_allclose(model.score(users), model.user_factors[users] @ model.item_factors.T)


def test_als_and_ease_beat_popularity_on_planted_taste_groups(split) -> None:
    train, test = split
    models = {
        "popularity": PopularityRecommender(),
        "als": ALSRecommender(ALSConfig(factors=16, iterations=10)),
        "ease": EASERecommender(EASEConfig(l2=50.0)),
    }
    result = evaluate_models(models, train, test, k=10)["models"]
    pop = result["popularity"]
    for name in ("als", "ease"):
        assert result[name]["recall"] > 1.2 * pop["recall"], result
        assert result[name]["ndcg"] > 1.2 * pop["ndcg"], result
        assert result[name]["coverage"] > pop["coverage"]
        assert result[name]["popularity_percentile"] < pop["popularity_percentile"]


def test_tune_returns_the_best_config_and_a_row_per_config(split) -> None:
    train, _ = split
    fit_part, valid = temporal_split(train, 0.2)
    configs = [EASEConfig(l2=l2) for l2 in (5.0, 50.0, 5000.0)]
    best, table = tune(EASERecommender, configs, fit_part, valid, k=10)
    assert [row["l2"] for row in table] == [5.0, 50.0, 5000.0]
    assert set(table[0]) >= {"recall", "ndcg", "fit_s"}
    chosen = next(row for row in table if row["l2"] == best.l2)
    assert chosen["ndcg"] == max(row["ndcg"] for row in table)


def test_tuned_als_searches_a_deterministic_subgrid_and_refits_on_all_training_events(split) -> None:
    train, _ = split
    model = tuned_als(train, max_configs=3, iterations=3)
    again = tuned_als(train, max_configs=3, iterations=3)
    table = model.tuning["table"]
    assert len(table) == 3 and [r["factors"] for r in table] == [r["factors"] for r in again.tuning["table"]]
    assert model.user_factors.shape[0] == train.n_users
    chosen = {k: model.config.__dict__[k] for k in ("factors", "regularization", "alpha")}
    assert chosen in [{k: r[k] for k in chosen} for r in table]
