"""Model versions of a project: each training run writes a new version, one is promoted at a time.

::

    PROJECT/models/
      CURRENT                  the promoted version's id ("v3"), replaced atomically
      versions.json            every version (parent, source, state, data, metrics, promoted_at)
                               and the promotion history (what ``rollback`` walks back)
      versions/v3/             compatibility/  preference/  ranker/
      fusion/  detector/       not versioned (see ``lookbook.project.layout``)

Why a pointer file: a server reads ``CURRENT`` to know what to load, and a retrain in another
process writes a complete new folder *beside* the serving one, then flips the pointer by
write-then-rename (``os.replace`` is atomic on POSIX), so a reader sees the old version or the new
one, never a half-written one. Version folders are never changed after they are ready: promotion
and rollback only move the pointer, so rolling back is instant and always loads what was served.

Projects built before versions have no ``CURRENT``: their flat ``models/compatibility/`` (and so
on) are the version ``"v0"``, read where they are (``ProjectPaths`` maps ``"v0"`` to ``models/``).
Nothing is moved, so a server that has the old layout open keeps working; the first build or
retrain records ``v0`` in ``versions.json`` as the parent of what it makes, and ``rollback`` can
return to it.

A version carries over the stages it does not retrain from its parent as hard links (copies where
the file system has none), so a version is a complete, self-contained folder at little disk cost.
Writers never modify a file in place: a stage that retrains removes its folder first, which only
unlinks the names it shared.

Read-modify-write of ``versions.json`` and ``CURRENT`` happens under an exclusive ``flock`` on
``models/.versions.lock`` (a retrain and a ``lookbook models promote`` may race); readers take no
lock, as both files are only ever replaced whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lookbook.errors import LookbookError, NotFound
from lookbook.project.layout import (
    CURRENT_FILE,
    LEGACY_VERSION,
    VERSIONS_DIR,
    ProjectPaths,
    check_version_id,
    read_current,
)

log = logging.getLogger(__name__)

__all__ = [
    "MODEL_STAGES",
    "VersionInfo",
    "create_version",
    "current_version",
    "discard_version",
    "get_version",
    "history",
    "list_versions",
    "pending_version",
    "promote",
    "prune",
    "rollback",
    "serving_version",
    "update_version",
    "version_dir",
]

#: Layout of ``versions.json``.
FORMAT_VERSION = 1
VERSIONS_FILE = "versions.json"
LOCK_FILE = ".versions.lock"
#: The model folders a version holds.
MODEL_STAGES = ("compatibility", "preference", "ranker")
#: How many versions ``prune`` keeps by default besides the current one and the one a rollback
#: would return to (a preference model with EASE weights is ~100 MB at 5,000 items, and a ranker's
#: serving features as much again).
KEEP_VERSIONS = 4

#: A version's life: written, complete, broken off (folder removed), removed by ``prune``.
STATES = ("building", "ready", "failed", "pruned")

_NUMBERED = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class VersionInfo:
    """One model version as ``versions.json`` records it.

    ``source`` is ``"build"``, ``"retrain"`` or ``"legacy"`` (the flat ``v0``); ``state`` is
    ``"building"`` while it is written, ``"ready"`` once complete, ``"failed"`` when its run broke
    off and ``"pruned"`` once ``prune`` removed it (the folder is gone in both cases; the record
    stays, as history). ``data`` says what it was trained on (``trained_until``: the
    epoch second of the newest event it learned from; counts; the impressions' fingerprint);
    ``metrics`` what its run measured; ``promoted_at`` the last time it was promoted (ISO 8601 UTC).
    """

    id: str
    parent: str | None
    source: str
    state: str
    created: str
    promoted_at: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VersionInfo:
        return cls(
            id=str(d["id"]),
            parent=d.get("parent"),
            source=str(d.get("source", "retrain")),
            state=str(d.get("state", "ready")),
            created=str(d.get("created", "")),
            promoted_at=d.get("promoted_at"),
            data=dict(d.get("data") or {}),
            metrics=dict(d.get("metrics") or {}),
            stages=dict(d.get("stages") or {}),
            error=d.get("error"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "source": self.source,
            "state": self.state,
            "created": self.created,
            "promoted_at": self.promoted_at,
            "data": self.data,
            "metrics": self.metrics,
            "stages": self.stages,
            "error": self.error,
        }


# ------------------------------------------------------------------------------------------ reads
def current_version(paths: ProjectPaths) -> str:
    """The promoted version (``"v0"`` for a project without ``models/CURRENT``)."""
    return read_current(paths.models)


def serving_version(paths: ProjectPaths) -> str | None:
    """The promoted version, or ``None`` for a project that has no models yet."""
    return current_version(paths) if _has_models(paths) else None


def version_dir(paths: ProjectPaths, version: str) -> Path:
    """The folder of ``version`` (``models/`` itself for ``"v0"``)."""
    return paths.version(version).model_dir


def list_versions(paths: ProjectPaths) -> list[VersionInfo]:
    """Every recorded version, oldest first (``v0`` included when the flat layout has models)."""
    return list(_load(paths)["versions"].values())


def get_version(paths: ProjectPaths, version: str) -> VersionInfo:
    """The record of ``version``; ``NotFound`` naming the known ones."""
    versions = _load(paths)["versions"]
    if version not in versions:
        raise NotFound(f"model version {version!r}: not in {paths.models / VERSIONS_FILE} ({list(versions)})")
    return versions[version]


def history(paths: ProjectPaths) -> list[dict[str, Any]]:
    """Promotions and rollbacks, oldest first: ``{"action", "version", "from", "at"}``."""
    return list(_load(paths)["history"])


def pending_version(paths: ProjectPaths, source: str) -> str | None:
    """The newest version of ``source`` still ``"building"`` whose parent is the current version:
    the one an interrupted build resumes into (``None`` if there is none)."""
    current = serving_version(paths)
    for info in reversed(list_versions(paths)):
        building = info.source == source and info.state == "building" and info.parent == current
        if building and version_dir(paths, info.id).is_dir():
            return info.id
    return None


# ----------------------------------------------------------------------------------------- writes
def create_version(
    paths: ProjectPaths,
    *,
    parent: str | None,
    source: str,
    carry: Iterable[str] = MODEL_STAGES,
    data: dict[str, Any] | None = None,
) -> str:
    """A new version folder, recorded as ``"building"``, with the ``carry`` stages of ``parent``
    linked in (the stages the caller will not retrain) and the parent's ``data`` as a start (the
    caller overwrites what it retrains). Returns its id (``v<n+1>``)."""
    if parent is not None:
        check_version_id(parent)
    with _locked(paths) as state:
        versions = state["versions"]
        if parent is not None and parent not in versions:
            raise NotFound(f"model version {parent!r}: no such version to start from")
        inherited = dict(versions[parent].data) if parent is not None else {}
        version = _next_id(paths, versions)
        folder = version_dir(paths, version)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if parent is not None:
            src = version_dir(paths, parent)
            for stage in carry:
                if (src / stage).is_dir():
                    shutil.copytree(src / stage, tmp / stage, copy_function=_link_or_copy)
        tmp.rename(folder)
        versions[version] = VersionInfo(
            id=version,
            parent=parent,
            source=source,
            state="building",
            created=_now(),
            data={**inherited, **(data or {})},
            stages={s: {"kept_from": parent} for s in carry if parent is not None and (folder / s).is_dir()},
        )
        _save(paths, state)
    log.info("model version %s created (parent %s, %s)", version, parent, source)
    return version


def update_version(
    paths: ProjectPaths,
    version: str,
    *,
    state: str | None = None,
    data: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    stages: dict[str, Any] | None = None,
    error: str | None = None,
) -> VersionInfo:
    """Merge ``data`` / ``metrics`` / ``stages`` into the record of ``version`` and set its state."""
    if state is not None and state not in STATES:
        raise LookbookError(f"update_version state: expected one of {STATES}, got {state!r}")
    with _locked(paths) as st:
        if version not in st["versions"]:
            raise NotFound(f"model version {version!r}: not recorded")
        old = st["versions"][version]
        new = VersionInfo(
            id=old.id,
            parent=old.parent,
            source=old.source,
            state=state or old.state,
            created=old.created,
            promoted_at=old.promoted_at,
            data={**old.data, **(data or {})},
            metrics={**old.metrics, **(metrics or {})},
            stages={**old.stages, **(stages or {})},
            error=error if error is not None else old.error,
        )
        st["versions"][version] = new
        _save(paths, st)
    return new


def discard_version(paths: ProjectPaths, version: str, error: str) -> None:
    """A version whose run failed: its folder removed, its record kept as ``"failed"``."""
    if version == LEGACY_VERSION or version == current_version(paths):
        raise LookbookError(f"model version {version}: the serving version cannot be discarded")
    shutil.rmtree(version_dir(paths, version), ignore_errors=True)
    with contextlib.suppress(NotFound):
        update_version(paths, version, state="failed", error=error[:500])


def promote(paths: ProjectPaths, version: str) -> VersionInfo:
    """Make ``version`` the serving one: ``models/CURRENT`` replaced atomically, history appended.

    Only complete versions are promoted (state ready, a preference model on disk); the version's
    files are flushed to disk before the pointer moves, so a crash cannot leave ``CURRENT`` naming
    files that never reached it."""
    check_version_id(version)
    with _locked(paths) as st:
        return _promote_locked(paths, st, version, "promote")


def rollback(paths: ProjectPaths) -> VersionInfo:
    """Promote the version that served before the current one (each rollback goes one further
    back, like popping a stack; each promotion pushes)."""
    with _locked(paths) as st:
        stack = _stack(paths, st["history"])
        if len(stack) < 2:
            raise LookbookError(f"project {paths.root}: no earlier promoted version to roll back to")
        target = stack[-2]
        if not version_dir(paths, target).is_dir():
            raise NotFound(f"model version {target}: its folder is gone; promote one with `lookbook models`")
        return _promote_locked(paths, st, target, "rollback")


def _promote_locked(paths: ProjectPaths, st: dict[str, Any], version: str, action: str) -> VersionInfo:
    versions = st["versions"]
    if version not in versions:
        raise NotFound(f"model version {version!r}: no such version (known: {list(versions)})")
    info = versions[version]
    folder = version_dir(paths, version)
    if info.state != "ready":
        raise LookbookError(f"model version {version}: state is {info.state!r}; only ready versions promote")
    if not (folder / "preference" / "model.json").exists():
        raise LookbookError(f"model version {version}: {folder / 'preference'} holds no model")
    previous = serving_version(paths)
    _fsync_tree(folder if version != LEGACY_VERSION else None)
    _write_atomic(paths.models / CURRENT_FILE, version + "\n")
    at = _now()
    versions[version] = _replace(info, promoted_at=at)
    st["history"].append({"action": action, "version": version, "from": previous, "at": at})
    _save(paths, st)
    log.info("model version %s: %s (was %s)", version, action, previous)
    return versions[version]


def prune(paths: ProjectPaths, keep: int = KEEP_VERSIONS) -> list[str]:
    """Remove the folders of old versions: keeps the newest ``keep``, the current one, the one a
    rollback would return to, and ``v0`` (the flat layout is never deleted). Returns the removed."""
    if keep < 1:
        raise LookbookError(f"prune keep: expected >= 1, got {keep}")
    stack = _stack(paths, history(paths))
    protected = {LEGACY_VERSION, current_version(paths), *stack[-2:]}
    infos = list_versions(paths)
    newest = {i.id for i in [i for i in infos if i.state == "ready"][-keep:]}
    removed = []
    for info in infos:
        if info.id in protected or info.id in newest or info.state == "building":
            continue
        folder = version_dir(paths, info.id)
        if folder.is_dir() or info.state == "ready":
            shutil.rmtree(folder, ignore_errors=True)
            update_version(paths, info.id, state="pruned")
            removed.append(info.id)
    if removed:
        log.info("model versions pruned: %s", removed)
    return removed


# ---------------------------------------------------------------------------------------- helpers
def _has_models(paths: ProjectPaths) -> bool:
    """Whether the project has a promoted version (a ``CURRENT`` file, or the flat ``v0``)."""
    return (paths.models / CURRENT_FILE).exists() or _has_flat(paths)


def _has_flat(paths: ProjectPaths) -> bool:
    return (paths.models / "preference" / "model.json").exists()


def _stack(paths: ProjectPaths, events: list[dict[str, Any]]) -> list[str]:
    """The promotion stack replayed from ``events`` (the history); the current version on top."""
    stack: list[str] = []
    for event in events:
        if event.get("action") == "rollback" and stack:
            stack.pop()
        if not stack or stack[-1] != event["version"]:
            stack.append(str(event["version"]))
    if _has_models(paths):
        current = current_version(paths)
        if not stack or stack[-1] != current:
            stack.append(current)
    return stack


def _load(paths: ProjectPaths) -> dict[str, Any]:
    """``{"versions": {id: VersionInfo}, "history": [...]}``, with ``v0`` when the flat layout has
    models (and no record says otherwise)."""
    path = paths.models / VERSIONS_FILE
    versions: dict[str, VersionInfo] = {}
    hist: list[dict[str, Any]] = []
    if path.exists():
        try:
            raw = json.loads(path.read_text())
            if int(raw.get("format_version", 0)) != FORMAT_VERSION:
                raise LookbookError(
                    f"{path}: format_version {raw.get('format_version')} is not {FORMAT_VERSION}"
                )
            versions = {d["id"]: VersionInfo.from_dict(d) for d in raw.get("versions", [])}
            hist = list(raw.get("history", []))
        except (ValueError, KeyError, TypeError) as exc:
            raise LookbookError(f"{path}: unreadable ({exc})") from None
    if LEGACY_VERSION not in versions and _has_flat(paths):
        mtime = (paths.models / "preference" / "model.json").stat().st_mtime
        created = datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds")
        legacy = VersionInfo(LEGACY_VERSION, None, "legacy", "ready", created, promoted_at=created)
        versions = {LEGACY_VERSION: legacy, **versions}
        if not hist:
            hist = [{"action": "promote", "version": LEGACY_VERSION, "from": None, "at": created}]
    return {"versions": versions, "history": hist}


def _save(paths: ProjectPaths, state: dict[str, Any]) -> None:
    ordered = sorted(state["versions"].values(), key=lambda i: _order_key(i.id))
    body = {
        "format_version": FORMAT_VERSION,
        "versions": [i.to_dict() for i in ordered],
        "history": state["history"],
    }
    _write_atomic(paths.models / VERSIONS_FILE, json.dumps(body, indent=2) + "\n")
    state["versions"] = {i.id: i for i in ordered}


@contextlib.contextmanager
def _locked(paths: ProjectPaths) -> Iterator[dict[str, Any]]:
    """The versions state, read under the exclusive versions lock (held until the block ends)."""
    paths.models.mkdir(parents=True, exist_ok=True)
    with (paths.models / LOCK_FILE).open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield _load(paths)
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _next_id(paths: ProjectPaths, versions: dict[str, VersionInfo]) -> str:
    names = set(versions)
    folder = paths.models / VERSIONS_DIR
    if folder.is_dir():
        names |= {p.name.removesuffix(".tmp") for p in folder.iterdir()}
    numbers = [int(m.group(1)) for n in names if (m := _NUMBERED.match(n))]
    return f"v{max(numbers, default=0) + 1}"


def _order_key(version: str) -> tuple[int, str]:
    m = _NUMBERED.match(version)
    return (int(m.group(1)), "") if m else (1 << 30, version)


def _replace(info: VersionInfo, **changes: Any) -> VersionInfo:
    return VersionInfo.from_dict({**info.to_dict(), **changes})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _link_or_copy(src: str, dst: str) -> str:
    """Hard-link ``src`` at ``dst`` (a carried-over stage costs no disk); copy where links fail."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _write_atomic(path: Path, text: str) -> None:
    """Write-then-rename, with the file and its folder flushed: readers see the old or the new."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(folder: Path | None) -> None:
    """Flush every file of a version folder to disk (a few dozen files, milliseconds)."""
    if folder is None or not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.is_file():
            with contextlib.suppress(OSError), path.open("rb") as fh:
                os.fsync(fh.fileno())
    for sub in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        _fsync_dir(sub)
