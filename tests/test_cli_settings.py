"""``lookbook settings show|check``: the effective settings out, the bad key named, exit codes kept."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from lookbook.cli import main
from lookbook.project.settings import SETTINGS_FILE, ShopSettings, parse_settings


def test_check_passes_a_project_without_a_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["settings", "check", "--project", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok") and ShopSettings().version in out


def test_check_passes_a_good_file_with_its_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / SETTINGS_FILE).write_text('clock = "wall"\n[home.for_you]\nalpha = 0.4\n')
    assert main(["settings", "check", "--project", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok")
    assert parse_settings('clock = "wall"\n[home.for_you]\nalpha = 0.4\n').version in out


def test_check_exits_1_naming_the_bad_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / SETTINGS_FILE).write_text("[home.for_you.diversity]\nmmr_lambda = 2\n")
    assert main(["settings", "check", "--project", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "home.for_you.diversity.mmr_lambda: expected a number in [0, 1], got 2" in out
    assert str(tmp_path / SETTINGS_FILE) in out


def test_check_exits_1_on_an_unknown_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / SETTINGS_FILE).write_text("[similar]\nbeat = 0.2\n")
    assert main(["settings", "check", "--project", str(tmp_path)]) == 1
    assert "similar.beat: unknown key; did you mean 'similar.beta'?" in capsys.readouterr().out


def test_check_of_a_missing_project_fails(tmp_path: Path) -> None:
    assert main(["settings", "check", "--project", str(tmp_path / "nope")]) == 1


def test_show_prints_a_toml_file_of_the_effective_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / SETTINGS_FILE).write_text("[similar]\nbeta = 0.5\n")
    assert main(["settings", "show", "--project", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    shown = parse_settings(out)  # the output is itself a settings file
    assert shown == parse_settings("[similar]\nbeta = 0.5\n")
    assert f"version {shown.version}" in out
    assert "beta = 0.5" in out and "(default 0.3)" in out
    assert tomllib.loads(out)["home"]["for_you"]["alpha"] == 0.25  # defaults filled in


def test_show_json_gives_version_source_and_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["settings", "show", "--project", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] is None
    assert data["version"] == ShopSettings().version
    assert ShopSettings.from_dict(data["settings"]) == ShopSettings()
    (tmp_path / SETTINGS_FILE).write_text("use_reranker = true\n")
    assert main(["settings", "show", "--project", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == str(tmp_path / SETTINGS_FILE) and data["settings"]["use_reranker"] is True


def test_show_of_a_bad_file_exits_1(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text('clock = "sundial"\n')
    assert main(["settings", "show", "--project", str(tmp_path)]) == 1
