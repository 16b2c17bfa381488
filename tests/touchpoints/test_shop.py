"""Every touchpoint on a really built project: what each page may and may not show, real-time
catalog and event writes, and bad requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookbook.errors import NotFound, SchemaError
from lookbook.store import open_store
from lookbook.touchpoints.factory import open_shop
from lookbook.touchpoints.shop import ProjectShop


@pytest.fixture(scope="module")
def shop(built_project: Path):
    s = open_shop(built_project)
    yield s
    s.close()


def _items(shop: ProjectShop) -> dict[str, dict]:
    return {r["item_id"]: r for r in shop.store.items_table().to_pylist()}


def test_a_second_build_redoes_nothing(built_project: Path):
    from lookbook.datasets.world import load_world
    from lookbook.pipeline.build import BuildConfig, build_project

    record = json.loads((built_project / "build.json").read_text())["stages"]
    assert {"ingest", "encode", "compatibility", "preference", "index"} <= set(record)
    world = load_world(built_project.parent / "world")
    cfg = BuildConfig(cache_dir=built_project.parent / "cache", resolution=64)
    report = build_project(world, built_project, cfg, show_progress=False)
    assert all(r.get("skipped") for r in report.values()), report


def test_home_feed_respects_the_users_constraints(shop: ProjectShop):
    user = shop.demo_users(1)[0]
    rows, kinds, _ = shop.users.get(user)
    bought = {shop.state.catalog.ids.ids[r] for r, k in zip(rows, kinds, strict=True) if k == 4}
    feed = shop.home_feed(user, k=10)
    keys = [c.key for c in feed]
    assert keys[0] == "for_you" and "new_in" in keys
    items = _items(shop)
    for carousel in feed:
        assert 0 < len(carousel.items) <= 10
        ids = [i.item_id for i in carousel.items]
        assert len(set(ids)) == len(ids), "an item twice in one carousel"
        for rec in carousel.items:
            assert items[rec.item_id]["in_stock"] and rec.why
            if carousel.key == "for_you":
                assert rec.item_id not in bought
    scores = [i.score for i in feed[0].items]
    assert scores == sorted(scores, reverse=True) or len(scores) > 1  # diversity may reorder, never empty


def test_an_anonymous_visitor_gets_popular_items(shop: ProjectShop):
    feed = shop.home_feed(None, k=8)
    assert feed[0].key == "popular" and len(feed[0].items) == 8


def test_similar_items_share_the_heros_slot_and_exclude_it(shop: ProjectShop):
    items = _items(shop)
    hero = next(i for i, r in items.items() if r["in_stock"] and r["slot"] == "top")
    recs = shop.similar(hero, shop.demo_users(1)[0], k=8)
    assert 0 < len(recs) <= 8
    assert hero not in {r.item_id for r in recs}
    assert {items[r.item_id]["slot"] for r in recs} == {"top"}
    assert all("similar to" in r.why for r in recs)


def test_complete_the_look_comes_from_other_slots_and_honours_an_attribute(shop: ProjectShop):
    items = _items(shop)
    hero = next(i for i, r in items.items() if r["in_stock"] and r["slot"] == "bottom")
    look = shop.complete_the_look(hero, per_slot=3)
    assert look, "no compatible items at all"
    for carousel in look:
        assert carousel.key != "bottom" and len(carousel.items) <= 3
        assert {items[r.item_id]["slot"] for r in carousel.items} == {carousel.key}
    materials = [v for r in items.values() for k, v in r["attributes"] if k == "material"]
    common = max(set(materials), key=materials.count)
    conditioned = shop.complete_the_look(hero, per_slot=3, attribute=common)
    for carousel in conditioned:
        for r in carousel.items:
            assert common in dict(items[r.item_id]["attributes"]).values()


def test_search_and_category_pages(shop: ProjectShop):
    items = _items(shop)
    some = next(r for r in items.values() if r["in_stock"])
    found = shop.search(some["title"], k=10)
    assert some["item_id"] in [r.item_id for r in found[:5]]
    assert all(items[r.item_id]["in_stock"] for r in found)
    page = shop.category(some["category"], shop.demo_users(1)[0], k=10)
    assert page and {items[r.item_id]["category"] for r in page} == {some["category"]}


def test_bad_requests_name_the_field(shop: ProjectShop):
    with pytest.raises(NotFound, match="user_id"):
        shop.home_feed("nobody")
    with pytest.raises(SchemaError, match="k: expected"):
        shop.home_feed(None, k=0)
    with pytest.raises(NotFound, match="item_id"):
        shop.similar("no-such-item")
    with pytest.raises(SchemaError, match="q:"):
        shop.search("   ")
    with pytest.raises(NotFound, match="category"):
        shop.category("no-such-category")
    before = shop.store.counts()["events"]
    user = shop.demo_users(1)[0]
    item = next(iter(_items(shop)))
    with pytest.raises(SchemaError, match="row 1 kind"):
        shop.add_events(
            [
                {"user_id": user, "item_id": item, "kind": "click"},
                {"user_id": user, "item_id": item, "kind": "lick"},
            ]
        )
    assert shop.store.counts()["events"] == before


def test_new_items_and_sold_items_reach_every_page_at_once(built_project: Path, tmp_path, project_copy):
    copy = tmp_path / "project"
    project_copy(built_project, copy)
    with open_shop(copy) as shop:
        items = _items(shop)
        base = next(r for r in items.values() if r["in_stock"] and r["slot"] == "top")
        image = shop.image_path(base["item_id"])
        new = {
            "item_id": "brand-new-1",
            "title": "Zebra-striped velvet opera top",
            "description": "A new top, never seen by any model.",
            "category": base["category"],
            "slot": "top",
            "brand": base["brand"],
            "price": 42.0,
            "sizes": list(base["sizes"]),
            "in_stock": True,
            "attributes": dict(base["attributes"]),
            "image": str(image),
        }
        n_before = shop.spaces.count("content")
        assert shop.upsert_items([new]) == 1
        assert shop.spaces.count("content") == n_before + 1
        assert "brand-new-1" in [r.item_id for r in shop.search("zebra-striped velvet opera top", k=5)]
        assert shop.item("brand-new-1").price == 42.0
        assert "brand-new-1" in [r.item_id for r in shop.category(base["category"], k=100)]

        sold = shop.similar("brand-new-1", k=5)[0].item_id
        shop.delete_items([sold])
        assert shop.item(sold).in_stock is False  # its page says sold out; no list shows it
        assert sold not in {r.item_id for r in shop.similar(sold, k=20)}
        for user in shop.demo_users(5):
            for carousel in shop.home_feed(user, k=20):
                assert sold not in {r.item_id for r in carousel.items}
        assert sold not in {r.item_id for r in shop.similar("brand-new-1", k=50)}
        assert sold not in {r.item_id for r in shop.category(base["category"], k=100)}


def test_events_move_a_new_users_feed_at_once(built_project: Path, tmp_path, project_copy):
    copy = tmp_path / "project"
    project_copy(built_project, copy)
    with open_shop(copy) as shop:
        assert shop.home_feed(None, k=5)[0].key == "popular"
        items = _items(shop)
        shoes = [i for i, r in items.items() if r["slot"] == "shoes" and r["in_stock"]][:3]
        shop.add_events([{"user_id": "newcomer", "item_id": i, "kind": "purchase"} for i in shoes])
        feed = shop.home_feed("newcomer", k=10)
        assert feed[0].key == "for_you"
        assert not set(shoes) & {r.item_id for r in feed[0].items}, "bought items shown again"
        # three pairs of shoes say something: the feed leans to shoes, unlike the anonymous one
        assert sum(r.slot == "shoes" for r in feed[0].items) > sum(
            r.slot == "shoes" for r in shop.home_feed(None, k=10)[0].items
        )
    with open_store(copy, create=False) as store:
        assert store.counts()["events"] >= 3


def test_the_build_command_reports_every_stage_up_to_date(
    built_project: Path, tmp_path, capsys, project_copy
):
    from lookbook.cli import main

    project = tmp_path / "project"
    project_copy(built_project, project)
    world = built_project.parent / "world"
    argv = ["--no-progress", "build", "--world", str(world), "--project", str(project), "--json"]
    argv += ["--resolution", "64", "--cache", str(built_project.parent / "cache")]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["index"]["skipped"] and report["index"]["items"] == 300
    assert main(["--no-progress", "build", "--project", str(project)]) == 1  # no source given


def test_the_response_cache_never_outlives_a_write(built_project: Path, tmp_path, project_copy):
    copy = tmp_path / "project"
    project_copy(built_project, copy)
    with open_shop(copy) as shop:
        user = shop.demo_users(1)[0]
        feed = shop.home_feed(user, k=10)
        assert shop.home_feed(user, k=10) is feed  # unchanged: reused
        item = feed[0].items[0].item_id
        shop.add_events([{"user_id": user, "item_id": item, "kind": "dislike"}])
        after_event = shop.home_feed(user, k=10)
        assert after_event is not feed
        assert item not in {r.item_id for r in after_event[0].items}, "a disliked item is still shown"
        sold = after_event[0].items[0].item_id
        shop.delete_items([sold])
        assert sold not in {r.item_id for c in shop.home_feed(user, k=10) for r in c.items}


def test_the_project_shop_is_the_protocol_the_serving_layer_uses(shop: ProjectShop):
    from lookbook.touchpoints.api import LookTouchpoint, Shop

    assert isinstance(shop, Shop)
    looks = shop.shop_the_look(k=5)
    assert looks is None or isinstance(looks, LookTouchpoint)


def test_reads_and_the_writer_share_one_live_state(shop: ProjectShop):
    """A write replaces the snapshot the touchpoints read: both sides hold the same ``LiveState``."""
    assert shop.writer.live is shop.live
    assert shop.state is shop.live.state and shop.users is shop.live.users


def test_opening_a_shop_leaves_the_process_thread_settings_alone(built_project: Path, tmp_path, project_copy):
    import torch
    from threadpoolctl import threadpool_info

    def threads() -> tuple[int, dict[str, int]]:
        return torch.get_num_threads(), {p["filepath"]: p["num_threads"] for p in threadpool_info()}

    copy = project_copy(built_project, tmp_path / "project")
    torch_before, blas_before = threads()
    with open_shop(copy):
        torch_after, blas_after = threads()
    assert torch_after == torch_before
    assert {k: blas_after[k] for k in blas_before} == blas_before


def test_the_settings_choose_carousels_and_exact_retrieval(shop: ProjectShop, monkeypatch):
    """``home.carousels`` picks what the feed shows; every touchpoint's ``exact`` reaches the index."""
    import dataclasses

    from lookbook.index.spaces import ItemSpaces

    asked: list[tuple[str, bool]] = []
    search = ItemSpaces.search

    def spy(self, space, vectors, k, filter=None, exact=False):  # type: ignore[no-untyped-def]
        asked.append((space, exact))
        return search(self, space, vectors, k, filter=filter, exact=exact)

    monkeypatch.setattr(ItemSpaces, "search", spy)
    user = shop.demo_users(1)[0]
    config = shop.config
    try:
        assert [c.key for c in shop.home_feed(user, k=5)][:2] == ["for_you", "new_in"]
        assert asked and not any(exact for _, exact in asked)
        asked.clear()
        cfg = shop.config
        shop.override(
            home=dataclasses.replace(cfg.home, carousels=("new_in", "trending"), exact=True),
            similar=dataclasses.replace(cfg.similar, exact=True),
            look=dataclasses.replace(cfg.look, exact=True),
        )
        keys = [c.key for c in shop.home_feed(user, k=5)]
        assert "for_you" not in keys and "new_in" in keys
        hero = shop.home_feed(None, k=3)[0].items[0].item_id
        shop.similar(hero, user_id=user, k=5)
        shop.complete_the_look(hero, user_id=user)
        assert asked and all(exact for _, exact in asked), asked
    finally:
        shop.overrides.clear()
        shop.config = config
