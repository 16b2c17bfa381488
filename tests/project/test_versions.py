"""Model versions: the CURRENT pointer, promotion, rollback, history, and the old flat layout.

A version here is a folder with a stand-in ``preference/model.json`` (what ``promote`` checks); the
real models are exercised by the retrain tests.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from lookbook.errors import LookbookError, NotFound
from lookbook.project import versions
from lookbook.project.layout import ProjectPaths, preference_item_ids


def _project(tmp_path: Path) -> ProjectPaths:
    paths = ProjectPaths(tmp_path / "project")
    paths.models.mkdir(parents=True)
    return paths


def _ready(paths: ProjectPaths, parent: str | None, tag: str, **kw) -> str:
    """A version with a stand-in preference model holding ``tag``, marked ready."""
    version = versions.create_version(paths, parent=parent, source="retrain", carry=(), **kw)
    folder = paths.version(version).preference
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"tag": tag}))
    versions.update_version(paths, version, state="ready", metrics={"tag": tag})
    return version


def _tag(paths: ProjectPaths) -> str:
    return json.loads((paths.preference / "model.json").read_text())["tag"]


def test_a_fresh_project_gets_v1_and_paths_follow_current(tmp_path: Path):
    paths = _project(tmp_path)
    assert versions.list_versions(paths) == []
    v1 = _ready(paths, None, "one")
    assert v1 == "v1"
    versions.promote(paths, v1)
    assert (paths.models / "CURRENT").read_text().strip() == "v1"
    assert versions.current_version(paths) == "v1"
    assert paths.preference == paths.models / "versions" / "v1" / "preference"
    assert paths.compatibility.parent == paths.ranker.parent == paths.preference.parent
    assert paths.fusion == paths.models / "fusion"  # not versioned
    assert _tag(paths) == "one"


def test_pinned_paths_do_not_move_when_another_version_is_promoted(tmp_path: Path):
    paths = _project(tmp_path)
    versions.promote(paths, _ready(paths, None, "one"))
    pinned = paths.current()
    versions.promote(paths, _ready(paths, "v1", "two"))
    assert _tag(pinned) == "one" and pinned.model_version == "v1"
    assert _tag(paths) == "two" and paths.model_version == "v2"
    assert _tag(paths.version("v1")) == "one"


def test_promote_refuses_unknown_incomplete_and_unsafe_versions(tmp_path: Path):
    paths = _project(tmp_path)
    building = versions.create_version(paths, parent=None, source="retrain")
    with pytest.raises(LookbookError, match="building"):
        versions.promote(paths, building)
    with pytest.raises(NotFound, match="v9"):
        versions.promote(paths, "v9")
    with pytest.raises(LookbookError, match="version"):
        versions.promote(paths, "../etc")
    assert not (paths.models / "CURRENT").exists()


def test_the_pointer_is_replaced_atomically_under_concurrent_readers(tmp_path: Path):
    paths = _project(tmp_path)
    a = _ready(paths, None, "a")
    b = _ready(paths, a, "b")
    versions.promote(paths, a)
    seen: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add((paths.models / "CURRENT").read_text())

    reader = threading.Thread(target=read)
    reader.start()
    for j in range(200):
        versions.promote(paths, a if j % 2 else b)
    stop.set()
    reader.join()
    assert seen <= {"v1\n", "v2\n"}, seen  # never empty, never half a name
    assert not [p for p in paths.models.iterdir() if p.name.endswith(".tmp")]


def test_rollback_walks_back_through_promotions_like_a_stack(tmp_path: Path):
    paths = _project(tmp_path)
    v1 = _ready(paths, None, "one")
    versions.promote(paths, v1)
    with pytest.raises(LookbookError, match="no earlier"):
        versions.rollback(paths)
    v2 = _ready(paths, v1, "two")
    versions.promote(paths, v2)
    v3 = _ready(paths, v2, "three")
    versions.promote(paths, v3)
    assert versions.rollback(paths).id == v2
    assert versions.rollback(paths).id == v1  # not back to v3: each rollback goes one further
    assert _tag(paths) == "one"
    actions = [(h["action"], h["version"]) for h in versions.history(paths)]
    assert actions == [
        ("promote", "v1"),
        ("promote", "v2"),
        ("promote", "v3"),
        ("rollback", "v2"),
        ("rollback", "v1"),
    ]


def test_history_records_parent_metrics_and_promotion_time(tmp_path: Path):
    paths = _project(tmp_path)
    v1 = _ready(paths, None, "one")
    versions.update_version(paths, v1, data={"trained_until": 100})
    versions.promote(paths, v1)
    v2 = _ready(paths, v1, "two")
    raw = json.loads((paths.models / "versions.json").read_text())
    assert raw["format_version"] == 1
    by_id = {v["id"]: v for v in raw["versions"]}
    assert by_id["v1"]["promoted_at"] and by_id["v2"]["promoted_at"] is None
    assert by_id["v2"]["parent"] == "v1" and by_id["v2"]["metrics"] == {"tag": "two"}
    assert by_id["v2"]["data"]["trained_until"] == 100  # inherited from the parent until retrained
    assert [i.id for i in versions.list_versions(paths)] == ["v1", v2]


def test_carried_stages_are_hard_links_and_a_retrained_stage_never_writes_through(tmp_path: Path):
    paths = _project(tmp_path)
    v1 = _ready(paths, None, "one")
    compat = paths.version(v1).compatibility
    compat.mkdir(parents=True)
    (compat / "model.json").write_text("parent")
    v2 = versions.create_version(paths, parent=v1, source="retrain")
    carried = paths.version(v2).compatibility / "model.json"
    assert carried.read_text() == "parent"
    assert carried.stat().st_ino == (compat / "model.json").stat().st_ino
    assert versions.get_version(paths, v2).stages["compatibility"] == {"kept_from": v1}


def test_a_failed_version_is_discarded_and_pruning_keeps_current_and_rollback(tmp_path: Path):
    paths = _project(tmp_path)
    made = []
    parent = None
    for j in range(6):
        made.append(_ready(paths, parent, str(j)))
        versions.promote(paths, made[-1])
        parent = made[-1]
    broken = versions.create_version(paths, parent=parent, source="retrain")
    versions.discard_version(paths, broken, "RuntimeError: boom")
    assert not paths.version(broken).model_dir.exists()
    assert versions.get_version(paths, broken).state == "failed"
    with pytest.raises(LookbookError, match="serving"):
        versions.discard_version(paths, parent, "no")
    removed = versions.prune(paths, keep=2)
    assert removed == made[:4]
    assert versions.get_version(paths, made[0]).state == "pruned"
    with pytest.raises(LookbookError, match="pruned"):
        versions.promote(paths, made[0])
    assert all(paths.version(v).model_dir.is_dir() for v in made[4:])
    assert versions.rollback(paths).id == made[4]


def test_an_old_flat_project_is_version_v0_in_place(tmp_path: Path):
    paths = _project(tmp_path)
    flat = paths.models / "preference"
    flat.mkdir()
    (flat / "model.json").write_text(json.dumps({"tag": "flat"}))
    paths.vectors.mkdir()
    (paths.vectors / "item_ids.json").write_text(json.dumps(["a", "b"]))
    assert versions.current_version(paths) == "v0"
    assert paths.preference == flat and _tag(paths) == "flat"
    assert preference_item_ids(paths) == ["a", "b"]  # the build's catalog, as before versions
    [v0] = versions.list_versions(paths)
    assert (v0.id, v0.source, v0.state) == ("v0", "legacy", "ready")
    assert not (paths.models / "versions.json").exists()  # reading migrates nothing

    v1 = _ready(paths, "v0", "new")
    assert (paths.version(v1).preference / "model.json").read_text() != ""
    versions.promote(paths, v1)
    assert flat.is_dir() and _tag(paths) == "new"
    assert versions.rollback(paths).id == "v0"
    assert (paths.models / "CURRENT").read_text().strip() == "v0"
    assert _tag(paths) == "flat" and paths.preference == flat
    assert versions.prune(paths, keep=1) == []  # v0 and the rollback target stay


def test_a_version_reports_its_own_model_item_ids(tmp_path: Path):
    paths = _project(tmp_path)
    v1 = _ready(paths, None, "one")
    paths.vectors.mkdir()
    (paths.vectors / "item_ids.json").write_text(json.dumps(["a"]))
    (paths.version(v1).preference / "item_ids.json").write_text(json.dumps(["a", "live-1"]))
    versions.promote(paths, v1)
    assert preference_item_ids(paths) == ["a", "live-1"]


def test_a_corrupt_pointer_names_the_file(tmp_path: Path):
    paths = _project(tmp_path)
    (paths.models / "CURRENT").write_text("../../x\n")
    with pytest.raises(LookbookError, match="CURRENT"):
        _ = paths.preference
