"""``retrain(project)``: new models from the project's own store, beside the serving ones.

After the first build the store is the source of truth: items added live, every event since,
users. A retrain reads it (all of it), trains a new model version (``lookbook.project.versions``)
and promotes it when it is not worse than the serving version on the latest held-out time window.
It never touches a serving process: a running server notices the new ``models/CURRENT`` and swaps
it in (``lookbook.touchpoints.swap``); one that is not running serves it from its next start.

Stages
------
* ``preference`` (always: the promotion decision is made on it): the two-tower + EASE blend on
  every event over every store item, exactly as the build trains it (``build.fit_preference``).
* ``compatibility`` (when the store has sets): the style model on every set.
* ``ranker``: the reranker's trees learn from logged impressions with their clicks: the store's own
  served slates once ``min_live_slates`` of them have a click attributed by its ``request_id``
  (``ranker_data.store_impressions``), else the source world's (``impressions.parquet`` beside the
  world the project was built from), retrained when those changed since the serving version's
  ranker and otherwise carried over. Either way the two feature models the server computes the
  ranker's ``a`` and ``d`` with (EASE and ALS, ``lookbook.pipeline.ranker``) are refitted on the
  store's events, live ones included. With neither, the stage is skipped with the reason (and the
  serving version's ranker carried over). Whether a touchpoint reranks is a setting
  (``use_reranker`` at the top of ``settings.toml`` and in each touchpoint's table).
A stage not asked for is carried over from the serving version (hard links, no disk cost).

Content vectors
---------------
Models learn from content vectors row-aligned with the store's items: the build's
(``vectors/content.npy``) for the items it encoded, the store's ``item_vectors`` for items written
live (newer: an item updated live was re-encoded), and, for items with neither (ingested into the
store without a server), encoded here with the project's fitted fusion, as the serving writer does.

The held-out comparison (why it is fair)
-----------------------------------------
The window is the latest ~``window_fraction`` of events by time, but never earlier than the first
event the serving version did *not* learn from (its ``trained_until`` in ``versions.json``): a
model scored on events it trained on looks better than it is, so the serving version is only ever
scored out of sample. When there are too few such events (a retrain right after a build, with
nothing new in the store) there is no fair comparison; the new version is then trained and kept
but not promoted, unless ``force``.

Both versions are scored *as served*: for each test user (positive events in the window on items
they had not touched before, and positive history before it) the user's history before the window
is folded in by the serving scorer (``PreferenceScorer``: the user tower over their items, EASE over
their row), items they touched are left out, and the top 10 over the whole store catalog is
compared with their window items (NDCG@10). So both see the same history and the same catalog.

The candidate scored is a *shadow* fit of the new version's recipe on the events before the window;
the version that is saved (and promoted) is the same recipe refitted on every event, so it is at
least as informed as the one measured. The serving version is scored as it is; it learned from
less than the shadow when new events arrived before the window, which is the gain a retrain is for.
Promotion: ``candidate >= serving - max(tolerance, 2 x paired standard error)``, the standard error
of the per-user NDCG differences (both scored on the same users): not worse beyond noise.

Why the serving version must not be scored on what it learned from: on the test world (300 items,
120 users) a preference model scored on its own training window reaches NDCG@10 0.23 (0.44 for an
EASE with a tiny l2), against 0.08 out of sample and 0.07 for popularity; any new version would lose
to that.

Reading the store while a server writes to it
---------------------------------------------
DuckDB lets one process hold a database file for writing, and while it does, no other process may
open it, not even read-only (tried: ``IO Error: Could not set lock on file ... Conflicting lock is
held``). ``lookbook serve`` holds it for writing. So a retrain first tries a read-only open (no
server: nothing to copy); when the file is locked, it copies the database file and its write-ahead
log into a private folder and opens the copy read-only (DuckDB replays the copied log in memory).
A copy is only used when neither file changed while it was taken (size, mtime and inode equal
before and after; a server's commit or checkpoint in between makes it retry), and it is opened
and read in full before it counts. Either way the store is read into memory in one go and closed
at once, so a retrain never keeps a server from opening the project.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.datasets.world import World
from lookbook.errors import LookbookError, NotFound
from lookbook.project import versions
from lookbook.project.layout import ProjectPaths, encoded_resolution, preference_item_ids, table_fingerprint

if TYPE_CHECKING:
    from lookbook.models.collaborative.hybrid import LookbookConfig, LookbookRecommender

log = logging.getLogger(__name__)

__all__ = ["STAGES", "RetrainConfig", "StoreSnapshot", "read_store", "retrain"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: The stages ``retrain`` knows, in the order they run.
STAGES = ("preference", "compatibility", "ranker")
#: Serving features the ranker folder holds beside its trees (refitted on the store's events).
RANKER_FEATURE_FILES = (
    "ease_item_weights.npy",
    "als_item_factors.npy",
    "item_known.npy",
    "feature_item_ids.json",
)
RETRAIN_LOCK = ".retrain.lock"
#: A store copy older than this (seconds) was left by a killed retrain and is removed.
STALE_COPY_S = 3_600


@dataclass(frozen=True)
class RetrainConfig:
    """Settings of ``retrain``.

    ``window_fraction``: the share of the latest events held out for the comparison (10%: about
    a week of the default world's events, 20k of them). ``min_test_users``: fewer test users than
    this in the window and the comparison is called off (NDCG over a handful of users is noise).
    ``tolerance``: the NDCG@10 a new version may lose and still be promoted, widened to
    ``noise_sigmas`` paired standard errors of the difference when those are larger (0: the point
    estimates alone decide). ``until``: train only on events before
    this epoch second (a backtest, or a version as it would have been; the comparison window is
    still the store's latest, and the version records ``until`` as its ``trained_until``).
    ``preference``: the preference model's settings (``None``: the build's).
    ``min_live_slates``: the reranker learns from the store's own served slates once this many of
    them (shown to known shoppers) have an attributed click; before that, from the source's.
    """

    window_fraction: float = 0.1
    min_test_users: int = 20
    tolerance: float = 0.002
    noise_sigmas: float = 2.0
    k: int = 10
    seed: int = 0
    until: int | None = None
    preference: LookbookConfig | None = None
    preference_epochs: int | None = None
    compatibility_epochs: int | None = None
    keep_versions: int = versions.KEEP_VERSIONS
    snapshot_tries: int = 20
    min_live_slates: int = 200

    def __post_init__(self) -> None:
        if not 0.0 < self.window_fraction < 1.0:
            raise LookbookError(f"RetrainConfig.window_fraction: expected (0, 1), got {self.window_fraction}")
        if self.min_test_users < 1 or self.k < 1:
            raise LookbookError("RetrainConfig.min_test_users and k: expected >= 1")
        for name in ("tolerance", "noise_sigmas"):
            if not getattr(self, name) >= 0.0:
                raise LookbookError(f"RetrainConfig.{name}: expected >= 0, got {getattr(self, name)}")


# ------------------------------------------------------------------------------------ the store
@dataclass
class StoreSnapshot:
    """The store's tables, read in one go (see the module doc), and how they were read."""

    items: pa.Table
    users: pa.Table
    events: pa.Table
    sets: pa.Table
    impressions: pa.Table | None = None  # the served slates (``tables.IMPRESSIONS_SCHEMA``)
    vectors: dict[str, tuple[list[str], F32]] = field(default_factory=dict)
    method: str = "read-only"
    seconds: float = 0.0
    attempts: int = 1

    def world(self, root: Path, events: pa.Table | None = None) -> World:
        """The snapshot as a ``World`` (what the build's training functions read)."""
        return World(
            items=self.items,
            users=self.users,
            events=self.events if events is None else events,
            sets=self.sets,
            root=root,
        )


def read_store(paths: ProjectPaths, *, tries: int = 20) -> StoreSnapshot:
    """Every item, user, event and set of the project's store, and its stored content vectors.

    Opens the store read-only when no process holds it; when one does (a server), reads a
    consistent copy of the database file and its write-ahead log instead (module doc)."""
    from lookbook.store import DB_FILE

    started = time.perf_counter()
    db = paths.root / DB_FILE
    if not db.exists():
        raise NotFound(f"project {paths.root}: no store ({DB_FILE}); build the project first")
    try:
        snap = _read(paths.root)
        snap.method = "read-only"
    except _Locked:
        snap = _read_copy(paths.root, db, tries)
        snap.method = "copy"
    snap.seconds = round(time.perf_counter() - started, 2)
    log.info(
        "store read (%s) in %.2f s: %d items, %d users, %d events, %d sets",
        snap.method, snap.seconds, snap.items.num_rows, snap.users.num_rows, snap.events.num_rows,
        snap.sets.num_rows,
    )  # fmt: skip
    return snap


class _Locked(Exception):
    """Another process holds the store for writing."""


def _read(root: Path) -> StoreSnapshot:
    from lookbook.store import open_store

    try:
        store = open_store(root, create=False, read_only=True)
    except LookbookError as exc:
        if "lock" in str(exc).lower():
            raise _Locked(str(exc)) from None
        raise
    with store:
        vectors = {}
        if "content" in store.vector_spaces():
            vectors["content"] = store.item_vectors("content")
        return StoreSnapshot(
            items=store.items_table(),
            users=store.users_table(),
            events=store.events_table(),
            sets=store.sets_table(),
            impressions=store.impressions_table(),
            vectors=vectors,
        )


def _file_state(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_copy(root: Path, db: Path, tries: int) -> StoreSnapshot:
    """Copy ``db`` and its WAL while neither changes, then read the copy read-only."""
    from lookbook.store import DB_FILE

    wal = db.with_name(db.name + ".wal")
    last: Exception | None = None
    for stale in root.glob(".retrain-*"):  # left by a retrain that was killed
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > STALE_COPY_S:
                shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=".retrain-", dir=root) as tmp:
        copy = Path(tmp)
        for attempt in range(tries):
            before = (_file_state(db), _file_state(wal))
            shutil.copyfile(db, copy / DB_FILE)
            (copy / (DB_FILE + ".wal")).unlink(missing_ok=True)
            with contextlib.suppress(FileNotFoundError):
                shutil.copyfile(wal, copy / (DB_FILE + ".wal"))
            after = (_file_state(db), _file_state(wal))
            if before == after:
                try:
                    snap = _read(copy)
                    snap.attempts = attempt + 1
                    return snap
                except (LookbookError, _Locked) as exc:  # a torn copy: DuckDB refuses it; retry
                    last = exc
            log.debug("store copy %d changed while it was taken; again", attempt + 1)
            time.sleep(min(0.05 * (attempt + 1), 0.5))
    raise LookbookError(
        f"store {root}: it changed during each of {tries} copies (a busy writer); retry later"
        + (f" ({last})" if last else "")
    )


# ------------------------------------------------------------------------------ content vectors
def content_vectors(
    paths: ProjectPaths, snap: StoreSnapshot, *, show_progress: bool = False
) -> tuple[F32, dict[str, int]]:
    """``(n_items, D)`` content vectors row-aligned with ``snap.items``, and where they came from."""
    ids = np.asarray(snap.items.column("item_id").to_pylist(), dtype=object).astype(str)
    build_ids = json.loads((paths.vectors / "item_ids.json").read_text())
    base = np.load(paths.vectors / "content.npy")
    if len(build_ids) != base.shape[0]:
        raise LookbookError(
            f"project {paths.root}: vectors/item_ids.json has {len(build_ids)} ids, content.npy "
            f"{base.shape[0]} rows; rebuild the project"
        )
    from lookbook.schema import IdMap

    catalog = IdMap(ids, name="item_id")
    out = np.zeros((len(ids), base.shape[1]), np.float32)
    rows = IdMap(build_ids, name="item_id").lookup(ids, missing=-1)
    have = rows >= 0
    out[have] = base[rows[have]]
    from_store = 0
    if "content" in snap.vectors:
        live_ids, matrix = snap.vectors["content"]
        at = catalog.lookup(list(live_ids), missing=-1)
        ok = at >= 0
        if ok.any() and matrix.shape[1] != base.shape[1]:
            raise LookbookError(
                f"store item_vectors content: {matrix.shape[1]} columns, the build's {base.shape[1]}"
            )
        out[at[ok]] = matrix[ok]
        have[at[ok]] = True
        from_store = int(ok.sum())
    missing = np.flatnonzero(~have)
    if missing.size:
        from lookbook.encoders.content import encode_items
        from lookbook.encoders.fused import FusedContentEncoder
        from lookbook.encoders.image import ImageEncoderConfig

        log.info("encoding %d store items without vectors", missing.size)
        features = encode_items(
            snap.items.take(pa.array(missing)),
            paths.root,
            image_config=ImageEncoderConfig(resolution=encoded_resolution(paths)),
            fusion=FusedContentEncoder.load(paths.fusion),
            show_progress=show_progress,
            cache_dir=paths.root / "cache",
        )
        out[missing] = features.fused
    sources = {"build": int((rows >= 0).sum()), "store": from_store, "encoded": int(missing.size)}
    return out, sources


# ------------------------------------------------------------------------- held-out comparison
@dataclass(frozen=True)
class HeldOut:
    """The comparison window: its start, each test user's history before it and window items."""

    start: int
    users: I64  # store user rows (rows of ``data``)
    relevant: I64  # (n_users, width) catalog rows, -1 padded
    history: list[tuple[I64, npt.NDArray[np.int8], I64]]  # per user: catalog rows, kinds, seconds
    events: int  # events at or after ``start``


def held_out(data: Any, start: int) -> HeldOut:
    """Test users of the window starting at ``start`` (``data``: ``InteractionData`` over the store
    catalog): positive window events on items the user had not touched before, for users with
    positive history before it (a user without one is served popularity by either version)."""
    from lookbook.models.collaborative.loading import DEFAULT_POSITIVE_KINDS
    from lookbook.schema import EVENT_KIND_CODES
    from lookbook.touchpoints.state import UserHistories

    ts, user, item, kind = data.timestamp, data.user.astype(np.int64), data.item.astype(np.int64), data.kind
    before = ts < start
    positive_codes = np.asarray([EVENT_KIND_CODES[k.value] for k in DEFAULT_POSITIVE_KINDS])
    positive = np.isin(kind, positive_codes)
    weights = UserHistories().weights(kind, ts, start)
    warm = np.zeros(data.n_users, bool)
    warm[user[before & (weights > 0)]] = True
    span = np.int64(data.n_items)
    touched = np.unique(user[before] * span + item[before])
    after = ~before & positive & warm[user]
    key = user[after] * span + item[after]
    fresh = ~np.isin(key, touched)
    pairs = np.unique(key[fresh])
    pair_user, pair_item = pairs // span, pairs % span
    users, starts, counts = np.unique(pair_user, return_index=True, return_counts=True)
    relevant = np.full((users.size, int(counts.max()) if counts.size else 0), -1, np.int64)
    r = np.repeat(np.arange(users.size), counts)
    relevant[r, np.arange(pairs.size) - starts[r]] = pair_item
    # each test user's history before the window, in time order (events are sorted by time)
    hist_mask = before & np.isin(user, users)
    hu, hi, hk, ht = user[hist_mask], item[hist_mask], kind[hist_mask], ts[hist_mask]
    order = np.argsort(hu, kind="stable")
    hu, hi, hk, ht = hu[order], hi[order], hk[order], ht[order]
    bounds = np.searchsorted(hu, np.concatenate([users, [np.iinfo(np.int64).max]]))
    history = [
        (hi[a:b], hk[a:b], ht[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]
    return HeldOut(int(start), users, relevant, history, int((~before).sum()))


def served_ndcg(
    model: LookbookRecommender,
    model_ids: Sequence[str],
    catalog_ids: npt.NDArray[np.str_],
    content: F32,
    window: HeldOut,
    k: int,
) -> npt.NDArray[np.float64]:
    """Per test user NDCG@k of ``model`` scored as the shop serves it (module doc)."""
    from lookbook.metrics import ndcg_at_k
    from lookbook.touchpoints.affinity import PreferenceScorer
    from lookbook.touchpoints.state import UserHistories

    scorer = PreferenceScorer.from_model(
        model, np.asarray(model_ids).astype(str), catalog_ids, model.item_vectors(content)
    )
    weigh = UserHistories().weights
    out = np.zeros(window.users.size, np.float64)
    for j, (rows, kinds, ts) in enumerate(window.history):  # once per test user, like a request
        a, _ = scorer.affinity(rows, weigh(kinds, ts, window.start))
        if a is None:
            continue
        scores = a.astype(np.float64)
        scores[rows] = -np.inf
        top = np.argpartition(-scores, min(k, scores.size - 1))[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        out[j] = ndcg_at_k(top[None, :], window.relevant[j : j + 1], k)
    return out


# ------------------------------------------------------------------------------------- retrain
def retrain(
    project: Path | str,
    *,
    stages: Sequence[str] | None = None,
    force: bool = False,
    show_progress: bool = True,
    config: RetrainConfig | None = None,
) -> dict[str, Any]:
    """Train a new model version from the project's store; promote it when not worse (or ``force``).

    Parameters
    ----------
    project
        A project made by ``lookbook build``.
    stages
        Among ``STAGES`` (default all); ``preference`` always runs (the decision is made on it).
        Stages left out are carried over from the serving version.
    force
        Promote even when the new version scored worse or could not be compared.
    config
        ``RetrainConfig`` (window, tolerance, seeds, model settings).

    Returns
    -------
    The report: ``version``, ``serving`` (the version it was compared with), ``promoted``,
    ``reason``, ``metrics`` (the comparison), ``stages`` (per stage what it did), ``store`` (how the
    store was read and its counts), ``content`` (where content vectors came from), ``seconds``.
    """
    cfg = config or RetrainConfig()
    paths = ProjectPaths(Path(project))
    wanted = _stages(stages)
    if not paths.record.exists():
        raise NotFound(
            f"project {paths.root}: no build.json; run `lookbook build ... --project {paths.root}`"
        )
    record = json.loads(paths.record.read_text()).get("stages", {})
    if "index" not in record:
        raise LookbookError(f"project {paths.root}: the build did not finish (no index stage); rerun it")
    with _retrain_lock(paths):
        return _Retrain(paths, record, wanted, force, show_progress, cfg).run()


def _stages(stages: Sequence[str] | None) -> tuple[str, ...]:
    if stages is None:
        return STAGES
    names = [s.strip() for s in ([stages] if isinstance(stages, str) else stages) if s.strip()]
    unknown = sorted(set(names) - set(STAGES))
    if unknown:
        raise LookbookError(f"stages: unknown {unknown}; choose from {list(STAGES)}")
    if "preference" not in names:
        log.info("retrain: preference always runs (the promotion decision is made on it)")
    return tuple(s for s in STAGES if s in names or s == "preference")


@contextlib.contextmanager
def _retrain_lock(paths: ProjectPaths) -> Iterator[None]:
    """One retrain per project at a time (a scheduled one may meet a manual one)."""
    paths.models.mkdir(parents=True, exist_ok=True)
    with (paths.models / RETRAIN_LOCK).open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LookbookError(f"project {paths.root}: a retrain is already running") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class _Retrain:
    def __init__(
        self,
        paths: ProjectPaths,
        record: dict[str, Any],
        stages: tuple[str, ...],
        force: bool,
        show_progress: bool,
        cfg: RetrainConfig,
    ) -> None:
        self.paths, self.record, self.stages = paths, record, stages
        self.force, self.show_progress, self.cfg = force, show_progress, cfg
        self.serving = versions.current_version(paths)
        self.serving_paths = paths.version(self.serving)
        self.report: dict[str, Any] = {"serving": self.serving, "stages": {}}

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        snap = read_store(self.paths, tries=self.cfg.snapshot_tries)
        events = snap.events  # what the new version learns from (all of them unless ``until``)
        if self.cfg.until is not None:
            events = events.filter(pc.less(_seconds(events), self.cfg.until))
        if events.num_rows == 0:
            raise LookbookError(f"project {self.paths.root}: the store has no events to train on")
        self.report["store"] = {
            "read": snap.method, "attempts": snap.attempts, "seconds": snap.seconds,
            "items": snap.items.num_rows, "users": snap.users.num_rows, "events": snap.events.num_rows,
            "trained_on": events.num_rows, "sets": snap.sets.num_rows,
        }  # fmt: skip
        t = time.perf_counter()
        content, sources = content_vectors(self.paths, snap, show_progress=self.show_progress)
        self.report["content"] = sources | {"seconds": round(time.perf_counter() - t, 2)}
        everything = snap.world(self.paths.root)
        world = snap.world(self.paths.root, events)
        # preference is always retrained; the ranker is linked file by file (its serving features
        # are refitted); compatibility is carried over unless asked for and the store has sets
        train_compatibility = "compatibility" in self.stages and snap.sets.num_rows > 0
        carry = () if train_compatibility else ("compatibility",)
        version = versions.create_version(self.paths, parent=self.serving, source="retrain", carry=carry)
        self.report["version"] = version
        target = self.paths.version(version)
        try:
            metrics = self.preference(everything, world, content, target)
            self.compatibility(world, content, target, train_compatibility)
            self.ranker(world, target, "ranker" in self.stages, snap)
            promote, reason = self.decide(metrics)
            from lookbook.pipeline.build import events_data

            data = events_data(events, snap.items.num_rows, snap.users.num_rows)
            if self.cfg.until is not None:
                data["trained_until"] = min(int(data["trained_until"]), self.cfg.until - 1)
            versions.update_version(
                self.paths, version, state="ready", data=data, metrics=metrics, stages=self.report["stages"]
            )
        except BaseException as exc:
            versions.discard_version(self.paths, version, f"{type(exc).__name__}: {exc}")
            raise
        if promote:
            versions.promote(self.paths, version)
        removed = versions.prune(self.paths, keep=self.cfg.keep_versions)
        self.report |= {"promoted": promote, "reason": reason, "metrics": metrics, "pruned": removed}
        self.report["seconds"] = round(time.perf_counter() - started, 1)
        log.info(
            "retrain %s: %s (%s) in %.1f s", version, "promoted" if promote else "not promoted", reason,
            self.report["seconds"],
        )  # fmt: skip
        return self.report

    # ----------------------------------------------------------------------------------- stages
    def preference(
        self, everything: World, world: World, content: F32, target: ProjectPaths
    ) -> dict[str, Any]:
        """Fit on ``world``'s events, compared on the window of ``everything`` (all store events;
        the two differ only with ``until``)."""
        from lookbook.models.collaborative.hybrid import LookbookRecommender
        from lookbook.models.collaborative.loading import interactions_from_world
        from lookbook.pipeline.build import fit_preference, save_preference

        cfg = self.cfg
        started = time.perf_counter()
        data = interactions_from_world(everything, item_features=content)
        catalog_ids = np.asarray(world.items.column("item_id").to_pylist(), dtype=object).astype(str)
        serving_until = self.serving_until()
        ts = data.timestamp
        start = int(np.quantile(ts, 1.0 - cfg.window_fraction, method="higher"))
        if serving_until is not None:
            start = max(start, int(serving_until) + 1)
        window = held_out(data, start)
        metrics: dict[str, Any] = {
            "k": cfg.k,
            "window_start": start,
            "window_events": window.events,
            "test_users": int(window.users.size),
            "serving_trained_until": serving_until,
        }
        fit = {"epochs": cfg.preference_epochs, "config": cfg.preference, "show_progress": self.show_progress}
        if window.users.size >= cfg.min_test_users:
            cut = start if cfg.until is None else min(start, cfg.until)
            before = everything.events.filter(pc.less(_seconds(everything.events), cut))
            t = time.perf_counter()
            shadow, _ = fit_preference(self.shadow_world(world, before), content, **fit)
            metrics["shadow_fit_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            new = served_ndcg(shadow, catalog_ids.tolist(), catalog_ids, content, window, cfg.k)
            serving_model = LookbookRecommender.load(self.serving_paths.preference)
            old = served_ndcg(
                serving_model, preference_item_ids(self.serving_paths), catalog_ids, content, window, cfg.k
            )
            metrics["score_s"] = round(time.perf_counter() - t, 1)
            diff = new - old
            se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("inf")
            metrics |= {
                "candidate_ndcg": round(float(new.mean()), 5),
                "serving_ndcg": round(float(old.mean()), 5),
                "difference": round(float(diff.mean()), 5),
                "difference_se": round(se, 5),
                "tolerance": round(max(cfg.tolerance, cfg.noise_sigmas * se), 5),
            }
        else:
            metrics["skipped"] = (
                f"{window.users.size} test users in the window after the serving version's training "
                f"data (need {cfg.min_test_users}): no events it has not seen to compare on"
            )
        t = time.perf_counter()
        model, full = fit_preference(world, content, **fit)
        save_preference(model, world, target.preference)
        fit_s = round(time.perf_counter() - t, 1)
        self.report["stages"]["preference"] = {
            "trained": True, "events": int(full.user.size), "users": full.n_users, "items": full.n_items,
            "blend_w": model.info.get("w"), "fit_s": fit_s,
            "seconds": round(time.perf_counter() - started, 1),
        }  # fmt: skip
        return metrics

    def shadow_world(self, world: World, events: pa.Table) -> World:
        return World(items=world.items, users=world.users, events=events, sets=world.sets, root=world.root)

    def serving_until(self) -> int | None:
        """The newest event second the serving version learned from (``None``: unknown)."""
        try:
            info = versions.get_version(self.paths, self.serving)
        except NotFound:
            info = None
        if info is not None and info.data.get("trained_until") is not None:
            return int(info.data["trained_until"])
        source = self.source()
        if source is not None and (source / "events.parquet").exists():  # v0: built from the source
            import pyarrow.parquet as pq

            ts = pq.read_table(source / "events.parquet", columns=["timestamp"]).column("timestamp")
            return int(_seconds_of(ts).max()) if len(ts) else None
        return None

    def source(self) -> Path | None:
        src = self.record.get("ingest", {}).get("report", {}).get("source")
        return Path(src) if src and Path(src).is_dir() else None

    def compatibility(self, world: World, content: F32, target: ProjectPaths, train: bool) -> None:
        from lookbook.pipeline.build import train_compatibility

        if not train:
            reason = "not asked for" if "compatibility" not in self.stages else "the store has no sets"
            kept = (target.compatibility / "model.json").exists()
            self.report["stages"]["compatibility"] = {
                "trained": False, "reason": reason, "kept_from": self.serving if kept else None,
            }  # fmt: skip
            return
        started = time.perf_counter()
        out = train_compatibility(
            world, content, target.compatibility, seed=self.cfg.seed, epochs=self.cfg.compatibility_epochs,
            show_progress=self.show_progress,
        )  # fmt: skip
        self.report["stages"]["compatibility"] = out | {"seconds": round(time.perf_counter() - started, 1)}

    def ranker(self, world: World, target: ProjectPaths, wanted: bool, snap: StoreSnapshot) -> None:
        """Trees from the store's own impressions once there are enough, else from the source's
        (retrained only when those changed); serving features from the store's events; see the
        module doc."""
        from lookbook.pipeline.ranker import save_serving_features, train_project_ranker
        from lookbook.pipeline.ranker_data import WorldRankerConfig, store_impressions
        from lookbook.ranking.reranker import META_FILE

        started = time.perf_counter()
        parent = self.serving_paths.ranker
        has_parent = (parent / META_FILE).exists()
        source = self.source()
        out = target.ranker
        live = store_impressions(snap.impressions, snap.events) if snap.impressions is not None else None
        clicked = (
            0
            if live is None
            else int(pc.count_distinct(live.filter(live.column("clicked")).column("session_id")).as_py())
        )
        if wanted and live is not None and clicked >= self.cfg.min_live_slates:
            rep = train_project_ranker(replace(world, impressions=live), out, seed=self.cfg.seed)
            rep |= {"impressions": "the store's", "clicked_slates": clicked}
            if rep.get("trained"):
                fingerprint = table_fingerprint(snap.impressions)
                versions.update_version(self.paths, target.model_version, data={"impressions": fingerprint})
                self.report["stages"]["ranker"] = rep | {"seconds": round(time.perf_counter() - started, 1)}
                return
            log.warning(
                "ranker not trained on the store's impressions (%s); the source's next", rep.get("reason")
            )
        if not wanted or source is None or not (source / "impressions.parquet").exists():
            reason = (
                "not asked for"
                if not wanted
                else f"the project's source has no logged impressions and the store has {clicked} slates "
                f"with attributed clicks (needs {self.cfg.min_live_slates})"
            )
            if has_parent:
                _link_tree(parent, out)
            self.report["stages"]["ranker"] = {
                "trained": False, "reason": reason, "kept_from": self.serving if has_parent else None,
            }  # fmt: skip
            return
        from lookbook.datasets.world import load_world

        source_world = load_world(source)
        fingerprint = table_fingerprint(source_world.impressions)
        known = versions.get_version(self.paths, self.serving).data.get("impressions")
        if known == fingerprint and not has_parent:
            self.report["stages"]["ranker"] = {
                "trained": False, "kept_from": None,
                "reason": "the serving version has no ranker from these same impressions either",
            }  # fmt: skip
            return
        if has_parent and known == fingerprint:
            _link_tree(parent, out, skip=RANKER_FEATURE_FILES)
            rep: dict[str, Any] = {"trees": "kept", "kept_from": self.serving}
        else:
            rep = train_project_ranker(source_world, out, seed=self.cfg.seed, show_progress=False)
            rep["trees"] = "trained" if rep.get("trained") else "none"
            if not rep.get("trained"):
                self.report["stages"]["ranker"] = rep | {"seconds": round(time.perf_counter() - started, 1)}
                return
            for name in RANKER_FEATURE_FILES:  # written fresh below, from the store's events
                (out / name).unlink(missing_ok=True)
        save_serving_features(world, out, WorldRankerConfig(seed=self.cfg.seed))
        versions_data = {"impressions": fingerprint}
        versions.update_version(self.paths, target.model_version, data=versions_data)
        self.report["stages"]["ranker"] = rep | {
            "trained": True,
            "features": "refitted on the store's events",
            "seconds": round(time.perf_counter() - started, 1),
        }

    # --------------------------------------------------------------------------------- decision
    def decide(self, metrics: dict[str, Any]) -> tuple[bool, str]:
        if "candidate_ndcg" not in metrics:
            reason = metrics.get("skipped", "no comparison")
            return (True, f"forced ({reason})") if self.force else (False, f"not compared: {reason}")
        diff, tol = metrics["difference"], metrics["tolerance"]
        verdict = (
            f"NDCG@{metrics['k']} {metrics['candidate_ndcg']:.4f} vs serving {metrics['serving_ndcg']:.4f} "
            f"(difference {diff:+.4f}, tolerance {tol:.4f}, {metrics['test_users']} users)"
        )
        if diff >= -tol:
            return True, f"not worse: {verdict}"
        return (True, f"forced, although worse: {verdict}") if self.force else (False, f"worse: {verdict}")


def _seconds(events: pa.Table) -> pa.Array:
    """Epoch seconds of an events table's timestamps, as an Arrow int64 array."""
    return pa.array(_seconds_of(events.column("timestamp")))


def _seconds_of(ts: pa.ChunkedArray | pa.Array) -> I64:
    from lookbook.models.collaborative.loading import seconds

    return seconds(ts)


def _link_tree(src: Path, dst: Path, *, skip: Sequence[str] = ()) -> None:
    """``src`` hard-linked at ``dst`` (copied where links fail), leaving out the names in ``skip``."""
    shutil.rmtree(dst, ignore_errors=True)

    def link(s: str, d: str) -> str:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)
        return d

    shutil.copytree(src, dst, copy_function=link, ignore=shutil.ignore_patterns(*skip) if skip else None)
