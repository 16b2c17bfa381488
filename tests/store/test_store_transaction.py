"""``Store.transaction``: the one write surface ingest uses; commit, rollback and read-only."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookbook.errors import LookbookError
from lookbook.schema import User
from lookbook.store import Store, open_store


def _users(store: Store) -> int:
    return store.counts()["users"]


def test_a_block_that_ends_normally_commits(store: Store) -> None:
    with store.transaction() as tx:
        tx.connection.execute(
            "INSERT INTO users (user_id, sizes, region, attributes, user_seq) "
            "VALUES ('ana', MAP {}, '', MAP {}, 0)"
        )
    assert _users(store) == 1


def test_a_block_that_raises_rolls_back_and_reraises(store: Store) -> None:
    store.upsert_users([User("ana")])
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as tx:
        tx.connection.execute("DELETE FROM users")
        raise RuntimeError("boom")
    assert _users(store) == 1
    store.upsert_users([User("bo")])  # the connection is usable again
    assert _users(store) == 2


def test_an_explicit_rollback_discards_the_work_without_an_exception(store: Store) -> None:
    store.upsert_users([User("ana")])
    with store.transaction() as tx:
        tx.connection.execute("DELETE FROM users")
        tx.rollback()
    assert _users(store) == 1


def test_a_read_only_store_refuses_before_anything_runs(store: Store, project: Path) -> None:
    store.upsert_users([User("ana")])
    store.close()
    with open_store(project, read_only=True) as ro:
        with pytest.raises(LookbookError, match="read-only"), ro.transaction():
            pytest.fail("the block must not run")
        with pytest.raises(LookbookError, match="read-only"):
            ro.upsert_users([User("bo")])
        assert _users(ro) == 1
