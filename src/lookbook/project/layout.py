"""Where a built project keeps each thing, and the record of what was built from what.

A project folder is self-contained: the embedded store (DuckDB file and images) at its root, models
under ``models/``, row-aligned vectors under ``vectors/``, the embedded vector index under
``index/``, and ``build.json``, which records per stage the fingerprint of the inputs it was built
from. ``lookbook build`` reruns only the stages whose inputs changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

#: Bumped when a stage's output layout changes: every stage then rebuilds.
LAYOUT_VERSION = 1


@dataclass(frozen=True)
class ProjectPaths:
    root: Path

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def compatibility(self) -> Path:
        return self.models / "compatibility"

    @property
    def preference(self) -> Path:
        return self.models / "preference"

    @property
    def ranker(self) -> Path:
        return self.models / "ranker"

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
