"""The one validation pipeline: every ingest (file, Arrow table or records) is checked by this SQL.

Validation is column-wise: each rule is one SQL query over the whole staged input that returns the
rows breaking it, so checking a million events costs a handful of scans, not a million Python
calls. The rules are written once, here, and apply to files and to programmatic upserts alike.

Steps:

1. ``build_stage`` parses every field of ``__src`` into its typed column (``lookbook.store.parse``)
   and keeps the raw text next to it (``__raw_<field>``) so errors can quote what the file said.
2. ``collect_errors`` runs the rules into ``__errors`` (``__row, field, message, value``):
   required fields present, values that do not parse, minimums, closed choices (event kind, slot,
   set source), ids holding control characters (``schema.normalise_id``'s rule; the parsers
   already stripped them), duplicate ids within the input (the second and later occurrences are
   errors that name the first line), item images that exist and decode within the pixel limit,
   events whose item is not in the catalog, events later than the shop's clock plus the allowed
   skew (``latest_event``), sets with fewer than two distinct items or with members not in the
   catalog, and new items without a title.
3. ``__good`` is the staged input minus every row with at least one error; the writers read it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import duckdb

from lookbook.schema import ID_CONTROL_PATTERN
from lookbook.store.columns import ColumnPlan
from lookbook.store.parse import EXPECTED, parse_expr, raw_expr, text_expr
from lookbook.store.report import RowError
from lookbook.store.sources import SRC, Source
from lookbook.store.sql import TABLE_FIELDS, fetch_one, ident, literal, sql_type

log = logging.getLogger(__name__)

__all__ = ["ID_FIELD", "Staged", "build_stage", "collect_errors", "make_good_view"]

#: The id that must be unique within one input, per table (events: their optional ``event_id``).
ID_FIELD: dict[str, str] = {"items": "item_id", "users": "user_id", "sets": "set_id", "events": "event_id"}
_INT_MAX = 2_147_483_647  # int fields are stored as INTEGER
#: Ids that must name catalog items: an id with control characters cannot (the catalog refuses
#: them), so "must be in the catalog" already rejects it and a second scan of a million events'
#: item ids for control characters would cost time for nothing.
_CATALOG_IDS = frozenset({("events", "item_id"), ("sets", "item_ids")})


@dataclass(frozen=True)
class Staged:
    """What the writers need to know about the staged input."""

    table: str
    present: frozenset[str]
    rows: int


def _raw(name: str) -> str:
    return ident(f"__raw_{name}")


def build_stage(con: duckdb.DuckDBPyConnection, table: str, source: Source, plan: ColumnPlan) -> Staged:
    """Create ``__stage``: ``__row``, one typed column per field, raw text, and ``__folded`` attributes."""
    select = ["__row"]
    for spec in TABLE_FIELDS[table]:
        col = plan.fields.get(spec.name)
        if col is None:
            select.append(f"CAST(NULL AS {sql_type(spec)}) AS {ident(spec.name)}")
            continue
        dtype = source.columns[col]
        expr = parse_expr(spec, ident(col), dtype)
        if table == "sets" and spec.name == "item_ids":
            # Keep the first occurrence of each member, in order: a set is a set.
            expr = f"list_filter({expr}, lambda m, i: list_position({expr}, m) = i)"
        select.append(f"{expr} AS {ident(spec.name)}")
        if spec.kind != "string":
            select.append(f"{raw_expr(ident(col), dtype)} AS {_raw(spec.name)}")
    if any(spec.name == "attributes" for spec in TABLE_FIELDS[table]):
        entries = [
            f"{{'k': {literal(key)}, 'v': {text_expr(ident(col), source.columns[col])}}}"
            for key, col in plan.attributes.items()
        ]
        if entries:
            folded = f"map_from_entries(list_filter([{', '.join(entries)}], lambda e: e.v IS NOT NULL))"
        else:
            folded = "CAST(MAP {} AS MAP(VARCHAR, VARCHAR))"
        select.append(f"{folded} AS __folded")
    con.execute(f"CREATE TEMP TABLE __stage AS SELECT {', '.join(select)} FROM {SRC}")
    rows = int(fetch_one(con, "SELECT count(*) FROM __stage")[0])
    present = frozenset(plan.fields) | ({"attributes"} if plan.attributes else frozenset())
    return Staged(table=table, present=present, rows=rows)


def _rule(where: str, field: str, message: str, value: str = "NULL", *, frm: str = "__stage") -> str:
    return (
        f"SELECT __row, {literal(field)} AS field, {message} AS message, CAST({value} AS VARCHAR) AS value "
        f"FROM {frm} WHERE {where}"
    )


def _has_control(col: str, kind: str) -> str:
    pattern = literal(ID_CONTROL_PATTERN)
    if kind == "string_list":
        return f"len(list_filter({col}, lambda m: regexp_matches(m, {pattern}))) > 0"
    return f"regexp_matches({col}, {pattern})"


def _rules(
    table: str, staged: Staged, source: Source, plan: ColumnPlan, *, latest_event: datetime | None
) -> list[str]:
    present = staged.present
    rules: list[str] = []
    for spec in TABLE_FIELDS[table]:
        name, col = spec.name, ident(spec.name)
        if name not in plan.fields:
            continue
        if spec.kind != "string":
            rules.append(
                _rule(
                    f"{_raw(name)} IS NOT NULL AND {col} IS NULL",
                    name,
                    literal(EXPECTED[spec.kind]),
                    _raw(name),
                )
            )
        if spec.required and not (table == "items" and name == "title"):
            missing = f"{col} IS NULL" if spec.kind == "string" else f"{_raw(name)} IS NULL"
            rules.append(_rule(missing, name, "'is required'"))
        if spec.minimum is not None:
            rules.append(
                _rule(f"{col} < {spec.minimum!r}", name, literal(f"must be >= {spec.minimum:g}"), _raw(name))
            )
        if spec.kind == "int":
            rules.append(_rule(f"{col} > {_INT_MAX}", name, literal(f"must be <= {_INT_MAX}"), _raw(name)))
        if spec.identifier and (table, name) not in _CATALOG_IDS:
            raw = col if spec.kind == "string" else _raw(name)
            rules.append(
                _rule(_has_control(col, spec.kind), name, "'must not contain control characters'", raw)
            )
        if spec.choices is not None:
            options = ", ".join(literal(c) for c in spec.choices)
            rules.append(
                _rule(
                    f"{col} IS NOT NULL AND {col} NOT IN ({options})",
                    name,
                    literal(f"must be one of {list(spec.choices)}"),
                    col,
                )
            )

    id_field = ID_FIELD[table]
    if id_field in plan.fields:
        idc = ident(id_field)
        first = f"'duplicate of {source.unit} ' || CAST(__first + {source.line_offset} AS VARCHAR)"
        dup_src = (
            f"(SELECT __row, {idc}, min(__row) OVER (PARTITION BY {idc}) AS __first "
            f"FROM __stage WHERE {idc} IS NOT NULL)"
        )
        rules.append(_rule("__row > __first", id_field, first, idc, frm=dup_src))

    if table == "items":
        new_item = "item_id IS NOT NULL AND item_id NOT IN (SELECT item_id FROM items)"
        title_missing = f"title IS NULL AND {new_item}" if "title" in present else new_item
        rules.append(_rule(title_missing, "title", "'is required for a new item'"))
        if "image" in present:
            rules.append(
                "SELECT s.__row, 'image' AS field, i.error AS message, s.image AS value "
                "FROM __stage s JOIN __images i ON s.image = i.value WHERE i.error IS NOT NULL"
            )
    elif table == "events":
        rules.append(
            "SELECT s.__row, 'item_id' AS field, 'must be in the catalog' AS message, s.item_id AS value "
            "FROM __stage s ANTI JOIN items i ON s.item_id = i.item_id WHERE s.item_id IS NOT NULL"
        )
        if latest_event is not None:
            limit = latest_event.strftime("%Y-%m-%d %H:%M:%S.%f")
            message = (
                f"must not be in the future (later than {limit[:19]} UTC, the shop's clock plus its skew)"
            )
            rules.append(
                _rule(
                    f"timestamp > TIMESTAMP {literal(limit)}",
                    "timestamp",
                    literal(message),
                    _raw("timestamp"),
                )
            )
    elif table == "sets":
        rules.append(
            _rule(
                "item_ids IS NOT NULL AND len(item_ids) < 2",
                "item_ids",
                "'must list at least 2 distinct items'",
                _raw("item_ids"),
            )
        )
        rules.append(
            "SELECT m.__row, 'item_ids' AS field, 'member must be in the catalog' AS message, "
            "m.member AS value "
            "FROM (SELECT __row, unnest(item_ids) AS member FROM __stage) m "
            "ANTI JOIN items i ON m.member = i.item_id"
        )
    return rules


def collect_errors(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    source: Source,
    plan: ColumnPlan,
    *,
    max_errors: int | None,
    latest_event: datetime | None = None,
) -> tuple[list[RowError], int, int]:
    """Run every rule into ``__errors``; returns (first ``max_errors`` errors, error count, bad rows).

    ``latest_event`` (naive UTC) is the latest event time accepted: events after it are rejected,
    so one client's wrong clock cannot move the shop's "now" (``None``: no limit).
    """
    rules = _rules(staged.table, staged, source, plan, latest_event=latest_event)
    con.execute(f"CREATE TEMP TABLE __errors AS {' UNION ALL '.join(rules)}")
    n_errors, n_bad = fetch_one(con, "SELECT count(*), count(DISTINCT __row) FROM __errors")
    limit = "" if max_errors is None else f" LIMIT {int(max_errors)}"
    rows = con.execute(
        f"SELECT __row, field, message, value FROM __errors ORDER BY __row, field{limit}"
    ).fetchall()
    errors = [
        RowError(
            line=int(r[0]) + source.line_offset,
            field=str(r[1]),
            message=str(r[2]),
            value=None if r[3] is None else str(r[3]),
            source=source.name,
            unit=source.unit,
        )
        for r in rows
    ]
    return errors, int(n_errors), int(n_bad)


def make_good_view(con: duckdb.DuckDBPyConnection, *, any_bad: bool) -> None:
    """``__good``: the staged rows without errors (the whole stage when nothing was rejected)."""
    if any_bad:
        con.execute(
            "CREATE TEMP VIEW __good AS SELECT s.* FROM __stage s "
            "ANTI JOIN (SELECT DISTINCT __row FROM __errors) e ON s.__row = e.__row"
        )
    else:
        con.execute("CREATE TEMP VIEW __good AS SELECT * FROM __stage")
