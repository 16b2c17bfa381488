"""Every collaborative recommender keeps the one ``Recommender`` contract (implicit's test mixin).

One parametrised suite, run against each shipped model on a tiny log whose answer is obvious: two
disjoint taste groups, each user touching a rotating window of their own group's items. A model
that learned anything recommends the unseen items of the user's own group first, and finds an
item's neighbours in its group. Popularity cannot see groups, so that check skips it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lookbook.errors import LookbookError, NotFittedError, NotFound
from lookbook.models.collaborative.base import SEEN_FILE, Recommender
from lookbook.models.collaborative.baselines import (
    ALSConfig,
    ALSRecommender,
    EASEConfig,
    EASERecommender,
    PopularityRecommender,
)
from lookbook.models.collaborative.data import EventWeights, InteractionData
from lookbook.models.collaborative.hybrid import LookbookConfig, LookbookRecommender
from lookbook.models.collaborative.loading import interactions_from_arrays
from lookbook.models.collaborative.topk import seen_matrix
from lookbook.models.collaborative.tuning import TunedEASE
from lookbook.models.collaborative.two_tower import TwoTowerConfig, TwoTowerRecommender

GROUPS = 2
USERS_PER_GROUP = 10
ITEMS_PER_GROUP = 10
PER_USER = 6  # each user has ITEMS_PER_GROUP - PER_USER = 4 unseen items of their own group
N_USERS = GROUPS * USERS_PER_GROUP
N_ITEMS = GROUPS * ITEMS_PER_GROUP

# Ids only (the log has no content): small and quick, yet enough epochs to separate two groups.
SMALL_TOWERS = TwoTowerConfig(
    dim=8, hidden=16, epochs=40, batch_size=32, uniform_negatives=8, id_dropout=0.0, logq_correction=False
)

FACTORIES: dict[str, Callable[[], Recommender]] = {
    "popularity": PopularityRecommender,
    "als": lambda: ALSRecommender(ALSConfig(factors=4, regularization=0.01, iterations=15)),
    "ease": lambda: EASERecommender(EASEConfig(l2=1.0)),
    "tuned_ease": TunedEASE,
    "two_tower": lambda: TwoTowerRecommender(SMALL_TOWERS),
    "lookbook": lambda: LookbookRecommender(
        LookbookConfig(two_tower=SMALL_TOWERS, ease_l2=(1.0, 10.0), blend_weights=(0.0, 0.5, 1.0))
    ),
}


def two_groups() -> InteractionData:
    """User ``u`` (group ``u // 10``) touches items ``g * 10 + (u % 10 + 0..5) % 10``, in order."""
    user = np.repeat(np.arange(N_USERS), PER_USER)
    group = user // USERS_PER_GROUP
    item = (
        group * ITEMS_PER_GROUP
        + (user % USERS_PER_GROUP + np.tile(np.arange(PER_USER), N_USERS)) % ITEMS_PER_GROUP
    )
    timestamp = np.tile(np.arange(PER_USER), N_USERS) * 86_400 + user
    return interactions_from_arrays(
        np.char.add("u", user.astype(str)),
        np.char.add("i", item.astype(str)),
        timestamp,
        None,
        EventWeights(half_life_days=None),
        np.char.add("i", np.arange(N_ITEMS).astype(str)),
        user_universe=np.char.add("u", np.arange(N_USERS).astype(str)),
    )


def item_group(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows) // ITEMS_PER_GROUP


@pytest.fixture(scope="module")
def data() -> InteractionData:
    out = two_groups()
    assert out.user_ids.ids[3] == "u3" and out.item_ids.ids[12] == "i12"  # rows are the numbers
    return out


@pytest.fixture(scope="module")
def seen(data) -> np.ndarray:
    return seen_matrix(data).toarray()


@pytest.fixture(scope="module", params=list(FACTORIES))
def fitted(request, data) -> tuple[str, Recommender]:
    name = request.param
    model = FACTORIES[name]()
    assert model.fit(data) is model
    return name, model


ALL_USERS = np.arange(N_USERS)


# ------------------------------------------------------------------------------------------ recommend
def test_fit_returns_self_and_score_gives_full_float32_rows(fitted) -> None:
    _, model = fitted
    scores = model.score(np.array([0, 5, 19]))
    assert scores.shape == (3, N_ITEMS) and scores.dtype == np.float32


def test_recommend_gives_padded_int64_and_float32_arrays_sorted_best_first(fitted, seen) -> None:
    _, model = fitted
    ids, scores = model.recommend(ALL_USERS, k=5)
    assert ids.shape == (N_USERS, 5) and ids.dtype == np.int64
    assert scores.shape == (N_USERS, 5) and scores.dtype == np.float32
    assert np.all(np.diff(scores, axis=1) <= 0)
    assert (ids >= 0).all()  # 14 unseen items per user: nothing to pad at k = 5
    assert not seen[ALL_USERS[:, None], ids].any()
    np.testing.assert_allclose(scores, np.take_along_axis(model.score(ALL_USERS), ids, axis=1), rtol=1e-6)


def test_one_user_gives_one_dimensional_arrays_equal_to_the_batch_row(fitted) -> None:
    _, model = fitted
    ids, scores = model.recommend(7, k=4)
    assert ids.shape == (4,) and scores.shape == (4,)
    batch_ids, batch_scores = model.recommend(np.array([3, 7]), k=4)
    np.testing.assert_array_equal(ids, batch_ids[1])
    np.testing.assert_allclose(scores, batch_scores[1], rtol=1e-5, atol=1e-6)  # BLAS may round apart
    np.testing.assert_array_equal(model.recommend(np.int64(7), k=4)[0], ids)


def test_rows_beyond_the_rankable_items_are_padded_with_minus_one_and_minus_inf(fitted) -> None:
    _, model = fitted
    k = N_ITEMS + 3
    ids, scores = model.recommend(ALL_USERS, k=k)
    rankable = N_ITEMS - PER_USER
    assert ids.shape == (N_USERS, k)
    assert (ids[:, :rankable] >= 0).all() and (ids[:, rankable:] == -1).all()
    assert np.isfinite(scores[:, :rankable]).all() and (scores[:, rankable:] == -np.inf).all()
    assert all(np.unique(row[row >= 0]).size == rankable for row in ids)


def test_filter_seen_false_ranks_every_item(fitted, seen) -> None:
    _, model = fitted
    ids, scores = model.recommend(ALL_USERS, k=N_ITEMS, filter_seen=False)
    assert (np.sort(ids, axis=1) == np.arange(N_ITEMS)).all()
    assert np.all(np.diff(scores, axis=1) <= 0)
    top = model.recommend(ALL_USERS, k=N_ITEMS - PER_USER)[0]
    # filtering only removes the seen items: the unseen keep their order
    unseen_order = [row[~seen[u, row]] for u, row in enumerate(ids)]
    np.testing.assert_array_equal(np.stack(unseen_order), top)


def test_items_restricts_the_candidates(fitted, seen) -> None:
    _, model = fitted
    allowed = np.array([15, 2, 9, 0, 2])  # any order, duplicates allowed
    ids, scores = model.recommend(ALL_USERS, k=6, items=allowed)
    for u in ALL_USERS:
        expected = {i for i in (0, 2, 9, 15) if not seen[u, i]}
        got = ids[u][ids[u] >= 0]
        assert set(got.tolist()) == expected
        assert (ids[u][len(expected) :] == -1).all() and (scores[u][len(expected) :] == -np.inf).all()
    unfiltered = model.recommend(ALL_USERS, k=4, filter_seen=False, items=allowed)[0]
    assert (np.sort(unfiltered, axis=1) == [0, 2, 9, 15]).all()


def test_the_unseen_items_of_the_users_own_group_come_first(fitted) -> None:
    name, model = fitted
    if name == "popularity":
        pytest.skip("popularity cannot tell the groups apart")
    ids, _ = model.recommend(ALL_USERS, k=ITEMS_PER_GROUP - PER_USER)
    assert (item_group(ids) == (ALL_USERS // USERS_PER_GROUP)[:, None]).all()


# ------------------------------------------------------------------------------------- similar_items
def test_similar_items_never_return_the_item_itself_and_are_padded(fitted) -> None:
    _, model = fitted
    items = np.arange(N_ITEMS)
    ids, scores = model.similar_items(items, k=N_ITEMS + 2)
    assert ids.shape == (N_ITEMS, N_ITEMS + 2) and ids.dtype == np.int64 and scores.dtype == np.float32
    assert not (ids == items[:, None]).any()
    assert (ids[:, N_ITEMS - 1 :] == -1).all() and (scores[:, N_ITEMS - 1 :] == -np.inf).all()
    finite = scores[:, : N_ITEMS - 1]
    assert np.all(np.diff(finite, axis=1) <= 0)
    one_ids, one_scores = model.similar_items(4, k=3)
    assert one_ids.shape == (3,)
    np.testing.assert_array_equal(one_ids, ids[4, :3])
    np.testing.assert_allclose(one_scores, scores[4, :3], rtol=1e-5, atol=1e-6)


def test_similar_items_stay_in_the_items_group(fitted, data) -> None:
    name, model = fitted
    items = np.arange(N_ITEMS)
    ids, _ = model.similar_items(items, k=3)
    if name == "popularity":
        popular = np.argsort(-model.score(np.array([0]))[0], kind="stable")
        assert ids[0].tolist() == [i for i in popular if i != 0][:3]
        return
    assert (item_group(ids) == item_group(items)[:, None]).all()


# --------------------------------------------------------------------------------------- persistence
def test_save_load_round_trip_recommends_identically(fitted, tmp_path: Path) -> None:
    _, model = fitted
    folder = model.save(tmp_path / "model")
    assert (folder / SEEN_FILE).is_file()
    loaded = type(model).load(folder)
    assert type(loaded) is type(model)
    for filter_seen in (True, False):
        before = model.recommend(ALL_USERS, k=7, filter_seen=filter_seen)
        after = loaded.recommend(ALL_USERS, k=7, filter_seen=filter_seen)
        np.testing.assert_array_equal(after[0], before[0])
        np.testing.assert_allclose(after[1], before[1], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(
        loaded.similar_items(np.arange(N_ITEMS), k=5)[0], model.similar_items(np.arange(N_ITEMS), k=5)[0]
    )


def test_load_checks_the_format_version_and_the_class(fitted, tmp_path: Path) -> None:
    _, model = fitted
    folder = model.save(tmp_path / "model")
    seen_file = folder / SEEN_FILE
    with np.load(seen_file) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["format_version"] = np.int64(99)
    with seen_file.open("wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(LookbookError, match="format_version 99"):
        type(model).load(folder)
    other = PopularityRecommender if not isinstance(model, PopularityRecommender) else EASERecommender
    with pytest.raises(LookbookError):
        other.load(folder)


# ------------------------------------------------------------------------------------------- misuse
@pytest.mark.parametrize("name", list(FACTORIES))
def test_every_method_refuses_before_fit(name: str, tmp_path: Path) -> None:
    model = FACTORIES[name]()
    calls = {
        "score": lambda: model.score(np.array([0])),
        "recommend": lambda: model.recommend(np.array([0])),
        "similar_items": lambda: model.similar_items(np.array([0])),
        "save": lambda: model.save(tmp_path / "unfitted"),
    }
    for call in calls.values():
        with pytest.raises(NotFittedError):
            call()


def test_unknown_rows_raise_not_found_naming_the_argument(fitted) -> None:
    _, model = fitted
    with pytest.raises(NotFound, match=r"recommend users: .*\[20\]"):
        model.recommend(np.array([0, N_USERS]))
    with pytest.raises(NotFound, match="recommend users"):
        model.recommend(-1)
    with pytest.raises(NotFound, match="recommend items"):
        model.recommend(np.array([0]), items=np.array([N_ITEMS]))
    with pytest.raises(NotFound, match="similar_items items"):
        model.similar_items(np.array([N_ITEMS + 4]))
    with pytest.raises(NotFound, match="score users"):
        model.score(np.array([N_USERS]))


def test_bad_k_and_non_integer_rows_name_the_argument(fitted) -> None:
    _, model = fitted
    with pytest.raises(LookbookError, match="recommend k"):
        model.recommend(np.array([0]), k=0)
    with pytest.raises(LookbookError, match="similar_items k"):
        model.similar_items(np.array([0]), k=-2)
    with pytest.raises(LookbookError, match="recommend users: expected integer rows"):
        model.recommend(np.array([0.5]))
    with pytest.raises(LookbookError, match="recommend users: expected one row or a 1-D array"):
        model.recommend(np.zeros((2, 2), dtype=np.int64))


def test_an_empty_batch_gives_empty_arrays(fitted) -> None:
    _, model = fitted
    ids, scores = model.recommend(np.array([], dtype=np.int64), k=3)
    assert ids.shape == (0, 3) and scores.shape == (0, 3)


def test_the_contract_docstrings_are_inherited() -> None:
    for factory in FACTORIES.values():
        cls = type(factory())
        assert cls.recommend.__doc__ == Recommender.recommend.__doc__
        assert cls.score.__doc__ and cls.fit.__doc__ and cls._similar_scores.__doc__


def test_a_blend_saved_before_seen_files_existed_still_loads(data, tmp_path: Path) -> None:
    """Projects built before the contract have no ``seen.npz`` and no ``class`` in ``model.json``;
    the shop must still open them (the seen items then come from the two-tower's history)."""
    model = FACTORIES["lookbook"]().fit(data)
    folder = model.save(tmp_path / "preference")
    for meta_file in (folder / "model.json", folder / "two_tower" / "model.json"):
        meta = json.loads(meta_file.read_text())
        del meta["class"]
        meta_file.write_text(json.dumps(meta, indent=1))
    (folder / SEEN_FILE).unlink()
    (folder / "two_tower" / SEEN_FILE).unlink()
    loaded = LookbookRecommender.load(folder)
    np.testing.assert_allclose(loaded.score(ALL_USERS), model.score(ALL_USERS), atol=1e-6)
    # every event here is a positive, so the history holds exactly the seen items
    np.testing.assert_array_equal(loaded.recommend(ALL_USERS, k=5)[0], model.recommend(ALL_USERS, k=5)[0])
