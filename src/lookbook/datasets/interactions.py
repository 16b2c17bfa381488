"""Generic interaction files (and the MovieLens formats) as a Lookbook ``World``.

Most shops can export "who did what to which item, when" long before they can export a clean
catalog, and most public recommender benchmarks are MovieLens files. ``load_interactions`` turns
either into a ``World`` with events, users and a minimal catalog, so every model and metric can
run on them unchanged.

Supported files, detected from the file name and the header:

* **generic CSV** with a header ``user_id,item_id,timestamp[,kind]`` (any order, extra columns
  ignored, names case-insensitive; comma, tab, semicolon or pipe separated);
* **MovieLens** ``ratings.csv`` (``userId,movieId,rating,timestamp``; ML-latest, ML-20M, ML-25M),
  ``ratings.dat`` (``user::movie::rating::timestamp``, no header; ML-1M, ML-10M) and ``u.data``
  (tab separated, no header; ML-100K).

Reading is columnar (``pyarrow.csv``, multi-threaded): a million rows load in well under a second,
the 25M rows of ML-25M in seconds. There is no Python loop per row.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from lookbook.datasets.world import World
from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.schema import Domain, EventKind, Slot

log = logging.getLogger(__name__)

__all__ = ["MOVIELENS_DISLIKE_MAX", "MOVIELENS_PURCHASE_MIN", "load_interactions", "movielens_kinds"]

#: A MovieLens rating at or above this is a ``purchase``: a 4 or 5 star rating is the strongest
#: positive signal the data holds, so it plays the role a purchase plays in a shop.
MOVIELENS_PURCHASE_MIN = 4.0
#: A rating at or below this is a ``dislike``: 1-2 stars (0.5-2 in the half-star releases) is an
#: explicit "not for me". Ratings in between (2.5-3.5) only say the user watched the film: ``view``.
MOVIELENS_DISLIKE_MAX = 2.0

_SEPARATORS = (",", "\t", ";", "|")
_EPOCH = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
#: Epoch values above this are read as milliseconds (1e11 seconds is the year 5138).
_EPOCH_MS_ABOVE = 1e11


@dataclass(frozen=True)
class _Format:
    """How to read one interaction file: its family and the reader settings."""

    name: str  # "generic", "movielens_csv", "movielens_dat", "movielens_udata"
    sep: str
    header: bool
    columns: dict[str, str]  # data-model name -> column name in the file


def load_interactions(
    path: Path,
    *,
    kind: str = "purchase",
    sep: str | None = None,
    items_path: Path | None = None,
    domain: str = "fashion",
) -> World:
    """Load an interaction file as a ``World`` of users, events and a minimal catalog.

    Ids are always read as strings, so "007" stays "007". Timestamps are ISO-8601 (naive ones are
    taken as UTC, like everywhere in Lookbook) or epoch seconds; a file must use one or the other.
    Epoch values that can only be milliseconds (above 1e11) are converted with a warning.

    Event kinds: a generic file's ``kind`` column (case-insensitive, one of ``EventKind``; empty
    cells take ``kind``), else ``kind`` for every row. MovieLens ratings become kinds through
    ``movielens_kinds`` (``rating >= MOVIELENS_PURCHASE_MIN`` -> purchase, ``<= MOVIELENS_DISLIKE_MAX``
    -> dislike, else view), so ``kind`` is not used for them. Events are sorted by time (stably,
    so same-time rows keep file order).

    Items: every item id of the events, titled by the item file when there is one, else by the id,
    slot ``other`` unless the item file says otherwise. The item file is ``items_path``, or for
    MovieLens the ``movies.csv`` / ``movies.dat`` / ``u.item`` beside the ratings (movie titles,
    genres as the ``genres`` attribute). A generic item file is a CSV with ``item_id`` and any of
    ``title``, ``description``, ``category``, ``slot``, ``brand``, ``price``, ``image``. Items of the
    item file without events are kept: a catalog has cold items.

    Parameters
    ----------
    path:
        The interaction file.
    kind:
        Event kind of rows that do not say (generic files only).
    sep:
        Field separator of a generic file; detected from the header when ``None``.
    items_path:
        Optional item file (see above).
    domain:
        ``World.meta["domain"]``: which kind of shop the events come from.

    Raises
    ------
    NotFound
        The file does not exist.
    SchemaError
        The file is none of the formats above, or a value cannot be read; the message names the
        file and the column or the line.
    """
    path = Path(path)
    if kind not in {k.value for k in EventKind}:
        raise LookbookError(
            f"load_interactions kind: expected one of {[k.value for k in EventKind]}, got {kind!r}"
        )
    if domain not in {d.value for d in Domain}:
        raise LookbookError(
            f"load_interactions domain: expected one of {[d.value for d in Domain]}, got {domain!r}"
        )
    if not path.is_file():
        raise NotFound(f"{path}: interaction file not found")
    started = time.perf_counter()
    fmt = _detect(path, sep)
    raw = _read(path, fmt)
    line0 = 2 if fmt.header else 1  # file line of data row 0

    user_id = _ids(raw, fmt, "user_id", path, line0)
    item_id = _ids(raw, fmt, "item_id", path, line0)
    timestamp = _timestamps(raw.column(fmt.columns["timestamp"]), path, fmt.columns["timestamp"], line0)
    if fmt.name == "generic":
        kinds = _kinds(raw, fmt, kind, path, line0)
    else:
        rating = _floats(raw.column(fmt.columns["rating"]), path, fmt.columns["rating"], line0)
        if rating.null_count:
            bad = _first_bad(pc.is_null(rating))
            raise SchemaError(f"{path} {fmt.columns['rating']}: empty on line {bad + line0}")
        kinds = movielens_kinds(rating)

    events = pa.table({"user_id": user_id, "item_id": item_id, "kind": kinds, "timestamp": timestamp})
    events = events.take(pc.sort_indices(events, sort_keys=[("timestamp", "ascending")]))
    users = pa.table({"user_id": pc.unique(user_id)})

    catalog_path = items_path if items_path is not None else _movielens_items_beside(path, fmt)
    items = _items(pc.unique(item_id), Path(catalog_path) if catalog_path is not None else None)

    meta: dict[str, Any] = {
        "source": "movielens" if fmt.name.startswith("movielens") else "interactions",
        "domain": domain,
        "format": fmt.name,
        "path": str(path),
        "items_path": str(catalog_path) if catalog_path is not None else None,
        "items": items.num_rows,
        "users": users.num_rows,
        "events": events.num_rows,
    }
    if fmt.name.startswith("movielens"):
        meta["rating_kinds"] = {"purchase_min": MOVIELENS_PURCHASE_MIN, "dislike_max": MOVIELENS_DISLIKE_MAX}
    else:
        meta["default_kind"] = kind
    # Relative image paths of an item file are relative to that file's folder.
    root = Path(catalog_path).parent if catalog_path is not None else path.parent
    world = World(items=items, users=users, events=events, root=root, meta=meta)
    log.info(
        "loaded %s interactions from %s: %d events, %d users, %d items in %.2fs",
        fmt.name, path, events.num_rows, users.num_rows, items.num_rows, time.perf_counter() - started,
    )  # fmt: skip
    return world


def movielens_kinds(ratings: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Event kind of each MovieLens rating (see ``MOVIELENS_PURCHASE_MIN`` and ``MOVIELENS_DISLIKE_MAX``)."""
    r = np.asarray(pc.fill_null(ratings, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
    out = np.select(
        [r >= MOVIELENS_PURCHASE_MIN, r <= MOVIELENS_DISLIKE_MAX],
        [EventKind.PURCHASE.value, EventKind.DISLIKE.value],
        default=EventKind.VIEW.value,
    )
    return pa.array(out, pa.string())


# --------------------------------------------------------------------------------------------------
# Format detection and reading
# --------------------------------------------------------------------------------------------------


def _first_line(path: Path) -> str:
    with path.open("rb") as fh:
        line = fh.readline()
    if not line.strip():
        raise SchemaError(f"{path}: the file is empty or starts with a blank line; expected a header")
    return line.decode("utf-8-sig", errors="replace").rstrip("\r\n")


def _detect(path: Path, sep: str | None) -> _Format:
    """Work out the file's format from its name and first line, or raise naming what is missing."""
    name = path.name.lower()
    first = _first_line(path)
    if name == "u.data" or name.endswith(".data"):
        if len(first.split("\t")) != 4:
            raise SchemaError(
                f"{path} line 1: expected MovieLens u.data 'user<TAB>item<TAB>rating<TAB>timestamp'"
            )
        cols = {"user_id": "user", "item_id": "item", "rating": "rating", "timestamp": "timestamp"}
        return _Format("movielens_udata", "\t", False, cols)
    if name.endswith(".dat") or sep == "::":
        if len(first.split("::")) != 4:
            raise SchemaError(
                f"{path} line 1: expected MovieLens ratings.dat 'user::item::rating::timestamp'"
            )
        cols = {"user_id": "user", "item_id": "item", "rating": "rating", "timestamp": "timestamp"}
        return _Format("movielens_dat", "::", False, cols)

    delimiter = sep if sep is not None else max(_SEPARATORS, key=first.count)
    names = [n.strip().strip('"').strip() for n in first.split(delimiter)]
    lower = {n.lower(): n for n in names}
    if {"userid", "movieid", "rating"} <= lower.keys():
        if "timestamp" not in lower:
            raise SchemaError(
                f"{path} timestamp: required column is missing from the MovieLens header {names}"
            )
        cols = {"user_id": lower["userid"], "item_id": lower["movieid"], "rating": lower["rating"]}
        cols["timestamp"] = lower["timestamp"]
        return _Format("movielens_csv", delimiter, True, cols)
    if all(_EPOCH.match(n) for n in names if n):
        raise SchemaError(
            f"{path} line 1: the file has no header; expected user_id,item_id,timestamp[,kind], MovieLens "
            f"ratings.csv, ratings.dat or u.data"
        )
    missing = [c for c in ("user_id", "item_id", "timestamp") if c not in lower]
    if missing:
        raise SchemaError(
            f"{path} {missing[0]}: required column is missing; expected a header "
            f"user_id,item_id,timestamp[,kind] or MovieLens userId,movieId,rating,timestamp, got {names}"
        )
    cols = {c: lower[c] for c in ("user_id", "item_id", "timestamp")}
    if "kind" in lower:
        cols["kind"] = lower["kind"]
    return _Format("generic", delimiter, True, cols)


def _read(path: Path, fmt: _Format) -> pa.Table:
    """Read the columns ``fmt`` needs, all as strings (ids keep leading zeros; values are checked later)."""
    if fmt.sep == "::":
        # pyarrow splits on one character: "a::b" read with ":" gives a, "", b. MovieLens ratings
        # hold only numbers, so the empty odd columns are the only side effect.
        names = ["user", "_1", "item", "_2", "rating", "_3", "timestamp"]
        read = pa_csv.ReadOptions(column_names=names)
        parse = pa_csv.ParseOptions(delimiter=":", quote_char=False)
    elif not fmt.header:
        names = ["user", "item", "rating", "timestamp"]
        read = pa_csv.ReadOptions(column_names=names)
        parse = pa_csv.ParseOptions(delimiter=fmt.sep, quote_char=False)
    else:
        read = pa_csv.ReadOptions()
        parse = pa_csv.ParseOptions(delimiter=fmt.sep)
    wanted = list(fmt.columns.values())
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(wanted, pa.string()),
        include_columns=wanted,
        strings_can_be_null=True,
        null_values=[""],
    )
    try:
        return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise SchemaError(f"{path}{_bad_row(path, read, parse, convert)}: cannot be read ({exc})") from None


def _bad_row(
    path: Path, read: pa_csv.ReadOptions, parse: pa_csv.ParseOptions, convert: pa_csv.ConvertOptions
) -> str:
    """ " line N" of the first row with the wrong number of fields (re-read single-threaded), or ""."""
    found: list[int] = []

    def handler(row: Any) -> str:
        if row.number is not None and not found:
            found.append(int(row.number))
        return "skip"

    single = pa_csv.ReadOptions(column_names=read.column_names, use_threads=False, block_size=read.block_size)
    with contextlib.suppress(pa.ArrowInvalid):
        pa_csv.read_csv(
            path,
            read_options=single,
            parse_options=pa_csv.ParseOptions(
                delimiter=parse.delimiter, quote_char=parse.quote_char, invalid_row_handler=handler
            ),
            convert_options=convert,
        )
    return f" line {found[0]}" if found else ""


def _column(raw: pa.Table, fmt: _Format, name: str) -> pa.Array:
    return pc.utf8_trim_whitespace(raw.column(fmt.columns[name]).combine_chunks())


def _first_bad(mask: pa.Array | np.ndarray) -> int:
    values = mask.to_numpy(zero_copy_only=False) if isinstance(mask, pa.Array) else mask
    return int(np.flatnonzero(values)[0])


def _ids(raw: pa.Table, fmt: _Format, name: str, path: Path, line0: int) -> pa.Array:
    col = _column(raw, fmt, name)
    empty = pc.fill_null(pc.equal(col, ""), True)
    if pc.any(empty).as_py():
        raise SchemaError(f"{path} {fmt.columns[name]}: empty on line {_first_bad(empty) + line0}")
    return col


def _floats(col: pa.Array | pa.ChunkedArray, path: Path, name: str, line0: int) -> pa.Array:
    """Strings -> float64; empty cells become null, anything else unreadable raises naming the line."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    col = pc.utf8_trim_whitespace(col)
    col = pc.if_else(pc.fill_null(pc.equal(col, ""), True), pa.scalar(None, pa.string()), col)
    ok = pc.fill_null(pc.match_substring_regex(col, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"), True)
    if not pc.all(ok).as_py():
        bad = _first_bad(pc.invert(ok))
        raise SchemaError(f"{path} {name}: expected a number on line {bad + line0}, got {col[bad].as_py()!r}")
    return col.cast(pa.float64())


def _timestamps(col: pa.ChunkedArray, path: Path, name: str, line0: int) -> pa.Array:
    """ISO-8601 strings or epoch seconds -> ``timestamp[us, UTC]``, naming the first unreadable value."""
    col = pc.utf8_trim_whitespace(col.combine_chunks())
    missing = pc.fill_null(pc.equal(col, ""), True)
    if pc.any(missing).as_py():
        raise SchemaError(f"{path} {name}: empty on line {_first_bad(missing) + line0}")
    epoch = pc.match_substring_regex(col, _EPOCH.pattern)
    if pc.all(epoch).as_py():
        integral = pc.all(pc.match_substring_regex(col, r"^-?\d+$")).as_py()
        seconds = col.cast(pa.int64()) if integral else col.cast(pa.float64())
        largest = pc.max(pc.abs(seconds)).as_py() or 0
        unit = 1_000_000
        if largest > _EPOCH_MS_ABOVE:
            log.warning("%s %s: epoch values are too large for seconds; read as milliseconds", path, name)
            unit = 1_000
        if integral:
            micros = pc.multiply_checked(seconds, unit)
        else:
            micros = pc.round(pc.multiply(seconds, float(unit))).cast(pa.int64())
        return micros.cast(pa.timestamp("us", tz="UTC"))
    if pc.any(epoch).as_py():
        if epoch[0].as_py():
            # The file starts with epoch seconds, so the first row that is not a number is the bad one.
            bad = _first_bad(pc.invert(epoch))
            raise SchemaError(
                f"{path} {name}: expected epoch seconds like line {line0}, got {col[bad].as_py()!r} on "
                f"line {bad + line0}"
            )
        bad = _first_bad(epoch)
        raise SchemaError(
            f"{path} {name}: mixes epoch seconds and ISO-8601; {col[bad].as_py()!r} on line {bad + line0} "
            "is a number but other rows are dates"
        )
    # Arrow parses a zone offset only into a zone-aware type and a naive time only into a naive one,
    # so the two kinds of rows are parsed apart; naive ones are UTC, as everywhere in Lookbook.
    aware = pc.fill_null(pc.match_substring_regex(col, r"([Zz]|[+-]\d\d:?\d\d)$"), False)
    null = pa.scalar(None, pa.string())
    try:
        with_zone = pc.if_else(aware, col, null).cast(pa.timestamp("us", tz="UTC"))
        naive = pc.if_else(aware, null, col).cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid as exc:
        match = re.search(r"Failed to parse string: '(.*?)'", str(exc))
        where = ""
        if match:
            idx = pc.index(col, match.group(1)).as_py()
            where = f" on line {idx + line0}" if idx >= 0 else ""
            value = match.group(1)
        else:
            value = str(exc)
        raise SchemaError(
            f"{path} {name}: cannot read {value!r}{where} as an ISO-8601 timestamp or epoch seconds"
        ) from None
    return pc.coalesce(with_zone, naive)


def _kinds(raw: pa.Table, fmt: _Format, default: str, path: Path, line0: int) -> pa.Array:
    if "kind" not in fmt.columns:
        return pa.array(np.full(raw.num_rows, default, dtype=object), pa.string())
    col = pc.utf8_lower(_column(raw, fmt, "kind"))
    col = pc.if_else(pc.fill_null(pc.equal(col, ""), True), pa.scalar(default), col)
    allowed = [k.value for k in EventKind]
    ok = pc.is_in(col, value_set=pa.array(allowed))
    if not pc.all(ok).as_py():
        bad = _first_bad(pc.invert(ok))
        raise SchemaError(
            f"{path} {fmt.columns['kind']}: expected one of {allowed} on line {bad + line0}, "
            f"got {col[bad].as_py()!r}"
        )
    return col


# --------------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------------


def _movielens_items_beside(path: Path, fmt: _Format) -> Path | None:
    """The MovieLens movie file next to the ratings, if present."""
    names = {
        "movielens_csv": "movies.csv",
        "movielens_dat": "movies.dat",
        "movielens_udata": "u.item",
    }
    name = names.get(fmt.name)
    if name is None:
        return None
    candidate = path.parent / name
    return candidate if candidate.is_file() else None


def _items(item_ids: pa.Array, catalog_path: Path | None) -> pa.Table:
    """One row per item: the item file's rows first (in file order), then event items it lacks."""
    if catalog_path is None:
        return pa.table(
            {
                "item_id": item_ids,
                "title": item_ids,
                "slot": _other(len(item_ids)),
                "in_stock": _true(len(item_ids)),
            }
        )
    if not catalog_path.is_file():
        raise NotFound(f"{catalog_path}: item file not found")
    catalog = _read_catalog(catalog_path)
    dup = pc.count_distinct(catalog.column("item_id")).as_py() != catalog.num_rows
    if dup:
        counts = pc.value_counts(catalog.column("item_id"))
        first = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))[0].as_py()
        raise SchemaError(f"{catalog_path} item_id: {first!r} appears more than once")
    extra = pc.filter(item_ids, pc.invert(pc.is_in(item_ids, value_set=catalog.column("item_id"))))
    if len(extra):
        log.warning(
            "%s: %d item ids of the events are not in the item file; titled by their id",
            catalog_path,
            len(extra),
        )
        filler = pa.table({"item_id": extra, "title": extra, "slot": _other(len(extra))})
        catalog = pa.concat_tables([catalog, filler], promote_options="default")
    if "in_stock" not in catalog.column_names:
        catalog = catalog.append_column("in_stock", _true(catalog.num_rows))
    return catalog


def _true(n: int) -> pa.Array:
    """Items of an interaction file are taken to be on sale: nothing in the file says otherwise."""
    return pa.array(np.ones(n, dtype=bool))


def _other(n: int) -> pa.Array:
    return pa.array(np.full(n, Slot.OTHER.value, dtype=object), pa.string())


def _read_catalog(path: Path) -> pa.Table:
    """Read a MovieLens movie file or a generic item CSV as ``item_id``, ``title``, ``slot``, ..."""
    name = path.name.lower()
    if name == "u.item":
        return _read_movielens_udata_items(path)
    if name.endswith(".dat"):
        return _read_movielens_dat_items(path)
    first = _first_line(path)
    delimiter = max(_SEPARATORS, key=first.count)
    names = [n.strip().strip('"').strip() for n in first.split(delimiter)]
    lower = {n.lower(): n for n in names}
    movielens = "movieid" in lower and "title" in lower
    id_col = lower.get("movieid") if movielens else lower.get("item_id")
    if id_col is None:
        raise SchemaError(f"{path} item_id: required column is missing from the item file header {names}")
    text_cols = ["title", "description", "category", "slot", "brand", "image", "genres"]
    wanted = {key: lower[key] for key in text_cols if key in lower}
    wanted["item_id"] = id_col
    price_col = lower.get("price")
    types = dict.fromkeys(wanted.values(), pa.string())
    if price_col is not None:
        types[price_col] = pa.string()
    read_cols = list(types)
    try:
        raw = pa_csv.read_csv(
            path,
            parse_options=pa_csv.ParseOptions(delimiter=delimiter),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, include_columns=read_cols, strings_can_be_null=True, null_values=[""]
            ),
        )
    except pa.ArrowInvalid as exc:
        raise SchemaError(f"{path}: cannot be read ({exc})") from None

    item_id = pc.utf8_trim_whitespace(raw.column(id_col).combine_chunks())
    empty = pc.fill_null(pc.equal(item_id, ""), True)
    if pc.any(empty).as_py():
        raise SchemaError(f"{path} {id_col}: empty on line {_first_bad(empty) + 2}")
    columns: dict[str, Any] = {"item_id": item_id}
    title = raw.column(wanted["title"]).combine_chunks() if "title" in wanted else item_id
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(title), ""), True)
    columns["title"] = pc.if_else(blank, item_id, title)
    for key in ("description", "category", "brand", "image"):
        if key in wanted:
            columns[key] = raw.column(wanted[key])
    if "slot" in wanted:
        slot = pc.utf8_lower(pc.utf8_trim_whitespace(raw.column(wanted["slot"]).combine_chunks()))
        slot = pc.coalesce(slot, pa.scalar(Slot.OTHER.value))
        allowed = [s.value for s in Slot]
        ok = pc.is_in(slot, value_set=pa.array(allowed))
        if not pc.all(ok).as_py():
            bad = _first_bad(pc.invert(ok))
            raise SchemaError(
                f"{path} {wanted['slot']}: expected one of {allowed} on line {bad + 2}, "
                f"got {slot[bad].as_py()!r}"
            )
        columns["slot"] = slot
    else:
        columns["slot"] = _other(raw.num_rows)
    if price_col is not None:
        columns["price"] = _floats(raw.column(price_col), path, price_col, 2)
    if "genres" in wanted:
        columns["attributes"] = _genres(raw.column(wanted["genres"]).combine_chunks())
    return pa.table(columns)


def _genres(genres: pa.Array) -> pa.Array:
    """``{"genres": "Action|Comedy"}`` per row, empty maps where the genres are unknown."""
    ok = pc.fill_null(pc.not_equal(genres, ""), False)
    ok_np = ok.to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(ok_np)]).astype(np.int32)
    keys = pa.array(np.full(int(ok_np.sum()), "genres", dtype=object), pa.string())
    return pa.MapArray.from_arrays(pa.array(offsets), keys, pc.filter(genres, ok))


def _read_text(path: Path) -> str:
    """MovieLens 1M and 100K movie files are Latin-1; later ones are UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_movielens_dat_items(path: Path) -> pa.Table:
    lines = pa.array([line for line in _read_text(path).splitlines() if line.strip()], pa.string())
    parts = pc.split_pattern(lines, "::", max_splits=2)
    ok = pc.equal(pc.list_value_length(parts), 3)
    if not pc.all(ok).as_py():
        bad = _first_bad(pc.invert(ok))
        raise SchemaError(
            f"{path} line {bad + 1}: expected 'movie::title::genres', got {lines[bad].as_py()!r}"
        )
    item_id = pc.utf8_trim_whitespace(pc.list_element(parts, 0))
    return pa.table(
        {
            "item_id": item_id,
            "title": pc.list_element(parts, 1),
            "slot": _other(len(lines)),
            "attributes": _genres(pc.list_element(parts, 2)),
        }
    )


def _read_movielens_udata_items(path: Path) -> pa.Table:
    lines = pa.array([line for line in _read_text(path).splitlines() if line.strip()], pa.string())
    parts = pc.split_pattern(lines, "|")
    ok = pc.greater_equal(pc.list_value_length(parts), 2)
    if not pc.all(ok).as_py():
        bad = _first_bad(pc.invert(ok))
        raise SchemaError(f"{path} line {bad + 1}: expected 'movie|title|...', got {lines[bad].as_py()!r}")
    return pa.table(
        {
            "item_id": pc.utf8_trim_whitespace(pc.list_element(parts, 0)),
            "title": pc.list_element(parts, 1),
            "slot": _other(len(lines)),
        }
    )
