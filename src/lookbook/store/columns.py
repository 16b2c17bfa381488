"""Which input column feeds which data-model field: renames, folded attributes, ignored columns.

Real exports rarely use Lookbook's names. The rules, applied to column names only (no data is
read here):

1. ``--map SRC=DST`` renames input column ``SRC`` to field ``DST``; ``DST`` may be
   ``attributes.KEY`` to make the column one key of the ``attributes`` map.
2. A column whose name is a field of the table feeds that field (case and surrounding spaces are
   ignored, so ``Item_ID`` works).
3. In an items file, plain columns named like ``schema.KNOWN_ATTRIBUTE_COLUMNS`` (``colour``,
   ``material``, ...) and any column named ``attributes.KEY`` fold into ``attributes``.
4. Everything else is ignored, with one warning that lists the ignored columns (a typo in a
   column name should be visible, but should not stop a million-row load).

A column the table cannot do without (``schema`` marks it required; for items only ``item_id``,
because a file may update some columns of existing items) missing from the input is a file-level
``IngestError`` that names the column and lists the columns found.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lookbook.errors import IngestError
from lookbook.schema import KNOWN_ATTRIBUTE_COLUMNS
from lookbook.store.sql import TABLE_FIELDS

log = logging.getLogger(__name__)

__all__ = ["ATTR_PREFIX", "FILE_REQUIRED", "ColumnPlan", "parse_mapping", "plan_columns"]

ATTR_PREFIX = "attributes."

#: Columns an input must have, per table. Items need only their id: a file of ``item_id,price``
#: updates prices; a new item's ``title`` is checked per row.
FILE_REQUIRED: dict[str, tuple[str, ...]] = {
    "items": ("item_id",),
    "users": ("user_id",),
    "events": ("user_id", "item_id", "kind", "timestamp"),
    "sets": ("set_id", "item_ids"),
}


@dataclass(frozen=True)
class ColumnPlan:
    """Field name -> input column, attribute key -> input column, and the input columns left out."""

    fields: dict[str, str]
    attributes: dict[str, str]
    ignored: tuple[str, ...]


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``["price_eur=price", "hue=attributes.colour"]`` -> ``{"price_eur": "price", ...}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise IngestError(f"--map: expected SRC=DST (e.g. price_eur=price), got {pair!r}")
        out[src.strip()] = dst.strip()
    return out


def _norm(name: str) -> str:
    return name.strip().lower()


def plan_columns(
    table: str, columns: Sequence[str], mapping: Mapping[str, str] | None = None, *, source: str = "input"
) -> ColumnPlan:
    """Decide, from the input's column names, which column feeds which field (see the module doc)."""
    field_names = [f.name for f in TABLE_FIELDS[table]]
    has_attributes = "attributes" in field_names
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(_norm(col), col)

    fields: dict[str, str] = {}
    attributes: dict[str, str] = {}
    used: set[str] = set()

    def claim(field_name: str, col: str, how: str) -> None:
        if field_name.startswith(ATTR_PREFIX):
            key = field_name[len(ATTR_PREFIX) :]
            if key in attributes:
                raise IngestError(
                    f"{source} attributes.{key}: fed by both column {attributes[key]!r} and {col!r} ({how})"
                )
            attributes[key] = col
        else:
            if field_name in fields:
                raise IngestError(
                    f"{source} {field_name}: fed by both column {fields[field_name]!r} and {col!r} ({how})"
                )
            fields[field_name] = col
        used.add(col)

    for src, dst in (mapping or {}).items():
        col = src if src in columns else by_norm.get(_norm(src))
        if col is None:
            raise IngestError(
                f"--map {src}={dst}: {source} has no column {src!r}; columns found: {list(columns)}"
            )
        if dst.startswith(ATTR_PREFIX):
            if not has_attributes or not dst[len(ATTR_PREFIX) :]:
                raise IngestError(f"--map {src}={dst}: {table} has no attributes map to put {dst!r} in")
        elif dst not in field_names:
            raise IngestError(f"--map {src}={dst}: {dst!r} is not a field of {table}; fields: {field_names}")
        claim(dst, col, "--map")

    for col in columns:
        if col in used:
            continue
        name = _norm(col)
        if name in field_names and name not in fields:
            claim(name, col, "by name")
        elif has_attributes and name.startswith(ATTR_PREFIX) and len(name) > len(ATTR_PREFIX):
            key = col.strip()[len(ATTR_PREFIX) :]
            if key not in attributes:
                claim(ATTR_PREFIX + key, col, "by name")
        elif table == "items" and name in KNOWN_ATTRIBUTE_COLUMNS and name not in attributes:
            claim(ATTR_PREFIX + name, col, "a known attribute column")

    missing = [name for name in FILE_REQUIRED[table] if name not in fields]
    if missing:
        raise IngestError(
            f"{source}: required column {missing[0]!r} for {table} is missing; columns found: {list(columns)}"
            + (" (rename one with --map SRC=" + missing[0] + ")" if columns else "")
        )
    ignored = tuple(c for c in columns if c not in used)
    if ignored:
        log.warning(
            "%s: ignoring %d column(s) that are not %s fields: %s", source, len(ignored), table, list(ignored)
        )
    return ColumnPlan(fields=fields, attributes=attributes, ignored=ignored)
