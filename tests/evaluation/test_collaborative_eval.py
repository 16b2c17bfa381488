"""The collaborative harness: ranking, the contract's metric definitions by hand, worlds and H&M."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
from lookbook.datasets.synthetic.oracle import Oracle
from lookbook.errors import LookbookError, SchemaError
from lookbook.evaluation.collaborative import (
    COLD_ITEM_K,
    default_models,
    evaluate_contract,
    evaluate_hm,
    evaluate_models,
    evaluate_world,
    format_table,
)
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.baselines import PopularityRecommender
from lookbook.models.collaborative.data import InteractionData
from lookbook.models.collaborative.loading import interactions_from_arrays
from lookbook.models.collaborative.topk import rank_items

HM_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hm"


class ScoresOnly(Recommender):
    """A test model that only scores: no item similarity, no files."""

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _save(self, folder: Path) -> None:
        raise NotImplementedError

    @classmethod
    def _load(cls, folder: Path) -> ScoresOnly:
        raise NotImplementedError


class FixedScores(ScoresOnly):
    """A model whose scores are given by id: ``{user_id: {item_id: score}}``, 0 elsewhere."""

    name = "fixed"

    def __init__(self, table: dict[str, dict[str, float]]) -> None:
        self.table = table
        self.scores: np.ndarray | None = None

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> FixedScores:
        self.scores = np.zeros((data.n_users, data.n_items), dtype=np.float32)
        for user, row in self.table.items():
            for item, value in row.items():
                self.scores[data.user_ids.row(user), data.item_ids.row(item)] = value
        self._record_fit(data)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        assert self.scores is not None
        return self.scores[users]


class Matrix:
    """A model scoring from a fixed ``(n_users, n_items)`` matrix."""

    name = "matrix"

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = np.asarray(scores, dtype=np.float32)

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Matrix:
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.scores[users]


# --------------------------------------------------------------------------------------------------
# rank_items
# --------------------------------------------------------------------------------------------------


def test_rank_items_never_returns_a_train_item_and_breaks_ties_by_item_row() -> None:
    scores = np.array(
        [
            [5.0, 4.0, 3.0, 3.0, 1.0, np.nan],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [9.0, 8.0, 7.0, 6.0, 5.0, 4.0],
        ]
    )
    train = sp.csr_matrix(
        np.array([[1, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0]], dtype=np.float32)
    )
    model = Matrix(scores)
    ranked = rank_items(model, np.array([0, 1, 2]), train, 3)
    assert ranked[0].tolist() == [1, 2, 3]  # item 0 is a train item; 2 and 3 tie -> lower row first
    assert ranked[1].tolist() == [0, 2, 4]  # all tied: the lowest rows that are not train items
    assert ranked[2].tolist() == [4, 5, -1]  # only 2 items are left: padded, never a train item
    wide = rank_items(model, np.array([2]), train, 5)
    assert wide.tolist() == [[4, 5, -1, -1, -1]]
    # Batching changes nothing.
    np.testing.assert_array_equal(rank_items(model, np.array([0, 1, 2]), train, 3, batch_size=1), ranked)


def test_rank_items_pads_when_k_exceeds_the_catalog_and_checks_score_shapes() -> None:
    train = sp.csr_matrix((1, 2), dtype=np.float32)
    assert rank_items(Matrix([[1.0, 2.0]]), np.array([0]), train, 4).tolist() == [[1, 0, -1, -1]]
    with pytest.raises(LookbookError, match="shape"):
        rank_items(Matrix([[1.0, 2.0, 3.0]]), np.array([0]), train, 2)


# --------------------------------------------------------------------------------------------------
# The contract, by hand
# --------------------------------------------------------------------------------------------------

TRAIN_CSV = """user_id,item_id,timestamp,store
u1,a,2026-01-01,x
u1,b,2026-01-02,x
u2,c,2026-01-03,y
u3,a,2026-01-04,y
u3,d,2026-01-05,x
u3,e,2026-01-06,x
"""
# Epoch seconds here (2026-02-01 onwards) while train uses dates: each file may use either.
TEST_CSV = """user_id,item_id,timestamp
u1,c,1769904000
u1,d,1769904000
u1,z,1769990400
u1,c,1770076800
u2,a,1769904000
u4,a,1769904000
"""


def test_contract_metrics_match_a_hand_computation(tmp_path: Path) -> None:
    """k = 2. Train items: a b c d e. Popularity (decayed counts): a > e > d > c > b.

    u1 (train a, b; test c, d, z): ranks [c, e]; hit c at 1 of 3 test items (z was never in
    train: unrankable but counted). Recall 1/3, NDCG 1 / (1 + 1/log2 3).
    u2 (train c; test a): ranks [d, a]; Recall 1, NDCG 1/log2 3.
    u4 (no train: cold): popularity for every model, [a, e]; Recall 1, NDCG 1.
    """
    (tmp_path / "train.csv").write_text(TRAIN_CSV)
    (tmp_path / "test.csv").write_text(TEST_CSV)
    model = FixedScores(
        {
            "u1": {"a": 5, "b": 4, "c": 3, "e": 2, "d": 1},
            "u2": {"d": 3, "a": 2, "b": 1, "c": 9},
            "u4": {"a": -10, "b": 5},
        }
    )
    result = evaluate_contract(tmp_path / "train.csv", tmp_path / "test.csv", k=2, models={"fixed": model})
    row = result["models"]["fixed"]
    l3 = math.log2(3)
    assert row["recall"] == pytest.approx((1 / 3 + 1 + 1) / 3, abs=1e-4)
    assert row["ndcg"] == pytest.approx((1 / (1 + 1 / l3) + 1 / l3 + 1) / 3, abs=1e-4)
    assert row["coverage"] == pytest.approx(4 / 5)  # {c, e} + {d, a} + {a, e}
    # Popularity CDF: b .2, c .4, d .6, e .8, a 1.0 over the six recommended items c e d a a e.
    assert row["popularity_percentile"] == pytest.approx((0.4 + 0.8 + 0.6 + 1.0 + 1.0 + 0.8) / 6, abs=1e-4)
    assert row["fit_s"] >= 0 and row["score_s"] >= 0
    assert result["k"] == 2 and result["n_train"] == 6 and result["n_test"] == 6
    assert result["n_test_users"] == 3 and result["cold_users"] == 1
    assert result["test_rows_unseen_item"] == 1 and result["n_items"] == 5
    assert result["recall_ceiling"] == pytest.approx((2 / 3 + 1 + 1) / 3, abs=1e-4)
    assert "recall@2" in format_table(result)


def test_contract_errors_name_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("user_id,item_id,timestamp\nu1,a,2026-01-01\nu1,b,yesterday\n")
    (tmp_path / "test.csv").write_text(TEST_CSV)
    with pytest.raises(SchemaError, match=r"train\.csv timestamp: .*'yesterday' on line 3"):
        evaluate_contract(tmp_path / "train.csv", tmp_path / "test.csv", models=["popularity"])


def test_evaluate_models_refuses_tests_over_other_rows() -> None:
    train = interactions_from_arrays(["u", "v"], ["a", "b"], [0, 1])
    test = interactions_from_arrays(["u"], ["b"], [2])
    with pytest.raises(LookbookError, match="same user and item rows"):
        evaluate_models({"popularity": PopularityRecommender()}, train, test)


def test_default_models_are_the_baselines_and_lookbook() -> None:
    names = list(default_models())
    assert names == ["popularity", "als", "ease", "lookbook"]
    with pytest.raises(LookbookError, match="expected names"):
        default_models(["svd"])


# --------------------------------------------------------------------------------------------------
# Demo worlds: the truth as referee
# --------------------------------------------------------------------------------------------------


class OracleScores(ScoresOnly):
    """Scores by the world's true affinity; with ``known_only`` only items that have training events."""

    name = "oracle"

    def __init__(self, world_dir: Path, known_only: bool) -> None:
        self.oracle = Oracle.load(world_dir)
        self.known_only = known_only

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> OracleScores:
        self.data = data
        self.known = np.bincount(data.item, minlength=data.n_items) > 0
        self._record_fit(data)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        scores = self.oracle.affinity_matrix(
            self.data.user_ids.to_ids(users).tolist(), self.data.item_ids.ids.tolist()
        )
        if self.known_only:
            scores[:, ~self.known] = -np.inf
        return scores


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("collab") / "world"
    cfg = WorldConfig(
        n_items=200, n_users=80, seed=3, n_photos=0, n_sets=0, events_per_user=60, image_size=64
    )
    make_synthetic_world(cfg, out, show_progress=False, workers=1)
    return out


def test_world_true_ndcg_is_one_for_the_truth_and_cold_items_need_more_than_clicks(world_dir: Path) -> None:
    models = {
        "popularity": PopularityRecommender(),
        "truth": OracleScores(world_dir, known_only=True),
        "truth_all_items": OracleScores(world_dir, known_only=False),
    }
    result = evaluate_world(world_dir, k=10, models=models)
    rows = result["models"]
    cold = f"cold_item_recall@{COLD_ITEM_K}"
    assert rows["truth"]["true_ndcg"] == pytest.approx(1.0)
    assert rows["popularity"]["true_ndcg"] < 0.5
    assert result["cold_items"] > 0 and result["cold_item_test_users"] > 0
    assert rows["popularity"][cold] == 0.0 and rows["truth"][cold] == 0.0
    assert rows["truth_all_items"][cold] > 0.2
    assert result["n_items"] == 200 and result["protocol"]["name"] == "world"
    assert "true_ndcg" in format_table(result)


# --------------------------------------------------------------------------------------------------
# H&M (real data; skipped without it)
# --------------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_hm_purchases_ease_beats_popularity() -> None:
    if not (HM_ROOT / "transactions.csv").is_file():
        pytest.skip(f"shared real data absent: {HM_ROOT / 'transactions.csv'} does not exist")
    result = evaluate_hm(HM_ROOT, k=10, models=["popularity", "ease"])
    rows = result["models"]
    assert result["n_test_users"] > 100 and result["cold_users"] == 0
    assert result["test_rows_unseen_item"] > 0
    assert rows["ease"]["recall"] > rows["popularity"]["recall"]
    assert rows["ease"]["info"]["config"]["l2"] in (10.0, 50.0, 200.0, 500.0, 2000.0)
