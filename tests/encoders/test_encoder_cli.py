"""``lookbook bench encode`` runs and reports its figures; the optional open_clip path fails clearly."""

from __future__ import annotations

import argparse
import json
import sys

import pytest

from lookbook.cli import bench_encode, build_parser, main
from lookbook.errors import LookbookError


def _bench_is_wired() -> bool:
    try:
        build_parser().parse_args(["bench", "encode", "--items", "2"])
    except SystemExit:
        return False
    return True


def _run(argv: list[str]) -> int:
    """Through ``lookbook`` when ``bench encode`` is wired into the CLI, else through ``register``."""
    if _bench_is_wired():
        return main(["--no-progress", "bench", "encode", *argv])
    parser = argparse.ArgumentParser(prog="lookbook bench")
    bench_encode.register(parser.add_subparsers(dest="bench", required=True))
    args = parser.parse_args(["encode", *argv])
    args.show_progress = False
    return args.func(args)


@pytest.mark.slow
def test_bench_encode_runs_on_50_items(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--items", "50", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["items"] == 50 and result["resolution"] == 128
    for key in ("images_per_s", "texts_per_s", "fusion_fit_s", "cold_end_to_end_s", "warm_end_to_end_s"):
        assert result[key] >= 0, key
    assert result["images_per_s"] > 0 and result["texts_per_s"] > 0
    assert result["warm_cache_hits"] == 100  # every image and text came from the cache
    assert result["warm_end_to_end_s"] < result["cold_end_to_end_s"]


def test_bench_encode_rejects_a_bad_resolution(caplog: pytest.LogCaptureFixture) -> None:
    try:
        code = _run(["--items", "4", "--resolution", "8"])
    except LookbookError as exc:  # not wired into `lookbook` yet: the verb's own error
        assert "--resolution" in str(exc)
    else:  # through `lookbook`: exit 1, the message names the flag
        assert code == 1 and "--resolution" in caplog.text


def test_open_clip_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from lookbook.encoders import OpenClipEncoder, open_clip_available

    monkeypatch.setitem(sys.modules, "open_clip", None)  # as if the package were not installed
    assert not open_clip_available()
    with pytest.raises(LookbookError, match=r"open_clip is missing.*lookbook\[clip\].*open_clip_torch"):
        OpenClipEncoder("hf-hub:Marqo/marqo-fashionCLIP", None)
