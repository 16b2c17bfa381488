"""Request and response bodies of the JSON API, as pydantic models with their limits.

The limits live here, in the models, so that the OpenAPI document states them, FastAPI enforces
them before a request reaches the ``Shop``, and the fuzz test generates requests that explore the
edges. Records are ``extra="forbid"``: a misspelt field (``colour`` at the top level instead of in
``attributes``) is named in a 422 instead of being dropped silently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from lookbook.schema import EventKind, Slot

MAX_ID = 200
#: Ids are free text in the data model; over HTTP they must also be printable (no control
#: characters) and free of "/", since they are path segments (``/api/items/{item_id}``: a "/",
#: even percent-encoded, would end the segment) and end up in logs and HTML.
ID_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
MAX_IMAGE_BASE64 = 1_400_000  # about 1 MB of image bytes
#: A request id: what a uuid, a ULID or a tracing id is made of, and nothing that could break a log
#: line, an HTTP header or a store column. Incoming ``X-Request-ID`` headers that do not match are
#: replaced by the server's own id; an event's ``request_id`` that does not match is a 422.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=REQUEST_ID_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
SlotName = Literal[tuple(s.value for s in Slot)]  # type: ignore[valid-type]
KindName = Literal[tuple(k.value for k in EventKind)]  # type: ignore[valid-type]

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible_time(value: datetime | None) -> datetime | None:
    """Events from before 1970 or after 2100 are typos (a milliseconds value read as seconds)."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not _EARLIEST <= aware < _LATEST:
        raise ValueError(f"expected a time between 1970 and 2100, got {aware.isoformat()}")
    return aware


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    def record(self) -> dict[str, Any]:
        """The record as the ``Shop`` takes it: fields that were not given (or null) left out, so
        an update of ``{"item_id", "price"}`` changes the price only."""
        return self.model_dump(exclude_none=True)


class ItemIn(_Record):
    """One catalog item to add or update (by ``item_id``); every other field is optional on update."""

    item_id: Id
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    description: Annotated[str, StringConstraints(max_length=5_000)] | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    slot: SlotName | None = None
    brand: Annotated[str, StringConstraints(max_length=100)] | None = None
    price: Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)] | None = None
    sizes: (
        Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=20)]], Field(max_length=50)]
        | None
    ) = None
    in_stock: bool | None = None
    attributes: (
        Annotated[
            dict[Annotated[str, StringConstraints(min_length=1, max_length=50)], ShortText],
            Field(max_length=50),
        ]
        | None
    ) = None
    image_base64: Annotated[str, StringConstraints(min_length=1, max_length=MAX_IMAGE_BASE64)] | None = Field(
        default=None,
        description="The product image, PNG or JPEG bytes in base64. A file path is not accepted over "
        "HTTP: the server would read its own disk.",
    )


class ItemsIn(BaseModel):
    """A batch of item upserts, applied to the store and every index at once."""

    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=1_000)]


class EventIn(_Record):
    """One shopper event; its user's vector moves before the response is sent."""

    user_id: Id
    item_id: Id
    kind: KindName
    timestamp: Annotated[datetime | None, AfterValidator(_plausible_time)] = Field(
        default=None, description="ISO 8601 or Unix seconds; the server's clock when left out."
    )
    device: Annotated[str, StringConstraints(max_length=50)] | None = None
    region: Annotated[str, StringConstraints(max_length=50)] | None = None
    touchpoint: Annotated[str, StringConstraints(max_length=50)] | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
    request_id: RequestId | None = Field(
        default=None,
        description="The request_id of the response that showed the item (its X-Request-ID): joins "
        "the event to the impression that caused it.",
    )

    def record(self) -> dict[str, Any]:
        out = super().record()
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp.isoformat()
        return out


class EventsIn(BaseModel):
    """A batch of events."""

    model_config = ConfigDict(extra="forbid")
    events: Annotated[list[EventIn], Field(min_length=1, max_length=10_000)]


class UserIn(_Record):
    """One shopper's profile: the size they wear per size group (``{"top": "M", "shoes": "38"}``;
    the groups are the catalog's, e.g. top, bottom, shoes) and their region. Taste is not sent: it
    is learned from events."""

    user_id: Id
    sizes: (
        Annotated[
            dict[
                Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=ID_PATTERN)],
                Annotated[str, StringConstraints(min_length=1, max_length=20)],
            ],
            Field(max_length=20),
        ]
        | None
    ) = None
    region: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None


class UsersIn(BaseModel):
    """A batch of shopper profiles to add or update."""

    model_config = ConfigDict(extra="forbid")
    users: Annotated[list[UserIn], Field(min_length=1, max_length=1_000)]


# ---------------------------------------------------------------------------------------- responses
class RecItemOut(BaseModel):
    item_id: str
    title: str
    brand: str
    category: str
    slot: str
    price: float
    in_stock: bool
    score: float
    why: str
    image_url: str


class CarouselOut(BaseModel):
    key: str
    title: str
    items: list[RecItemOut]


#: A touchpoint response's id (also in its ``X-Request-ID`` header).
_REQUEST_ID = Field(
    description="this response's id (also its X-Request-ID header): send it back with the events "
    "the shown items lead to"
)


class HomeOut(BaseModel):
    request_id: str = _REQUEST_ID
    user_id: str | None
    carousels: list[CarouselOut]


class ItemListOut(BaseModel):
    request_id: str = _REQUEST_ID
    items: list[RecItemOut]


class CarouselListOut(BaseModel):
    request_id: str = _REQUEST_ID
    carousels: list[CarouselOut]


class ItemViewOut(BaseModel):
    item_id: str
    title: str
    description: str
    brand: str
    category: str
    slot: str
    price: float
    in_stock: bool
    sizes: list[str]
    attributes: dict[str, str]
    image_url: str


class UsersOut(BaseModel):
    users: list[str]


class CategoriesOut(BaseModel):
    categories: list[str]


class UpsertOut(BaseModel):
    upserted: int


class DeleteOut(BaseModel):
    deleted: int


class EventsOut(BaseModel):
    accepted: int


class HealthOut(BaseModel):
    """``model_version``: the promoted model version the server answers with (it changes, without a
    restart, when a retrain is promoted)."""

    status: str
    model_version: str
    stats: dict[str, Any]


class AnchorOut(BaseModel):
    """A catalog item a garment was matched to; ``distance``: its picture's cosine distance to the crop."""

    item_id: str
    title: str
    brand: str
    category: str
    slot: str
    price: float
    in_stock: bool
    distance: float
    image_url: str


class GarmentOut(BaseModel):
    """A garment found in a photo: ``box`` ``[x0, y0, x1, y1]`` in the upright photo's pixels."""

    box: Annotated[list[float], Field(min_length=4, max_length=4)]
    slot: str
    confidence: float
    anchors: list[AnchorOut]


class ShopTheLookOut(BaseModel):
    """A photo's garments, their anchors and the recommendations; ``photo_score`` is the shopper's
    best match over the garments (null for an anonymous visitor); ``timings`` are seconds per step."""

    request_id: str = _REQUEST_ID
    user_id: str | None
    width: int
    height: int
    garments: list[GarmentOut]
    recommendations: list[RecItemOut]
    photo_score: float | None
    timings: dict[str, float]


class PhotoOut(BaseModel):
    photo_id: str
    score: float
    image_url: str
    width: int
    height: int
    garments: list[GarmentOut]


class PhotoFeedOut(BaseModel):
    request_id: str = _REQUEST_ID
    user_id: str | None
    photos: list[PhotoOut]


class ErrorOut(BaseModel):
    """Every error: ``detail`` names the field and says what is wrong."""

    detail: str
