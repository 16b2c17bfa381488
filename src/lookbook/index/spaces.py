"""Named vector spaces of one catalog, each in its own index, chosen by one URI.

An item lives in several spaces (DESIGN.md §4), each with its own width; which spaces a project
has is the project's business (``lookbook.project.spaces`` is their registry), so any valid name
works here. Lookbook keeps one index per space rather than several named vectors in one
collection: every backend supports that the same way, a space can be rebuilt (a retrained model)
without touching the others, and a touchpoint queries exactly one space per call anyway.
``ItemSpaces`` keeps the spaces in step: an upsert is checked against every space before any is
written, and a delete removes the item from all of them.

The URI is the only configuration a deployment changes:

* ``embedded:PATH`` (or a bare path): Qdrant Edge in process, one folder per space under ``PATH``;
* ``milvus://HOST[:PORT][/DB[/PREFIX]]`` or ``http(s)://...``: a Milvus server or cluster, one
  collection ``PREFIX_<space>`` per space (``PREFIX`` defaults to ``lookbook``);
* ``memory:``: the exact numpy reference, in memory (tests, small catalogs).
"""

from __future__ import annotations

import copy
import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy.typing as npt

from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.index.base import SearchResult, VectorIndex, check_upsert
from lookbook.index.filters import Filter, PayloadSchema

log = logging.getLogger(__name__)

_MILVUS_SCHEMES = ("milvus", "milvus+http", "milvus+https", "http", "https")


def _check_space(space: str) -> None:
    if not space or not space.replace("_", "").isalnum() or not space.isascii():
        raise SchemaError(f"vector space name: expected letters, digits and '_', got {space!r}")


def index_kind(uri: str) -> str:
    """``"embedded"``, ``"milvus"`` or ``"memory"``: which backend ``uri`` selects."""
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if uri == "memory:" or scheme == "memory":
        return "memory"
    if scheme in _MILVUS_SCHEMES:
        return "milvus"
    if scheme in ("", "embedded", "file") or len(scheme) == 1:  # len 1: a Windows drive letter
        return "embedded"
    raise LookbookError(
        f"index URI: expected embedded:PATH, a path, milvus://host[:port][/db[/prefix]], http(s)://... "
        f"or memory:, got scheme {scheme!r}"
    )


def open_space_index(
    uri: str, space: str, dim: int, schema: PayloadSchema | None = None, **options: Any
) -> VectorIndex:
    """The index of one vector space under ``uri``; ``options`` go to the backend's constructor."""
    _check_space(space)
    kind = index_kind(uri)
    if kind == "memory":
        from lookbook.index.numpy_backend import NumpyIndex

        return NumpyIndex(dim, schema)
    if kind == "embedded":
        from lookbook.index.qdrant_edge import QdrantEdgeIndex

        root = uri.split(":", 1)[1] if uri.lower().startswith(("embedded:", "file:")) else uri
        root = root.removeprefix("//")
        if not root:
            raise LookbookError(f"index URI {uri!r}: embedded: needs a folder, e.g. embedded:runs/index")
        return QdrantEdgeIndex(dim, Path(root) / space, schema, **options)
    from lookbook.index.milvus import open_index

    parts = urllib.parse.urlsplit(uri)
    path = [p for p in parts.path.split("/") if p]
    if len(path) > 2:
        raise LookbookError(f"index URI: expected at most /db/prefix after the host, got {parts.path!r}")
    prefix = urllib.parse.unquote(path[1]) if len(path) == 2 else "lookbook"
    base = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, "/" + path[0] if path else "", parts.query, "")
    )
    return open_index(base, dim, collection=f"{prefix}_{space}", schema=schema, **options)


def drop_index(index: VectorIndex) -> None:
    """Delete an index's data from its engine (the folder or the collection) and release it."""
    drop = getattr(index, "drop", None)
    if callable(drop):
        drop()
    else:
        index.close()


class ItemSpaces:
    """The catalog's vector spaces, written together and searched one at a time.

    ``dims`` maps each space to its width. Writes are all-or-nothing as far as validation goes:
    every space checks its vectors and the shared payloads before any index is touched, so a bad
    row changes no space. (An engine failing half-way through the spaces is not rolled back; the
    next upsert of the same ids repairs it, since upserts replace.)
    """

    def __init__(
        self,
        uri: str,
        dims: Mapping[str, int],
        schema: PayloadSchema | None = None,
        *,
        names: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        if not dims:
            raise SchemaError("ItemSpaces dims: expected at least one space")
        self.uri = uri
        self.dims = dict(dims)
        self.options = dict(options)
        #: each space's name in the engine (a folder or collection): the space's own, unless a model
        #: version was swapped in beside it (``lookbook.touchpoints.swap``)
        self.names = {space: str((names or {}).get(space, space)) for space in self.dims}
        self.indexes: dict[str, VectorIndex] = {}
        try:
            for space, dim in self.dims.items():
                self.indexes[space] = open_space_index(uri, self.names[space], int(dim), schema, **options)
        except Exception:
            self.close()
            raise
        self.schema = next(iter(self.indexes.values())).schema

    def open_beside(self, space: str, name: str) -> VectorIndex:
        """A new, empty index for ``space`` under the engine name ``name`` (anything there before is
        dropped first: a swap killed half-way left it), to be filled and then ``replaced`` in."""
        if space not in self.dims:
            raise NotFound(f"vector space {space!r}: this catalog has {sorted(self.indexes)}")
        if name == self.names[space]:
            raise SchemaError(f"vector space {space!r}: {name!r} is the name it is served under")
        stale = open_space_index(self.uri, name, self.dims[space], self.schema, **self.options)
        drop_index(stale)
        return open_space_index(self.uri, name, self.dims[space], self.schema, **self.options)

    def replaced(self, indexes: Mapping[str, tuple[str, VectorIndex]]) -> ItemSpaces:
        """A new ``ItemSpaces`` serving ``indexes`` (``{space: (engine name, index)}``) in place of
        those spaces' current indexes and sharing every other one. This object is left as it was, so
        a request holding it finishes on the old indexes; the caller retires them after."""
        unknown = sorted(set(indexes) - set(self.indexes))
        if unknown:
            raise NotFound(
                f"replace spaces: unknown spaces {unknown}; this catalog has {sorted(self.indexes)}"
            )
        out = copy.copy(self)
        out.indexes = {**self.indexes, **{space: index for space, (_, index) in indexes.items()}}
        out.names = {**self.names, **{space: name for space, (name, _) in indexes.items()}}
        return out

    def __getitem__(self, space: str) -> VectorIndex:
        try:
            return self.indexes[space]
        except KeyError:
            raise NotFound(f"vector space {space!r}: this catalog has {sorted(self.indexes)}") from None

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Mapping[str, npt.ArrayLike],
        payloads: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Insert or replace ``ids`` in the spaces named in ``vectors`` (usually all of them)."""
        unknown = sorted(set(vectors) - set(self.indexes))
        if unknown:
            raise NotFound(
                f"upsert vectors: unknown spaces {unknown}; this catalog has {sorted(self.indexes)}"
            )
        checked = {
            space: check_upsert(self.dims[space], self.schema, ids, x, payloads)
            for space, x in vectors.items()
        }
        for space, (id_list, x, plist) in checked.items():
            self.indexes[space].upsert(id_list, x, plist)

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ``ids`` from every space (an item sold is gone everywhere)."""
        for index in self.indexes.values():
            index.delete(ids)

    def search(
        self, space: str, vectors: npt.ArrayLike, k: int, filter: Filter | None = None, exact: bool = False
    ) -> SearchResult:
        return self[space].search(vectors, k, filter=filter, exact=exact)

    def count(self, space: str | None = None, filter: Filter | None = None) -> int:
        """Items in ``space`` (default: the first) matching ``filter``."""
        return self[space or next(iter(self.indexes))].count(filter)

    def close(self) -> None:
        for index in self.indexes.values():
            try:
                index.close()
            except Exception:  # closing the others matters more than one failure
                log.exception("closing a vector space index failed")

    def __enter__(self) -> ItemSpaces:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
