"""``load_hm``: a tiny hand-made H&M folder for the rules, and the shared slice for the real counts."""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
import pytest

from lookbook.datasets.hm import HM_GROUP_SLOTS, HM_TYPE_SLOTS, load_hm
from lookbook.datasets.world import World
from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.schema import Slot

ARTICLE_HEADER = (
    "article_id,product_code,prod_name,product_type_no,product_type_name,product_group_name,"
    "graphical_appearance_no,graphical_appearance_name,colour_group_code,colour_group_name,"
    "perceived_colour_value_id,perceived_colour_value_name,perceived_colour_master_id,"
    "perceived_colour_master_name,department_no,department_name,index_code,index_name,index_group_no,"
    "index_group_name,section_no,section_name,garment_group_no,garment_group_name,detail_desc"
)


def _article(article_id: str, name: str, ptype: str, group: str, colour: str = "Black") -> str:
    return (
        f"{article_id},{article_id[:6]},{name},1,{ptype},{group},1,Solid,9,{colour},4,Dark,5,{colour},1,Dept,"
        f'A,Ladieswear,1,Ladieswear,1,"Womens Everyday, Basics",1,Jersey,"A {name.lower()}, in jersey."'
    )


@pytest.fixture()
def tiny_hm(tmp_path: Path) -> Path:
    """Four articles, three customers, a repeat purchase and one two-item basket; answers are obvious."""
    root = tmp_path / "hm"
    root.mkdir()
    (root / "articles.csv").write_text(
        "\n".join(
            [
                ARTICLE_HEADER,
                _article("0108775015", "Strap top", "Vest top", "Garment Upper body"),
                _article("0110065001", "Wide trousers", "Trousers", "Garment Lower body", colour=""),
                _article("0111586001", "Trench", "Coat", "Garment Upper body"),
                _article("0120129001", "Shopper", "Bag", "Accessories"),
            ]
        )
        + "\n"
    )
    (root / "customers.csv").write_text(
        "customer_id,FN,Active,club_member_status,fashion_news_frequency,age,postal_code\n"
        "aaaaaaaaaaaaaaaa1,,,ACTIVE,NONE,33.0,x\n"
        "bbbbbbbbbbbbbbbb2,1.0,1.0,PRE-CREATE,,,y\n"
    )
    (root / "transactions.csv").write_text(
        "t_dat,customer_id,article_id,price,sales_channel_id\n"
        "2020-01-02,aaaaaaaaaaaaaaaa1,0108775015,0.02,2\n"
        "2020-01-02,aaaaaaaaaaaaaaaa1,0108775015,0.02,2\n"
        "2020-01-02,aaaaaaaaaaaaaaaa1,0110065001,0.05,2\n"
        "2020-01-03,bbbbbbbbbbbbbbbb2,0108775015,0.04,1\n"
        "2020-01-04,cccccccccccccccc3,0120129001,0.03,1\n"
    )
    image = root / "images" / "010" / "0108775015.jpg"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\xff\xd8\xff\xd9")
    return root


# --------------------------------------------------------------------------------------------------
# Rules, on the tiny folder
# --------------------------------------------------------------------------------------------------


def test_article_ids_keep_their_leading_zero(tiny_hm: Path) -> None:
    world = load_hm(tiny_hm)
    assert world.items.column("item_id").to_pylist() == [
        "0108775015",
        "0110065001",
        "0111586001",
        "0120129001",
    ]
    assert set(world.events.column("item_id").to_pylist()) <= set(world.items.column("item_id").to_pylist())


def test_items_map_the_article_columns(tiny_hm: Path) -> None:
    items = {row["item_id"]: row for row in load_hm(tiny_hm).items.to_pylist()}
    top = items["0108775015"]
    assert (top["title"], top["category"], top["slot"], top["brand"]) == (
        "Strap top",
        "Vest top",
        "top",
        "H&M",
    )
    assert top["description"] == "A strap top, in jersey."
    assert dict(top["attributes"])["colour"] == "Black"
    assert dict(top["attributes"])["section"] == "Womens Everyday, Basics"
    assert "colour" not in dict(items["0110065001"]["attributes"])  # empty cells are left out
    assert items["0111586001"]["slot"] == "outerwear"
    assert items["0120129001"]["slot"] == "bag"
    assert all(row["in_stock"] for row in items.values())


def test_price_is_the_median_sale_price_and_null_when_never_sold(tiny_hm: Path) -> None:
    items = {row["item_id"]: row for row in load_hm(tiny_hm).items.to_pylist()}
    assert items["0108775015"]["price"] == pytest.approx(statistics.median([0.02, 0.02, 0.04]))
    assert items["0111586001"]["price"] is None


def test_image_is_set_only_when_the_file_exists(tiny_hm: Path) -> None:
    world = load_hm(tiny_hm)
    images = dict(
        zip(world.items.column("item_id").to_pylist(), world.items.column("image").to_pylist(), strict=True)
    )
    assert images["0108775015"] == "images/010/0108775015.jpg"
    assert (world.root / images["0108775015"]).is_file()
    assert images["0110065001"] is None


def test_repeat_purchases_are_kept_with_stable_distinct_event_ids(tiny_hm: Path) -> None:
    events = load_hm(tiny_hm).events
    assert events.num_rows == 5
    ids = events.column("event_id").to_pylist()
    assert len(set(ids)) == 5
    assert "aaaaaaaaaaaaaaaa1-0108775015-2020-01-02-1" in ids
    assert "aaaaaaaaaaaaaaaa1-0108775015-2020-01-02-2" in ids
    assert load_hm(tiny_hm).events.column("event_id").to_pylist() == ids


def test_events_are_purchases_at_utc_midnight_with_the_channel_as_device(tiny_hm: Path) -> None:
    events = load_hm(tiny_hm).events.to_pylist()
    assert {e["kind"] for e in events} == {"purchase"}
    assert events[0]["timestamp"] == datetime(2020, 1, 2, tzinfo=UTC)
    devices = Counter(e["device"] for e in events)
    assert devices == {"online": 3, "store": 2}
    assert all(e["position"] is None and e["touchpoint"] is None for e in events)


def test_users_carry_clean_attributes_and_buyers_missing_from_customers_are_added(tiny_hm: Path) -> None:
    users = {row["user_id"]: row for row in load_hm(tiny_hm).users.to_pylist()}
    assert dict(users["aaaaaaaaaaaaaaaa1"]["attributes"]) == {
        "age": "33",
        "club_member_status": "ACTIVE",
        "fashion_news_frequency": "NONE",
    }
    assert dict(users["bbbbbbbbbbbbbbbb2"]["attributes"]) == {"club_member_status": "PRE-CREATE"}
    assert "cccccccccccccccc3" in users
    assert all(u["region"] is None for u in users.values())


def test_same_day_baskets_become_co_purchase_sets(tiny_hm: Path) -> None:
    sets = load_hm(tiny_hm).sets.to_pylist()
    assert sets == [
        {
            "set_id": "aaaaaaaaaaaa-2020-01-02",
            "item_ids": ["0108775015", "0110065001"],
            "source": "co_purchase",
        }
    ]
    assert load_hm(tiny_hm, min_basket=3).sets.num_rows == 0


def test_min_basket_below_two_is_refused(tiny_hm: Path) -> None:
    with pytest.raises(LookbookError, match="min_basket"):
        load_hm(tiny_hm, min_basket=1)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"articles\.csv"):
        load_hm(tmp_path)


def test_a_missing_column_is_named(tiny_hm: Path) -> None:
    (tiny_hm / "transactions.csv").write_text("t_dat,customer_id,price\n2020-01-02,a,0.1\n")
    with pytest.raises(SchemaError, match=r"transactions\.csv article_id"):
        load_hm(tiny_hm)


def test_an_unreadable_date_is_named_with_its_line(tiny_hm: Path) -> None:
    with (tiny_hm / "transactions.csv").open("a") as fh:
        fh.write("02/01/2020,aaaaaaaaaaaaaaaa1,0108775015,0.02,2\n")
    with pytest.raises(SchemaError, match=r"t_dat: cannot read '02/01/2020' on line 7"):
        load_hm(tiny_hm)


# --------------------------------------------------------------------------------------------------
# The shared slice
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hm(hm_root: Path) -> World:
    return load_hm(hm_root)


def _expected_slot(group: str, ptype: str) -> str:
    """The mapping rule written as a plain lookup, the reference for the vectorised one."""
    if ptype in HM_TYPE_SLOTS:
        return HM_TYPE_SLOTS[ptype].value
    return HM_GROUP_SLOTS.get(group, Slot.OTHER).value


@pytest.mark.realdata
def test_slice_has_every_article_with_its_string_id(hm: World, hm_root: Path) -> None:
    assert hm.items.num_rows == 11_800
    ids = hm.items.column("item_id").to_pylist()
    assert all(len(i) == 10 and i.isdigit() for i in ids)
    assert sum(i.startswith("0") for i in ids) == len(ids)
    with (hm_root / "transactions.csv").open(newline="") as fh:
        sold = {row["article_id"] for row in csv.DictReader(fh)}
    assert sold <= set(ids)
    assert set(hm.events.column("item_id").to_pylist()) == sold
    assert hm.extras["articles"].num_columns == 25
    assert hm.extras["articles"].column("article_id").to_pylist() == ids


@pytest.mark.realdata
def test_slice_slots_follow_the_mapping_and_cover_a_wardrobe(hm: World) -> None:
    articles = hm.extras["articles"]
    expected = [
        _expected_slot(g, t)
        for g, t in zip(
            articles.column("product_group_name").to_pylist(),
            articles.column("product_type_name").to_pylist(),
            strict=True,
        )
    ]
    assert hm.items.column("slot").to_pylist() == expected
    counts = Counter(expected)
    for slot in ("top", "bottom", "dress", "outerwear", "shoes", "bag", "accessory", "other"):
        assert counts[slot] > 100, slot
    assert counts["top"] > counts["shoes"]


@pytest.mark.realdata
def test_slice_events_and_users(hm: World) -> None:
    assert hm.events.num_rows == 6_763
    assert hm.users.num_rows == 955
    assert set(hm.events.column("kind").to_pylist()) == {"purchase"}
    assert pc.count_distinct(hm.events.column("event_id")).as_py() == 6_763
    assert set(hm.events.column("user_id").to_pylist()) <= set(hm.users.column("user_id").to_pylist())
    assert set(hm.events.column("device").to_pylist()) == {"store", "online"}
    assert pc.min(hm.events.column("timestamp")).as_py() == datetime(2018, 9, 20, tzinfo=UTC)
    assert pc.max(hm.events.column("timestamp")).as_py() == datetime(2020, 9, 22, tzinfo=UTC)


@pytest.mark.realdata
def test_slice_images_exist_for_the_items_that_have_one(hm: World) -> None:
    images = [p for p in hm.items.column("image").to_pylist() if p is not None]
    assert 1_400 <= len(images) <= 1_600
    assert all((hm.root / p).is_file() for p in images)
    priced = pc.sum(pc.is_valid(hm.items.column("price"))).as_py()
    assert priced == 1_500


@pytest.mark.realdata
def test_slice_co_purchase_sets_hold_distinct_known_items(hm: World) -> None:
    sets = hm.sets.to_pylist()
    assert len(sets) > 1_000
    known = set(hm.items.column("item_id").to_pylist())
    assert all(len(s["item_ids"]) >= 2 and len(set(s["item_ids"])) == len(s["item_ids"]) for s in sets)
    assert all(set(s["item_ids"]) <= known for s in sets)
    assert {s["source"] for s in sets} == {"co_purchase"}
    assert len({s["set_id"] for s in sets}) == len(sets)
    assert hm.meta["source"] == "hm" and hm.meta["domain"] == "fashion"
