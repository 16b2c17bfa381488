"""``build_project``: a world or data set in, a project ready to serve out.

Stages, in order, each skipped when the fingerprint of its inputs matches ``build.json``:

1. ``ingest``: items, users, sets and events into the project's store (upserts; events are keyed,
   so re-ingesting is idempotent).
2. ``encode``: content vectors of every item (image and text features cached by content hash) and
   the fitted fusion, which the server reuses to embed items added later.
3. ``compatibility``: the type-aware style model, trained on every set (skipped without sets).
4. ``preference``: the two-tower + EASE preference model, trained on every event.
5. ``ranker``: the LightGBM reranker on the logged impressions (skipped without impressions).
6. ``index``: every vector space filled with the catalog and its payloads: ``content``,
   ``text`` (the sentence encoder's, for hybrid search), ``preference`` and one ``style_<slot>``
   space per anchor slot (the type-aware item vectors seen from anchors of that slot, so
   complete-the-look is one inner-product query per target slot).
   Before it, ``looks`` records the look space's settings (the catalog's background colour, the
   colour weight); the index fills the ``look`` space with every picture's CNN features and colour
   signature, what shop the look matches photo crops against.
7. ``detector``: the box detector, trained on the world's labelled ``train`` photos (skipped
   without them; such projects use the pose detector).
8. ``photos``: the world's community photos copied in and mapped to catalog anchors (the photo
   feed; skipped without photos).

The embedded index is built in a fresh folder and swapped in when complete, so a failed build keeps
the previous index serving.

Model stages write into a new model version (``lookbook.project.versions``): the first of them to
run creates it, carrying over the serving version's models (a fresh build starts with none), and
the version is promoted once the index is filled from it. A build interrupted in between resumes
into the same version. Stages that are up to date write nothing, so a build that changes no model
makes no version. The content fusion is not versioned (``ProjectPaths.fusion``): the content
vectors and the index's content space are the build's, whatever version serves.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.datasets.world import World
from lookbook.project import versions
from lookbook.project.layout import (
    MODEL_ITEM_IDS,
    BuildRecord,
    ProjectPaths,
    combine,
    default_index_uri,
    table_fingerprint,
)
from lookbook.project.payload import PROJECT_PAYLOAD, item_payloads
from lookbook.project.spaces import LOOK_COLOUR_WEIGHT

if TYPE_CHECKING:
    from lookbook.models.collaborative.data import InteractionData
    from lookbook.models.collaborative.hybrid import LookbookConfig, LookbookRecommender

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BuildConfig:
    """Settings of ``build_project``.

    ``index_uri`` picks the vector engine (``lookbook.index.spaces``); ``None`` is the embedded
    index inside the project. ``cache_dir`` holds encoder features shared between projects.
    """

    index_uri: str | None = None
    cache_dir: Path | None = None
    resolution: int = 128
    seed: int = 0
    ranker: bool = True
    compatibility_epochs: int | None = None
    preference_epochs: int | None = None
    detector_epochs: int | None = None


class _Builder:
    def __init__(self, world: World, project: Path, config: BuildConfig, show_progress: bool) -> None:
        self.world, self.config, self.show_progress = world, config, show_progress
        self.paths = ProjectPaths(project)
        project.mkdir(parents=True, exist_ok=True)
        self.record = BuildRecord(self.paths.record)
        self.fp = {
            name: table_fingerprint(getattr(world, name))
            for name in ("items", "users", "events", "sets", "impressions", "photos")
        }
        self.report: dict[str, Any] = {}
        # the model version this build writes: resumed when an interrupted build left one
        self.version: str | None = versions.pending_version(self.paths, "build")

    def target(self) -> ProjectPaths:
        """Paths pinned to the version the model stages write (created on first use)."""
        if self.version is None:
            parent = versions.serving_version(self.paths)
            self.version = versions.create_version(self.paths, parent=parent, source="build")
        return self.paths.version(self.version)

    def models(self) -> ProjectPaths:
        """Paths pinned to the models the later stages read: this build's version, else the
        serving one."""
        return self.paths.version(self.version) if self.version is not None else self.paths.current()

    def promote(self) -> None:
        """The version this build wrote, marked ready and promoted (after the index holds it)."""
        if self.version is None:
            return
        ran = {s: self.report[s] for s in versions.MODEL_STAGES if s in self.report}
        stages = {s: r for s, r in ran.items() if not r.get("skipped")}
        data: dict[str, Any] = {"impressions": self.fp["impressions"]}
        if "preference" in stages:
            data |= events_data(self.world.events, self.world.items.num_rows, self.world.users.num_rows)
        versions.update_version(self.paths, self.version, state="ready", data=data, stages=stages)
        versions.promote(self.paths, self.version)
        log.info("build: model version %s promoted", self.version)
        self.version = None

    def stage(self, name: str, fingerprint: str, run: Callable[[], dict[str, Any]]) -> None:
        if self.record.fresh(name, fingerprint):
            log.info("build %s: up to date", name)
            self.report[name] = self.record.report(name) | {"skipped": True}
            return
        started = time.perf_counter()
        log.info("build %s ...", name)
        out = run()
        out["seconds"] = round(time.perf_counter() - started, 2)
        self.record.done(name, fingerprint, out)
        self.report[name] = out

    # ------------------------------------------------------------------------------- stages
    def ingest(self) -> dict[str, Any]:
        from lookbook.store import open_store

        loaded = {}
        with open_store(self.paths.root) as store:
            for table, write in (
                ("items", functools.partial(store.upsert_items, base_dir=self.world.root)),
                ("users", store.upsert_users),
                ("sets", store.upsert_sets),
                ("events", store.append_events),
            ):
                data = getattr(self.world, table)
                if data.num_rows:
                    rep = write(data)
                    loaded[table] = {"loaded": rep.loaded, "rejected": rep.rejected}
            loaded["counts"] = store.counts()
        loaded["source"] = None if self.world.root is None else str(Path(self.world.root).resolve())
        return loaded

    def encode(self) -> dict[str, Any]:
        from lookbook.encoders.content import encode_items
        from lookbook.encoders.image import ImageEncoderConfig

        features = encode_items(
            self.world.items,
            self.world.root,
            cache_dir=self.config.cache_dir,
            image_config=ImageEncoderConfig(resolution=self.config.resolution),
            show_progress=self.show_progress,
        )
        self.paths.vectors.mkdir(parents=True, exist_ok=True)
        np.save(self.paths.vectors / "content.npy", features.fused)
        np.save(self.paths.vectors / "text.npy", features.text)
        (self.paths.vectors / "item_ids.json").write_text(json.dumps(features.item_ids))
        if features.fusion is not None:
            features.fusion.save(self.paths.fusion)
        timings = {k: round(v, 2) for k, v in features.timings.items()}
        shape = {"items": len(features.item_ids), "dim": int(features.fused.shape[1])}
        return shape | {"resolution": self.config.resolution} | timings

    def content(self) -> F32:
        return np.load(self.paths.vectors / "content.npy")

    def compatibility(self) -> dict[str, Any]:
        return train_compatibility(
            self.world, self.content(), self.target().compatibility,
            seed=self.config.seed, epochs=self.config.compatibility_epochs, show_progress=self.show_progress,
        )  # fmt: skip

    def preference(self) -> dict[str, Any]:
        return train_preference(
            self.world, self.content(), self.target().preference,
            epochs=self.config.preference_epochs, show_progress=self.show_progress,
        )  # fmt: skip

    def ranker(self) -> dict[str, Any]:
        from lookbook.pipeline.ranker import train_project_ranker

        out = self.target().ranker
        shutil.rmtree(out, ignore_errors=True)  # never write into files shared with the parent
        return train_project_ranker(self.world, out, seed=self.config.seed)

    def index(self) -> dict[str, Any]:
        from lookbook.index.spaces import ItemSpaces, index_kind
        from lookbook.touchpoints.swap import INDEX_MODELS_FILE

        ids = self.world.items.column("item_id").to_pylist()
        vectors = self.space_vectors()
        payloads = item_payloads(self.world.items)
        uri = self.config.index_uri or default_index_uri(self.paths.root)
        embedded = index_kind(uri) == "embedded" and self.config.index_uri is None
        target = self.paths.root / "index.building" if embedded else None
        if target is not None:
            shutil.rmtree(target, ignore_errors=True)
            uri = f"embedded:{target}"
        dims = {space: int(x.shape[1]) for space, x in vectors.items()}
        batch = 2_000
        from tqdm.auto import tqdm

        with ItemSpaces(uri, dims, PROJECT_PAYLOAD) as spaces:
            for s in tqdm(range(0, len(ids), batch), desc="index", disable=not self.show_progress):
                spaces.upsert(
                    ids[s : s + batch],
                    {k: x[s : s + batch] for k, x in vectors.items()},
                    payloads[s : s + batch],
                )
            for index in spaces.indexes.values():
                optimize = getattr(index, "optimize", None)
                if callable(optimize):
                    optimize()
            count = spaces.count()
        if target is not None:
            old = self.paths.root / "index.old"
            shutil.rmtree(old, ignore_errors=True)
            if self.paths.index.exists():
                self.paths.index.rename(old)
            target.rename(self.paths.index)
            shutil.rmtree(old, ignore_errors=True)
        (self.paths.vectors / "spaces.json").write_text(json.dumps(dims))
        # the index now holds this build's vectors under the spaces' own names
        (self.paths.vectors / INDEX_MODELS_FILE).unlink(missing_ok=True)
        return {"items": count, "spaces": dims}

    def detector(self) -> dict[str, Any]:
        from lookbook.pipeline.detector import train_project_detector
        from lookbook.vision.boxnet import BoxDetectorConfig

        epochs = self.config.detector_epochs
        cfg = BoxDetectorConfig(random_state=self.config.seed, **({"epochs": epochs} if epochs else {}))
        return train_project_detector(self.world, self.paths, cfg, self.show_progress)

    def looks(self) -> dict[str, Any]:
        """The look space's settings: the catalog's background colour (what photo crops are painted
        with outside the garment) and the colour weight; the index stage fills the space."""
        from lookbook.encoders.content import item_image_paths
        from lookbook.project.spaces import LOOK_COLOUR_WEIGHT
        from lookbook.vision.framing import catalog_background

        images = [im for im in item_image_paths(self.world.items, self.world.root) if im is not None]
        step = max(1, len(images) // 64)
        background = catalog_background(images[::step][:64])
        meta = {"background": list(background), "colour_weight": LOOK_COLOUR_WEIGHT, "pictures": len(images)}
        self.paths.vectors.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.vectors / "looks.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(self.paths.vectors / "looks.json")
        return meta

    def photos(self) -> dict[str, Any]:
        """The world's community photos, copied in and mapped to catalog anchors (the photo feed)."""
        from tqdm.auto import tqdm

        from lookbook.touchpoints.api import PhotoAnchors
        from lookbook.touchpoints.factory import open_shop
        from lookbook.touchpoints.shop_the_look import ShopTheLook, photos_path

        out_dir = self.paths.root / "photos"
        out_dir.mkdir(parents=True, exist_ok=True)
        mapped = []
        rows = self.world.photos.to_pylist()
        with open_shop(self.paths.root) as shop:
            stl = ShopTheLook(shop)
            for row in tqdm(rows, desc="photos", disable=not self.show_progress):  # once per photo
                src = Path(row["image"])
                if not src.is_absolute() and self.world.root is not None:
                    src = Path(self.world.root) / src
                dst = out_dir / f"{row['photo_id']}{src.suffix.lower() or '.jpg'}"
                shutil.copyfile(src, dst)
                look = stl.look(dst)
                mapped.append(
                    PhotoAnchors(row["photo_id"], str(dst.relative_to(self.paths.root)), look.garments)
                )
        tmp = photos_path(self.paths).with_suffix(".tmp")
        tmp.write_text(json.dumps([m.to_dict() for m in mapped]))
        tmp.replace(photos_path(self.paths))
        return {"photos": len(mapped), "garments": sum(len(m.garments) for m in mapped)}

    def space_vectors(self) -> dict[str, F32]:
        """Row-aligned vectors of every space, from the saved models."""
        from lookbook.project.spaces import project_space_vectors

        return project_space_vectors(
            self.models(),
            self.world.items,
            self.content(),
            np.load(self.paths.vectors / "text.npy"),
            image_root=self.world.root,
            cache_dir=self.config.cache_dir,
            show_progress=self.show_progress,
        )


def build_project(
    world: World, project: Path | str, config: BuildConfig | None = None, *, show_progress: bool = True
) -> dict[str, Any]:
    """Build (or bring up to date) the project at ``project`` from ``world``; returns per-stage reports."""
    cfg = config or BuildConfig()
    b = _Builder(world, Path(project), cfg, show_progress)
    fp = b.fp
    conf = asdict(cfg)
    b.stage("ingest", combine(fp["items"], fp["users"], fp["events"], fp["sets"]), b.ingest)
    encode_fp = combine(fp["items"], cfg.resolution)
    b.stage("encode", encode_fp, b.encode)
    compat_fp = combine(encode_fp, fp["sets"], cfg.seed, conf["compatibility_epochs"])
    b.stage("compatibility", compat_fp, b.compatibility)
    pref_fp = combine(encode_fp, fp["events"], fp["users"], cfg.seed, conf["preference_epochs"])
    b.stage("preference", pref_fp, b.preference)
    if cfg.ranker and world.impressions.num_rows:
        b.stage("ranker", combine(pref_fp, compat_fp, fp["impressions"]), b.ranker)
    looks_fp = combine(encode_fp, LOOK_COLOUR_WEIGHT)
    b.stage("looks", looks_fp, b.looks)
    index_fp = combine(compat_fp, pref_fp, looks_fp, cfg.index_uri)
    b.stage("index", index_fp, b.index)
    b.promote()
    detector_fp = None
    if any(r.get("split") == "train" and r.get("garments") for r in world.photos.to_pylist()):
        detector_fp = combine(fp["photos"], cfg.seed, conf["detector_epochs"])
        b.stage("detector", detector_fp, b.detector)
    if world.photos.num_rows:
        b.stage("photos", combine(fp["photos"], looks_fp, detector_fp, index_fp), b.photos)
    return b.report


# ------------------------------------------------------------------------------- model stages
# Module functions, so that ``lookbook retrain`` trains exactly as the build does.


def train_compatibility(
    world: World,
    content: F32,
    out: Path,
    *,
    seed: int = 0,
    epochs: int | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """The type-aware style model on every set of two or more catalog items, saved to ``out``
    (``content``: row-aligned with ``world.items``). ``out`` is removed first: a version folder
    may hold hard links shared with its parent, which must never be written through."""
    import dataclasses

    from lookbook.models.compatibility import CompatibilityConfig, CompatibilityModel
    from lookbook.models.compatibility_labels import catalog_sets, item_labels
    from lookbook.schema import IdMap

    shutil.rmtree(out, ignore_errors=True)
    ids = IdMap(world.items.column("item_id").to_pylist(), name="item_id")
    slots, colours, materials, vocab = item_labels(world.items)
    _, sets = catalog_sets(world, ids)
    sets = [s for s in sets if s.size >= 2]
    if not sets:
        return {"trained": False, "reason": "no sets of two or more catalog items"}
    cfg = CompatibilityConfig(random_state=seed)
    if epochs:
        cfg = dataclasses.replace(cfg, epochs=epochs)
    model = CompatibilityModel(cfg).fit(
        sets, content, slots, vocab, colours=colours, materials=materials, show_progress=show_progress
    )
    model.save(out)
    return {"trained": True, "sets": len(sets), "fit_s": round(model.fit_seconds_, 1)}


def fit_preference(
    world: World,
    content: F32,
    *,
    epochs: int | None = None,
    config: LookbookConfig | None = None,
    show_progress: bool = True,
) -> tuple[LookbookRecommender, InteractionData]:
    """The two-tower + EASE preference model fitted on every event of ``world`` (item rows:
    ``world.items`` order; ``content`` row-aligned with it), and the interactions it saw."""
    import dataclasses

    from lookbook.models.collaborative.hybrid import LookbookConfig, LookbookRecommender
    from lookbook.models.collaborative.loading import interactions_from_world

    data = interactions_from_world(world, item_features=content)
    cfg = config or LookbookConfig()
    if epochs:
        cfg = dataclasses.replace(cfg, two_tower=dataclasses.replace(cfg.two_tower, epochs=epochs))
    return LookbookRecommender(cfg).fit(data, show_progress=show_progress), data


def save_preference(model: Any, world: World, out: Path) -> None:
    """Save a preference model with the item id of each of its rows (``item_ids.json``), so a
    reader aligns it to any catalog; ``out`` is removed first (see ``train_compatibility``)."""
    shutil.rmtree(out, ignore_errors=True)
    model.save(out)
    tmp = out / (MODEL_ITEM_IDS + ".tmp")
    tmp.write_text(json.dumps([str(i) for i in world.items.column("item_id").to_pylist()]))
    tmp.replace(out / MODEL_ITEM_IDS)


def train_preference(
    world: World, content: F32, out: Path, *, epochs: int | None = None, show_progress: bool = True
) -> dict[str, Any]:
    """``fit_preference`` saved to ``out`` (``save_preference``); returns the stage report."""
    model, data = fit_preference(world, content, epochs=epochs, show_progress=show_progress)
    save_preference(model, world, out)
    return {"events": int(data.user.size), "users": data.n_users, "blend_w": model.info.get("w")}


def events_data(events: pa.Table, n_items: int, n_users: int) -> dict[str, Any]:
    """What a model version records about the events it learned from (``trained_until``: the
    epoch second of the newest; the retrain's held-out window starts after it)."""
    from lookbook.models.collaborative.loading import seconds

    newest = int(seconds(events.column("timestamp")).max()) if events.num_rows else None
    return {
        "trained_until": newest,
        "events": int(events.num_rows),
        "items": int(n_items),
        "users": int(n_users),
    }
