"""``OpenClipEncoder``: CLIP-family image or text towers (FashionCLIP, LAION CLIP) through open_clip.

An optional path for users with internet access and room for a bigger model: CLIP towers map
images and texts into one space out of the box, and FashionCLIP (``hf-hub:Marqo/marqo-fashionCLIP``)
was trained on product shots. The default Lookbook stack does not need it: EfficientNet-Lite0 plus
MiniLM plus the learned fusion runs offline on two cores.

``open_clip`` (package ``open_clip_torch``, which pulls in torchvision) is imported only inside
this class; when it is absent, constructing the encoder raises a ``LookbookError`` that names the
extra to install. One encoder instance encodes one modality (``"image"`` or ``"text"``), so that it
fits the ``Encoder`` contract (one input kind, one cache folder); build two for both towers, and
they share the loaded model only if you pass the same ``model_name`` and ``pretrained`` (weights
are cached by open_clip on disk either way).
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lookbook.encoders.base import Encoder, FloatArray
from lookbook.encoders.image import image_key, to_rgb
from lookbook.encoders.text import text_key
from lookbook.errors import LookbookError

log = logging.getLogger(__name__)

__all__ = ["CLIP_EXTRA_HINT", "OpenClipEncoder", "open_clip_available"]

CLIP_EXTRA_HINT = "install the clip extra: pip install 'lookbook[clip]' (or: pip install open_clip_torch)"
_SAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def open_clip_available() -> bool:
    """Whether ``open_clip`` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("open_clip") is not None
    except (ImportError, ValueError):
        return False


def _import_open_clip() -> Any:
    try:
        import open_clip
    except ImportError as exc:
        raise LookbookError(
            f"OpenClipEncoder: the optional package open_clip is missing; {CLIP_EXTRA_HINT} ({exc})"
        ) from None
    return open_clip


class OpenClipEncoder(Encoder):
    """One tower of an open_clip model as an ``Encoder``.

    Parameters
    ----------
    model_name
        An open_clip architecture (``"ViT-B-32"``) or a hub id (``"hf-hub:Marqo/marqo-fashionCLIP"``).
    pretrained
        open_clip's pretrained tag (``"laion2b_s34b_b79k"``); ``None`` for hub ids.
    modality
        ``"image"`` (inputs: paths, PIL images, arrays) or ``"text"`` (inputs: strings).
    batch_size
        Inputs per forward pass.
    device
        torch device, ``"cpu"`` by default.
    cache_dir
        Root of the feature caches; ``None`` for no disk cache.
    """

    unit: ClassVar[str] = "item"

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: str | None = "laion2b_s34b_b79k",
        *,
        modality: str = "image",
        batch_size: int = 32,
        device: str = "cpu",
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(cache_dir=cache_dir)
        if modality not in ("image", "text"):
            raise LookbookError(f"OpenClipEncoder modality: expected 'image' or 'text', got {modality!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise LookbookError(f"OpenClipEncoder batch_size: expected an int >= 1, got {batch_size!r}")
        if not isinstance(model_name, str) or not model_name:
            raise LookbookError(
                f"OpenClipEncoder model_name: expected a non-empty string, got {model_name!r}"
            )
        if not open_clip_available():
            raise LookbookError(
                f"OpenClipEncoder: the optional package open_clip is missing; {CLIP_EXTRA_HINT}"
            )
        self.model_name = model_name
        self.pretrained = pretrained
        self.modality = modality
        self._batch_size = batch_size
        self.device = device
        self._loaded: tuple[Any, Any, Any] | None = None
        self._dim: int | None = None

    @property
    def name(self) -> str:
        tag = f"{self.model_name}-{self.pretrained}" if self.pretrained else self.model_name
        return f"open_clip-{_SAFE.sub('_', tag)}-{self.modality}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            open_clip = _import_open_clip()
            cfg = None
            if not self.model_name.startswith("hf-hub:"):
                cfg = open_clip.get_model_config(self.model_name)
            if cfg and "embed_dim" in cfg:
                self._dim = int(cfg["embed_dim"])
            else:
                model = self._model()[0]
                self._dim = int(getattr(model, "embed_dim", None) or model.text_projection.shape[-1])
        return self._dim

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _key(self, item: Any) -> bytes | None:
        return image_key(item) if self.modality == "image" else text_key(item, "OpenClipEncoder")

    def _as_list(self, inputs: Any) -> list[Any]:
        if self.modality == "image" and isinstance(inputs, np.ndarray):
            return list(inputs) if inputs.ndim == 4 else [inputs]
        return super()._as_list(inputs)

    def load(self) -> None:
        self._model()

    def _model(self) -> tuple[Any, Any, Any]:
        if self._loaded is None:
            open_clip = _import_open_clip()
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.model_name, pretrained=self.pretrained, device=self.device
            )
            model.eval()
            tokenizer = open_clip.get_tokenizer(self.model_name)
            self._loaded = (model, preprocess, tokenizer)
            log.info("open_clip: loaded %s (%s)", self.model_name, self.pretrained)
        return self._loaded

    def _encode_batch(self, batch: list[Any]) -> FloatArray:
        import torch

        model, preprocess, tokenizer = self._model()
        out = np.zeros((len(batch), self.dim), dtype=np.float32)
        with torch.inference_mode():
            if self.modality == "text":
                feats = model.encode_text(tokenizer(batch).to(self.device))
                return feats.float().cpu().numpy()
            tensors, ok = [], []
            for i, item in enumerate(batch):
                try:
                    tensors.append(preprocess(to_rgb(item)))
                    ok.append(i)
                except (OSError, ValueError, SyntaxError) as exc:
                    log.warning("open_clip: cannot read %s (%s)", str(item)[:200], exc)
            if ok:
                feats = model.encode_image(torch.stack(tensors).to(self.device))
                out[ok] = feats.float().cpu().numpy()
        return out
