"""The README's main command, end to end, on a tiny world (a real subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _demo(workdir: Path, *extra: str) -> dict:
    """Run the demo in a subprocess with its feature cache inside ``workdir``."""
    cmd = [
        sys.executable,
        "-m",
        "lookbook",
        "--no-progress",
        "demo",
        "--workdir",
        str(workdir),
        "--items",
        "300",
        "--users",
        "80",
        "--json",
        "--no-serve",
        *extra,
    ]
    env = {**os.environ, "LOOKBOOK_CACHE": str(workdir / "cache")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_demo_builds_world_sheet_and_project_and_is_idempotent(tmp_path: Path) -> None:
    first = _demo(tmp_path)
    assert first["items"] == 300 and first["users"] == 80 and first["events"] > 1000
    assert Path(first["contact_sheet"]).stat().st_size > 10_000
    store = first["store"]
    assert store["items"] == 300 and store["events"] == first["events"] and store["sets"] == first["sets"]
    assert all(r["rejected"] == 0 for r in first["ingest"].values())
    compat = first["compatibility"]
    assert compat["models"]["full"]["fitb"] > compat["models"]["random"]["fitb"]
    assert (Path(compat["model"]) / "model" / "weights.safetensors").exists()
    pref = first["collaborative"]
    assert pref["models"]["lookbook"]["true_ndcg"] > pref["models"]["popularity"]["true_ndcg"]
    assert (Path(pref["model"]) / "two_tower" / "weights.safetensors").exists()

    assert set(first["build"]) >= {"ingest", "encode", "compatibility", "preference", "index", "looks"}
    looks = first["shop_the_look"]  # the world has labelled photos: the detector is trained and scored
    assert "detector" in first["build"] and 0.0 <= looks["anchor_recall5"] <= 1.0
    assert (Path(first["project"]) / "index" / "content").is_dir()

    second = _demo(tmp_path)  # reuses the world and the project: the build has nothing to redo
    assert second["store"] == store
    assert set(second["build"].values()) == {"up to date"}

    third = _demo(tmp_path, "--seed", "1")  # a new world replaces the project built from the old one
    assert third["store"]["events"] == third["events"] != first["events"]
