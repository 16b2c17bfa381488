"""``FusedContentEncoder``: one content vector per item from its image, its text and its attributes.

This is the vector every later model starts from, and the cold-start path: an item added a second
ago has a picture, words and attributes, so it has a content vector. It is built from three blocks,
each L2-normalised, weighted, concatenated and normalised again:

* **image block** (``dim_image``): a linear projection of the frozen CNN features;
* **text block** (``dim_text``): a linear projection of the sentence embedding;
* **attribute block** (``dim_attributes``): the item's categorical tokens (``slot=top``,
  ``brand=kalomi``, ``colour=red``...) feature-hashed with a signed, stable hash (BLAKE2b, never
  Python's salted ``hash()``), so an unseen brand or colour needs no refit and the block is the
  same in every process.

How the projections are learned, and why: the two projections are trained together with a
symmetric InfoNCE loss (as in CLIP): in a batch of items, each item's image projection must be
nearer its own text projection than every other item's, and vice versa. This needs only the
catalog (no labels, no events), so it is fair to fit on all items, including the test items of a
later evaluation. It pulls out of 1,280 ImageNet dimensions the few dozen that agree with what the
words say (colour, category, pattern) and drops the rest (lighting, pose), and it maps both
modalities into one space, so a shopper's photo crop can be compared with items that have only
text. Inputs are centred by their catalog mean first: pooled CNN activations are all positive and
share one dominant direction that carries no information.

A missing image (a zero row of image features) gives a zero image block: the item still gets a
finite unit vector from its text and attributes. ``transform`` is numpy only; torch is needed to
``fit`` alone. ``save`` writes safetensors weights plus a JSON config with a format version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from lookbook.encoders.base import FloatArray, l2_normalize, torch_threads
from lookbook.encoders.cache import write_atomic
from lookbook.errors import DimensionMismatch, LookbookError, NotFittedError, NotFound

log = logging.getLogger(__name__)

__all__ = [
    "FUSION_FORMAT_VERSION",
    "FusedContentEncoder",
    "FusionConfig",
    "attribute_tokens",
    "hash_tokens",
]

FUSION_FORMAT_VERSION = 1
_WEIGHTS = "fusion.safetensors"
_META = "fusion.json"
_HASH_PERSON = b"lookbook-attr"


# ==================================================================================================
# Attribute tokens and feature hashing
# ==================================================================================================


def _norm_token(token: str) -> str:
    return " ".join(token.split()).lower()


def attribute_tokens(
    category: str | None = None,
    slot: str | None = None,
    brand: str | None = None,
    attributes: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
) -> list[str]:
    """The categorical tokens of one item: ``["slot=top", "category=jeans", "brand=kalomi", ...]``.

    Values are lower-cased and whitespace-collapsed, so "Navy " and "navy" are one token. Empty
    values are left out. Attributes whose value is a list contribute one token per element.
    """
    out: list[str] = []

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, list | tuple | set | frozenset):
            for v in value:
                add(key, v)
            return
        v = _norm_token(str(value))
        if v:
            out.append(f"{_norm_token(key)}={v}")

    add("slot", slot)
    add("category", category)
    add("brand", brand)
    if attributes is not None:
        pairs = attributes.items() if isinstance(attributes, Mapping) else attributes
        for key, value in sorted(pairs, key=lambda kv: str(kv[0])):
            if key is not None:
                add(str(key), value)
    return out


def _token_hash(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8, person=_HASH_PERSON).digest()
    h = int.from_bytes(digest, "little")
    return h % dim, (1.0 if (h >> 63) & 1 == 0 else -1.0)


def hash_tokens(tokens: Sequence[Sequence[str] | None], dim: int) -> FloatArray:
    """Signed feature hashing of each item's tokens into ``dim`` columns, rows L2-normalised.

    Each distinct token is hashed once (BLAKE2b, 64 bits: the column is ``h mod dim`` and the sign
    is the top bit), so the result is identical in every process and on every machine. The sign
    makes collisions cancel on average instead of piling up. Items without tokens get zero rows.

    Returns
    -------
    ``(n, dim)`` float32.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise LookbookError(f"hash_tokens dim: expected an int >= 1, got {dim!r}")
    table: dict[str, tuple[int, float]] = {}
    rows: list[int] = []
    cols: list[int] = []
    signs: list[float] = []
    for i, item in enumerate(tokens):
        if item is None:
            continue
        if isinstance(item, str):
            raise LookbookError(f"attribute_tokens[{i}]: expected a list of tokens, got the string {item!r}")
        for token in item:
            t = _norm_token(str(token))
            if not t:
                continue
            hit = table.get(t)
            if hit is None:
                hit = table[t] = _token_hash(t, dim)
            rows.append(i)
            cols.append(hit[0])
            signs.append(hit[1])
    out = np.zeros((len(tokens), dim), dtype=np.float32)
    np.add.at(
        out, (np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)), np.asarray(signs, np.float32)
    )
    return l2_normalize(out)


# ==================================================================================================
# Config
# ==================================================================================================


@dataclass(frozen=True)
class FusionConfig:
    """Settings of the fused content encoder.

    Parameters
    ----------
    dim_image, dim_text
        Widths of the learned image and text projections. 64 each keeps what a few thousand items
        can teach (the InfoNCE signal is about colour, category, pattern, material) without
        memorising the catalog.
    dim_attributes
        Width of the hashed attribute block. 32 columns for the ~40 distinct tokens of a typical
        shop (plus brands) means some collisions, which the signed hash keeps unbiased.
    epochs
        Passes over the catalog. 30 converges on 5,000 items in a few seconds.
    temperature
        InfoNCE softmax temperature: 0.07 is CLIP's initial value, sharp enough that the loss
        focuses on the hardest in-batch negatives.
    lr, weight_decay
        Adam step size and L2 penalty.
    batch_size
        Items per InfoNCE batch (each item's negatives are the others of its batch).
    random_state
        Seed of the initial projections and of the batch order.
    weight_image, weight_text, weight_attributes
        How much each block counts in the final vector (>= 0; 0 drops a block).
    threads
        torch threads while fitting (``None``: torch's default). One by default: the matrices are
        small (a step is ~2 ms), so a second thread saves little, and measured here it made the fit
        5-10x slower whenever another process held one of the two cores.
    """

    dim_image: int = 64
    dim_text: int = 64
    dim_attributes: int = 128
    epochs: int = 30
    temperature: float = 0.07
    lr: float = 3e-3
    random_state: int = 0
    batch_size: int = 256
    weight_decay: float = 1e-4
    weight_image: float = 1.0
    weight_text: float = 1.0
    weight_attributes: float = 1.0
    threads: int | None = 1

    def __post_init__(self) -> None:
        for name in ("dim_image", "dim_text", "dim_attributes", "epochs"):
            _check_int(name, getattr(self, name), 1 if name != "epochs" else 0)
        _check_int("batch_size", self.batch_size, 2)
        _check_int("random_state", self.random_state, 0)
        if self.threads is not None:
            _check_int("threads", self.threads, 1)
        for name, lo_open in (("temperature", True), ("lr", True), ("weight_decay", False)):
            _check_float(name, getattr(self, name), lo_open)
        for name in ("weight_image", "weight_text", "weight_attributes"):
            _check_float(name, getattr(self, name), False)
        if self.weight_image + self.weight_text + self.weight_attributes <= 0:
            raise LookbookError("FusionConfig.weight_*: expected at least one weight > 0, got all 0")

    @property
    def dim(self) -> int:
        """Width of the fused vector."""
        return self.dim_image + self.dim_text + self.dim_attributes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FusionConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LookbookError(f"FusionConfig: unknown fields {unknown}")
        return cls(**dict(data))


def _check_int(name: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise LookbookError(f"FusionConfig.{name}: expected an int >= {lo}, got {value!r}")


def _check_float(name: str, value: Any, lo_open: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (lo_open and value == 0):
        bound = "> 0" if lo_open else ">= 0"
        raise LookbookError(f"FusionConfig.{name}: expected a finite number {bound}, got {value!r}")


# ==================================================================================================
# The encoder
# ==================================================================================================


def _check_features(owner: str, x: Any, n: int | None, width: int | None) -> FloatArray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise DimensionMismatch(f"{owner}: expected a 2-D (n, d) array, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise LookbookError(f"{owner}: expected numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if n is not None and arr.shape[0] != n:
        raise DimensionMismatch(f"{owner}: expected {n} rows (one per item), got {arr.shape[0]}")
    if width is not None and arr.shape[1] != width:
        raise DimensionMismatch(
            f"{owner}: X has {arr.shape[1]} features, but FusedContentEncoder was fitted on {width}"
        )
    if not np.isfinite(arr).all():
        raise LookbookError(f"{owner}: expected finite values, got NaN or infinity")
    return arr


class FusedContentEncoder:
    """Learned image and text projections plus hashed attributes: the item content vector.

    Parameters
    ----------
    config
        See ``FusionConfig``; stored unchanged.

    Attributes (after ``fit`` or ``load``)
    --------------------------------------
    image_projection_, text_projection_
        ``(dim_image, n_image_features_)`` and ``(dim_text, n_text_features_)`` float32.
    image_mean_, text_mean_
        Catalog means subtracted before projecting.
    loss_history_
        Mean InfoNCE loss per epoch.
    alignment_
        Top-1 image→text retrieval accuracy over (up to 2,048 of) the training items: chance is
        ``1 / n``, so it says at a glance whether the projections learned anything.
    """

    def __init__(self, config: FusionConfig | None = None) -> None:
        self.config = FusionConfig() if config is None else config
        if not isinstance(self.config, FusionConfig):
            raise LookbookError(
                f"FusedContentEncoder config: expected a FusionConfig, got {type(self.config).__name__}"
            )

    # -- metadata ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        c = self.config
        return f"fused-{c.dim_image}-{c.dim_text}-{c.dim_attributes}"

    @property
    def dim(self) -> int:
        """Width of the fused vector: ``dim_image + dim_text + dim_attributes``."""
        return self.config.dim

    def _check_fitted(self) -> None:
        if not hasattr(self, "image_projection_"):
            raise NotFittedError(
                "FusedContentEncoder is not fitted: call fit(image_feats, text_feats, attribute_tokens) "
                "or FusedContentEncoder.load(path) first"
            )

    # -- fitting ----------------------------------------------------------------------------------

    def fit(
        self,
        image_feats: npt.ArrayLike,
        text_feats: npt.ArrayLike,
        attribute_tokens: Sequence[Sequence[str] | None],
        show_progress: bool = True,
        callback: Callable[[int, float, dict[str, float]], None] | None = None,
    ) -> Self:
        """Learn the image and text projections on a catalog (self-supervised, no labels).

        Parameters
        ----------
        image_feats
            ``(n, d_img)`` image features, e.g. ``ImageEncoder`` output; zero rows are items without
            an image (left out of the contrastive loss).
        text_feats
            ``(n, d_txt)`` text features, e.g. ``TextEncoder`` output; zero rows have no text.
        attribute_tokens
            ``n`` lists of tokens (see ``attribute_tokens``). Hashing is not learned; they are
            checked here so that a mistake shows at fit time.
        show_progress
            Show a tqdm bar over epochs.
        callback
            Called as ``callback(epoch, elapsed_seconds, {"loss": ...})`` after every epoch.
        """
        t0 = time.perf_counter()
        cfg = self.config
        xi = _check_features("FusedContentEncoder.fit image_feats", image_feats, None, None)
        n = xi.shape[0]
        xt = _check_features("FusedContentEncoder.fit text_feats", text_feats, n, None)
        if len(attribute_tokens) != n:
            raise DimensionMismatch(
                f"FusedContentEncoder.fit attribute_tokens: expected {n} lists (one per item), "
                f"got {len(attribute_tokens)}"
            )
        hash_tokens(attribute_tokens, cfg.dim_attributes)  # validates the token lists

        has_img = np.linalg.norm(xi, axis=1) > 0
        has_txt = np.linalg.norm(xt, axis=1) > 0
        both = has_img & has_txt
        image_mean = xi[has_img].mean(axis=0) if has_img.any() else np.zeros(xi.shape[1], np.float32)
        text_mean = xt[has_txt].mean(axis=0) if has_txt.any() else np.zeros(xt.shape[1], np.float32)

        rng = np.random.default_rng(cfg.random_state)
        w_img = (rng.standard_normal((cfg.dim_image, xi.shape[1])) / math.sqrt(xi.shape[1])).astype(
            np.float32
        )
        w_txt = (rng.standard_normal((cfg.dim_text, xt.shape[1])) / math.sqrt(xt.shape[1])).astype(np.float32)

        m = int(both.sum())
        losses: list[float] = []
        if m >= 2 and cfg.epochs > 0:
            w_img, w_txt, losses = self._train(
                xi[both] - image_mean, xt[both] - text_mean, w_img, w_txt, show_progress, callback, t0
            )
        else:
            log.warning(
                "FusedContentEncoder.fit: %d items have both an image and a text (need >= 2) or epochs=0; "
                "the projections stay random (still distance-preserving, but not aligned)",
                m,
            )

        self.image_projection_ = w_img
        self.text_projection_ = w_txt
        self.image_mean_ = image_mean.astype(np.float32)
        self.text_mean_ = text_mean.astype(np.float32)
        self.n_image_features_ = int(xi.shape[1])
        self.n_text_features_ = int(xt.shape[1])
        self.loss_history_ = np.asarray(losses, dtype=np.float32)
        sample = np.flatnonzero(both)[:2048]
        self.alignment_ = (
            self._retrieval_accuracy(xi[sample], xt[sample]) if sample.size >= 2 else float("nan")
        )
        log.info(
            "fused content encoder: fitted on %d items (%d with image and text) in %.2fs, "
            "final loss %.3f, image->text top-1 %.2f (chance %.4f)",
            n,
            m,
            time.perf_counter() - t0,
            losses[-1] if losses else float("nan"),
            self.alignment_,
            1.0 / max(1, sample.size),
        )
        return self

    def _train(
        self,
        xi: FloatArray,
        xt: FloatArray,
        w_img: FloatArray,
        w_txt: FloatArray,
        show_progress: bool,
        callback: Callable[[int, float, dict[str, float]], None] | None,
        t0: float,
    ) -> tuple[FloatArray, FloatArray, list[float]]:
        try:
            import torch
            import torch.nn.functional as F  # noqa: N812 - the universal alias
        except ImportError as exc:
            raise LookbookError(
                "FusedContentEncoder.fit: needs torch (reinstall Lookbook with: "
                f"pip install -c constraints.txt -e .); {exc}"
            ) from None
        cfg = self.config
        m = xi.shape[0]
        gen = torch.Generator().manual_seed(cfg.random_state)
        ti = torch.from_numpy(np.ascontiguousarray(xi))
        tt = torch.from_numpy(np.ascontiguousarray(xt))
        wi = torch.nn.Parameter(torch.from_numpy(w_img.copy()))
        wt = torch.nn.Parameter(torch.from_numpy(w_txt.copy()))
        opt = torch.optim.Adam([wi, wt], lr=cfg.lr, weight_decay=cfg.weight_decay)
        bs = min(cfg.batch_size, m)
        inv_t = 1.0 / cfg.temperature
        losses: list[float] = []
        with (
            torch_threads(cfg.threads),
            torch.enable_grad(),
            tqdm(
                range(cfg.epochs), desc="fitting content fusion", unit="epoch", disable=not show_progress
            ) as bar,
        ):
            for epoch in bar:
                perm = torch.randperm(m, generator=gen)
                total, batches = 0.0, 0
                for start in range(0, m, bs):
                    idx = perm[start : start + bs]
                    if idx.numel() < 2:
                        continue
                    zi = F.normalize(ti[idx] @ wi.T, dim=1)
                    zt = F.normalize(tt[idx] @ wt.T, dim=1)
                    logits = (zi @ zt.T) * inv_t
                    target = torch.arange(idx.numel())
                    loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach())
                    batches += 1
                mean_loss = total / max(1, batches)
                if not math.isfinite(mean_loss):
                    raise LookbookError(
                        f"FusedContentEncoder.fit: the loss became {mean_loss} at epoch {epoch}; "
                        "lower FusionConfig.lr or raise FusionConfig.temperature"
                    )
                losses.append(mean_loss)
                bar.set_postfix(loss=f"{mean_loss:.3f}")
                if callback is not None:
                    callback(epoch, time.perf_counter() - t0, {"loss": mean_loss})
        return wi.detach().numpy().copy(), wt.detach().numpy().copy(), losses

    def _retrieval_accuracy(self, xi: FloatArray, xt: FloatArray) -> float:
        zi = self._project(xi, self.image_mean_, self.image_projection_)
        zt = self._project(xt, self.text_mean_, self.text_projection_)
        return float(np.mean(np.argmax(zi @ zt.T, axis=1) == np.arange(zi.shape[0])))

    # -- transforming -----------------------------------------------------------------------------

    @staticmethod
    def _project(x: FloatArray, mean: FloatArray, w: FloatArray) -> FloatArray:
        present = np.linalg.norm(x, axis=1, keepdims=True) > 0
        z = l2_normalize((x - mean) @ w.T)
        return np.where(present, z, np.float32(0.0))

    def project_image(self, image_feats: npt.ArrayLike) -> FloatArray:
        """``(n, dim_image)`` L2-normalised image projections (zero rows for zero features)."""
        self._check_fitted()
        x = _check_features("FusedContentEncoder image_feats", image_feats, None, self.n_image_features_)
        return self._project(x, self.image_mean_, self.image_projection_)

    def project_text(self, text_feats: npt.ArrayLike) -> FloatArray:
        """``(n, dim_text)`` L2-normalised text projections (zero rows for zero features)."""
        self._check_fitted()
        x = _check_features("FusedContentEncoder text_feats", text_feats, None, self.n_text_features_)
        return self._project(x, self.text_mean_, self.text_projection_)

    def attribute_block(self, attribute_tokens: Sequence[Sequence[str] | None]) -> FloatArray:
        """``(n, dim_attributes)`` hashed, L2-normalised attribute vectors (needs no fitting)."""
        return hash_tokens(attribute_tokens, self.config.dim_attributes)

    def transform(
        self,
        image_feats: npt.ArrayLike,
        text_feats: npt.ArrayLike,
        attribute_tokens: Sequence[Sequence[str] | None],
    ) -> FloatArray:
        """The fused content vectors.

        Parameters
        ----------
        image_feats, text_feats
            ``(n, n_image_features_)`` and ``(n, n_text_features_)``; zero rows mean "absent".
        attribute_tokens
            ``n`` token lists.

        Returns
        -------
        ``(n, dim_image + dim_text + dim_attributes)`` float32, L2-normalised: the concatenation of
        the weighted image, text and attribute blocks. A row is zero only if the item has no image,
        no text and no tokens at all.
        """
        self._check_fitted()
        zi = self.project_image(image_feats)
        n = zi.shape[0]
        zt = self.project_text(text_feats)
        if zt.shape[0] != n:
            raise DimensionMismatch(
                f"FusedContentEncoder.transform text_feats: expected {n} rows (as image_feats), "
                f"got {zt.shape[0]}"
            )
        if len(attribute_tokens) != n:
            raise DimensionMismatch(
                f"FusedContentEncoder.transform attribute_tokens: expected {n} lists, "
                f"got {len(attribute_tokens)}"
            )
        za = self.attribute_block(attribute_tokens)
        cfg = self.config
        fused = np.concatenate(
            [cfg.weight_image * zi, cfg.weight_text * zt, cfg.weight_attributes * za], axis=1
        ).astype(np.float32)
        return l2_normalize(fused)

    def fit_transform(
        self,
        image_feats: npt.ArrayLike,
        text_feats: npt.ArrayLike,
        attribute_tokens: Sequence[Sequence[str] | None],
        show_progress: bool = True,
    ) -> FloatArray:
        """``fit`` then ``transform`` on the same items."""
        return self.fit(image_feats, text_feats, attribute_tokens, show_progress=show_progress).transform(
            image_feats, text_feats, attribute_tokens
        )

    # -- persistence ------------------------------------------------------------------------------

    def save(self, path: Path) -> Path:
        """Write ``fusion.safetensors`` (weights) and ``fusion.json`` (config, version) into ``path``.

        The weights are written first and the JSON last, each through a temporary file renamed into
        place, so a folder with a JSON always has the matching weights.
        """
        from safetensors.numpy import save as st_save

        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {
            "image_projection": np.ascontiguousarray(self.image_projection_),
            "text_projection": np.ascontiguousarray(self.text_projection_),
            "image_mean": np.ascontiguousarray(self.image_mean_),
            "text_mean": np.ascontiguousarray(self.text_mean_),
            "loss_history": np.ascontiguousarray(self.loss_history_),
        }
        write_atomic(
            folder / _WEIGHTS, st_save(tensors, metadata={"format_version": str(FUSION_FORMAT_VERSION)})
        )
        meta = {
            "kind": "FusedContentEncoder",
            "format_version": FUSION_FORMAT_VERSION,
            "config": self.config.to_dict(),
            "n_image_features": self.n_image_features_,
            "n_text_features": self.n_text_features_,
            "alignment": None if math.isnan(self.alignment_) else self.alignment_,
        }
        write_atomic(folder / _META, json.dumps(meta, indent=2).encode())
        return folder

    @classmethod
    def load(cls, path: Path) -> FusedContentEncoder:
        """Read a folder written by ``save`` (checks the format version and the weight shapes)."""
        from safetensors.numpy import load_file

        folder = Path(path)
        meta_path = folder / _META
        if not meta_path.exists() or not (folder / _WEIGHTS).exists():
            raise NotFound(f"FusedContentEncoder.load {folder}: expected {_META} and {_WEIGHTS} here")
        meta = json.loads(meta_path.read_text())
        if meta.get("kind") != "FusedContentEncoder" or meta.get("format_version") != FUSION_FORMAT_VERSION:
            raise LookbookError(
                f"FusedContentEncoder.load {folder} format_version: expected {FUSION_FORMAT_VERSION}, "
                f"got {meta.get('format_version')!r} (kind {meta.get('kind')!r})"
            )
        model = cls(FusionConfig.from_dict(meta["config"]))
        w = load_file(str(folder / _WEIGHTS))
        cfg = model.config
        expected = {
            "image_projection": (cfg.dim_image, meta["n_image_features"]),
            "text_projection": (cfg.dim_text, meta["n_text_features"]),
            "image_mean": (meta["n_image_features"],),
            "text_mean": (meta["n_text_features"],),
        }
        for key, shape in expected.items():
            if key not in w or tuple(w[key].shape) != shape:
                got = None if key not in w else tuple(w[key].shape)
                raise DimensionMismatch(
                    f"FusedContentEncoder.load {folder} {key}: expected shape {shape}, got {got}"
                )
        model.image_projection_ = w["image_projection"].astype(np.float32)
        model.text_projection_ = w["text_projection"].astype(np.float32)
        model.image_mean_ = w["image_mean"].astype(np.float32)
        model.text_mean_ = w["text_mean"].astype(np.float32)
        model.loss_history_ = w.get("loss_history", np.zeros(0, np.float32)).astype(np.float32)
        model.n_image_features_ = int(meta["n_image_features"])
        model.n_text_features_ = int(meta["n_text_features"])
        model.alignment_ = float("nan") if meta.get("alignment") is None else float(meta["alignment"])
        return model

    def __repr__(self) -> str:
        return f"FusedContentEncoder({self.config!r})"
