"""``encode_items``: a catalog's items table in, every content vector out.

This is the one call the rest of Lookbook makes to get item content vectors: it reads the items
table of a ``World`` or a store (ITEMS layout: ``item_id``, ``title``, ``description``,
``category``, ``slot``, ``brand``, ``attributes``, ``image``), encodes images and texts through the
feature cache, fits the fusion (unless one is given, e.g. loaded from a trained project so that new
items land in the same space), and returns the raw and the fused vectors row-aligned with the table.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.encoders.base import Encoder, FloatArray
from lookbook.encoders.fused import FusedContentEncoder, FusionConfig, attribute_tokens
from lookbook.encoders.image import ImageEncoder, ImageEncoderConfig
from lookbook.encoders.text import TextEncoder, TextEncoderConfig, item_text
from lookbook.errors import DimensionMismatch, LookbookError, SchemaError

log = logging.getLogger(__name__)

__all__ = [
    "ContentFeatures",
    "encode_items",
    "item_attribute_tokens",
    "item_image_paths",
    "item_texts",
]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass
class ContentFeatures:
    """Content vectors of a catalog, row-aligned with ``item_ids``.

    Attributes
    ----------
    item_ids
        ``n`` item ids, in the order of the items table.
    image
        ``(n, 1280)`` float32 image features (zero rows: no readable image).
    text
        ``(n, 384)`` float32 text features.
    fused
        ``(n, D)`` float32 fused content vectors (``D = fusion.dim``), L2-normalised.
    attribute_tokens
        ``n`` token lists that fed the attribute block.
    fusion
        The fitted fusion that made ``fused``: keep it (``fusion.save``) so that items added later
        are transformed into the same space without refitting.
    timings
        Seconds per stage and the rates achieved (``images_per_s``, ``texts_per_s``).
    """

    item_ids: list[str]
    image: FloatArray
    text: FloatArray
    fused: FloatArray
    attribute_tokens: list[list[str]]
    fusion: FusedContentEncoder | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        for name in ("image", "text", "fused"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise DimensionMismatch(
                    f"ContentFeatures {name}: expected {n} rows (one per item id), got shape {arr.shape}"
                )
        if len(self.attribute_tokens) != n:
            raise DimensionMismatch(
                f"ContentFeatures attribute_tokens: expected {n} lists, got {len(self.attribute_tokens)}"
            )

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def has_image(self) -> npt.NDArray[np.bool_]:
        """``(n,)`` whether each item had a readable image."""
        return np.linalg.norm(self.image, axis=1) > 0


def _column(items: pa.Table, name: str) -> list[Any]:
    if name in items.column_names:
        return items.column(name).to_pylist()
    return [None] * items.num_rows


def _check_items(items: Any) -> pa.Table:
    if not isinstance(items, pa.Table):
        raise SchemaError(
            f"encode_items items: expected a pyarrow Table (ITEMS layout), got {type(items).__name__}"
        )
    if "item_id" not in items.column_names:
        raise SchemaError(f"encode_items items: expected an 'item_id' column, got {items.column_names}")
    return items


def item_texts(items: pa.Table) -> list[str]:
    """The text of every item (``item_text`` over the table's columns), in table order."""
    items = _check_items(items)
    cols = [_column(items, c) for c in ("title", "description", "category", "slot", "brand", "attributes")]
    return [item_text(*row) for row in zip(*cols, strict=True)]


def item_attribute_tokens(items: pa.Table) -> list[list[str]]:
    """The categorical tokens of every item (slot, category, brand, attributes), in table order."""
    items = _check_items(items)
    cols = [_column(items, c) for c in ("category", "slot", "brand", "attributes")]
    return [attribute_tokens(*row) for row in zip(*cols, strict=True)]


def item_image_paths(items: pa.Table, root: Path | None) -> list[Path | str | None]:
    """Where each item's image is: relative paths resolved against ``root``; URIs kept as strings
    (the image encoder does not fetch them, they count as missing); empty values are ``None``."""
    items = _check_items(items)
    out: list[Path | str | None] = []
    for value in _column(items, "image"):
        if value is None or not str(value).strip():
            out.append(None)
        elif _URI.match(value):
            out.append(value)
        else:
            p = Path(value).expanduser()
            out.append(p if p.is_absolute() or root is None else Path(root) / p)
    return out


def encode_items(
    items: pa.Table,
    root: Path | None = None,
    *,
    cache_dir: Path | None = None,
    image_config: ImageEncoderConfig | None = None,
    text_config: TextEncoderConfig | None = None,
    show_progress: bool = True,
    fusion: FusedContentEncoder | None = None,
    fusion_config: FusionConfig | None = None,
    image_encoder: Encoder | None = None,
    text_encoder: Encoder | None = None,
) -> ContentFeatures:
    """Encode a catalog's items: images, texts, attribute tokens, and the fused content vectors.

    Parameters
    ----------
    items
        An items table (ITEMS layout; missing optional columns count as empty).
    root
        Folder that relative ``image`` paths resolve against (``World.root``, the store's project).
    cache_dir
        Root of the feature caches; ``None`` encodes everything every time.
    image_config, text_config
        Settings of the default encoders (ignored when the encoder itself is given).
    show_progress
        Show tqdm bars.
    fusion
        A fitted ``FusedContentEncoder`` to transform with (new items into an existing space). When
        ``None``, one is fitted on these items with ``fusion_config``: the fit is self-supervised
        (image-text agreement), so fitting on the whole catalog leaks no labels.
    image_encoder, text_encoder
        Encoders to use instead of the defaults (an already loaded model, an ``OpenClipEncoder``).
        When given, ``cache_dir`` applies only through the encoder's own ``cache_dir``.

    Returns
    -------
    ContentFeatures
    """
    t0 = time.perf_counter()
    items = _check_items(items)
    if fusion is not None and not isinstance(fusion, FusedContentEncoder):
        raise LookbookError(
            f"encode_items fusion: expected a FusedContentEncoder, got {type(fusion).__name__}"
        )
    img_enc = image_encoder if image_encoder is not None else ImageEncoder(image_config, cache_dir=cache_dir)
    txt_enc = text_encoder if text_encoder is not None else TextEncoder(text_config, cache_dir=cache_dir)
    ids = [str(x) for x in items.column("item_id").to_pylist()]
    n = len(ids)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    texts = item_texts(items)
    tokens = item_attribute_tokens(items)
    paths = item_image_paths(items, root)
    timings["prepare_s"] = time.perf_counter() - t

    image = img_enc.encode(paths, show_progress=show_progress)
    _record(timings, "image", img_enc)
    text = txt_enc.encode(texts, show_progress=show_progress)
    _record(timings, "text", txt_enc)

    t = time.perf_counter()
    if fusion is None:
        fusion = FusedContentEncoder(fusion_config).fit(image, text, tokens, show_progress=show_progress)
        timings["fusion_fit_s"] = time.perf_counter() - t
    else:
        timings["fusion_fit_s"] = 0.0
    t = time.perf_counter()
    fused = fusion.transform(image, text, tokens)
    timings["fusion_transform_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    log.info(
        "encoded %d items in %.1fs: images %d new at %.0f/s (%d cached, %d missing), "
        "texts %d new at %.0f/s (%d cached); fusion fit %.1fs",
        n,
        timings["total_s"],
        int(timings["image_encoded"]),
        timings["images_per_s"],
        int(timings["image_cached"]),
        int(timings["image_missing"]),
        int(timings["text_encoded"]),
        timings["texts_per_s"],
        int(timings["text_cached"]),
        timings["fusion_fit_s"],
    )
    return ContentFeatures(
        item_ids=ids,
        image=image,
        text=text,
        fused=fused,
        attribute_tokens=tokens,
        fusion=fusion,
        timings=timings,
    )


def _record(timings: dict[str, float], prefix: str, encoder: Encoder) -> None:
    stats = encoder.last_stats
    rate_key = "images_per_s" if prefix == "image" else "texts_per_s"
    if stats is None:  # pragma: no cover - encode always sets it
        return
    timings[f"{prefix}_s"] = stats.seconds
    timings[f"{prefix}_load_s"] = stats.load_seconds
    timings[f"{prefix}_encoded"] = float(stats.encoded)
    timings[f"{prefix}_cached"] = float(stats.cached)
    timings[f"{prefix}_missing"] = float(stats.missing)
    timings[rate_key] = stats.per_second
