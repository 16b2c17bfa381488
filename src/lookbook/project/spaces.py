"""The vectors of each space for a batch of items, from a project's saved models.

Used by the build (the whole catalog) and by the server (items added while it runs), so both embed
items the same way. Spaces:

* ``content``: the fused content vector (exists for every item, the cold-start space);
* ``text``: the sentence encoder's vector of the item's text, the dense half of hybrid search;
* ``preference``: the two-tower item vector; for items with training events the learned one, for
  any other item the one its content predicts;
* ``style_<slot>``: the compatibility model's candidate-side vectors of items seen from anchors of
  ``<slot>``; an anchor's query vector for a target slot dotted with them is ``pair_score + 2``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.project.layout import ProjectPaths

F32 = npt.NDArray[np.float32]


def style_space(slot: str) -> str:
    return f"style_{slot}"


def slot_codes(slot_vocab: tuple[str, ...], slots: list[str]) -> npt.NDArray[np.int64]:
    """Codes of ``slots`` in the model's vocabulary; unknown slots get -1."""
    lookup = {s: i for i, s in enumerate(slot_vocab)}
    return np.asarray([lookup.get(s, -1) for s in slots], dtype=np.int64)


def project_space_vectors(
    paths: ProjectPaths,
    items: pa.Table,
    content: F32,
    text: F32,
    *,
    preference_rows: npt.NDArray[np.int64] | None = None,
) -> dict[str, F32]:
    """``{space: (n, dim) vectors}`` for ``items`` (row-aligned with ``content``).

    ``preference_rows``: each item's row in the preference model's training catalog (-1: not in
    it); ``None`` means ``items`` is that catalog, in order.
    """
    norm = np.linalg.norm(text, axis=1, keepdims=True)
    out: dict[str, F32] = {
        "content": np.ascontiguousarray(content, dtype=np.float32),
        "text": (text / np.where(norm > 0, norm, 1.0)).astype(np.float32),
    }
    if (paths.preference / "model.json").exists():
        out["preference"] = preference_vectors(paths.preference, content, preference_rows)
    if (paths.compatibility / "model.json").exists():
        from lookbook.models.compatibility import CompatibilityModel

        model = CompatibilityModel.load(paths.compatibility)
        slots = slot_codes(model.vocab_.slot, items.column("slot").to_pylist())
        known = slots >= 0
        width = model.item_vectors(content[:1], [0], 0).shape[1]
        for code, name in enumerate(model.vocab_.slot):
            vectors = np.zeros((len(slots), width), np.float32)
            if known.any():
                vectors[known] = model.item_vectors(content[known], slots[known], code)
            # items of slots the model never saw cannot be scored for compatibility: a zero vector
            # keeps them in the space (every space holds every item) at the bottom of every query
            out[style_space(name)] = vectors
    return out


def preference_vectors(path: Path, content: F32, rows: npt.NDArray[np.int64] | None = None) -> F32:
    from lookbook.models.collaborative.hybrid import LookbookRecommender

    model = LookbookRecommender.load(path)
    learned = model.item_vectors()
    if rows is None:
        if learned.shape[0] != content.shape[0]:
            raise ValueError(f"preference vectors: {content.shape[0]} items, model has {learned.shape[0]}")
        return learned
    out = model.item_vectors(content)
    known = rows >= 0
    out[known] = learned[rows[known]]
    return out
