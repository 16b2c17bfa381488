"""``load_polyvore``: a tiny hand-made release for the rules, and the shared slice for the real counts."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from lookbook.datasets.polyvore import POLYVORE_SLOTS, load_polyvore
from lookbook.datasets.world import World
from lookbook.errors import NotFound
from lookbook.schema import FASHION_SLOTS


@pytest.fixture()
def tiny_polyvore(tmp_path: Path) -> Path:
    """Three outfits (one repeating an item), messy categories, one FITB question, broken references."""
    root = tmp_path / "polyvore_outfits"
    (root / "images").mkdir(parents=True)
    members = {"100": ["1", "2", "3"], "200": ["4", "5", "4"], "300": ["6", "07"]}
    outfits = [
        {"set_id": sid, "items": [{"item_id": i, "index": n} for n, i in enumerate(ids, start=1)]}
        for sid, ids in members.items()
    ]
    (root / "valid.json").write_text(json.dumps(outfits))
    # CRLF, no header, a repeated id with two names, a trailing blank in a type, an empty type.
    (root / "categories.csv").write_bytes(
        b"11,sweater,tops\r\n11,top,tops\r\n11,top,tops\r\n27,jeans,bottoms\r\n"
        b"57,sunglasses,accessories \r\n57,sunglasses,sunglasses\r\n245,lingerie top,\r\n3,dress,all-body\r\n"
    )
    (root / "train_category.json").write_text(
        json.dumps({"1": "11", "2": "27", "3": "57", "4": "245", "6": "3"})
    )
    (root / "fill_in_blank_valid.json").write_text(
        json.dumps(
            [
                {
                    "question": ["100_1", "100_2"],
                    "blank_position": 3,
                    "answers": ["100_3", "200_1", "300_1", "300_2"],
                },
                {"question": ["300_1"], "blank_position": 2, "answers": ["300_2", "999_1", "100_1", "200_2"]},
            ]
        )
    )
    (root / "compatibility_valid.txt").write_text(
        "1 100_1 100_2 100_3\n0 100_1 999_9 300_2\n\n0 999_1 300_1\n"
    )
    (root / "images" / "2.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    return root


def test_outfits_become_community_sets_without_repeated_items(tiny_polyvore: Path) -> None:
    sets = load_polyvore(tiny_polyvore).sets.to_pylist()
    assert [s["item_ids"] for s in sets] == [["1", "2", "3"], ["4", "5"], ["6", "07"]]
    assert {s["source"] for s in sets} == {"community"}


def test_items_get_fine_categories_slots_and_titles(tiny_polyvore: Path) -> None:
    items = {row["item_id"]: row for row in load_polyvore(tiny_polyvore).items.to_pylist()}
    assert list(items) == ["1", "2", "3", "4", "5", "6", "07"]
    assert (items["1"]["category"], items["1"]["slot"]) == ("top", "top")  # the majority name of id 11
    assert items["1"]["title"] == "Polyvore item 1: top"
    assert (items["2"]["category"], items["2"]["slot"]) == ("jeans", "bottom")
    assert items["3"]["slot"] == "accessory"
    assert dict(items["3"]["attributes"]) == {"semantic_category": "accessories", "category_id": "57"}
    assert (items["4"]["category"], items["4"]["slot"]) == ("lingerie top", "other")
    assert (items["5"]["category"], items["5"]["slot"], items["5"]["title"]) == (
        "unknown",
        "other",
        "Polyvore item 5",
    )
    assert items["6"]["slot"] == "dress"


def test_image_is_set_only_when_the_file_exists(tiny_polyvore: Path) -> None:
    world = load_polyvore(tiny_polyvore)
    images = {r["item_id"]: r["image"] for r in world.items.to_pylist()}
    assert images["2"] == "images/2.jpg"
    assert sum(v is not None for v in images.values()) == 1


def test_fitb_maps_references_to_item_ids_and_finds_the_answer(tiny_polyvore: Path) -> None:
    fitb = load_polyvore(tiny_polyvore, shuffle_answers=False).extras["fitb"].to_pylist()
    # The second question names outfit 999, which does not exist: it is dropped, not fatal.
    assert fitb == [
        {
            "set_id": "100",
            "question": ["1", "2"],
            "answers": ["3", "4", "6", "07"],
            "blank_position": 3,
            "answer": "3",
            "answer_index": 0,
        }
    ]


def test_fitb_shuffle_is_seeded_and_keeps_the_answer(tiny_polyvore: Path) -> None:
    a = load_polyvore(tiny_polyvore, seed=3).extras["fitb"].to_pylist()
    b = load_polyvore(tiny_polyvore, seed=3).extras["fitb"].to_pylist()
    assert a == b
    row = a[0]
    assert sorted(row["answers"]) == sorted(["3", "4", "6", "07"])
    assert row["answers"][row["answer_index"]] == row["answer"] == "3"


def test_compatibility_drops_unresolved_references_without_crashing(
    tiny_polyvore: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lookbook.datasets.polyvore"):
        compat = load_polyvore(tiny_polyvore).extras["compatibility"].to_pylist()
    assert compat == [{"label": 1, "item_ids": ["1", "2", "3"]}, {"label": 0, "item_ids": ["1", "07"]}]
    assert "2 references resolve to no outfit item" in caplog.text


def test_a_missing_release_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"valid\.json"):
        load_polyvore(tmp_path)


# --------------------------------------------------------------------------------------------------
# The shared slice
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def polyvore(polyvore_root: Path) -> World:
    return load_polyvore(polyvore_root)


@pytest.mark.realdata
def test_slice_sets_and_items(polyvore: World) -> None:
    assert polyvore.sets.num_rows == 5_000
    assert polyvore.items.num_rows == 25_132
    known = set(polyvore.items.column("item_id").to_pylist())
    for s in polyvore.sets.to_pylist():
        assert len(s["item_ids"]) >= 2 and len(set(s["item_ids"])) == len(s["item_ids"])
        assert set(s["item_ids"]) <= known


@pytest.mark.realdata
def test_slice_fitb_questions_each_have_their_answer_among_four(polyvore: World) -> None:
    fitb = polyvore.extras["fitb"].to_pylist()
    assert len(fitb) == 5_000
    known = set(polyvore.items.column("item_id").to_pylist())
    for q in fitb:
        assert len(q["answers"]) == 4
        assert q["answer"] in q["answers"] and q["answers"][q["answer_index"]] == q["answer"]
        assert set(q["question"]) <= known and set(q["answers"]) <= known
    # The release always lists the right answer first; the default shuffle spreads it out.
    positions = Counter(q["answer_index"] for q in fitb)
    assert set(positions) == {0, 1, 2, 3} and max(positions.values()) < 1_500


@pytest.mark.realdata
def test_slice_compatibility_rows(polyvore: World) -> None:
    compat = polyvore.extras["compatibility"].to_pylist()
    assert len(compat) == 10_000
    assert Counter(r["label"] for r in compat) == {1: 5_000, 0: 5_000}
    outfits = {tuple(s["item_ids"]) for s in polyvore.sets.to_pylist()}
    assert tuple(compat[0]["item_ids"]) in outfits


@pytest.mark.realdata
def test_slice_categories_map_to_slots(polyvore: World) -> None:
    items = polyvore.items.to_pylist()
    categorised = [r for r in items if r["category"] != "unknown"]
    assert 0.75 < len(categorised) / len(items) < 0.85
    for r in categorised:
        semantic = dict(r["attributes"]).get("semantic_category", "")
        assert (
            r["slot"] == POLYVORE_SLOTS[semantic].value
            if semantic in POLYVORE_SLOTS
            else r["slot"] == "other"
        )
        assert r["title"] == f"Polyvore item {r['item_id']}: {r['category']}"
    counts = Counter(r["slot"] for r in categorised)
    assert all(counts[slot.value] > 500 for slot in FASHION_SLOTS)
    assert all(r["slot"] == "other" for r in items if r["category"] == "unknown")


@pytest.mark.realdata
def test_slice_images_exist(polyvore: World) -> None:
    images = [p for p in polyvore.items.column("image").to_pylist() if p is not None]
    assert len(images) == 85
    assert all((polyvore.root / p).is_file() for p in images)
