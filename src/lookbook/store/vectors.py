"""Item vectors as stored: one float32 little-endian BLOB per ``(item_id, space)``, moved as Arrow.

Why BLOBs of raw float32 rather than DuckDB ``FLOAT[]`` lists: a BLOB column converts to and from
one contiguous numpy buffer with no per-element work (Arrow's binary layout is an offsets buffer
plus the concatenated bytes, which *is* the ``(n, dim)`` matrix when every row has one width), so
reading the 20,000 vectors of a space back at open costs a copy, not a list per item. Little-endian
is fixed so a store file means the same on any machine.

Both directions are vectorised: ``vectors_to_arrow`` builds the Arrow column from the matrix's
buffer, and ``arrow_to_vectors`` checks the offsets once and views the data buffer as a matrix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.errors import DimensionMismatch, SchemaError

log = logging.getLogger(__name__)

__all__ = ["VECTOR_DTYPE", "arrow_to_vectors", "check_vectors", "vectors_to_arrow"]

#: How a vector is stored: float32, little-endian.
VECTOR_DTYPE = np.dtype("<f4")

F32 = npt.NDArray[np.float32]


def check_vectors(vectors: Mapping[str, npt.ArrayLike], n_rows: int) -> dict[str, F32]:
    """The vectors of ``n_rows`` items per space, checked and as contiguous little-endian float32.

    Parameters
    ----------
    vectors
        ``{space: (n_rows, dim)}``; row ``i`` belongs to the ``i``-th item of the input.
    n_rows
        How many items the input has.

    Raises ``SchemaError`` naming the space for a bad space name, a shape that is not
    ``(n_rows, dim >= 1)``, a non-float dtype or a non-finite value (a NaN vector would poison every
    search it takes part in).
    """
    if not isinstance(vectors, Mapping):
        raise SchemaError(f"vectors: expected a mapping of space -> array, got {type(vectors).__name__}")
    out: dict[str, F32] = {}
    for space, value in vectors.items():
        if not isinstance(space, str) or not space.strip() or space != space.strip():
            raise SchemaError(f"vectors: expected space names without surrounding spaces, got {space!r}")
        arr = np.asarray(value)
        if arr.ndim != 2 or arr.shape[0] != n_rows or arr.shape[1] < 1:
            raise DimensionMismatch(
                f"vectors[{space!r}]: expected shape ({n_rows}, dim) (one row per item), got {arr.shape}"
            )
        if not np.issubdtype(arr.dtype, np.floating):
            raise SchemaError(f"vectors[{space!r}]: expected floats, got dtype {arr.dtype}")
        if not np.isfinite(arr).all():
            raise SchemaError(f"vectors[{space!r}]: expected finite values, got NaN or infinity")
        out[space] = np.ascontiguousarray(arr, dtype=VECTOR_DTYPE)
    return out


def vectors_to_arrow(vectors: Mapping[str, F32]) -> pa.Table:
    """``__row`` (1-based item row), ``space``, ``vector`` (binary): one row per item and space.

    ``vectors`` is what ``check_vectors`` returns. The binary column is built from each matrix's
    buffer with computed offsets (no Python object per vector).
    """
    tables = []
    for space, arr in vectors.items():
        n, dim = arr.shape
        width = dim * VECTOR_DTYPE.itemsize
        if n * width >= 2**31:
            raise SchemaError(f"vectors[{space!r}]: {n} x {dim} floats is too large for one write; split it")
        offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int64) * width).astype(np.int32))
        blobs = pa.Array.from_buffers(pa.binary(), n, [None, offsets, pa.py_buffer(arr)])
        tables.append(
            pa.table(
                {
                    "__row": pa.array(np.arange(1, n + 1, dtype=np.int64)),
                    "space": pa.array(np.full(n, space, dtype=object), pa.string()),
                    "vector": blobs,
                }
            )
        )
    if not tables:
        schema = pa.schema([("__row", pa.int64()), ("space", pa.string()), ("vector", pa.binary())])
        return schema.empty_table()
    return pa.concat_tables(tables)


def arrow_to_vectors(column: pa.ChunkedArray | pa.Array, *, space: str) -> F32:
    """A binary (or large binary) column of stored vectors as an ``(n, dim)`` float32 matrix.

    Every row must have the same width (``DimensionMismatch`` naming the space otherwise: the store
    refuses mixed widths, so this means the file was edited by something else).
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if arr.null_count:
        raise SchemaError(f"item_vectors {space!r}: {arr.null_count} vectors are missing (NULL)")
    off_type = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=off_type, count=n + 1, offset=arr.offset * off_type().itemsize)
    widths = np.diff(offsets)
    width = int(widths[0])
    if width < VECTOR_DTYPE.itemsize or width % VECTOR_DTYPE.itemsize or (widths != width).any():
        raise DimensionMismatch(
            f"item_vectors {space!r}: expected one width of float32 vectors, got byte widths "
            f"{sorted(set(widths.tolist()))[:5]}"
        )
    data = np.frombuffer(
        data_buf, dtype=np.uint8, count=int(offsets[-1] - offsets[0]), offset=int(offsets[0])
    )
    return data.view(VECTOR_DTYPE).reshape(n, width // VECTOR_DTYPE.itemsize).astype(np.float32)
