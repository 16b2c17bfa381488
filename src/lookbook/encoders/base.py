"""The ``Encoder`` base: the chores every content encoder shares, and the one hook it fills in.

An encoder turns a batch of inputs (image paths, texts, pixel arrays) into ``(n, dim)`` float32
L2-normalised vectors. The base method ``encode`` does everything that is not the model:

1. turns each input into a content key (``_key``: a SHA-256 of the file bytes or of the text), so
   that a renamed file or a re-ingested catalog costs nothing, while an edited picture is
   re-encoded;
2. looks the keys up in the ``FeatureCache`` of this encoder (a folder named after ``name``, so
   that caches of two encoders, or of one encoder at two resolutions, never mix);
3. encodes only the misses, once per distinct key, in batches, behind a tqdm bar;
4. checks the shape, dtype and finiteness of what the subclass returned, L2-normalises it and
   writes it to the cache;
5. returns the rows in input order. An input without content (a missing image file, an empty
   text) gets a zero row, which stays zero and is reported in one warning: downstream code
   (the fused encoder) knows a zero block means "absent" and still gives the item a vector.

A subclass writes ``name``, ``dim``, ``_key`` and ``_encode_batch`` (the model call), and may
override ``_as_list`` (what counts as one input), ``_keys`` (to hash in parallel) and
``_order`` (to batch similar inputs together). Models are loaded lazily, on the first batch
that needs them, so a fully cached ``encode`` never imports torch.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from lookbook.encoders.cache import KEY_BYTES, FeatureCache
from lookbook.errors import DimensionMismatch, LookbookError

log = logging.getLogger(__name__)

__all__ = ["EncodeStats", "Encoder", "content_digest", "l2_normalize", "torch_threads"]

FloatArray = npt.NDArray[np.float32]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for a block and restore it afterwards."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def l2_normalize(x: npt.ArrayLike, eps: float = 1e-12) -> FloatArray:
    """Rows of ``x`` scaled to unit length, as float32; all-zero rows stay zero."""
    arr = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > eps)


def content_digest(key: bytes | str | None) -> bytes | None:
    """The 32-byte cache key for what ``_key`` returned.

    A 32-byte ``bytes`` value is taken as a digest already, and so is a 64-character hex string;
    anything else is hashed with SHA-256 (strings as UTF-8). ``None`` means "no content".
    """
    if key is None:
        return None
    if isinstance(key, bytes | bytearray | memoryview):
        raw = bytes(key)
        return raw if len(raw) == KEY_BYTES else hashlib.sha256(raw).digest()
    if isinstance(key, str):
        if len(key) == 2 * KEY_BYTES:
            try:
                return bytes.fromhex(key)
            except ValueError:
                pass
        return hashlib.sha256(key.encode("utf-8")).digest()
    raise LookbookError(f"Encoder._key: expected bytes, str or None, got {type(key).__name__}")


@dataclass(frozen=True)
class EncodeStats:
    """What the last ``encode`` call did: how many rows came from the cache, how many were encoded.

    ``encode_seconds`` is the time spent in ``_encode_batch`` (decoding plus the model), so
    ``per_second`` is the encoder's throughput on new inputs, diluted neither by cache hits nor by
    loading the model (``load_seconds``, zero once loaded). ``seconds`` is the whole call.
    """

    n: int
    cached: int
    encoded: int
    missing: int
    seconds: float
    encode_seconds: float
    load_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        """Inputs encoded per second of ``_encode_batch`` time (0 when nothing was encoded)."""
        return self.encoded / self.encode_seconds if self.encoded and self.encode_seconds > 0 else 0.0


class Encoder(abc.ABC):
    """Turns a batch of inputs into ``(n, dim)`` float32 L2-normalised content vectors.

    Parameters
    ----------
    cache_dir
        Root folder of feature caches; this encoder's vectors go to ``cache_dir / name``.
        ``None`` (the default) means no disk cache: every call encodes its inputs (duplicates
        within one call are still encoded once).
    """

    #: What one input is called on the progress bar.
    unit: ClassVar[str] = "item"

    def __init__(self, *, cache_dir: Path | None = None) -> None:
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._cache: FeatureCache | None = None
        self.last_stats: EncodeStats | None = None

    # ------------------------------------------------------------------------------------------
    # What a subclass provides
    # ------------------------------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A stable name for the model and every setting that changes its output (cache folder)."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Width of the vectors."""

    @property
    def batch_size(self) -> int:
        """Inputs per ``_encode_batch`` call when ``encode`` is not given one."""
        return 32

    @abc.abstractmethod
    def _key(self, item: Any) -> bytes | str | None:
        """The content identity of one input (a digest, or bytes / text to hash); None if absent."""

    @abc.abstractmethod
    def _encode_batch(self, batch: list[Any]) -> npt.ArrayLike:
        """Encode inputs that all have content: ``(len(batch), dim)`` floats, not yet normalised.

        A row may be all zeros when an input turns out to be unreadable (a corrupt image): it is
        then treated like a missing input (zero, reported, not cached).
        """

    def _as_list(self, inputs: Any) -> list[Any]:
        """The inputs of one call as a list (a single str or path is a batch of one)."""
        if isinstance(inputs, str | bytes | os.PathLike):
            return [inputs]
        if not isinstance(inputs, Iterable):
            raise LookbookError(
                f"{type(self).__name__}.encode inputs: expected a sequence, got {type(inputs).__name__}"
            )
        return list(inputs)

    def _keys(self, inputs: list[Any]) -> list[bytes | None]:
        """Cache keys of all inputs (override to hash in parallel)."""
        return [content_digest(self._key(x)) for x in inputs]

    def _order(self, inputs: list[Any]) -> Sequence[int] | None:
        """Optional order in which to encode the misses (e.g. by text length, less padding)."""
        return None

    def load(self) -> None:  # noqa: B027 - an optional hook, a no-op for model-free encoders
        """Load the model now. ``encode`` calls it before the first batch that needs the model, so a
        fully cached call never loads it; call it yourself to pay the cost up front (a server)."""

    # ------------------------------------------------------------------------------------------
    # The chores
    # ------------------------------------------------------------------------------------------

    @property
    def cache(self) -> FeatureCache | None:
        """This encoder's feature cache (opened on first use), or None without ``cache_dir``."""
        if self._cache is None and self.cache_dir is not None:
            self._cache = FeatureCache(self.cache_dir / self.name, self.dim)
        return self._cache

    def encode(self, inputs: Any, show_progress: bool = True, batch_size: int | None = None) -> FloatArray:
        """Encode ``inputs`` into L2-normalised vectors, reading and filling the feature cache.

        Parameters
        ----------
        inputs
            A sequence of inputs (what counts as one depends on the encoder); a single one is a
            batch of one.
        show_progress
            Show a tqdm bar over the inputs that need encoding.
        batch_size
            Inputs per model call; defaults to the encoder's configured batch size.

        Returns
        -------
        ``(n, dim)`` float32. Rows of inputs without content (missing files, empty texts) are zero.
        """
        t0 = time.perf_counter()
        owner = type(self).__name__
        bs = self.batch_size if batch_size is None else batch_size
        if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
            raise LookbookError(f"{owner}.encode batch_size: expected an int >= 1, got {batch_size!r}")
        items = self._as_list(inputs)
        n = len(items)
        dim = self.dim
        out = np.zeros((n, dim), dtype=np.float32)
        keys = self._keys(items)
        missing = [i for i, k in enumerate(keys) if k is None]

        # Distinct keys, each with the rows that share it.
        rows_of: dict[bytes, list[int]] = {}
        for i, k in enumerate(keys):
            if k is not None:
                rows_of.setdefault(k, []).append(i)
        distinct = list(rows_of)

        cache = self.cache
        cached = 0
        if cache is not None and distinct:
            found, vectors = cache.get(distinct)
            vectors = l2_normalize(vectors)  # float16 on disk: renormalise away the rounding
            for j in np.flatnonzero(found):
                out[rows_of[distinct[j]]] = vectors[j]
                cached += len(rows_of[distinct[j]])
            todo = [distinct[j] for j in np.flatnonzero(~found)]
        else:
            todo = distinct

        firsts = [rows_of[k][0] for k in todo]
        order = self._order([items[i] for i in firsts])
        if order is not None:
            todo = [todo[j] for j in order]
        encoded = 0
        unreadable: list[int] = []
        encode_seconds = 0.0
        load_seconds = 0.0
        if todo:
            t_load = time.perf_counter()
            self.load()
            load_seconds = time.perf_counter() - t_load
        try:
            with tqdm(
                total=len(todo), desc=f"encoding {self.name}", unit=self.unit, disable=not show_progress
            ) as bar:
                for start in range(0, len(todo), bs):
                    chunk = todo[start : start + bs]
                    batch = [items[rows_of[k][0]] for k in chunk]
                    t_batch = time.perf_counter()
                    raw = self._encode_batch(batch)
                    encode_seconds += time.perf_counter() - t_batch
                    vecs = self._check_batch(raw, len(batch))
                    good = np.linalg.norm(vecs, axis=1) > 0
                    for k, v, ok in zip(chunk, vecs, good, strict=True):
                        if ok:
                            out[rows_of[k]] = v
                        else:
                            unreadable.extend(rows_of[k])
                    if cache is not None and good.any():
                        cache.put([k for k, ok in zip(chunk, good, strict=True) if ok], vecs[good])
                    encoded += len(batch)
                    bar.update(len(batch))
        finally:
            if cache is not None:
                cache.flush()

        empty = sorted(missing + unreadable)
        if empty:
            log.warning(
                "%s: %d of %d inputs have no content (%d missing, %d unreadable); their vectors are zero. "
                "First: %s",
                self.name,
                len(empty),
                n,
                len(missing),
                len(unreadable),
                _describe(items[empty[0]]),
            )
        self.last_stats = EncodeStats(
            n=n,
            cached=cached,
            encoded=encoded,
            missing=len(empty),
            seconds=time.perf_counter() - t0,
            encode_seconds=encode_seconds,
            load_seconds=load_seconds,
        )
        if encoded:
            log.debug(
                "%s: %d inputs, %d cached, %d encoded in %.2fs (%.1f/s)",
                self.name,
                n,
                cached,
                encoded,
                encode_seconds,
                self.last_stats.per_second,
            )
        return out

    def _check_batch(self, raw: npt.ArrayLike, n: int) -> FloatArray:
        owner = f"{type(self).__name__}._encode_batch"
        arr = np.asarray(raw)
        if arr.shape != (n, self.dim):
            raise DimensionMismatch(f"{owner}: expected shape ({n}, {self.dim}), got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise LookbookError(f"{owner}: expected floating-point vectors, got dtype {arr.dtype}")
        arr = arr.astype(np.float32, copy=False)
        if not np.isfinite(arr).all():
            raise LookbookError(f"{owner}: the model returned NaN or infinite values for {self.name}")
        return l2_normalize(arr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, cache_dir={self.cache_dir!s})"


def _describe(item: Any) -> str:
    if isinstance(item, np.ndarray):
        return f"array of shape {item.shape}"
    text = repr(item)
    return text if len(text) <= 120 else text[:117] + "..."
