"""A built project as a living shop: every acknowledged write is in the project after a restart,
writes interrupted after their store commit are finished on open, items ingested into a built
project are encoded on open, and trending, the clock and impressions behave as a shop's should."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lookbook.errors import SchemaError
from lookbook.store import open_store
from lookbook.touchpoints.clock import ManualClock
from lookbook.touchpoints.factory import open_shop
from lookbook.touchpoints.shop import ProjectShop


@pytest.fixture
def project(built_project: Path, tmp_path: Path, project_copy) -> Path:
    return project_copy(built_project, tmp_path / "project")


def _new_item(shop: ProjectShop, item_id: str, title: str = "Zebra-striped velvet opera top") -> dict:
    base = next(r for r in shop.store.items_table().to_pylist() if r["in_stock"] and r["slot"] == "top")
    return {
        "item_id": item_id,
        "title": title,
        "description": "A new top, never seen by any model.",
        "category": base["category"],
        "slot": "top",
        "brand": base["brand"],
        "price": 42.0,
        "sizes": list(base["sizes"]),
        "in_stock": True,
        "attributes": dict(base["attributes"]),
        "image": str(shop.image_path(base["item_id"])),
    }


def _ids(recs) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.item_id for r in recs}


def test_live_items_sold_items_and_users_are_there_after_a_restart(project: Path):
    with open_shop(project) as shop:
        shop.upsert_items([_new_item(shop, "live-1")])
        sold = next(i for i in shop.store.items_table().column("item_id").to_pylist() if i != "live-1")
        shop.delete_items([sold])
        shop.upsert_users([{"user_id": "fresh-shopper", "sizes": {"tops": "M"}, "region": "north"}])
        n_index = shop.spaces.count("content")
    with open_shop(project) as shop:  # a restart
        assert shop.item("live-1").price == 42.0
        assert "live-1" in _ids(shop.search("zebra-striped velvet opera top", k=5))
        assert shop.item(sold).in_stock is False
        for user in shop.demo_users(3):
            for carousel in shop.home_feed(user, k=20):
                assert sold not in _ids(carousel.items)
        assert shop.users.sizes["fresh-shopper"] == {"tops": "M"}
        assert shop.spaces.count("content") == n_index


def test_a_write_killed_after_its_store_commit_is_finished_when_the_project_opens(project: Path, monkeypatch):
    with open_shop(project) as shop:
        item = _new_item(shop, "half-written", "Polka-dot chiffon ballroom blouse")
        monkeypatch.setattr(shop.spaces, "upsert", _raise)  # the process "dies" after the commit
        with pytest.raises(RuntimeError):
            shop.upsert_items([item])
        monkeypatch.undo()
    with open_store(project, create=False) as store:
        assert "half-written" in store.items_table().column("item_id").to_pylist()
    with open_shop(project) as shop:
        assert "half-written" in _ids(shop.search("polka-dot chiffon ballroom blouse", k=5))
        assert "half-written" in _ids(shop.category(item["category"], k=100))


def _raise(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise RuntimeError("killed")


def test_items_ingested_into_a_built_project_are_encoded_when_it_opens(project: Path):
    with open_shop(project) as shop:
        item = _new_item(shop, "ingested-1", "Tartan mohair shepherd cardigan")
    with open_store(project, create=False) as store:  # what `lookbook ingest items --project P` does
        report = store.upsert_items(pa.Table.from_pylist([item]), strict=True)
        assert report.loaded == 1
    with open_shop(project) as shop:
        assert "ingested-1" in _ids(shop.search("tartan mohair shepherd cardigan", k=5))
    with open_shop(project) as shop:  # encoded once: the vectors are in the store now
        assert "ingested-1" in shop.store.item_vectors("content")[0]


def test_an_id_with_spaces_is_the_same_item_everywhere(project: Path):
    with open_shop(project) as shop:
        item_id = shop.store.items_table().column("item_id").to_pylist()[0]
        shop.upsert_items([{"item_id": f" {item_id} ", "price": 1234.0}])
        assert shop.item(item_id).price == 1234.0
        assert shop.store.counts()["items"] == len(shop.state.catalog)
        with pytest.raises(SchemaError, match="item_id"):
            shop.upsert_items([{"item_id": "   ", "price": 1.0}])


def test_events_from_the_future_are_refused_and_never_move_the_clock(project: Path):
    with open_shop(project) as shop:
        user = shop.demo_users(1)[0]
        item_id = shop.store.items_table().column("item_id").to_pylist()[0]
        before = shop.now
        events = shop.store.counts()["events"]
        with pytest.raises(SchemaError, match="timestamp"):
            shop.add_events(
                [{"user_id": user, "item_id": item_id, "kind": "click", "timestamp": "2099-12-31"}]
            )
        assert shop.store.counts()["events"] == events
        shop.add_events([{"user_id": user, "item_id": item_id, "kind": "click"}])
        assert shop.now - before < 60
        assert shop.home_feed(user, k=5)[0].key == "for_you"


def test_a_burst_of_clicks_puts_an_item_in_trending_within_a_refresh(project: Path):
    with open_store(project, create=False) as store:
        last = int(store.event_arrays().timestamp.max())
    clock = ManualClock(last + 60)
    with open_shop(project, clock=clock) as shop:
        state = shop.state
        quiet = int(np.argmin(state.trending + (~state.catalog.in_stock) * 1e9))
        item_id = state.catalog.ids.ids[quiet]
        users = shop.demo_users(40)
        shop.add_events([{"user_id": u, "item_id": item_id, "kind": "add_to_bag"} for u in users])
        clock.advance(31)
        trending = next(c for c in shop.home_feed(None, k=20) if c.key == "trending")
        assert item_id in _ids(trending.items)


def test_served_slates_are_stored_as_impressions(project: Path):
    with open_shop(project) as shop:
        shop.log_impressions("req-1", None, "home.popular", ["a", "b"], [0.5, 0.25])
    with open_store(project, create=False) as store:
        table = store.impressions_table()
    assert table.column("request_id").to_pylist() == ["req-1", "req-1"]
    assert table.column("position").to_pylist() == [0, 1]


def test_an_event_may_name_the_slate_that_caused_it(project: Path):
    with open_shop(project) as shop:
        user = shop.demo_users(1)[0]
        item_id = shop.store.items_table().column("item_id").to_pylist()[0]
        at = datetime.fromtimestamp(shop.now, UTC) - timedelta(minutes=1)
        shop.add_events(
            [{"user_id": user, "item_id": item_id, "kind": "click", "request_id": "req-9", "timestamp": at}]
        )
    with open_store(project, create=False) as store:
        events = store.events_table()
    assert "req-9" in events.column("request_id").to_pylist()


def _model_space_counts(shop: ProjectShop) -> dict[str, int]:
    """Items in each space but the text one (hybrid search keeps sold items there, filtered out)."""
    return {space: shop.spaces.count(space) for space in shop.spaces.indexes if space != "text"}


def test_a_promoted_version_is_swapped_into_an_open_shop_while_it_serves_and_writes(project: Path):
    """Promote a version while the shop is open, then swap it in with readers and a writer running:
    no read fails, the new version serves, every space holds every in-stock item (writes made during
    the swap included), the old model spaces are dropped, and a rollback while closed is swapped in
    on open."""
    import threading

    from lookbook.project import versions
    from lookbook.project.layout import ProjectPaths
    from lookbook.touchpoints import swap

    with open_shop(project) as shop:
        shop.upsert_items([_new_item(shop, "before-retrain")])
        built = shop.model_version()
        old_names = dict(shop.spaces.names)
        # a new version promoted while the shop serves (its models carried over: the swap's work is the
        # same; the walk-through in tests/serving swaps a really retrained one)
        paths = ProjectPaths(project)
        promoted = versions.create_version(paths, parent=built, source="retrain")
        versions.update_version(paths, promoted, state="ready")
        versions.promote(paths, promoted)
        assert shop.model_version() == built
        users = shop.demo_users(8)
        hero = users and shop.home_feed(users[0], k=3)[0].items[0].item_id
        errors: list[BaseException] = []
        stop = threading.Event()

        def read(user: str) -> None:
            while not stop.is_set():
                try:
                    assert shop.home_feed(user, k=6)
                    shop.similar(hero, user_id=user, k=6)
                    shop.complete_the_look(hero, user_id=user)
                except BaseException as exc:
                    errors.append(exc)
                    return

        written: list[str] = []
        new_items = [_new_item(shop, f"during-swap-{j}") for j in range(20)]

        def write() -> None:
            for item in new_items:
                if stop.is_set():
                    return
                shop.upsert_items([item])
                written.append(item["item_id"])

        threads = [threading.Thread(target=read, args=(u,)) for u in users[:2]]
        threads.append(threading.Thread(target=write))
        for t in threads:
            t.start()
        try:
            assert swap.swap_models(shop, ProjectPaths(project).current(), grace_s=0.2) == promoted
            assert shop.reload() == promoted  # already served: nothing to do
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert not errors, errors[:3]
        assert written, "the writer never got an item in during the swap"
        counts = _model_space_counts(shop)
        assert len(set(counts.values())) == 1, counts  # every space holds every in-stock item
        assert shop.spaces.names["preference"] != old_names["preference"]
        assert shop.home_feed(users[0], k=5)[0].key == "for_you"
        assert shop.item("before-retrain").price == 42.0
        time.sleep(0.5)
        assert not (project / "index" / old_names["preference"]).exists(), "the old space was not retired"
    versions.rollback(ProjectPaths(project))  # promoted while no shop runs: swapped in on open
    with open_shop(project) as shop:
        assert shop.model_version() == built
        counts = _model_space_counts(shop)
        assert len(set(counts.values())) == 1, counts
        assert shop.item(written[-1]).price == 42.0
    marker = json.loads((project / "vectors" / "index_models.json").read_text())
    assert marker["model_version"] == built
