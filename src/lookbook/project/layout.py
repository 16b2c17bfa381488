"""Where a built project keeps each thing, and the record of what was built from what.

A project folder is self-contained: the embedded store (DuckDB file and images) at its root, models
under ``models/``, row-aligned vectors under ``vectors/``, the embedded vector index under
``index/``, and ``build.json``, which records per stage the fingerprint of the inputs it was built
from. ``lookbook build`` reruns only the stages whose inputs changed.

Trained models are versioned (``lookbook.project.versions``): each version is a folder
``models/versions/<id>/`` holding ``compatibility/``, ``preference/`` and ``ranker/``, and the text
file ``models/CURRENT`` names the promoted one. ``ProjectPaths.compatibility`` / ``.preference`` /
``.ranker`` resolve inside that version, so every reader follows a promotion without knowing about
versions. A project built before versions has no ``CURRENT``: its flat ``models/compatibility/``
(and so on) are the version ``"v0"``, read in place (nothing is moved: a server may be reading
them). What a retrain does not relearn stays beside the versions: ``models/fusion/`` (the content
vectors in ``vectors/`` and the index's content space come from it) and ``models/detector/``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lookbook.errors import LookbookError

#: Bumped when a stage's output layout changes: every stage then rebuilds.
LAYOUT_VERSION = 1


#: The model version of a project built before versions: its flat ``models/<stage>/`` folders.
LEGACY_VERSION = "v0"
#: The file naming the promoted model version (replaced atomically by ``versions.promote``).
CURRENT_FILE = "CURRENT"
#: Where versions live under ``models/``.
VERSIONS_DIR = "versions"
_VERSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_version_id(version: str) -> str:
    """``version`` if it is a safe folder name (``v3``), else ``LookbookError`` naming it."""
    if not isinstance(version, str) or not _VERSION_ID.match(version):
        raise LookbookError(f"model version: expected a name like 'v3', got {version!r}")
    return version


def read_current(models: Path) -> str:
    """The promoted version named by ``models/CURRENT``; ``"v0"`` (the flat layout) without one."""
    try:
        text = (models / CURRENT_FILE).read_text().strip()
    except FileNotFoundError:
        return LEGACY_VERSION
    try:
        return check_version_id(text)
    except LookbookError:
        raise LookbookError(f"{models / CURRENT_FILE}: expected a version name, got {text!r}") from None


@dataclass(frozen=True)
class ProjectPaths:
    """Where a project keeps each thing.

    ``pinned`` fixes the model version the model folders resolve in; ``None`` follows
    ``models/CURRENT`` on every access. A reader that loads several models of one version (a shop
    opening, a build's index stage) pins first with ``current()``, so a promotion in between cannot
    hand it one model of each version.
    """

    root: Path
    pinned: str | None = None

    def version(self, version: str) -> ProjectPaths:
        """These paths with the model folders of ``version`` (``"v0"``: the flat layout)."""
        return ProjectPaths(self.root, check_version_id(version))

    def current(self) -> ProjectPaths:
        """These paths pinned to the version promoted now."""
        return self.version(self.model_version)

    @property
    def model_version(self) -> str:
        """The version the model folders resolve in: the pinned one, else the promoted one."""
        return self.pinned if self.pinned is not None else read_current(self.models)

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def model_dir(self) -> Path:
        """The folder of the model version (``models/`` itself for the flat ``"v0"``)."""
        version = self.model_version
        return self.models if version == LEGACY_VERSION else self.models / VERSIONS_DIR / version

    @property
    def compatibility(self) -> Path:
        return self.model_dir / "compatibility"

    @property
    def preference(self) -> Path:
        return self.model_dir / "preference"

    @property
    def ranker(self) -> Path:
        return self.model_dir / "ranker"

    @property
    def fusion(self) -> Path:
        """The fitted content fusion: one per build (not versioned), as the content vectors are."""
        return self.models / "fusion"

    @property
    def vectors(self) -> Path:
        return self.root / "vectors"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def record(self) -> Path:
        return self.root / "build.json"


def default_index_uri(project: Path | str) -> str:
    """The index a project uses when no ``--index`` URI is given: embedded, inside the project."""
    return f"embedded:{ProjectPaths(Path(project)).index}"


def table_fingerprint(table: pa.Table) -> str:
    """sha256 of a table's Arrow IPC bytes: equal tables, equal fingerprints (~0.1 s per 1M rows).

    Chunks are combined and each column copied through ``take`` first, so two equal tables that
    were read or built in different pieces (slices carry offsets) serialise to the same bytes."""
    table = table.replace_schema_metadata(None).combine_chunks()
    if table.num_rows:
        import pyarrow.compute as pc

        table = pc.take(table, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]


def combine(*parts: Any) -> str:
    """One fingerprint of several (strings, numbers, dicts): a stage's inputs."""
    blob = json.dumps([LAYOUT_VERSION, *parts], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class BuildRecord:
    """``build.json``: per stage, the fingerprint it was built from and what it reported.

    Saved after every stage by write-then-rename, so an interrupted build resumes after the last
    finished stage and never sees a half-written record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stages: dict[str, dict[str, Any]] = {}
        if path.exists():
            self.stages = json.loads(path.read_text()).get("stages", {})

    def fresh(self, stage: str, fingerprint: str) -> bool:
        return self.stages.get(stage, {}).get("fingerprint") == fingerprint

    def done(self, stage: str, fingerprint: str, report: dict[str, Any]) -> None:
        self.stages[stage] = {"fingerprint": fingerprint, "report": report}
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"layout_version": LAYOUT_VERSION, "stages": self.stages}, indent=2))
        tmp.replace(self.path)

    def report(self, stage: str) -> dict[str, Any]:
        return dict(self.stages.get(stage, {}).get("report", {}))


def copy_project(src: Path, dst: Path) -> Path:
    """Copy a project folder to ``dst`` (which must not exist), keeping zero blocks as holes.

    Why: the embedded index preallocates its WAL and storage pages, about 200 MB per vector space
    whatever the catalog size, so a plain copy of a small project costs gigabytes of disk; a sparse
    copy costs what the data needs. Copy only a project no process is writing to.
    """
    src, dst = Path(src), Path(dst)
    if dst.exists():
        raise FileExistsError(f"copy_project: {dst} already exists")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if sys.platform.startswith("linux") and shutil.which("cp"):
        subprocess.run(["cp", "-r", "--sparse=always", str(src), str(dst)], check=True)
    else:
        shutil.copytree(src, dst)
    return dst


def encoded_resolution(paths: ProjectPaths) -> int:
    """The image resolution the project's catalog was encoded at: items added later and photo crops
    must be encoded the same way (128, the build's default, for builds that predate recording it)."""
    try:
        stages = json.loads(paths.record.read_text())["stages"]
        return int(stages["encode"]["report"].get("resolution", 128))
    except (OSError, KeyError, ValueError):
        return 128


#: The item ids a version's preference model's rows stand for, inside ``preference/``.
MODEL_ITEM_IDS = "item_ids.json"


def preference_item_ids(paths: ProjectPaths) -> list[str]:
    """The item id of each row of the preference model at ``paths``: ``preference/item_ids.json``
    (written by every build and retrain since versions), else the build's ``vectors/item_ids.json``
    (the flat ``"v0"`` layout, whose model was trained on exactly the build's catalog).

    Why a version carries its own: a retrain trains on the store's catalog, items added live
    included, so its rows no longer follow the build's vectors."""
    own = paths.preference / MODEL_ITEM_IDS
    source = own if own.exists() else paths.vectors / "item_ids.json"
    return [str(i) for i in json.loads(source.read_text())]
