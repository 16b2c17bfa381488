"""The two-tower model and the Lookbook blend: learning, cold start, fold-in, persistence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch, NotFittedError, SchemaError
from lookbook.evaluation.collaborative import evaluate_models
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.baselines import PopularityRecommender
from lookbook.models.collaborative.data import EventWeights, InteractionData
from lookbook.models.collaborative.hybrid import LookbookConfig, LookbookRecommender, _standardised
from lookbook.models.collaborative.loading import interactions_from_arrays, temporal_split
from lookbook.models.collaborative.two_tower import TwoTowerConfig, TwoTowerRecommender, UserState

N_GROUPS = 4
N_ITEMS = 160
N_COLD = 20  # the last items never appear in events


def content_log(n_users: int = 300, per_user: int = 20, seed: int = 0) -> InteractionData:
    """Users in taste groups; an item's group is visible in its content vector (plus noise).

    85% of a user's events are items of their group, 15% popular items of any group. The last
    ``N_COLD`` items have no events at all: only their content says which group they serve.
    """
    rng = np.random.default_rng(seed)
    item_group = np.arange(N_ITEMS) % N_GROUPS
    warm = N_ITEMS - N_COLD
    users = np.repeat(np.arange(n_users), per_user)
    group = users % N_GROUPS
    own = rng.random(users.size) < 0.85
    within = rng.integers(0, warm // N_GROUPS, users.size) * N_GROUPS + group
    popular = np.minimum(rng.zipf(1.5, users.size) - 1, warm - 1)
    item = np.where(own, within, popular)
    centres = rng.normal(size=(N_GROUPS, 32)).astype(np.float32)
    content = centres[item_group] + 0.3 * rng.normal(size=(N_ITEMS, 32)).astype(np.float32)
    data = interactions_from_arrays(
        np.char.add("u", users.astype(str)),
        np.char.add("i", item.astype(str)),
        rng.integers(0, 10_000, users.size),
        None,
        EventWeights(half_life_days=None),
        np.char.add("i", np.arange(N_ITEMS).astype(str)),
    )
    rows = data.item_ids.lookup(np.char.add("i", np.arange(N_ITEMS).astype(str)))
    features = np.zeros_like(content)
    features[rows] = content
    return dataclasses.replace(data, item_features=features)


# The planted log has no exposure bias (popular items are popular by taste, not by being shown), so
# the log-Q correction, which the demo world needs, only removes signal here.
FAST = TwoTowerConfig(
    epochs=15, batch_size=512, hidden=64, dim=32, uniform_negatives=128, logq_correction=False
)


@pytest.fixture(scope="module")
def data() -> InteractionData:
    return content_log()


@pytest.fixture(scope="module")
def model(data) -> TwoTowerRecommender:
    return TwoTowerRecommender(FAST).fit(data)


def group_of(data: InteractionData, rows) -> np.ndarray:
    return np.char.lstrip(data.item_ids.ids[rows], "i").astype(int) % N_GROUPS


def test_two_tower_is_a_recommender_and_beats_popularity_on_held_out_events(data) -> None:
    assert isinstance(TwoTowerRecommender(), Recommender)
    train, test = temporal_split(data, 0.2)
    result = evaluate_models(
        {"popularity": PopularityRecommender(), "two_tower": TwoTowerRecommender(FAST)}, train, test, k=10
    )["models"]
    assert result["two_tower"]["ndcg"] > 1.3 * result["popularity"]["ndcg"]
    assert result["two_tower"]["coverage"] > result["popularity"]["coverage"]


def test_cold_items_rank_by_content_for_the_users_group(data, model) -> None:
    cold = data.item_ids.lookup(np.char.add("i", np.arange(N_ITEMS - N_COLD, N_ITEMS).astype(str)))
    assert not model.has_events_[cold].any()
    users = np.arange(40)
    user_group = np.char.lstrip(data.user_ids.ids[users], "u").astype(int) % N_GROUPS
    scores = model.score(users)[:, cold]
    best = cold[scores.argmax(axis=1)]
    assert (group_of(data, best) == user_group).mean() > 0.9


def test_item_vectors_from_content_match_the_catalogs_for_cold_items(data, model) -> None:
    cold = np.flatnonzero(~model.has_events_)
    from_content = model.item_vectors(data.item_features[cold])
    np.testing.assert_allclose(from_content, model.item_vectors()[cold], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(from_content, axis=1), 1.0, atol=1e-5)
    with pytest.raises(DimensionMismatch):
        model.item_vectors(np.zeros((2, 5), np.float32))


def test_fold_in_of_a_training_users_history_reproduces_their_vector(data, model) -> None:
    user = 7
    mask = data.user == user
    folded = model.user_vector(data.item[mask], data.weight[mask])
    np.testing.assert_allclose(folded, model.user_vectors(np.array([user]))[0], atol=1e-5)


def test_user_state_updates_event_by_event_like_a_batch_fold_in(data, model) -> None:
    items = data.item[data.user == 3][:12]
    weights = np.linspace(0.5, 3.0, items.size).astype(np.float32)
    state = UserState(model)
    assert not state.vector().any()  # no events: zeros, the caller falls back to popularity
    for i, w in zip(items, weights, strict=True):
        state.add([i], w)
    np.testing.assert_allclose(state.vector(), model.user_vector(items, weights), atol=1e-5)


def test_a_new_user_folded_in_from_a_few_events_gets_their_groups_items(data, model) -> None:
    group_items = np.flatnonzero(group_of(data, np.arange(data.n_items)) == 2)[:3]
    u = model.user_vector(group_items)
    top = np.argsort(-(model.item_vectors() @ u))[:10]
    assert (group_of(data, top) == 2).mean() >= 0.6  # 0.25 by chance


def test_users_without_history_get_popularity(data, model) -> None:
    empty = data.subset(data.user != 5)
    m = TwoTowerRecommender(dataclasses.replace(FAST, epochs=1)).fit(empty)
    np.testing.assert_array_equal(np.argsort(-m.score(np.array([5]))[0])[:5], np.argsort(-m.popularity_)[:5])


def test_save_load_round_trip_scores_identically(data, model, tmp_path) -> None:
    folder = model.save(tmp_path / "tt")
    loaded = TwoTowerRecommender.load(folder)
    users = np.arange(10)
    np.testing.assert_allclose(loaded.score(users), model.score(users), atol=1e-6)
    np.testing.assert_allclose(
        loaded.user_vector([1, 2, 3], [1.0, 2.0, 1.0]), model.user_vector([1, 2, 3], [1.0, 2.0, 1.0])
    )


def test_unfitted_model_refuses_and_bad_input_names_the_field(data) -> None:
    with pytest.raises(NotFittedError):
        TwoTowerRecommender().score(np.array([0]))
    with pytest.raises(SchemaError, match=r"TwoTowerConfig\.temperature"):
        TwoTowerConfig(temperature=0)
    with pytest.raises(SchemaError, match="use_ids and use_content"):
        TwoTowerConfig(use_ids=False, use_content=False)
    bad = data.item_features.copy()
    bad[0, 0] = np.nan
    with pytest.raises(SchemaError, match="item_features"):
        TwoTowerRecommender(FAST).fit(dataclasses.replace(data, item_features=bad))


@pytest.mark.slow
def test_ids_only_two_tower_learns_without_content(data) -> None:
    train, test = temporal_split(dataclasses.replace(data, item_features=None), 0.2)
    result = evaluate_models(
        {"popularity": PopularityRecommender(), "ids": TwoTowerRecommender(FAST)}, train, test, k=10
    )["models"]
    assert result["ids"]["ndcg"] > result["popularity"]["ndcg"]


# ------------------------------------------------------------------------------------------ hybrid
def test_standardised_rows_have_zero_mean_unit_std_and_constant_rows_become_zero() -> None:
    z = _standardised(np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]], np.float32))
    np.testing.assert_allclose(z[0].mean(), 0.0, atol=1e-6)
    np.testing.assert_allclose(z[0].std(), 1.0, atol=1e-6)
    assert not z[1].any()


@pytest.mark.slow
def test_lookbook_blend_is_chosen_on_validation_and_beats_popularity(data) -> None:
    train, test = temporal_split(data, 0.2)
    cfg = LookbookConfig(two_tower=FAST, ease_l2=(10.0, 100.0), blend_weights=(0.0, 0.5, 1.0))
    model = LookbookRecommender(cfg)
    result = evaluate_models({"popularity": PopularityRecommender(), "lookbook": model}, train, test)[
        "models"
    ]
    assert result["lookbook"]["ndcg"] > 1.3 * result["popularity"]["ndcg"]
    table = model.info["validation"]
    assert {row["w"] for row in table} == {0.0, 0.5, 1.0}
    best = max(table, key=lambda r: r["ndcg"])
    assert model.info["w"] == best["w"]
    assert model.item_vectors().shape == (data.n_items, FAST.dim)
    assert model.user_vector([0, 1]).shape == (FAST.dim,)


def test_lookbook_config_rejects_bad_weights() -> None:
    with pytest.raises(SchemaError, match="blend_weights"):
        LookbookConfig(blend_weights=(1.5,))
    with pytest.raises(NotFittedError):
        LookbookRecommender().score(np.array([0]))


@pytest.mark.slow
def test_lookbook_save_load_round_trip_scores_identically(data, tmp_path) -> None:
    cfg = LookbookConfig(two_tower=FAST, ease_l2=(10.0,), blend_weights=(0.5,))
    model = LookbookRecommender(cfg).fit(data)
    loaded = LookbookRecommender.load(model.save(tmp_path / "lookbook"))
    users = np.arange(12)
    np.testing.assert_allclose(loaded.score(users), model.score(users), atol=1e-5)
    assert loaded.info["w"] == model.info["w"]


@pytest.mark.slow
def test_collaborative_benchmark_reports_fit_times_and_fold_in_latency(data) -> None:
    from lookbook.evaluation.bench_collaborative import CollaborativeBenchConfig, run_collaborative_benchmark

    r = run_collaborative_benchmark(data, CollaborativeBenchConfig(updates=300, score_users=50))
    for key in ("als_fit_s", "two_tower_fit_s", "lookbook_fit_s", "fold_in_median_ms", "fold_in_p99_ms"):
        assert r[key] > 0, key
    assert r["fold_in_median_ms"] <= r["fold_in_p99_ms"]
    assert r["events"] == data.user.size
