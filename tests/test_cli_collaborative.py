"""``lookbook evaluate collaborative`` end to end: the CSV contract, a demo world, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lookbook.cli import main
from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world


def _write_contract(
    folder: Path, n_users: int = 40, n_items: int = 30, per_user: int = 12
) -> tuple[Path, Path]:
    """Two CSVs: each user's events in two taste groups, the last 3 of each user in the test file."""
    rng = np.random.default_rng(1)
    user = np.repeat(np.arange(n_users), per_user)
    item = (rng.integers(0, n_items // 2, user.size) * 2 + user % 2) % n_items
    order = np.lexsort((rng.permutation(user.size), user))
    user, item = user[order], item[order]
    ts = 1_767_225_600 + np.tile(np.arange(per_user) * 3_600, n_users)
    rank = np.tile(np.arange(per_user), n_users)
    train, test = folder / "train.csv", folder / "test.csv"
    for path, keep in ((train, rank < per_user - 3), (test, rank >= per_user - 3)):
        rows = [f"user{u:03d},{i:04d},{t}" for u, i, t in zip(user[keep], item[keep], ts[keep], strict=True)]
        path.write_text("user_id,item_id,timestamp\n" + "\n".join(rows) + "\n")
    return train, test


def test_contract_json_has_one_object_with_every_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = _write_contract(tmp_path)
    argv = ["--no-progress", "evaluate", "collaborative", "--train", str(train), "--test", str(test)]
    assert main([*argv, "--json", "--models", "popularity", "als", "ease"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["k"] == 10 and result["n_test_users"] == 40 and result["n_train"] == 40 * 9
    assert list(result["models"]) == ["popularity", "als", "ease"]
    for row in result["models"].values():
        assert {"recall", "ndcg", "fit_s", "coverage", "popularity_percentile"} <= set(row)
        assert 0.0 <= row["recall"] <= 1.0 and 0.0 <= row["ndcg"] <= 1.0
    assert result["models"]["als"]["info"]["config"]["factors"] in (32, 64, 128)

    assert main([*argv, "--k", "5", "--models", "popularity"]) == 0
    out = capsys.readouterr().out
    assert "recall@5" in out and "popularity" in out


def test_world_json_adds_the_truth_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = tmp_path / "world"
    cfg = WorldConfig(
        n_items=120, n_users=40, seed=2, n_photos=0, n_sets=0, events_per_user=40, image_size=64
    )
    make_synthetic_world(cfg, world, show_progress=False, workers=1)
    argv = ["--no-progress", "evaluate", "collaborative", "--world", str(world), "--json"]
    assert main([*argv, "--models", "popularity", "ease"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"true_ndcg", "cold_item_recall@50"} <= set(result["models"]["ease"])


def test_a_bad_csv_row_names_the_file_and_the_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    train, test = _write_contract(tmp_path)
    lines = train.read_text().splitlines()
    lines[3] = "user001,0002,not-a-time"
    train.write_text("\n".join(lines) + "\n")
    argv = ["--no-progress", "evaluate", "collaborative", "--train", str(train), "--test", str(test)]
    assert main([*argv, "--models", "popularity"]) == 1
    assert str(train) in caplog.text and "line 4" in caplog.text


def test_flags_that_need_each_other_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "collaborative", "--train", str(tmp_path / "t.csv")])
    assert exc.value.code == 2 and "--test" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "collaborative", "--dataset", "hm"])
    assert exc.value.code == 2 and "--path" in capsys.readouterr().err
