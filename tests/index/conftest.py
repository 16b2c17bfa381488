"""Backends under test: every backend runs the one conformance suite in ``test_conformance.py``.

A backend joins by adding a factory to ``BACKENDS``: ``factory(dim, path) -> VectorIndex`` where
``path`` is a fresh folder for persistent backends (ignored by in-memory ones), plus whether it
persists (the crash and reopen tests need it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lookbook.index import NumpyIndex, VectorIndex
from lookbook.index.qdrant_edge import QdrantEdgeIndex


@dataclass(frozen=True)
class Backend:
    name: str
    make: Callable[[int, Path], VectorIndex]
    persistent: bool


BACKENDS: list[Backend] = [Backend("numpy", lambda dim, path: NumpyIndex(dim), persistent=False)]
BACKENDS.append(Backend("qdrant_edge", lambda dim, path: QdrantEdgeIndex(dim, path), persistent=True))


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param
