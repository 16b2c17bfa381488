"""Item vectors are stored with their items, in one transaction: both or neither, even if killed.

``Store.upsert_items(..., vectors={space: (n, dim)})`` writes the item rows, then the vectors,
before one ``COMMIT``. An exception between the two, or a ``kill -9`` there, leaves neither (the
killed-ingest harness style: a log hook pauses the writer at the point, and the test kills it).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import lookbook.store.ingest as ingest_module
from lookbook.errors import DimensionMismatch, NotFound, SchemaError
from lookbook.schema import Item
from lookbook.store import Store, open_store


def _vec(rows: int, dim: int, start: float = 0.0) -> np.ndarray:
    return (start + np.arange(rows * dim, dtype=np.float32)).reshape(rows, dim)


def test_vectors_round_trip_in_catalog_order(catalog: Store) -> None:
    items = [Item("n2", "Two"), Item("n1", "One")]
    report = catalog.upsert_items(items, vectors={"content": _vec(2, 3), "style": _vec(2, 5, 100.0)})
    assert report.inserted == 2 and report.vectors == 4
    assert catalog.vector_spaces() == ["content", "style"]
    ids, matrix = catalog.item_vectors("content")
    assert ids == ["n2", "n1"] and matrix.dtype == np.float32 and matrix.shape == (2, 3)
    np.testing.assert_array_equal(matrix, _vec(2, 3))
    np.testing.assert_array_equal(catalog.item_vectors("style")[1], _vec(2, 5, 100.0))


def test_an_update_replaces_the_vector_and_other_items_keep_theirs(catalog: Store) -> None:
    catalog.upsert_items([Item("a", "A"), Item("b", "B")], vectors={"content": _vec(2, 2)})
    report = catalog.upsert_items(
        pa.table({"item_id": ["b"], "price": [3.0]}), vectors={"content": _vec(1, 2, 9.0)}
    )
    assert report.updated == 1 and report.vectors == 1
    ids, matrix = catalog.item_vectors("content")
    assert ids == ["a", "b"]
    np.testing.assert_array_equal(matrix, [[0.0, 1.0], [9.0, 10.0]])
    catalog.upsert_items([Item("b", "B2")])  # no vectors given: the stored ones stay
    assert catalog.item_vectors("content")[0] == ["a", "b"]


def test_a_rejected_row_takes_its_vectors_with_it(catalog: Store) -> None:
    table = pa.table({"item_id": ["ok", "bad"], "title": ["Fine", "Neg"], "price": [1.0, -1.0]})
    report = catalog.upsert_items(table, vectors={"content": _vec(2, 2)})
    assert (report.loaded, report.rejected, report.vectors) == (1, 1, 1)
    assert catalog.item_vectors("content")[0] == ["ok"]
    strict = catalog.upsert_items(
        pa.table({"item_id": ["ok2", "bad"], "title": ["Fine", "Neg"], "price": [1.0, -1.0]}),
        vectors={"content": _vec(2, 2)},
        strict=True,
    )
    assert not strict.committed and strict.vectors == 0
    assert catalog.item_vectors("content")[0] == ["ok"] and "ok2" not in catalog.item_ids()


@pytest.mark.parametrize(
    ("vectors", "error", "match"),
    [
        ({"content": np.zeros((3, 4), np.float32)}, DimensionMismatch, r"expected shape \(2, dim\)"),
        ({"content": np.zeros((2,), np.float32)}, DimensionMismatch, "content"),
        ({"content": np.array([[0.0, np.nan], [1.0, 1.0]])}, SchemaError, "finite"),
        ({"content": np.zeros((2, 2), np.int64)}, SchemaError, "floats"),
        ({" content": np.zeros((2, 2), np.float32)}, SchemaError, "space names"),
    ],
)
def test_bad_vectors_are_refused_before_anything_is_written(
    catalog: Store, vectors: dict[str, np.ndarray], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        catalog.upsert_items([Item("a", "A"), Item("b", "B")], vectors=vectors)
    assert catalog.counts()["items"] == 6 and catalog.vector_spaces() == []


def test_another_width_in_a_space_rolls_back_the_items_too(catalog: Store) -> None:
    catalog.upsert_items([Item("a", "A")], vectors={"content": _vec(1, 4)})
    with pytest.raises(DimensionMismatch, match=r"vectors\['content'\]: expected 4 dimensions .* got 3"):
        catalog.upsert_items([Item("b", "B")], vectors={"content": _vec(1, 3)})
    assert "b" not in catalog.item_ids() and catalog.item_vectors("content")[0] == ["a"]


def test_an_exception_between_items_and_vectors_leaves_neither(
    catalog: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(con: object, vectors: object) -> int:
        raise RuntimeError("disk full while writing vectors")

    monkeypatch.setattr(ingest_module, "write_item_vectors", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        catalog.upsert_items([Item("new", "New")], vectors={"content": _vec(1, 2)})
    assert "new" not in catalog.item_ids() and catalog.vector_spaces() == []
    monkeypatch.undo()
    assert catalog.upsert_items([Item("new", "New")], vectors={"content": _vec(1, 2)}).vectors == 1


def test_deleting_an_item_deletes_its_vectors(catalog: Store) -> None:
    catalog.upsert_items([Item("a", "A"), Item("b", "B")], vectors={"content": _vec(2, 2)})
    catalog.delete_items(["a"])
    assert catalog.item_vectors("content")[0] == ["b"]


def test_unknown_space_is_not_found(catalog: Store) -> None:
    with pytest.raises(NotFound, match=r"no vectors stored for 'content'; spaces: \[\]"):
        catalog.item_vectors("content")


def test_replacing_a_space_may_change_its_width(catalog: Store) -> None:
    catalog.upsert_items([Item("a", "A"), Item("b", "B")], vectors={"content": _vec(2, 2)})
    assert catalog.replace_item_vectors("content", ["sku-1", "a"], _vec(2, 6)) == 2
    ids, matrix = catalog.item_vectors("content")
    assert ids == ["sku-1", "a"] and matrix.shape == (2, 6)
    with pytest.raises(NotFound, match="ghost"):
        catalog.replace_item_vectors("content", ["ghost"], _vec(1, 6))
    assert catalog.item_vectors("content")[0] == ["sku-1", "a"]


PAUSED = "PAUSED-BETWEEN-ITEMS-AND-VECTORS"
#: Upserts an item with vectors; a log hook on the store's "storing vectors of N rows with the items"
#: line (after the item rows are written, before the vectors are, inside the transaction) says so
#: on stderr and waits to be killed.
DRIVER = f"""
import logging, sys, time
import numpy as np
from lookbook.schema import Item
from lookbook.store import open_store

class Pause(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("storing "):
            sys.stderr.write("{PAUSED}\\n")
            sys.stderr.flush()
            time.sleep(600)

log = logging.getLogger("lookbook.store.write")
log.setLevel(logging.DEBUG)
log.addHandler(Pause())
store = open_store(sys.argv[1])
store.upsert_items(
    [Item("old", "Old, renamed"), Item("new", "New")], vectors={{"content": np.full((2, 3), 7.0, np.float32)}}
)
"""


def test_a_kill_between_items_and_vectors_leaves_neither(project: Path) -> None:
    with open_store(project) as store:
        store.upsert_items([Item("old", "Old")], vectors={"content": np.ones((1, 3), np.float32)})
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(project)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            if line.strip() == PAUSED:
                break
            seen.append(line)
        else:
            pytest.fail("the upsert ended without pausing between items and vectors:\n" + "".join(seen))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()
    with open_store(project, create=False) as store:
        assert store.item_ids().ids.tolist() == ["old"]
        assert store.get_item("old").title == "Old"
        ids, matrix = store.item_vectors("content")
        assert ids == ["old"]
        np.testing.assert_array_equal(matrix, np.ones((1, 3), np.float32))
        # and the store takes the same write afterwards
        report = store.upsert_items([Item("new", "New")], vectors={"content": np.zeros((1, 3), np.float32)})
        assert report.inserted == 1 and report.vectors == 1
