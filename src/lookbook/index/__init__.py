"""Retrieval: the ``VectorIndex`` protocol, one filter language, and its backends."""

from lookbook.index.base import SearchResult, VectorIndex
from lookbook.index.filters import ITEM_PAYLOAD, And, Eq, Filter, In, Not, Or, PayloadSchema, Range
from lookbook.index.numpy_backend import NumpyIndex

__all__ = [
    "ITEM_PAYLOAD",
    "And",
    "Eq",
    "Filter",
    "In",
    "Not",
    "NumpyIndex",
    "Or",
    "PayloadSchema",
    "Range",
    "SearchResult",
    "VectorIndex",
]
