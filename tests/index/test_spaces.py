"""Named vector spaces: one URI picks the backend, spaces stay in step, bad rows change no space."""

from __future__ import annotations

import urllib.parse
import uuid

import numpy as np
import pytest

from lookbook.errors import DimensionMismatch, LookbookError, NotFound, SchemaError
from lookbook.index import Eq, NumpyIndex
from lookbook.index.milvus import MilvusIndex
from lookbook.index.qdrant_edge import QdrantEdgeIndex
from lookbook.index.spaces import ItemSpaces, index_kind, open_space_index

DIMS = {"content": 16, "style": 8}


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def fill(spaces: ItemSpaces, n: int = 20) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    vectors = {s: unit(rng, n, d) for s, d in DIMS.items()}
    payloads = [{"category": "jeans" if i % 2 else "shirt", "in_stock": True} for i in range(n)]
    spaces.upsert([f"it{i}" for i in range(n)], vectors, payloads)
    return vectors


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("memory:", "memory"),
        ("embedded:runs/index", "embedded"),
        ("runs/index", "embedded"),
        ("/abs/index", "embedded"),
        ("milvus://db.example:19530/shop/lb", "milvus"),
        ("https://cluster.example:443", "milvus"),
    ],
)
def test_the_uri_alone_picks_the_backend(uri, kind):
    assert index_kind(uri) == kind


def test_unknown_schemes_and_bad_space_names_are_refused():
    with pytest.raises(LookbookError, match="index URI"):
        index_kind("ftp://host/x")
    with pytest.raises(SchemaError, match="vector space name"):
        open_space_index("memory:", "a b", 4)


def test_embedded_spaces_are_separate_folders_and_reopen(tmp_path):
    uri = f"embedded:{tmp_path}/index"
    with ItemSpaces(uri, DIMS) as spaces:
        assert isinstance(spaces["content"], QdrantEdgeIndex)
        vectors = fill(spaces)
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == ["content", "style"]
    with ItemSpaces(uri, DIMS) as again:
        for space in DIMS:
            got = again.search(space, vectors[space][3], 1, exact=True)
            assert got.row(0) == ["it3"]
        assert again.count("style", Eq("category", "jeans")) == 10


def test_a_bad_row_in_one_space_changes_no_space():
    spaces = ItemSpaces("memory:", DIMS)
    assert isinstance(spaces["style"], NumpyIndex)
    vectors = fill(spaces)
    bad_style = vectors["style"][:2].copy()
    bad_style[1, 0] = np.nan
    with pytest.raises(SchemaError, match="row 1"):
        spaces.upsert(["new0", "new1"], {"content": vectors["content"][:2], "style": bad_style})
    with pytest.raises(DimensionMismatch):
        spaces.upsert(["new0"], {"content": vectors["content"][:1], "style": vectors["content"][:1]})
    with pytest.raises(NotFound, match="unknown spaces"):
        spaces.upsert(["new0"], {"colour": vectors["style"][:1]})
    assert spaces.count("content") == spaces.count("style") == 20
    with pytest.raises(NotFound, match="vector space 'colour'"):
        spaces.search("colour", vectors["style"][0], 1)


def test_a_sold_item_leaves_every_space():
    spaces = ItemSpaces("memory:", DIMS)
    vectors = fill(spaces)
    spaces.delete(["it3"])
    for space in DIMS:
        assert "it3" not in spaces.search(space, vectors[space][3], 5).row(0)
        assert spaces.count(space) == 19


@pytest.mark.slow
def test_milvus_spaces_are_prefixed_collections(milvus_server):
    port = urllib.parse.urlsplit(milvus_server.uri).port
    prefix = "sp" + uuid.uuid4().hex[:8]
    uri = f"milvus://127.0.0.1:{port}/default/{prefix}"
    with ItemSpaces(uri, DIMS) as spaces:
        assert isinstance(spaces["content"], MilvusIndex)
        assert spaces["style"].collection == f"{prefix}_style"
        vectors = fill(spaces, n=6)
        assert spaces.search("style", vectors["style"][4], 1, exact=True).row(0) == ["it4"]
        spaces.delete(["it4"])
        assert "it4" not in spaces.search("style", vectors["style"][4], 3).row(0)
