"""A project's vector spaces: the one registry of their names, and each space's vectors for a batch
of items, from the project's saved models.

Used by the build (the whole catalog) and by the server (items added while it runs), so both embed
items the same way; touchpoints name a space through the constants here, never a bare string.
Spaces:

* ``content``: the fused content vector (exists for every item, the cold-start space);
* ``text``: the sentence encoder's vector of the item's text, the dense half of hybrid search;
* ``preference``: the two-tower item vector; for items with training events the learned one, for
  any other item the one its content predicts;
* ``style_<slot>``: the compatibility model's candidate-side vectors of items seen from anchors of
  ``<slot>``; an anchor's query vector for a target slot dotted with them is ``pair_score + 2``;
* ``look``: what a garment cut from a photo is matched against (shop the look): the item picture's
  CNN features beside its colour signature, ``[cnn, sqrt(w) colour] / sqrt(1 + w)``, so that the
  inner product of a crop's and an item's is ``(cnn cosine + w colour similarity) / (1 + w)``;
  zeros for an item without a picture (it scores 0, below every pictured item).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.project.layout import ProjectPaths

F32 = npt.NDArray[np.float32]


CONTENT_SPACE = "content"
TEXT_SPACE = "text"
PREFERENCE_SPACE = "preference"
LOOK_SPACE = "look"
STYLE_PREFIX = "style_"

#: The spaces every built project has (``style_<slot>`` ones come with a compatibility model,
#: ``look`` with the looks stage).
CORE_SPACES = (CONTENT_SPACE, TEXT_SPACE, PREFERENCE_SPACE)

#: How much the colour signature counts beside the CNN cosine in the look space (1.0: best of 0,
#: 0.5, 1, 2, 4 for anchor recall@5 with true boxes on the demo fashion world: 0.70 against 0.44
#: for the CNN alone). Fixed at build time, recorded in ``vectors/looks.json``.
LOOK_COLOUR_WEIGHT = 1.0


def style_space(slot: str) -> str:
    """The space holding items as seen from anchors of ``slot`` (complete the look)."""
    return f"{STYLE_PREFIX}{slot}"


def project_spaces(style_slots: tuple[str, ...] = (), look: bool = False) -> tuple[str, ...]:
    """Every space name of a project with a compatibility model over ``style_slots`` (and a look
    space when ``look``), in the order the build writes them."""
    return (*CORE_SPACES, *map(style_space, style_slots), *((LOOK_SPACE,) if look else ()))


def look_vectors(cnn: F32, colour: F32, colour_weight: float) -> F32:
    """The look-space vectors of pictures (or crops) from their CNN features and colour signatures."""
    w = float(colour_weight)
    out = np.concatenate([cnn, np.sqrt(w) * colour], axis=1) / np.sqrt(1.0 + w)
    return np.ascontiguousarray(out, dtype=np.float32)


def looks_meta(paths: ProjectPaths) -> dict | None:
    """The look space's settings (catalog background, colour weight), or None for a project built
    without one."""
    import json

    path = paths.vectors / "looks.json"
    return json.loads(path.read_text()) if path.exists() else None


def catalog_look_vectors(
    paths: ProjectPaths, images: list, cache_dir: Path | None, show_progress: bool = False
) -> F32:
    """Look-space vectors of catalog pictures (``None`` entries: no picture), with the project's
    recorded background and colour weight; CNN features go through the encoder's feature cache."""
    return _LookEmbedder(paths, cache_dir).vectors(images, show_progress)


class _LookEmbedder:
    """The look space's picture encoder and settings, loaded once."""

    def __init__(self, paths: ProjectPaths, cache_dir: Path | None) -> None:
        from lookbook.encoders.image import ImageEncoder, ImageEncoderConfig
        from lookbook.project.layout import encoded_resolution

        meta = looks_meta(paths)
        if meta is None:
            raise ValueError(f"project {paths.root}: no vectors/looks.json (built before the looks stage)")
        self.background = (int(meta["background"][0]), int(meta["background"][1]), int(meta["background"][2]))
        self.colour_weight = float(meta["colour_weight"])
        config = ImageEncoderConfig(resolution=encoded_resolution(paths))
        self.encoder = ImageEncoder(config, cache_dir=cache_dir)

    def vectors(self, images: list, show_progress: bool = False, cnn: F32 | None = None) -> F32:
        """``cnn``: the pictures' features when the caller has them already (the content encoder's,
        same network and resolution), so each picture goes through the network once."""
        from lookbook.vision.colour import catalog_signatures

        present = [j for j, im in enumerate(images) if im is not None]
        if cnn is None or cnn.shape != (len(images), self.encoder.dim):
            cnn = np.zeros((len(images), self.encoder.dim), np.float32)
            if present:
                cnn[present] = self.encoder.encode(
                    [str(images[j]) for j in present], show_progress=show_progress
                )
        else:
            missing = np.setdiff1d(np.arange(len(images)), present)
            cnn = np.array(cnn, dtype=np.float32)
            cnn[missing] = 0.0
        colour = catalog_signatures(images, self.background)
        return look_vectors(cnn, colour, self.colour_weight)


def slot_codes(slot_vocab: tuple[str, ...], slots: list[str]) -> npt.NDArray[np.int64]:
    """Codes of ``slots`` in the model's vocabulary; unknown slots get -1."""
    lookup = {s: i for i, s in enumerate(slot_vocab)}
    return np.asarray([lookup.get(s, -1) for s in slots], dtype=np.int64)


class SpaceEmbedder:
    """Every space's vectors of a batch of items, with the project's models loaded once.

    The build embeds the catalog once; the serving writer embeds every item added while the shop
    runs, where loading the compatibility and preference models from disk on each write cost more
    than the write itself. ``cache_dir`` caches picture features for the look space.
    """

    def __init__(self, paths: ProjectPaths, cache_dir: Path | None = None) -> None:
        from lookbook.models.collaborative.hybrid import LookbookRecommender
        from lookbook.models.compatibility import CompatibilityModel

        self.paths = paths
        has_preference = (paths.preference / "model.json").exists()
        has_compatibility = (paths.compatibility / "model.json").exists()
        self.preference = LookbookRecommender.load(paths.preference) if has_preference else None
        self.compatibility = CompatibilityModel.load(paths.compatibility) if has_compatibility else None
        self.looks = _LookEmbedder(paths, cache_dir) if looks_meta(paths) is not None else None

    def spaces(self) -> tuple[str, ...]:
        """The spaces this project's models fill, in the order ``vectors`` returns them."""
        slots = tuple(self.compatibility.vocab_.slot) if self.compatibility is not None else ()
        names = [CONTENT_SPACE, TEXT_SPACE]
        if self.preference is not None:
            names.append(PREFERENCE_SPACE)
        names += [style_space(s) for s in slots]
        return (*names, *((LOOK_SPACE,) if self.looks is not None else ()))

    def vectors(
        self,
        items: pa.Table,
        content: F32,
        text: F32,
        *,
        preference_rows: npt.NDArray[np.int64] | None = None,
        image_root: Path | None = None,
        show_progress: bool = False,
        only: Collection[str] | None = None,
        image_features: F32 | None = None,
    ) -> dict[str, F32]:
        """``{space: (n, dim) vectors}`` for ``items`` (row-aligned with ``content``); with
        ``only``, the pictures are read only when the look space is among those asked for;
        ``image_features``: the items' picture features from the content encoder, reused by the look
        space instead of running the network again.

        ``preference_rows``: each item's row in the preference model's training catalog (-1: not in
        it); ``None`` means ``items`` is that catalog, in order. ``image_root`` resolves the items'
        relative image paths, for the look space.
        """
        norm = np.linalg.norm(text, axis=1, keepdims=True)
        out: dict[str, F32] = {
            CONTENT_SPACE: np.ascontiguousarray(content, dtype=np.float32),
            TEXT_SPACE: (text / np.where(norm > 0, norm, 1.0)).astype(np.float32),
        }
        if self.preference is not None:
            out[PREFERENCE_SPACE] = _preference_vectors(self.preference, content, preference_rows)
        model = self.compatibility
        if model is not None:
            slots = slot_codes(model.vocab_.slot, items.column("slot").to_pylist())
            known = slots >= 0
            width = model.item_vectors(content[:1], [0], 0).shape[1]
            for code, name in enumerate(model.vocab_.slot):
                vectors = np.zeros((len(slots), width), np.float32)
                if known.any():
                    vectors[known] = model.item_vectors(content[known], slots[known], code)
                # items of slots the model never saw cannot be scored for compatibility: a zero
                # vector keeps them in the space (every space holds every item) at the bottom of
                # every query
                out[style_space(name)] = vectors
        if self.looks is not None and (only is None or LOOK_SPACE in only):
            from lookbook.encoders.content import item_image_paths

            images = item_image_paths(items, image_root)
            images = [im if im is not None and Path(im).is_file() else None for im in images]
            out[LOOK_SPACE] = self.looks.vectors(images, show_progress, cnn=image_features)
        return out


def project_space_vectors(
    paths: ProjectPaths,
    items: pa.Table,
    content: F32,
    text: F32,
    *,
    preference_rows: npt.NDArray[np.int64] | None = None,
    image_root: Path | None = None,
    cache_dir: Path | None = None,
    show_progress: bool = False,
) -> dict[str, F32]:
    """``SpaceEmbedder(paths, cache_dir).vectors(...)`` for a one-off batch (the build's catalog)."""
    return SpaceEmbedder(paths, cache_dir).vectors(
        items, content, text, preference_rows=preference_rows, image_root=image_root,
        show_progress=show_progress,
    )  # fmt: skip


def _preference_vectors(model: Any, content: F32, rows: npt.NDArray[np.int64] | None = None) -> F32:
    learned = model.item_vectors()
    if rows is None:
        if learned.shape[0] != content.shape[0]:
            raise ValueError(f"preference vectors: {content.shape[0]} items, model has {learned.shape[0]}")
        return learned
    out = model.item_vectors(content)
    known = rows >= 0
    out[known] = learned[rows[known]]
    return out
