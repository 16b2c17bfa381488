"""An on-disk feature cache keyed by content hash: encode an image or a text once, ever.

Layout of one cache folder (one folder per encoder name, so that two encoders, or one encoder at two
resolutions, never share vectors)::

    cache.json                 {"format_version": 1, "dim": 1280, "dtype": "float16"}
    shard-<ns>-<pid>-<rand>.npz   keys (m, 32) uint8 digests, vectors (m, dim) float16

Why it is built this way:

* **Append-only shards, written then renamed.** A shard is written to a hidden temporary file,
  fsynced and renamed into place. A rename is atomic, so a killed process leaves either the whole
  shard or none of it (plus, at worst, a stray temporary file that is ignored). Nothing is ever
  rewritten in place, so a crash cannot damage what was written before. Unique shard names let two
  processes append to one cache without locking; a key written twice is harmless.
* **float16 on disk.** Cached vectors are L2-normalised, so their entries are in [-1, 1] where
  float16 keeps about three significant digits: a cosine moves by less than 1e-3, and the cache is
  half the size (100k image vectors: 245 MB instead of 490 MB).
* **An in-memory index, vectors on demand.** Opening reads only the ``keys`` member of each shard
  (an ``.npz`` is a zip, members load separately): 100k entries open in well under a second. A
  lookup loads the vectors of the shards it needs, once per call.
* **No pickle.** Keys are stored as a ``uint8`` array, loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, LookbookError

log = logging.getLogger(__name__)

__all__ = ["CACHE_FORMAT_VERSION", "KEY_BYTES", "FeatureCache", "write_atomic"]

CACHE_FORMAT_VERSION = 1
#: Keys are SHA-256 digests.
KEY_BYTES = 32
_META = "cache.json"
_SHARD_GLOB = "shard-*.npz"


class FeatureCache:
    """Vectors of one encoder, keyed by a 32-byte content digest, persisted in ``folder``.

    Parameters
    ----------
    folder
        The cache folder (created if needed). Use one folder per encoder name.
    dim
        Width of the vectors. Reopening a folder written with another width raises
        ``DimensionMismatch``: the name of the encoder should have changed with its output.
    shard_rows
        Rows buffered in memory before a shard is written. ``flush()`` writes the rest; an encoder
        calls it at the end of every ``encode``. Larger shards mean fewer files; smaller ones lose
        less work to a crash.
    """

    def __init__(self, folder: Path, dim: int, *, shard_rows: int = 4096) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise LookbookError(f"FeatureCache dim: expected an int >= 1, got {dim!r}")
        if isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1:
            raise LookbookError(f"FeatureCache shard_rows: expected an int >= 1, got {shard_rows!r}")
        self.folder = Path(folder)
        self.dim = dim
        self.shard_rows = shard_rows
        self._shards: list[Path] = []
        self._index: dict[bytes, tuple[int, int]] = {}
        self._pending: dict[bytes, npt.NDArray[np.float16]] = {}
        self._open()

    # ------------------------------------------------------------------------------------------
    # Opening
    # ------------------------------------------------------------------------------------------

    def _open(self) -> None:
        t0 = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_path = self.folder / _META
        if meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError) as exc:
                raise LookbookError(f"FeatureCache {self.folder}: unreadable {_META} ({exc})") from None
            if meta.get("format_version") != CACHE_FORMAT_VERSION:
                raise LookbookError(
                    f"FeatureCache {self.folder} format_version: expected {CACHE_FORMAT_VERSION}, "
                    f"got {meta.get('format_version')!r}; delete the folder to rebuild it"
                )
            if meta.get("dim") != self.dim:
                raise DimensionMismatch(
                    f"FeatureCache {self.folder} dim: the cache holds {meta.get('dim')}-d vectors, "
                    f"the encoder makes {self.dim}-d ones"
                )
        else:
            meta = {"format_version": CACHE_FORMAT_VERSION, "dim": self.dim, "dtype": "float16"}
            write_atomic(meta_path, json.dumps(meta, indent=2).encode())
        for path in sorted(self.folder.glob(_SHARD_GLOB)):
            self._add_shard(path)
        log.debug(
            "feature cache %s: %d vectors in %d shards, opened in %.3fs",
            self.folder,
            len(self._index),
            len(self._shards),
            time.perf_counter() - t0,
        )

    def _add_shard(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as npz:
                keys = npz["keys"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("feature cache: skipping unreadable shard %s (%s)", path, exc)
            return
        if keys.ndim != 2 or keys.shape[1] != KEY_BYTES or keys.dtype != np.uint8:
            log.warning("feature cache: skipping shard %s with keys of shape %s", path, keys.shape)
            return
        shard = len(self._shards)
        self._shards.append(path)
        raw = keys.tobytes()
        for row in range(keys.shape[0]):
            key = raw[row * KEY_BYTES : (row + 1) * KEY_BYTES]
            self._index.setdefault(key, (shard, row))

    # ------------------------------------------------------------------------------------------
    # Reading and writing
    # ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._index) + len(self._pending)  # put() buffers only keys not in the index

    def __contains__(self, key: object) -> bool:
        return key in self._pending or key in self._index

    def get(self, keys: Sequence[bytes]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]:
        """Look up vectors.

        Returns
        -------
        found
            ``(n,)`` bool, whether each key is cached.
        vectors
            ``(n, dim)`` float32; rows of keys not found are zero.
        """
        n = len(keys)
        found = np.zeros(n, dtype=bool)
        out = np.zeros((n, self.dim), dtype=np.float32)
        by_shard: dict[int, tuple[list[int], list[int]]] = {}
        for i, key in enumerate(keys):
            pending = self._pending.get(key)
            if pending is not None:
                out[i] = pending
                found[i] = True
                continue
            loc = self._index.get(key)
            if loc is not None:
                outs, rows = by_shard.setdefault(loc[0], ([], []))
                outs.append(i)
                rows.append(loc[1])
        for shard, (outs, rows) in by_shard.items():
            vectors = self._load_vectors(shard)
            if vectors is None:
                continue
            out[outs] = vectors[rows].astype(np.float32)
            found[outs] = True
        return found, out

    def _load_vectors(self, shard: int) -> npt.NDArray[np.float16] | None:
        path = self._shards[shard]
        try:
            with np.load(path, allow_pickle=False) as npz:
                vectors = npz["vectors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning(
                "feature cache: shard %s became unreadable (%s); its vectors are re-encoded", path, exc
            )
            self._forget(shard)
            return None
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            log.warning("feature cache: shard %s has vectors of shape %s, ignored", path, vectors.shape)
            self._forget(shard)
            return None
        return vectors

    def _forget(self, shard: int) -> None:
        """Drop a bad shard's keys from the index, so that their re-encoded vectors get cached again."""
        self._index = {k: loc for k, loc in self._index.items() if loc[0] != shard}

    def put(self, keys: Sequence[bytes], vectors: npt.ArrayLike) -> None:
        """Add vectors (buffered; a shard is written every ``shard_rows`` rows and on ``flush``).

        Keys already cached are skipped: a content hash always maps to the same vector.
        """
        arr = np.asarray(vectors)
        if arr.ndim != 2 or arr.shape != (len(keys), self.dim):
            raise DimensionMismatch(
                f"FeatureCache.put vectors: expected shape ({len(keys)}, {self.dim}), got {arr.shape}"
            )
        arr16 = arr.astype(np.float16)
        for key, row in zip(keys, arr16, strict=True):
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise LookbookError(f"FeatureCache.put keys: expected {KEY_BYTES}-byte digests, got {key!r}")
            if key not in self._index:
                self._pending[key] = row
        if len(self._pending) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        """Write the buffered vectors as one new shard (nothing to do when none are buffered)."""
        if not self._pending:
            return
        keys = list(self._pending)
        key_arr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)
        vec_arr = np.stack(list(self._pending.values())).astype(np.float16)
        path = self._write_shard(key_arr, vec_arr)
        shard = len(self._shards)
        self._shards.append(path)
        for row, key in enumerate(keys):
            self._index.setdefault(key, (shard, row))
        self._pending.clear()

    def _write_shard(self, keys: npt.NDArray[np.uint8], vectors: npt.NDArray[np.float16]) -> Path:
        name = f"shard-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.npz"
        path = self.folder / name
        buf = io.BytesIO()
        np.savez(buf, keys=keys, vectors=vectors)
        write_atomic(path, buf.getvalue())
        log.debug("feature cache %s: wrote %d vectors to %s", self.folder, keys.shape[0], name)
        return path

    def compact(self) -> None:
        """Merge every shard into one (written first, old shards deleted after: crash-safe)."""
        self.flush()
        if len(self._shards) <= 1:
            return
        keys = list(self._index)
        found, vectors = self.get(keys)
        keep = [k for k, f in zip(keys, found, strict=True) if f]
        key_arr = np.frombuffer(b"".join(keep), dtype=np.uint8).reshape(len(keep), KEY_BYTES)
        new = self._write_shard(key_arr, vectors[found].astype(np.float16))
        for old in self._shards:
            old.unlink(missing_ok=True)
        self._shards = [new]
        self._index = {k: (0, row) for row, k in enumerate(keep)}

    def close(self) -> None:
        """Flush; the cache stays usable (there is no file handle to release)."""
        self.flush()

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.folder)!r}, dim={self.dim}, entries={len(self)})"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a hidden temporary file beside ``path``, fsync it, and rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
