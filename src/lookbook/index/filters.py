"""One typed filter expression over item payloads, translated by every index backend.

Filters are small immutable trees: ``Eq``, ``In``, ``Range`` on a field, combined with ``And``,
``Or``, ``Not`` (also through ``&``, ``|``, ``~``). ``PayloadSchema`` declares the fields an index
accepts and their kinds, so a typo in a field name or a string where a number belongs fails before
any engine sees it, with the field's name in the message. Backends translate the tree into their
engine's native filter (Qdrant's ``Filter``, Milvus's boolean expression, a numpy mask), so the
filter is applied inside the engine: pre-filtering, never over-fetching and dropping.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError

FieldKind = Literal["keyword", "keywords", "float", "int", "bool"]
Scalar = str | int | float | bool

#: The payload fields of catalog items (DESIGN.md §5): flags are stored as 0/1 ints in engines
#: whose boolean matching is unreliable, but they are declared and queried as booleans here.
ITEM_PAYLOAD: Mapping[str, FieldKind] = {
    "slot": "keyword",
    "category": "keyword",
    "brand": "keyword",
    "sizes": "keywords",
    "price": "float",
    "in_stock": "bool",
    "created_at": "int",
}


@dataclass(frozen=True)
class PayloadSchema:
    """Field name -> kind: ``keyword`` (one string), ``keywords`` (a list of strings, e.g. sizes),
    ``float``, ``int`` (e.g. epoch seconds) or ``bool``."""

    fields: Mapping[str, FieldKind]

    def __post_init__(self) -> None:
        for name, kind in self.fields.items():
            if kind not in ("keyword", "keywords", "float", "int", "bool"):
                raise SchemaError(f"PayloadSchema field {name!r}: unknown kind {kind!r}")

    def kind(self, field: str) -> FieldKind:
        try:
            return self.fields[field]
        except KeyError:
            raise SchemaError(
                f"filter field {field!r}: not a payload field of this index (known: {sorted(self.fields)})"
            ) from None

    def check_value(self, field: str, value: Any, *, where: str = "payload") -> None:
        """Raise ``SchemaError`` naming ``field`` when ``value`` does not fit its kind."""
        kind = self.kind(field)
        ok = {
            "keyword": isinstance(value, str),
            "keywords": isinstance(value, str),  # a filter value is one member of the list
            "float": isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
        }[kind]
        if not ok:
            raise SchemaError(f"{where} field {field!r}: expected a {kind} value, got {value!r}")

    def check_payload(self, payload: Mapping[str, Any], *, row: int | None = None) -> None:
        """Validate one item's payload: known fields, right kinds (missing fields are allowed)."""
        where = "payload" if row is None else f"payload of row {row}"
        for field, value in payload.items():
            if field not in self.fields:
                raise SchemaError(f"{where}: unknown field {field!r} (known: {sorted(self.fields)})")
            if value is None:
                continue
            if self.fields[field] == "keywords":
                if isinstance(value, str) or not isinstance(value, Iterable):
                    raise SchemaError(f"{where} field {field!r}: expected a list of strings, got {value!r}")
                for member in value:
                    self.check_value(field, member, where=where)
            else:
                self.check_value(field, value, where=where)


class Filter(abc.ABC):
    """Base of filter expressions; combine with ``&``, ``|`` and ``~``."""

    def __and__(self, other: Filter) -> Filter:
        return And((self, other))

    def __or__(self, other: Filter) -> Filter:
        return Or((self, other))

    def __invert__(self) -> Filter:
        return Not(self)

    @abc.abstractmethod
    def validate(self, schema: PayloadSchema) -> None:
        """Raise ``SchemaError`` naming the field when this filter does not fit ``schema``."""


@dataclass(frozen=True)
class Eq(Filter):
    """``field == value``; for a ``keywords`` field: the list contains ``value``."""

    field: str
    value: Scalar

    def validate(self, schema: PayloadSchema) -> None:
        schema.check_value(self.field, self.value, where="filter")


@dataclass(frozen=True)
class In(Filter):
    """``field`` is one of ``values``; for a ``keywords`` field: the list shares one of them."""

    field: str
    values: tuple[Scalar, ...]

    def __init__(self, field: str, values: Iterable[Scalar]) -> None:
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "values", tuple(values))

    def validate(self, schema: PayloadSchema) -> None:
        if not self.values:
            raise SchemaError(f"filter field {self.field!r}: In needs at least one value")
        for v in self.values:
            schema.check_value(self.field, v, where="filter")


@dataclass(frozen=True)
class Range(Filter):
    """``gte <= field <= lte`` (either side optional; ``gt`` / ``lt`` for strict bounds)."""

    field: str
    gte: float | None = None
    lte: float | None = None
    gt: float | None = None
    lt: float | None = None

    def validate(self, schema: PayloadSchema) -> None:
        kind = schema.kind(self.field)
        if kind not in ("float", "int"):
            raise SchemaError(f"filter field {self.field!r}: Range needs a numeric field, it is {kind}")
        bounds = [b for b in (self.gte, self.lte, self.gt, self.lt) if b is not None]
        if not bounds:
            raise SchemaError(f"filter field {self.field!r}: Range needs at least one bound")
        for b in bounds:
            if isinstance(b, bool) or not isinstance(b, int | float) or not math.isfinite(b):
                raise SchemaError(
                    f"filter field {self.field!r}: Range bounds must be finite numbers, got {b!r}"
                )

    def matches(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Which of ``values`` (float, NaN = missing) lie within the bounds; missing never does.
        The one definition the in-memory evaluators (numpy index, payload masks) share."""
        out = ~np.isnan(values)
        with np.errstate(invalid="ignore"):
            if self.gte is not None:
                out &= values >= self.gte
            if self.lte is not None:
                out &= values <= self.lte
            if self.gt is not None:
                out &= values > self.gt
            if self.lt is not None:
                out &= values < self.lt
        return out


@dataclass(frozen=True)
class And(Filter):
    parts: tuple[Filter, ...]

    def validate(self, schema: PayloadSchema) -> None:
        _validate_parts("And", self.parts, schema)


@dataclass(frozen=True)
class Or(Filter):
    parts: tuple[Filter, ...]

    def validate(self, schema: PayloadSchema) -> None:
        _validate_parts("Or", self.parts, schema)


@dataclass(frozen=True)
class Not(Filter):
    part: Filter

    def validate(self, schema: PayloadSchema) -> None:
        if not isinstance(self.part, Filter):
            raise SchemaError(f"filter: Not expects a filter, got {self.part!r}")
        self.part.validate(schema)


def _validate_parts(name: str, parts: tuple[Filter, ...], schema: PayloadSchema) -> None:
    if not parts:
        raise SchemaError(f"filter: {name} needs at least one part")
    for p in parts:
        if not isinstance(p, Filter):
            raise SchemaError(f"filter: {name} expects filters, got {p!r}")
        p.validate(schema)
