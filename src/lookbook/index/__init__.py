"""Retrieval: the ``VectorIndex`` protocol, one filter language, and its backends."""

from lookbook.index.base import SearchResult, VectorIndex
from lookbook.index.filters import ITEM_PAYLOAD, And, Eq, Filter, In, Not, Or, PayloadSchema, Range
from lookbook.index.numpy_backend import NumpyIndex
from lookbook.index.spaces import ItemSpaces, index_kind, open_space_index

__all__ = [
    "ITEM_PAYLOAD",
    "And",
    "Eq",
    "Filter",
    "In",
    "ItemSpaces",
    "Not",
    "NumpyIndex",
    "Or",
    "PayloadSchema",
    "Range",
    "SearchResult",
    "VectorIndex",
    "index_kind",
    "open_space_index",
]
