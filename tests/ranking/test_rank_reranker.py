"""The learned reranker: labels, features, training on a small world, persistence.

(The grouped and IPS NDCG it reports are tested with the other metrics, in ``tests/test_metrics.py``.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
from lookbook.datasets.synthetic.oracle import Oracle
from lookbook.errors import NotFittedError, SchemaError
from lookbook.metrics import grouped_ndcg
from lookbook.pipeline.ranker_data import WorldRankerConfig, ranker_training_data_from_world
from lookbook.ranking import (
    FEATURES,
    MISSING_TIME,
    Anchor,
    CatalogArrays,
    Debias,
    ImpressionLog,
    RankConfig,
    RankerConfig,
    RankerTrainingData,
    Relation,
    Reranker,
    UserContext,
    candidate_features,
    feature_matrix,
    fit_ranker,
    from_rows,
    impression_labels,
    rank,
    user_profiles,
)
from lookbook.ranking.reranker import _slates
from lookbook.schema import EVENT_KIND_CODES, IdMap
from lookbook.tables import EventArrays

from .conftest import NOW

FAST = RankerConfig(num_threads=1, min_data_in_leaf=20, n_estimators=150)

# --------------------------------------------------------------------------------------------------
# labels, by hand
# --------------------------------------------------------------------------------------------------


def test_labels_are_purchase_2_click_1_within_the_window() -> None:
    imp = ImpressionLog(
        group=[0, 0, 0, 1],
        user=[0, 0, 0, 1],
        item=[5, 6, 7, 5],
        position=[0, 1, 2, 0],
        timestamp=[100, 100, 100, 100],
        clicked=[True, True, False, False],
    )
    events = EventArrays(
        user_rows=[0, 0, 0, 1],
        item_rows=[5, 7, 6, 5],
        kind=[EVENT_KIND_CODES[k] for k in ("purchase", "purchase", "click", "purchase")],
        timestamp=[200, 90_000, 101, 50],  # 7 is bought a day and more later; user 1 bought before
        position=[-1, -1, -1, -1],
        users=IdMap(["u0", "u1"], name="user_id"),
        items=IdMap([f"sku-{i}" for i in range(8)], name="item_id"),
    )
    assert impression_labels(imp, events, window_s=86_400).tolist() == [2, 1, 0, 0]
    assert impression_labels(imp, events, window_s=100_000).tolist() == [2, 1, 2, 0]


# --------------------------------------------------------------------------------------------------
# features: one definition for training and serving
# --------------------------------------------------------------------------------------------------


def test_user_profiles_price_band_and_brand_share(catalog: CatalogArrays) -> None:
    # user 0 clicked a (20, Acme) and h (200, Acme), viewed d (Cobble); user 1 has nothing
    prof = user_profiles(catalog, [0, 0, 0], [0, 7, 3], ["click", "click", "view"], n_users=2)
    assert prof.price_mu[0] == pytest.approx(np.log(20 * 200) / 2, rel=1e-5)
    assert prof.price_sigma[0] == pytest.approx(np.log(10) / 2, rel=1e-5)
    assert np.isnan(prof.price_mu[1])
    share = prof.brand_share(np.asarray([0, 0, 0, 1]), catalog.brand[[0, 3, 1, 0]])
    assert share[:3].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0]) and np.isnan(share[3])
    z = prof.price_z(np.asarray([0]), np.asarray([np.sqrt(20 * 200)], np.float32))
    assert z[0] == pytest.approx(0.0, abs=1e-5)


def test_feature_matrix_conventions() -> None:
    x = feature_matrix(
        d=[0.2, np.nan],
        a=[0.5, 0.1],
        style=[np.nan, np.nan],
        popularity=[np.e - 1, 0.0],
        price_z=[1.0, np.nan],
        brand_affinity=[0.3, 0.0],
        created_at=[NOW - 3 * 86_400, MISSING_TIME],
        now=NOW,
        slot=[0, 4],
    )
    assert x.shape == (2, len(FEATURES)) and x.dtype == np.float32
    col = {f: x[:, i] for i, f in enumerate(FEATURES)}
    assert col["log_popularity"][0] == pytest.approx(1.0)
    assert col["age_days"][0] == pytest.approx(3.0) and np.isnan(col["age_days"][1])
    assert col["slot"].tolist() == [0, 4] and np.isnan(col["d"][1])


def test_serving_features_equal_the_batch_features(catalog: CatalogArrays, user: UserContext) -> None:
    rows = np.arange(8)
    c = from_rows(rows, Anchor(Relation.FOR_YOU), d=0.3, a=0.6)
    online = candidate_features(c, catalog, user)
    # the same user as row 1 of a batch with another user before it
    prof = user_profiles(
        catalog,
        [0, 1, 1, 1, 1, 1],
        [2, 1, 4, 0, 0, 3],
        ["click", "dislike", "purchase", "click", "save", "view"],
        2,
    )
    users = np.ones(8, np.int64)
    batch = feature_matrix(
        d=np.full(8, 0.3),
        a=np.full(8, 0.6),
        style=np.full(8, np.nan),
        popularity=catalog.popularity[rows],
        price_z=prof.price_z(users, catalog.price[rows]),
        brand_affinity=prof.brand_share(users, catalog.brand[rows]),
        created_at=catalog.created_at[rows],
        now=NOW,
        slot=catalog.slot[rows],
    )
    np.testing.assert_allclose(online, batch, rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# training on a small generated world
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ranker") / "world"
    cfg = WorldConfig(
        n_items=300, n_users=150, seed=3, n_photos=0, n_sets=0, events_per_user=80, image_size=64
    )
    make_synthetic_world(cfg, out, show_progress=False, workers=1)
    return out


@pytest.fixture(scope="module")
def data(world_dir: Path) -> RankerTrainingData:
    return ranker_training_data_from_world(world_dir, WorldRankerConfig())


@pytest.fixture(scope="module")
def fitted(data: RankerTrainingData) -> Reranker:
    return fit_ranker(data, FAST)


def test_world_data_is_leak_free_and_labelled(data: RankerTrainingData) -> None:
    imp = data.impressions
    assert data.features.shape == (len(imp), len(FEATURES))
    assert set(np.unique(data.labels)) == {0, 1, 2}
    assert (data.labels[~imp.clicked] != 1).all()
    first = data.meta["first"]
    assert imp.timestamp.min() >= first and first < data.valid_from < imp.timestamp.max()
    col = {f: data.features[:, i] for i, f in enumerate(FEATURES)}
    assert np.isfinite(col["a"]).mean() > 0.5 and np.isfinite(col["d"]).mean() > 0.5
    assert np.nanmax(col["a"]) <= 1.0 + 1e-6 and np.nanmin(col["d"]) >= -1e-6
    assert np.isnan(col["style"]).all()


def test_reranker_beats_the_logging_order_on_validation(
    fitted: Reranker, data: RankerTrainingData, world_dir: Path
) -> None:
    report = fitted.report_
    assert report is not None and report.n_valid_groups > 200
    # debiased: the logged order is no better than random, the ranker clearly is
    assert report.ips_ndcg.ranker > report.ips_ndcg.logging_order + 0.04
    assert report.ips_ndcg.ranker > report.ips_ndcg.random + 0.04
    assert abs(report.ips_ndcg.logging_order - report.ips_ndcg.random) < 0.03
    # and against the world's truth (evaluation only): graded by true click probability
    _, _, valid = _slates(data, FAST)
    imp = data.impressions
    rows = valid.rows
    oracle = Oracle.load(world_dir)
    aff = oracle.affinity(
        data.meta["user_ids"][imp.user[rows]].tolist(), data.meta["item_ids"][imp.item[rows]].tolist()
    )
    gains = 1.0 / (1.0 + np.exp(-(aff - 1.8)))
    tie = np.random.default_rng(0).random(rows.size)
    ranker = np.nanmean(
        grouped_ndcg(fitted.score(data.features[rows]), gains, valid.starts, valid.sizes, 10, tie_break=tie)
    )
    logged = np.nanmean(
        grouped_ndcg(-imp.position[rows].astype(float), gains, valid.starts, valid.sizes, 10, tie_break=tie)
    )
    assert ranker > logged + 0.05


def test_save_load_round_trips_predictions(
    fitted: Reranker, data: RankerTrainingData, tmp_path: Path
) -> None:
    folder = fitted.save(tmp_path / "ranker")
    loaded = Reranker.load(folder)
    x = data.features[:500]
    np.testing.assert_allclose(loaded.score(x), fitted.score(x), rtol=1e-6)
    assert loaded.report_ == fitted.report_ and loaded.config == fitted.config

    meta = json.loads((folder / "reranker.json").read_text())
    meta["format_version"] = 99
    (folder / "reranker.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaError, match="format_version 99"):
        Reranker.load(folder)


def test_same_seed_same_model(data: RankerTrainingData, fitted: Reranker) -> None:
    again = fit_ranker(data, FAST)
    x = data.features[:1000]
    np.testing.assert_array_equal(again.score(x), fitted.score(x))


def test_position_aware_and_no_debiasing_also_train(data: RankerTrainingData) -> None:
    for debias in (Debias.POSITION_AWARE, Debias.NONE):
        model = fit_ranker(
            data, RankerConfig(num_threads=1, min_data_in_leaf=20, n_estimators=20, debias=debias)
        )
        assert model.report_ is not None and model.report_.ips_ndcg.ranker > model.report_.ips_ndcg.random


def test_the_pipeline_uses_a_fitted_reranker(
    fitted: Reranker, catalog: CatalogArrays, user: UserContext
) -> None:
    c = from_rows(np.arange(8), Anchor(Relation.FOR_YOU), d=0.4, a=np.linspace(0, 1, 8))
    page = rank(c, catalog, user, RankConfig(k=3), reranker=fitted)
    assert page.reranked and len(page) == 3
    assert page.scores.tolist() == pytest.approx(
        fitted.score_candidates(c.take(page.rows), catalog, user).tolist()
    )


def test_misuse_fails_early() -> None:
    with pytest.raises(NotFittedError):
        Reranker().score(np.zeros((1, len(FEATURES)), np.float32))
    with pytest.raises(SchemaError, match=r"RankerConfig\.learning_rate"):
        RankerConfig(learning_rate=0.0)
    with pytest.raises(SchemaError, match=r"RankerConfig\.debias"):
        RankerConfig(debias="sometimes")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match=r"features: expected shape \(2, 8\)"):
        RankerTrainingData(
            np.zeros((2, 3)), ImpressionLog([0, 0], [0, 0], [0, 1], [0, 1], [0, 0], [True, False]), [1, 0], 0
        )
