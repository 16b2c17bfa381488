"""Records check themselves and name the field; IdMap maps whole arrays both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from lookbook.errors import NotFound, SchemaError
from lookbook.schema import (
    SLOT_COLOURS,
    Event,
    EventKind,
    Garment,
    IdMap,
    Item,
    ItemSet,
    Photo,
    SetSource,
    Slot,
    User,
)


def test_item_defaults_and_coercions() -> None:
    item = Item("sku-1", "Red shirt", slot="top", price=3, sizes=["S", "M"], attributes={"colour": "red"})
    assert item.slot is Slot.TOP
    assert item.price == 3.0
    assert item.sizes == ("S", "M")
    assert item.attributes == {"colour": "red"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"item_id": "", "title": "x"}, "item_id"),
        ({"item_id": "a", "title": " "}, "title"),
        ({"item_id": "a", "title": "x", "price": -3.0}, "price"),
        ({"item_id": "a", "title": "x", "price": float("nan")}, "price"),
        ({"item_id": "a", "title": "x", "slot": "hat"}, "slot"),
        ({"item_id": "a", "title": "x", "sizes": "M"}, "sizes"),
        ({"item_id": "a", "title": "x", "created_at": "yesterday"}, "created_at"),
    ],
)
def test_item_errors_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(SchemaError, match=field):
        Item(**kwargs)


def test_negative_price_message_names_record_and_value() -> None:
    with pytest.raises(SchemaError, match=r"Item 'sku-12': price: must be >= 0, got -3.0"):
        Item("sku-12", "Coat", price=-3.0)


def test_event_timestamps_become_utc() -> None:
    naive = Event("u", "i", "click", datetime(2026, 1, 1, 12))
    assert naive.timestamp.tzinfo is UTC
    offset = Event("u", "i", EventKind.VIEW, "2026-01-01T12:00:00+02:00")
    assert offset.timestamp == datetime(2026, 1, 1, 10, tzinfo=UTC)
    epoch = Event("u", "i", "purchase", 0)
    assert epoch.timestamp == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "like"}, "kind"),
        ({"timestamp": "not a time"}, "timestamp"),
        ({"position": -1}, "position"),
        ({"user_id": ""}, "user_id"),
    ],
)
def test_event_errors_name_the_field(kwargs: dict, field: str) -> None:
    base = {"user_id": "u", "item_id": "i", "kind": "view", "timestamp": "2026-01-01"}
    with pytest.raises(SchemaError, match=field):
        Event(**(base | kwargs))


def test_itemset_rules() -> None:
    s = ItemSet("s1", ["a", "b"], source="community")
    assert s.source is SetSource.COMMUNITY and s.item_ids == ("a", "b")
    with pytest.raises(SchemaError, match="at least 2"):
        ItemSet("s2", ["a"])
    with pytest.raises(SchemaError, match="twice"):
        ItemSet("s3", ["a", "a"])
    with pytest.raises(SchemaError, match="source"):
        ItemSet("s4", ["a", "b"], source="magazine")


def test_user_and_photo() -> None:
    assert User("u1", sizes={"top": "M"}).sizes == {"top": "M"}
    photo = Photo("p1", "photos/p1.png", (Garment((0, 0, 10, 20), "top", "it1"),))
    assert photo.garments[0].slot is Slot.TOP
    with pytest.raises(SchemaError, match="x1 > x0"):
        Garment((10, 0, 5, 20), "top")


def test_idmap_round_trip_and_missing() -> None:
    ids = IdMap(["c", "a", "b"], name="item_id")
    rows = ids.lookup(np.array(["a", "b", "c", "a"]))
    assert rows.tolist() == [1, 2, 0, 1]
    assert ids.to_ids(rows).tolist() == ["a", "b", "c", "a"]
    assert "b" in ids and "z" not in ids
    assert ids.lookup(["z", "a"], missing=-1).tolist() == [-1, 1]
    with pytest.raises(NotFound, match="item_id: unknown id 'z'"):
        ids.lookup(["z"])
    with pytest.raises(SchemaError, match="duplicate"):
        IdMap(["a", "a"])
    assert IdMap([]).lookup(["x"], missing=-1).tolist() == [-1]


def test_every_slot_but_other_has_one_read_only_rgb_colour() -> None:
    assert set(SLOT_COLOURS) == set(Slot) - {Slot.OTHER}
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in SLOT_COLOURS.values())
    assert SLOT_COLOURS.get("top") == SLOT_COLOURS[Slot.TOP]  # plain strings find their slot too
    with pytest.raises(TypeError):
        SLOT_COLOURS[Slot.TOP] = (0, 0, 0)  # type: ignore[index]
