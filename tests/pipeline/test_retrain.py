"""``retrain``: new model versions from the project's store, compared on the held-out window.

The slow tests share one copy of the session's built project and walk it through a shop's life:
an item and its events added to the store after the build, a serving version trained on older
events, a stale candidate trained on the first 5% of the events (refused, then forced), a
rollback, and a sound candidate (promoted). The store-reading test runs a real second process
that holds the store for writing.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lookbook.errors import LookbookError
from lookbook.pipeline.retrain import RetrainConfig, read_store, retrain
from lookbook.project import versions
from lookbook.project.layout import ProjectPaths, preference_item_ids
from lookbook.schema import Event, Item
from lookbook.store import open_store

LIVE = "live-001"


def _stale(seconds: np.ndarray) -> RetrainConfig:
    """A version trained on the first 5% of the events only, judged on point estimates alone: on
    this small world every model sits near popularity out of sample, so "worse" is measured without
    the noise allowance (``tolerance`` and ``noise_sigmas`` 0)."""
    return RetrainConfig(until=int(np.quantile(seconds, 0.05)), tolerance=0.0, noise_sigmas=0.0)


@pytest.fixture(scope="module")
def shop_life(built_project: Path, project_copy: Callable[[Path, Path], Path], tmp_path_factory) -> dict:
    """Reports of each step on one private copy of the built project (see the module doc)."""
    from lookbook.datasets.world import load_world

    project = project_copy(built_project, tmp_path_factory.mktemp("retrain") / "project")
    world = load_world(built_project.parent / "world")
    seconds = pc.cast(world.events.column("timestamp"), pa.int64()).to_numpy() // 1_000_000
    last = datetime.fromtimestamp(int(seconds.max()), UTC)
    donor = world.items.slice(0, 1).to_pylist()[0]
    users = world.users.column("user_id").to_pylist()[:5]
    with open_store(project, create=False) as store:  # as `lookbook ingest` would, no server running
        item = Item(
            LIVE, "Live linen shirt", category=donor["category"], slot=donor["slot"], price=42.0,
            image=str(world.root / donor["image"]) if donor["image"] else None,
        )  # fmt: skip
        assert store.upsert_items([item], strict=True).loaded == 1
        events = [
            Event(u, LIVE, "purchase" if j % 2 else "click", last - timedelta(days=3, minutes=j))
            for j, u in enumerate(users)
        ]
        assert store.append_events(events, strict=True).loaded == len(events)
    out: dict = {"project": project}
    cut = int(np.quantile(seconds, 0.8))
    out["old"] = retrain(project, force=True, show_progress=False, config=RetrainConfig(until=cut))
    out["weak"] = retrain(project, show_progress=False, config=_stale(seconds))
    out["weak_forced"] = retrain(project, force=True, show_progress=False, config=_stale(seconds))
    out["rolled_back_to"] = versions.rollback(ProjectPaths(project)).id
    out["good"] = retrain(project, show_progress=False)
    return out


@pytest.mark.slow
def test_a_retrain_on_older_events_is_not_comparable_and_needs_force(shop_life: dict):
    old = shop_life["old"]
    assert old["serving"] == "v1" and old["version"] == "v2"
    assert "skipped" in old["metrics"]  # the build's version learned from every event: no fair window
    assert old["promoted"] and old["reason"].startswith("forced")
    info = versions.get_version(ProjectPaths(shop_life["project"]), "v2")
    assert info.data["trained_until"] < old["metrics"]["serving_trained_until"]


@pytest.mark.slow
def test_a_worse_version_is_kept_but_not_promoted(shop_life: dict):
    weak = shop_life["weak"]
    m = weak["metrics"]
    assert weak["serving"] == "v2" and not weak["promoted"] and weak["reason"].startswith("worse")
    assert m["test_users"] >= 20 and m["window_start"] > m["serving_trained_until"]
    assert m["candidate_ndcg"] < m["serving_ndcg"], m
    info = versions.get_version(ProjectPaths(shop_life["project"]), weak["version"])
    assert info.state == "ready" and info.metrics["candidate_ndcg"] == m["candidate_ndcg"]


@pytest.mark.slow
def test_force_promotes_a_worse_version_and_rollback_returns(shop_life: dict):
    forced = shop_life["weak_forced"]
    assert forced["promoted"] and forced["reason"].startswith("forced, although worse")
    assert shop_life["rolled_back_to"] == "v2"


@pytest.mark.slow
def test_a_sound_retrain_is_promoted_with_its_metrics(shop_life: dict):
    good = shop_life["good"]
    paths = ProjectPaths(shop_life["project"])
    m = good["metrics"]
    assert good["serving"] == "v2" and good["promoted"], good["reason"]
    assert m["candidate_ndcg"] >= m["serving_ndcg"] - m["tolerance"]
    assert versions.current_version(paths) == good["version"]
    assert good["store"]["read"] == "read-only" and good["stages"]["preference"]["trained"]
    assert good["stages"]["compatibility"]["trained"]
    assert (paths.compatibility / "model.json").exists() and (paths.preference / "model.json").exists()


@pytest.mark.slow
def test_an_item_added_to_the_store_after_the_build_is_learned(shop_life: dict):
    from lookbook.models.collaborative.hybrid import LookbookRecommender

    good = shop_life["good"]
    paths = ProjectPaths(shop_life["project"])
    assert good["content"]["encoded"] == 1  # no vectors anywhere: encoded with the project's fusion
    ids = preference_item_ids(paths)
    assert ids[-1] == LIVE and len(ids) == good["store"]["items"]
    model = LookbookRecommender.load(paths.preference)
    row = ids.index(LIVE)
    assert model.n_items_ == len(ids) and model.seen_[:, row].nnz == 5  # its five buyers and clickers
    assert LIVE not in json.loads((paths.vectors / "item_ids.json").read_text())  # the build's, untouched


@pytest.mark.slow
def test_models_cli_lists_promotes_and_rolls_back(shop_life: dict, capsys: pytest.CaptureFixture[str]):
    from lookbook.cli import main

    project = str(shop_life["project"])
    assert main(["models", "list", "--project", project, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    good = shop_life["good"]["version"]
    assert listed["current"] == good
    assert [v["id"] for v in listed["versions"]][:2] == ["v1", "v2"]
    assert main(["models", "rollback", "--project", project]) == 0
    assert "to v2" in capsys.readouterr().out
    assert main(["models", "promote", good, "--project", project]) == 0
    assert versions.current_version(ProjectPaths(shop_life["project"])) == good
    assert main(["models", "promote", "v99", "--project", project]) == 1


def test_unknown_stages_are_refused(tmp_path: Path):
    with pytest.raises(LookbookError, match="stages"):
        retrain(tmp_path, stages=["preference", "colour"])


_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from lookbook.schema import Event
    from lookbook.store import open_store

    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    with open_store(sys.argv[1], create=False) as store:
        print("open", flush=True)
        j = 0
        while j < 100_000:
            store.append_events([Event("u1", "sku-1", "click", t0 + timedelta(seconds=j))])
            j += 1
            if j % 50 == 0:
                store.checkpoint()
            time.sleep(0.002)
    """
)


def test_the_store_is_read_from_a_consistent_copy_while_another_process_writes(tmp_path: Path):
    project = tmp_path / "project"
    with open_store(project) as store:
        store.upsert_items([Item("sku-1", "White tee", slot="top"), Item("sku-2", "Jeans", slot="bottom")])
        store.append_events([Event("u0", "sku-2", "purchase", datetime(2024, 2, 1, tzinfo=UTC))])
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(project)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
        with pytest.raises(LookbookError, match="lock"):  # DuckDB: no second process, not even read-only
            open_store(project, create=False, read_only=True)
        counts: list[int] = []
        deadline = time.monotonic() + 60
        while len(counts) < 5 or (counts[-1] < 20 and time.monotonic() < deadline):
            snap = read_store(ProjectPaths(project))
            assert snap.method == "copy" and snap.items.num_rows == 2
            ts = pc.cast(snap.events.column("timestamp"), pa.int64()).to_numpy()
            assert np.all(np.diff(ts) >= 0)
            counts.append(snap.events.num_rows)
            time.sleep(0.1)
        assert counts == sorted(counts) and counts[-1] >= 20, counts  # it saw the writer's commits
        assert not [p for p in project.iterdir() if p.name.startswith(".retrain-")]
    finally:
        writer.kill()  # the writer this test started, by its handle
        writer.wait()
    snap = read_store(ProjectPaths(project))
    assert snap.method == "read-only" and snap.events.num_rows >= counts[-1]


def test_retrain_config_checks_its_fields():
    with pytest.raises(LookbookError, match="window_fraction"):
        RetrainConfig(window_fraction=1.5)
    assert dataclasses.replace(RetrainConfig(), tolerance=0.0).tolerance == 0.0


@pytest.mark.slow
def test_the_build_writes_and_promotes_the_first_version(built_project: Path):
    paths = ProjectPaths(built_project)
    assert versions.current_version(paths) == "v1"
    [info] = versions.list_versions(paths)
    assert (info.source, info.state, info.parent) == ("build", "ready", None)
    assert info.data["trained_until"] and info.data["events"] > 0 and info.data["impressions"]
    assert {"compatibility", "preference"} <= set(info.stages)
    assert paths.preference == built_project / "models" / "versions" / "v1" / "preference"
    assert (paths.fusion / "fusion.json").exists()  # the fusion stays beside the versions
    assert len(preference_item_ids(paths)) == len(json.loads((paths.vectors / "item_ids.json").read_text()))


@pytest.mark.slow
def test_an_interrupted_build_resumes_into_its_pending_version(
    built_project: Path, project_copy: Callable[[Path, Path], Path], tmp_path: Path
):
    from lookbook.datasets.world import load_world
    from lookbook.pipeline.build import BuildConfig, build_project

    project = project_copy(built_project, tmp_path / "project")
    paths = ProjectPaths(project)
    pending = versions.create_version(paths, parent="v1", source="build")  # as a killed build leaves it
    world = load_world(built_project.parent / "world")
    cfg = BuildConfig(cache_dir=built_project.parent / "cache", resolution=64, preference_epochs=1)
    report = build_project(world, project, cfg, show_progress=False)
    assert not report["preference"].get("skipped") and not report["index"].get("skipped")
    assert versions.current_version(paths) == pending == "v2"
    assert [i.id for i in versions.list_versions(paths)] == ["v1", "v2"]
    assert versions.get_version(paths, "v2").stages["compatibility"] == {"kept_from": "v1"}


@pytest.mark.slow
def test_an_old_flat_project_retrains_and_rolls_back_to_v0(
    built_project: Path, project_copy: Callable[[Path, Path], Path], tmp_path: Path
):
    project = project_copy(built_project, tmp_path / "project")
    models = project / "models"
    for stage in versions.MODEL_STAGES:  # the layout every build wrote before versions
        (models / "versions" / "v1" / stage).rename(models / stage)
    (models / "preference" / "item_ids.json").unlink()
    for name in ("CURRENT", "versions.json"):
        (models / name).unlink()
    (models / "versions" / "v1").rmdir()
    paths = ProjectPaths(project)
    assert versions.current_version(paths) == "v0" and paths.preference == models / "preference"

    report = retrain(project, show_progress=False)
    assert report["serving"] == "v0" and not report["promoted"]  # v0 learned from every event
    assert report["metrics"]["serving_trained_until"]  # read from the source world it was built from
    forced = retrain(project, force=True, show_progress=False)
    assert forced["promoted"] and versions.current_version(paths) == forced["version"]
    assert versions.get_version(paths, report["version"]).parent == "v0"
    assert versions.rollback(paths).id == "v0"
    assert paths.preference == models / "preference" and (paths.preference / "model.json").exists()
