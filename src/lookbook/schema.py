"""The nouns every layer shares: items, users, events, sets (outfits / rooms) and photos.

Two views of the same data model live here:

* **Records** (``Item``, ``User``, ``Event``, ``ItemSet``, ``Photo``): frozen dataclasses that check
  themselves in ``__post_init__``. They are the unit of the real-time path (one item added over
  HTTP, one event arriving) and of tests.
* **Field specs** (``ITEM_FIELDS``, ...): the same columns described as data, so that the bulk
  paths (the columnar store, the Parquet worlds) derive their table layouts from one definition
  instead of restating it. Bulk validation applies the rules written here, column-wise.

This module imports only numpy and the standard library, so that every other layer can use it.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import NotFound, SchemaError

__all__ = [
    "EVENT_FIELDS",
    "FASHION_SLOTS",
    "HOME_SLOTS",
    "ID_CONTROL_PATTERN",
    "ID_SPACE_CHARS",
    "ITEMSET_FIELDS",
    "ITEM_FIELDS",
    "SLOT_COLOURS",
    "USER_FIELDS",
    "Domain",
    "Event",
    "EventKind",
    "FieldSpec",
    "Garment",
    "IdMap",
    "Item",
    "ItemSet",
    "Photo",
    "SetSource",
    "Slot",
    "User",
    "normalise_id",
]


class Domain(enum.StrEnum):
    """The two kinds of shop Lookbook is built for."""

    FASHION = "fashion"
    HOME = "home"


class Slot(enum.StrEnum):
    """Coarse item type that compatibility is conditioned on (a top goes with a bottom, not a top).

    Fine categories ("midi dress", "floor lamp") live in ``Item.category``; the slot is the level at
    which "goes together" is defined, so it is a closed set. ``OTHER`` holds items of real catalogs
    that fit no slot (a gift card, a pillowcase set): they can be recommended but never complete a
    look.
    """

    TOP = "top"
    BOTTOM = "bottom"
    DRESS = "dress"
    OUTERWEAR = "outerwear"
    SHOES = "shoes"
    BAG = "bag"
    ACCESSORY = "accessory"
    SOFA = "sofa"
    ARMCHAIR = "armchair"
    COFFEE_TABLE = "coffee_table"
    RUG = "rug"
    LAMP = "lamp"
    SHELF = "shelf"
    SIDE_TABLE = "side_table"
    OTHER = "other"


FASHION_SLOTS: tuple[Slot, ...] = (
    Slot.TOP,
    Slot.BOTTOM,
    Slot.DRESS,
    Slot.OUTERWEAR,
    Slot.SHOES,
    Slot.BAG,
    Slot.ACCESSORY,
)
HOME_SLOTS: tuple[Slot, ...] = (
    Slot.SOFA,
    Slot.ARMCHAIR,
    Slot.COFFEE_TABLE,
    Slot.RUG,
    Slot.LAMP,
    Slot.SHELF,
    Slot.SIDE_TABLE,
)

#: One RGB colour per slot, the same in every picture Lookbook draws (detector overlays, the
#: shop-the-look sheets, the serving page, a world's contact sheet), so a reader learns "red is a
#: top" once. Plain data beside ``Slot`` because both ``datasets`` and ``vision`` draw with it.
#: ``Slot.OTHER`` has no colour on purpose: each picture picks its own "no slot" fallback. Read-only.
SLOT_COLOURS: Mapping[Slot, tuple[int, int, int]] = MappingProxyType(
    {
        Slot.TOP: (230, 25, 75),
        Slot.BOTTOM: (0, 130, 200),
        Slot.DRESS: (145, 30, 180),
        Slot.OUTERWEAR: (245, 130, 48),
        Slot.SHOES: (60, 180, 75),
        Slot.BAG: (128, 128, 0),
        Slot.ACCESSORY: (240, 50, 230),
        Slot.SOFA: (230, 25, 75),
        Slot.ARMCHAIR: (245, 130, 48),
        Slot.COFFEE_TABLE: (0, 130, 200),
        Slot.RUG: (145, 30, 180),
        Slot.LAMP: (60, 180, 75),
        Slot.SHELF: (128, 128, 0),
        Slot.SIDE_TABLE: (240, 50, 230),
    }
)


class EventKind(enum.StrEnum):
    """What a user did to an item. The order is the storage code (``enum_code``), so append only.

    ``view`` is a product-page view, ``click`` a click on an item shown in a list (its position is
    in the event context), ``return`` and ``dislike`` are negative signals.
    """

    VIEW = "view"
    CLICK = "click"
    ADD_TO_BAG = "add_to_bag"
    SAVE = "save"
    PURCHASE = "purchase"
    RETURN = "return"
    DISLIKE = "dislike"


EVENT_KIND_CODES: dict[str, int] = {k.value: i for i, k in enumerate(EventKind)}


class SetSource(enum.StrEnum):
    """Where a set of items that go together came from; models may trust sources differently."""

    STYLIST = "stylist"
    COMMUNITY = "community"
    CO_PURCHASE = "co_purchase"


# --------------------------------------------------------------------------------------------------
# Field specs: one description of each table, used by the store (SQL types) and the worlds (Arrow).
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One column of a table in the data model.

    ``kind`` is one of ``string``, ``float``, ``int``, ``bool``, ``timestamp``, ``string_list``,
    ``string_map``; each storage layer maps it to its own type. ``required`` columns must be present
    and non-empty in every row; ``choices`` restricts a string column to a closed set. ``identifier``
    marks ids (a ``string``, or a ``string_list`` of ids): they are normalised by ``normalise_id``'s
    rule wherever they come in, so the same id written two ways is one id.
    """

    name: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    identifier: bool = False


ITEM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("item_id", "string", required=True, identifier=True),
    FieldSpec("title", "string", required=True),
    FieldSpec("description", "string"),
    FieldSpec("category", "string"),
    FieldSpec("slot", "string", choices=tuple(s.value for s in Slot)),
    FieldSpec("brand", "string"),
    FieldSpec("price", "float", minimum=0.0),
    FieldSpec("sizes", "string_list"),
    FieldSpec("in_stock", "bool"),
    FieldSpec("attributes", "string_map"),
    FieldSpec("image", "string"),
    FieldSpec("created_at", "timestamp"),
)

USER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("user_id", "string", required=True, identifier=True),
    FieldSpec("sizes", "string_map"),
    FieldSpec("region", "string"),
    FieldSpec("attributes", "string_map"),
)

EVENT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("user_id", "string", required=True, identifier=True),
    FieldSpec("item_id", "string", required=True, identifier=True),
    FieldSpec("kind", "string", required=True, choices=tuple(k.value for k in EventKind)),
    FieldSpec("timestamp", "timestamp", required=True),
    FieldSpec("event_id", "string"),
    FieldSpec("device", "string"),
    FieldSpec("region", "string"),
    FieldSpec("touchpoint", "string"),
    FieldSpec("position", "int", minimum=0),
    # the id of the served slate (an impression's request_id) that showed the item: joins the event
    # to the impressions that caused it; absent in older event files
    FieldSpec("request_id", "string", identifier=True),
)

ITEMSET_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("set_id", "string", required=True, identifier=True),
    FieldSpec("item_ids", "string_list", required=True, identifier=True),
    FieldSpec("source", "string", choices=tuple(s.value for s in SetSource)),
)

#: Attribute keys that a catalog file may carry as plain columns; ingest folds them into
#: ``Item.attributes`` so that "colour" in a CSV needs no mapping.
KNOWN_ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "colour",
    "color",
    "pattern",
    "material",
    "shape",
    "fit",
    "style",
    "season",
    "gender",
)


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------


#: What is stripped from both ends of an id: every character Python calls whitespace
#: (``str.isspace``), spelled out so the store's SQL strips exactly the same set (``trim(x, chars)``).
ID_SPACE_CHARS: str = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
#: Characters an id must not contain once stripped: the Unicode control characters (category Cc).
#: One pattern that Python's ``re`` and DuckDB's RE2 read the same way.
ID_CONTROL_PATTERN: str = r"[\x00-\x1f\x7f-\x9f]"
_ID_CONTROL = re.compile(ID_CONTROL_PATTERN)


def normalise_id(value: Any, *, owner: str = "id", name: str = "id") -> str:
    """The canonical form of an id: surrounding whitespace stripped; empty or control characters refused.

    Why one rule: an id arrives through files (ingest), Arrow tables, records and HTTP, and each
    path once trimmed differently (``" it000011"`` was stripped by the store and kept by serving,
    so one write landed under two ids). Every path applies this rule (the store's bulk SQL uses
    ``ID_SPACE_CHARS`` and ``ID_CONTROL_PATTERN``, which define it), so an id means one thing.
    Raises ``SchemaError`` naming ``owner`` and ``name`` for a non-string, an id that is empty
    once stripped, or one holding control characters (tab, newline, NUL inside an id).
    """
    if not isinstance(value, str):
        raise SchemaError(f"{owner} {name}: expected a non-empty string, got {value!r}")
    out = value.strip(ID_SPACE_CHARS)
    if not out:
        raise SchemaError(f"{owner} {name}: expected a non-empty string, got {value!r}")
    if _ID_CONTROL.search(out):
        raise SchemaError(f"{owner} {name}: must not contain control characters, got {value!r}")
    return out


def _check_nonempty(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise SchemaError(f"{owner} {name}: expected a non-empty string, got {value!r}")


def _as_utc(owner: str, name: str, value: Any) -> datetime:
    """Timestamps inside Lookbook are timezone-aware UTC; naive ones are taken to be UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return _as_utc(owner, name, parsed)
    raise SchemaError(f"{owner} {name}: expected an ISO-8601 timestamp or epoch seconds, got {value!r}")


@dataclass(frozen=True)
class Item:
    """One product of the catalog.

    ``slot`` is the coarse type compatibility is defined over; ``category`` is the shop's own fine
    label. ``attributes`` holds what a merchandiser would filter on (colour, material, pattern,
    shape). ``image`` is a path relative to the project (or an absolute path / URI before ingest).
    """

    item_id: str
    title: str
    description: str = ""
    category: str = ""
    slot: Slot = Slot.OTHER
    brand: str = ""
    price: float = 0.0
    sizes: tuple[str, ...] = ()
    in_stock: bool = True
    attributes: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "item_id", normalise_id(self.item_id, owner="Item", name="item_id"))
        owner = f"Item {self.item_id!r}:"
        if not isinstance(self.title, str) or not self.title.strip():
            raise SchemaError(f"{owner} title: expected a non-empty string, got {self.title!r}")
        try:
            object.__setattr__(self, "slot", Slot(self.slot))
        except ValueError:
            raise SchemaError(
                f"{owner} slot: expected one of {[s.value for s in Slot]}, got {self.slot!r}"
            ) from None
        price = self.price
        if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
            raise SchemaError(f"{owner} price: expected a finite number, got {price!r}")
        if price < 0:
            raise SchemaError(f"{owner} price: must be >= 0, got {price!r}")
        object.__setattr__(self, "price", float(price))
        if isinstance(self.sizes, str):
            raise SchemaError(f"{owner} sizes: expected a sequence of sizes, got the string {self.sizes!r}")
        object.__setattr__(self, "sizes", tuple(str(s) for s in self.sizes))
        object.__setattr__(self, "attributes", {str(k): str(v) for k, v in dict(self.attributes).items()})
        if self.created_at is not None:
            object.__setattr__(self, "created_at", _as_utc(owner, "created_at", self.created_at))


@dataclass(frozen=True)
class User:
    """A shopper. Only what the shop knows for sure is stored; taste is learned from events."""

    user_id: str
    sizes: Mapping[str, str] = field(default_factory=dict)
    region: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_id", normalise_id(self.user_id, owner="User", name="user_id"))
        object.__setattr__(self, "sizes", {str(k): str(v) for k, v in dict(self.sizes).items()})
        object.__setattr__(self, "attributes", {str(k): str(v) for k, v in dict(self.attributes).items()})


@dataclass(frozen=True)
class Event:
    """One interaction. Context fields are optional; ``position`` is where the item was shown and
    ``request_id`` the served slate it was shown in (the impressions' ``request_id``)."""

    user_id: str
    item_id: str
    kind: EventKind
    timestamp: datetime
    event_id: str | None = None
    device: str | None = None
    region: str | None = None
    touchpoint: str | None = None
    position: int | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_id", normalise_id(self.user_id, owner="Event", name="user_id"))
        object.__setattr__(self, "item_id", normalise_id(self.item_id, owner="Event", name="item_id"))
        owner = f"Event ({self.user_id!r}, {self.item_id!r}):"
        try:
            object.__setattr__(self, "kind", EventKind(self.kind))
        except ValueError:
            raise SchemaError(
                f"{owner} kind: expected one of {[k.value for k in EventKind]}, got {self.kind!r}"
            ) from None
        object.__setattr__(self, "timestamp", _as_utc(owner, "timestamp", self.timestamp))
        if self.position is not None and (
            isinstance(self.position, bool) or not isinstance(self.position, int) or self.position < 0
        ):
            raise SchemaError(f"{owner} position: expected an int >= 0, got {self.position!r}")
        if self.request_id is not None:
            object.__setattr__(
                self, "request_id", normalise_id(self.request_id, owner=owner, name="request_id")
            )


@dataclass(frozen=True)
class ItemSet:
    """Items that go together: an outfit, a room scene, or a co-purchase basket."""

    set_id: str
    item_ids: tuple[str, ...]
    source: SetSource = SetSource.STYLIST

    def __post_init__(self) -> None:
        object.__setattr__(self, "set_id", normalise_id(self.set_id, owner="ItemSet", name="set_id"))
        owner = f"ItemSet {self.set_id!r}:"
        if isinstance(self.item_ids, str):
            raise SchemaError(
                f"{owner} item_ids: expected a sequence of ids, got the string {self.item_ids!r}"
            )
        ids = tuple(normalise_id(i, owner=f"ItemSet {self.set_id!r}", name="item_ids") for i in self.item_ids)
        if len(ids) < 2:
            raise SchemaError(f"{owner} item_ids: a set needs at least 2 items, got {len(ids)}")
        if len(set(ids)) != len(ids):
            raise SchemaError(f"{owner} item_ids: an item appears twice in {list(ids)}")
        object.__setattr__(self, "item_ids", ids)
        try:
            object.__setattr__(self, "source", SetSource(self.source))
        except ValueError:
            raise SchemaError(
                f"{owner} source: expected one of {[s.value for s in SetSource]}, got {self.source!r}"
            ) from None


@dataclass(frozen=True)
class Garment:
    """One labelled item in a photo: a box in pixels ``(x0, y0, x1, y1)``, its slot and, if known, item."""

    box: tuple[float, float, float, float]
    slot: Slot
    item_id: str | None = None

    def __post_init__(self) -> None:
        if len(self.box) != 4:
            raise SchemaError(f"Garment box: expected 4 numbers (x0, y0, x1, y1), got {self.box!r}")
        x0, y0, x1, y1 = (float(v) for v in self.box)
        if not (x1 > x0 and y1 > y0):
            raise SchemaError(f"Garment box: expected x1 > x0 and y1 > y0, got {self.box!r}")
        object.__setattr__(self, "box", (x0, y0, x1, y1))
        object.__setattr__(self, "slot", Slot(self.slot))


@dataclass(frozen=True)
class Photo:
    """A community or scene photo; labelled garments are optional (training and tests only)."""

    photo_id: str
    image: str
    garments: tuple[Garment, ...] = ()

    def __post_init__(self) -> None:
        _check_nonempty("Photo", "photo_id", self.photo_id)
        _check_nonempty(f"Photo {self.photo_id!r}", "image", self.image)
        object.__setattr__(self, "garments", tuple(self.garments))


# --------------------------------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------------------------------


class IdMap:
    """String ids at the edges, integer rows inside: one vectorised map between the two.

    Rows follow the order of ``ids`` (the store gives items in insertion order, so existing rows
    stay put when items are appended). Lookups of whole arrays go through one ``searchsorted`` on a
    sorted copy rather than a Python dict, so mapping a million event ids costs milliseconds.
    """

    def __init__(self, ids: Iterable[str], *, name: str = "id") -> None:
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).astype(str)
        if arr.ndim != 1:
            raise SchemaError(f"IdMap {name}: expected a 1-D sequence of ids, got shape {arr.shape}")
        self.name = name
        self.ids: npt.NDArray[np.str_] = arr
        self._order = np.argsort(arr, kind="stable")
        self._sorted = arr[self._order]
        if arr.size > 1:
            dup = self._sorted[1:] == self._sorted[:-1]
            if dup.any():
                raise SchemaError(f"IdMap {name}: duplicate id {self._sorted[1:][dup][0]!r}")

    def __len__(self) -> int:
        return int(self.ids.size)

    def __contains__(self, item_id: object) -> bool:
        return bool(self.lookup(np.asarray([str(item_id)]), missing=-1)[0] >= 0)

    def lookup(
        self, ids: Sequence[str] | npt.NDArray[Any], *, missing: int | None = None
    ) -> npt.NDArray[np.int64]:
        """Rows of ``ids``. Unknown ids raise ``NotFound`` unless ``missing`` gives a fill value (e.g. -1)."""
        q = np.asarray(ids).astype(str)
        if self.ids.size == 0:
            pos = np.zeros(q.shape, dtype=np.int64)
            found = np.zeros(q.shape, dtype=bool)
        else:
            pos = np.searchsorted(self._sorted, q)
            pos = np.clip(pos, 0, self._sorted.size - 1)
            found = self._sorted[pos] == q
        rows = np.where(found, self._order[pos] if self.ids.size else 0, -1).astype(np.int64)
        if not found.all():
            if missing is None:
                raise NotFound(f"{self.name}: unknown id {q[~found].ravel()[0]!r}")
            rows[~found] = missing
        return rows

    def row(self, item_id: str) -> int:
        """Row of one id (raises ``NotFound``)."""
        return int(self.lookup([item_id])[0])

    def to_ids(self, rows: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Ids of ``rows`` (the inverse of ``lookup``)."""
        return self.ids[np.asarray(rows, dtype=np.int64)]
