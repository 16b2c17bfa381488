"""SQL that turns one input column into one typed data-model field, for text and for typed inputs.

Each parser returns an expression that is the typed value, or ``NULL`` when the input is absent
*or* cannot be read. The validation step tells the two apart by looking at the raw value: present
raw text with a ``NULL`` result is a parse error, reported with that raw text. Parsers never raise
on bad data (``TRY_CAST``, guarded ``CASE`` branches), because one bad cell must reject one row,
not abort the statement that reads a million.

What each kind accepts (text form / typed form):

* ``float``: a decimal number; non-finite values (``nan``, ``inf``) are rejected.
* ``int``: a whole number (``3`` or ``3.0``; ``3.5`` is rejected, not rounded).
* ``bool``: ``true/false``, ``t/f``, ``yes/no``, ``y/n``, ``1/0`` in any case; numbers (non-zero).
* ``timestamp``: ISO-8601 with or without an offset (offsets are converted to UTC; no offset means
  UTC), a date alone (midnight UTC), or epoch seconds (integer or fractional; values beyond the
  year 5000 are rejected instead of guessing milliseconds); typed timestamps and dates.
* ``string_list``: a JSON list, or a ``|``-separated string (``S|M|L``); elements are trimmed and
  empty ones dropped; typed lists.
* ``string_map``: a JSON object (values become text); typed maps and structs.
* ``string``: trimmed text; an empty string counts as absent.
* ids (``FieldSpec.identifier``, strings and list members): ``schema.normalise_id``'s rule, so a
  file and a record give the same id: every whitespace character ``str.strip`` strips
  (``schema.ID_SPACE_CHARS``, not only spaces) comes off both ends; control characters inside are
  reported by validation.
"""

from __future__ import annotations

from lookbook.schema import ID_SPACE_CHARS, FieldSpec

__all__ = ["EXPECTED", "id_expr", "parse_expr", "raw_expr", "text_expr"]

#: What a field of each kind must look like, for "must be ..., got 'x'" messages.
EXPECTED: dict[str, str] = {
    "float": "must be a finite number",
    "int": "must be a whole number",
    "bool": "must be true or false",
    "timestamp": "must be an ISO-8601 timestamp, a date, or epoch seconds",
    "string_list": "must be a JSON list or a |-separated string",
    "string_map": "must be a JSON object",
}

_TRUE = "('true', 't', 'yes', 'y', '1')"
_FALSE = "('false', 'f', 'no', 'n', '0')"
_EPOCH_LIMIT = "1e11"  # seconds: about the year 5138; larger numbers are probably milliseconds
_ID_SPACE = "'" + ID_SPACE_CHARS.replace("'", "''") + "'"


_INTEGER_TYPES = frozenset(
    (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    )
)


def _category(dtype: str) -> str:
    """Coarse family of a DuckDB type name, which decides how a field is parsed from it."""
    t = dtype.upper()
    if t.endswith("]"):
        return "list"
    if t.startswith("MAP("):
        return "map"
    if t.startswith("STRUCT("):
        return "struct"
    if t in ("VARCHAR", "JSON") or t.startswith("VARCHAR"):
        return "text"
    if t == "BOOLEAN":
        return "bool"
    if t in _INTEGER_TYPES:
        return "integer"
    if t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t == "TIMESTAMP WITH TIME ZONE":
        return "timestamptz"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "timestamp"
    return "other"


def text_expr(col: str, dtype: str) -> str:
    """The value as trimmed text, ``NULL`` when absent or empty."""
    if _category(dtype) == "text":
        return f"NULLIF(trim({col}), '')"
    return f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"


def _id_trim(text: str) -> str:
    # DuckDB's ``trim(x, chars)`` is slow (seconds per million rows), so it only runs on values
    # that start or end with something other than printable ASCII (whitespace, or a rare id that
    # starts with "é"); testing both ends costs less than a plain ``trim``.
    plain = f"ascii({text}) BETWEEN 33 AND 126 AND ascii(right({text}, 1)) BETWEEN 33 AND 126"
    return f"(CASE WHEN {plain} THEN {text} ELSE trim({text}, {_ID_SPACE}) END)"


def id_expr(col: str, dtype: str) -> str:
    """An id as ``schema.normalise_id`` reads it: stripped of whitespace, ``NULL`` when absent or empty."""
    text = col if _category(dtype) == "text" else f"CAST({col} AS VARCHAR)"
    return f"NULLIF({_id_trim(text)}, '')"


def raw_expr(col: str, dtype: str) -> str:
    """The raw value as text, for error messages (typed lists and maps as JSON)."""
    cat = _category(dtype)
    if cat == "text":
        return f"NULLIF(trim({col}), '')"
    if cat in ("list", "map", "struct"):
        return f"CAST(to_json({col}) AS VARCHAR)"
    return f"CAST({col} AS VARCHAR)"


def _clean_list(expr: str, *, ids: bool = False) -> str:
    trimmed = _id_trim("CAST(s AS VARCHAR)") if ids else "trim(CAST(s AS VARCHAR))"
    return f"list_filter(list_transform({expr}, lambda s: {trimmed}), lambda s: s IS NOT NULL AND s <> '')"


def _epoch(expr: str) -> str:
    return f"(CASE WHEN abs({expr}) < {_EPOCH_LIMIT} THEN CAST(to_timestamp({expr}) AS TIMESTAMP) END)"


def parse_expr(spec: FieldSpec, col: str, dtype: str) -> str:
    """SQL for field ``spec`` read from input column ``col`` (already quoted) of DuckDB type ``dtype``."""
    cat = _category(dtype)
    x = text_expr(col, dtype)
    kind = spec.kind
    if kind == "string":
        if spec.identifier:
            return id_expr(col, dtype)
        if spec.choices is not None:
            return f"lower({x})"
        return x
    if kind == "float":
        v = f"CAST({col} AS DOUBLE)" if cat in ("integer", "float") else f"TRY_CAST({x} AS DOUBLE)"
        return f"(CASE WHEN isfinite({v}) THEN {v} END)"
    if kind == "int":
        if cat == "integer":
            return f"TRY_CAST({col} AS BIGINT)"
        d = f"CAST({col} AS DOUBLE)" if cat == "float" else f"TRY_CAST({x} AS DOUBLE)"
        return (
            f"(CASE WHEN isfinite({d}) AND {d} = floor({d}) AND abs({d}) < 9e15 THEN CAST({d} AS BIGINT) END)"
        )
    if kind == "bool":
        if cat == "bool":
            return col
        if cat in ("integer", "float"):
            return f"({col} <> 0)"
        return f"(CASE WHEN lower({x}) IN {_TRUE} THEN true WHEN lower({x}) IN {_FALSE} THEN false END)"
    if kind == "timestamp":
        if cat in ("timestamptz", "timestamp"):
            return f"CAST({col} AS TIMESTAMP)"
        if cat in ("integer", "float"):
            return _epoch(f"CAST({col} AS DOUBLE)")
        num = f"TRY_CAST({x} AS DOUBLE)"
        return (
            f"(CASE WHEN regexp_full_match({x}, '[+-]?[0-9]+(\\.[0-9]*)?') THEN {_epoch(num)} "
            f"ELSE CAST(TRY_CAST({x} AS TIMESTAMPTZ) AS TIMESTAMP) END)"
        )
    if kind == "string_list":
        if cat == "list":
            return _clean_list(f"CAST({col} AS VARCHAR[])", ids=spec.identifier)
        from_json = f"TRY_CAST(TRY_CAST({x} AS JSON) AS VARCHAR[])"
        split = f"string_split({x}, '|')"
        return _clean_list(
            f"(CASE WHEN starts_with({x}, '[') THEN {from_json} ELSE {split} END)", ids=spec.identifier
        )
    if kind == "string_map":
        if cat == "map":
            return f"CAST({col} AS MAP(VARCHAR, VARCHAR))"
        if cat == "struct":
            return f"TRY_CAST(to_json({col}) AS MAP(VARCHAR, VARCHAR))"
        j = f"TRY_CAST({x} AS JSON)"
        return f"(CASE WHEN json_type({j}) = 'OBJECT' THEN TRY_CAST({j} AS MAP(VARCHAR, VARCHAR)) END)"
    raise ValueError(f"FieldSpec {spec.name} kind: expected one of the schema kinds, got {kind!r}")
