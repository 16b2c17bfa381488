"""Backends under test: every backend runs the one conformance suite in ``test_conformance.py``.

A backend joins by adding a factory to ``BACKENDS``: ``factory(dim, path) -> VectorIndex`` where
``path`` is a fresh folder for persistent backends (ignored by in-memory ones), plus whether it
persists (the crash and reopen tests need it).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymilvus import MilvusClient

from lookbook.index import NumpyIndex, VectorIndex
from lookbook.index.milvus import MilvusIndex
from lookbook.index.milvus_server import MilvusServerError, local_milvus
from lookbook.index.qdrant_edge import QdrantEdgeIndex


@dataclass(frozen=True)
class Backend:
    name: str
    make: Callable[[int, Path], VectorIndex]
    persistent: bool


BACKENDS: list[Backend] = [Backend("numpy", lambda dim, path: NumpyIndex(dim), persistent=False)]
BACKENDS.append(Backend("qdrant_edge", lambda dim, path: QdrantEdgeIndex(dim, path), persistent=True))


class MilvusServer:
    """This test session's Milvus standalone server (``local_milvus``), started on first use so that
    a run without Milvus tests does not pay for it; the package fixture below stops it after the
    index tests.

    Creating and loading a collection takes Milvus ~2 s, nearly all of it waiting for the query
    coordinator's one-second observer ticks, so a few spare collections are prepared in the
    background (by ``MilvusIndex`` itself) and a test's fresh collection is a spare renamed to the
    name derived from its folder; a folder that already has one (the reopen test) reopens it.
    """

    SPARES = 4

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self._stack = contextlib.ExitStack()
        self._uri: str | None = None
        self._error: str | None = None
        self._workers = ThreadPoolExecutor(max_workers=self.SPARES, thread_name_prefix="milvus-spare")
        self._spares: dict[int, deque[Future[str]]] = defaultdict(deque)
        self._serial = itertools.count()

    @property
    def uri(self) -> str:
        if self._error is None and self._uri is None:
            try:
                self._uri = self._stack.enter_context(local_milvus(self.base_dir))
                self._admin = MilvusClient(uri=self._uri, alias=f"tests-admin-{id(self)}")
                self._stack.callback(self._admin.close)
            except MilvusServerError as exc:
                self._error = f"the bundled Milvus server cannot start here: {exc}"
        if self._error is not None:
            pytest.skip(self._error)
        assert self._uri is not None
        return self._uri

    def make(self, dim: int, path: Path) -> MilvusIndex:
        name = milvus_collection(path)
        uri = self.uri
        if not self._admin.has_collection(name):
            spares = self._spares[dim]
            while len(spares) <= self.SPARES:
                spares.append(self._workers.submit(self._spare, dim))
            self._admin.rename_collection(spares.popleft().result(), name)
        return MilvusIndex(dim, uri, collection=name)

    def _spare(self, dim: int) -> str:
        name = f"spare_{dim}_{next(self._serial)}"
        MilvusIndex(dim, self.uri, collection=name).close()
        return name

    def close(self) -> None:
        self._workers.shutdown(wait=True, cancel_futures=True)
        self._stack.close()


_milvus: MilvusServer | None = None


# package scope: the server (a whole core while it runs) stops when the index tests are done,
# not at the end of the session
@pytest.fixture(scope="package", autouse=True)
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    global _milvus
    _milvus = MilvusServer(tmp_path_factory.mktemp("milvus"))
    try:
        yield _milvus
    finally:
        _milvus.close()
        _milvus = None


def milvus_collection(path: Path) -> str:
    """The collection of a test folder: a fresh name per folder, the same one when a test reopens it."""
    return "t_" + hashlib.sha1(str(path).encode()).hexdigest()[:20]


def _make_milvus(dim: int, path: Path) -> MilvusIndex:
    assert _milvus is not None, "the milvus_server session fixture is not active"
    return _milvus.make(dim, path)


BACKENDS.append(Backend("milvus", _make_milvus, persistent=True))


@pytest.fixture(
    # Milvus runs as a server process (seconds to start, a core while it runs): its cases are slow.
    params=[pytest.param(b, marks=pytest.mark.slow) if b.name == "milvus" else b for b in BACKENDS],
    ids=lambda b: b.name,
)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param
