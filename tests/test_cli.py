"""Every verb answers ``--help``; bad flags exit non-zero with a message naming the flag."""

from __future__ import annotations

import argparse

import pytest

from lookbook.cli import build_parser, main


def _all_verbs(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _all_verbs(sub, (*prefix, name))
    return out


VERBS = _all_verbs(build_parser())


def test_the_cli_has_the_verbs_the_readme_promises() -> None:
    names = {" ".join(v) for v in VERBS}
    for verb in ("world generate", "world show", "ingest", "demo", "bench store", "bench world"):
        assert any(n.startswith(verb) for n in names), verb


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: " ".join(v) or "lookbook")
def test_every_verb_has_help(verb: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*verb, "--help"])
    assert exc.value.code == 0
    assert "usage: lookbook" in capsys.readouterr().out


def test_a_bad_flag_names_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["world", "generate", "--items", "many", "--out", "x"])
    assert exc.value.code == 2
    assert "--items" in capsys.readouterr().err


def test_invalid_world_config_exits_1_with_the_field(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["--no-progress", "world", "generate", "--items", "3", "--out", str(tmp_path / "w")]) == 1
    assert "n_items" in caplog.text
