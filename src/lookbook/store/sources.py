"""Inputs of an ingest, all exposed to DuckDB the same way: a temporary view ``__src`` with ``__row``.

A CSV, a Parquet file, a JSON Lines file, an Arrow table and a list of records all become one
relation whose columns are the input's own columns plus ``__row`` (1-based position in the input),
so the validation SQL that follows is written once for every format.

* CSV is read with every column as text (``all_varchar``): the validation step decides what a
  value means and reports the exact text it could not read, rather than a sniffer guessing types
  from the first rows and failing the whole file on line 90,000.
* Parquet and Arrow keep their native types (lists, maps, timestamps); the parsers in
  ``lookbook.store.parse`` accept both the typed and the text form of each field.
* JSON Lines are read as one JSON object per line and each key is extracted as text, so a key
  that only appears on some lines, or with a different type on some lines, does not break reading.

Rows are numbered in file order: DuckDB preserves insertion order for these scans, and Parquet
uses its own ``file_row_number``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from lookbook.errors import IngestError
from lookbook.store.sql import ident, literal

log = logging.getLogger(__name__)

__all__ = ["SRC", "Source", "file_format", "load_arrow", "load_file"]

#: Name of the temporary view every loader creates.
SRC = "__src"

_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz"),
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz"),
}


@dataclass(frozen=True)
class Source:
    """What the validation step needs to know about a loaded input.

    ``name`` and ``unit`` make error locations ("items.csv line 7", "items.parquet row 6");
    ``line_offset`` turns ``__row`` into that line (1 for CSV, whose header is line 1).
    ``base_dir`` is the folder that relative image paths resolve against. ``columns`` maps each
    input column (``__row`` excluded) to its DuckDB type.
    """

    name: str
    unit: str
    line_offset: int
    base_dir: Path | None
    columns: dict[str, str]


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name; anything else is an ``IngestError``."""
    name = path.name.lower()
    for fmt, suffixes in _FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    known = ", ".join(s for suffixes in _FORMATS.values() for s in suffixes)
    raise IngestError(f"{path.name}: unsupported file type; expected one of {known}")


def _describe(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {SRC}").fetchall()
    return {str(r[0]): str(r[1]) for r in rows if r[0] != "__row"}


def load_file(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    """Expose one file as ``__src``; unreadable files raise ``IngestError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    fmt = file_format(path)
    p = literal(str(path.resolve()))
    try:
        if fmt == "csv":
            con.execute(
                f"CREATE TEMP VIEW {SRC} AS SELECT row_number() OVER () AS __row, * "
                f"FROM read_csv({p}, all_varchar = true, header = true)"
            )
            unit, offset = "line", 1
        elif fmt == "parquet":
            con.execute(
                f"CREATE TEMP VIEW {SRC} AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number + 1 AS __row FROM read_parquet({p}, file_row_number = true)"
            )
            unit, offset = "row", 0
        else:
            _load_jsonl(con, p)
            unit, offset = "line", 0
        columns = _describe(con)
    except duckdb.Error as exc:
        raise IngestError(f"{path.name}: cannot be read as {fmt}: {exc}") from None
    log.debug("%s: %s columns %s", path.name, fmt, columns)
    return Source(
        name=path.name, unit=unit, line_offset=offset, base_dir=path.parent.resolve(), columns=columns
    )


def _load_jsonl(con: duckdb.DuckDBPyConnection, path_literal: str) -> None:
    con.execute(
        "CREATE TEMP TABLE __json AS SELECT row_number() OVER () AS __row, json "
        f"FROM read_json_objects({path_literal}, format = 'auto')"
    )
    keys = con.execute(
        "SELECT k FROM (SELECT unnest(json_keys(json)) AS k, __row FROM __json) "
        "GROUP BY k ORDER BY min(__row), k"
    ).fetchall()
    cols = []
    for (key,) in keys:
        json_path = literal('$."' + str(key).replace('"', '\\"') + '"')
        cols.append(f"json_extract_string(json, {json_path}) AS {ident(str(key))}")
    select = ", ".join(["__row", *cols])
    con.execute(f"CREATE TEMP VIEW {SRC} AS SELECT {select} FROM __json")


def load_arrow(
    con: duckdb.DuckDBPyConnection, table: pa.Table, *, name: str, base_dir: Path | None
) -> Source:
    """Expose an in-memory Arrow table (or converted records) as ``__src``, numbered from row 1."""
    if "__row" in table.column_names:
        table = table.drop_columns(["__row"])
    numbered = table.append_column("__row", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
    con.register("__arrow_in", numbered)
    con.execute(f"CREATE TEMP TABLE {SRC}_data AS SELECT * FROM __arrow_in")
    con.unregister("__arrow_in")
    con.execute(f"CREATE TEMP VIEW {SRC} AS SELECT * FROM {SRC}_data")
    return Source(name=name, unit="row", line_offset=0, base_dir=base_dir, columns=_describe(con))
