"""``load_interactions``: generic CSVs and the MovieLens formats, from small files written per test."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from lookbook.datasets.interactions import (
    MOVIELENS_DISLIKE_MAX,
    MOVIELENS_PURCHASE_MIN,
    load_interactions,
    movielens_kinds,
)
from lookbook.datasets.world import World
from lookbook.errors import LookbookError, NotFound, SchemaError


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def _events(world: World) -> list[dict[str, Any]]:
    return world.events.to_pylist()


# --------------------------------------------------------------------------------------------------
# Generic files
# --------------------------------------------------------------------------------------------------


def test_generic_csv_with_kind_and_iso_timestamps(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv",
        "user_id,item_id,timestamp,kind,extra\n"
        "u1,A,2020-01-01T10:00:00Z,view,x\n"
        "u1,B,2020-01-01T09:00:00+02:00,Purchase,y\n"
        "u2,A,2020-01-01 12:30:00,,z\n"
        "u2,C,2020-01-02,add_to_bag,w\n",
    )
    events = _events(load_interactions(path, kind="click"))
    assert [(e["user_id"], e["item_id"], e["kind"]) for e in events] == [
        ("u1", "B", "purchase"),  # 07:00 UTC: events come sorted by time
        ("u1", "A", "view"),
        ("u2", "A", "click"),  # an empty kind takes the default
        ("u2", "C", "add_to_bag"),
    ]
    assert [e["timestamp"] for e in events] == [
        datetime(2020, 1, 1, 7, tzinfo=UTC),
        datetime(2020, 1, 1, 10, tzinfo=UTC),
        datetime(2020, 1, 1, 12, 30, tzinfo=UTC),
        datetime(2020, 1, 2, tzinfo=UTC),
    ]


def test_generic_csv_without_kind_uses_the_default_and_epoch_seconds(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.csv", "item_id,user_id,timestamp\nA,u1,1600000000\nB,u2,1600000001.5\n")
    world = load_interactions(path)
    assert {e["kind"] for e in _events(world)} == {"purchase"}
    assert _events(world)[1]["timestamp"] == datetime(2020, 9, 13, 12, 26, 41, 500000, tzinfo=UTC)
    assert world.meta["source"] == "interactions" and world.meta["domain"] == "fashion"


def test_epoch_milliseconds_are_converted_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "events.csv", "user_id,item_id,timestamp\nu1,A,1600000000000\n")
    with caplog.at_level(logging.WARNING, logger="lookbook.datasets.interactions"):
        events = _events(load_interactions(path))
    assert events[0]["timestamp"] == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)
    assert "milliseconds" in caplog.text


def test_ids_that_look_numeric_stay_strings(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv", "user_id,item_id,timestamp\n007,0012,2020-01-01\n7,12,2020-01-02\n"
    )
    world = load_interactions(path)
    assert world.users.column("user_id").to_pylist() == ["007", "7"]
    assert world.items.column("item_id").to_pylist() == ["0012", "12"]
    assert world.items.column("title").to_pylist() == ["0012", "12"]
    assert set(world.items.column("slot").to_pylist()) == {"other"}


def test_separator_is_detected_or_given(tmp_path: Path) -> None:
    tsv = _write(tmp_path / "events.tsv", "user_id\titem_id\ttimestamp\nu1\tA\t2020-01-01\n")
    assert load_interactions(tsv).events.num_rows == 1
    semi = _write(tmp_path / "events.txt", "user_id;item_id;timestamp\nu1;A,1;2020-01-01\n")
    assert _events(load_interactions(semi, sep=";"))[0]["item_id"] == "A,1"


def test_generic_item_file_gives_titles_slots_and_prices(tmp_path: Path) -> None:
    events = _write(tmp_path / "events.csv", "user_id,item_id,timestamp\nu1,A,2020-01-01\nu1,Z,2020-01-02\n")
    items = _write(
        tmp_path / "items.csv",
        "item_id,title,slot,price,colour\nA,Linen shirt,top,19.5,white\nB,Jeans,bottom,,\n",
    )
    rows = {r["item_id"]: r for r in load_interactions(events, items_path=items).items.to_pylist()}
    assert (rows["A"]["title"], rows["A"]["slot"], rows["A"]["price"]) == ("Linen shirt", "top", 19.5)
    assert rows["B"]["price"] is None  # a cold item of the catalog is kept
    assert (rows["Z"]["title"], rows["Z"]["slot"]) == ("Z", "other")  # an event item missing from it is added


# --------------------------------------------------------------------------------------------------
# MovieLens
# --------------------------------------------------------------------------------------------------


def test_movielens_rating_kinds() -> None:
    ratings = pa.array([0.5, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0])
    assert movielens_kinds(ratings).to_pylist() == [
        "dislike", "dislike", "dislike", "view", "view", "view", "purchase", "purchase",
    ]  # fmt: skip
    assert (MOVIELENS_DISLIKE_MAX, MOVIELENS_PURCHASE_MIN) == (2.0, 4.0)


def test_movielens_csv_with_movies_beside_it(tmp_path: Path) -> None:
    ratings = _write(
        tmp_path / "ml" / "ratings.csv",
        "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,5.0,1260759179\n2,31,1.0,1260759182\n",
    )
    _write(tmp_path / "ml" / "movies.csv", 'movieId,title,genres\n31,"Dangerous Minds, The (1995)",Drama\n')
    world = load_interactions(ratings, kind="view")
    assert [e["kind"] for e in _events(world)] == ["view", "purchase", "dislike"]
    titles = dict(
        zip(world.items.column("item_id").to_pylist(), world.items.column("title").to_pylist(), strict=True)
    )
    assert titles == {"31": "Dangerous Minds, The (1995)", "1029": "1029"}
    assert world.meta["source"] == "movielens" and world.meta["format"] == "movielens_csv"


def test_movielens_dat_with_latin1_movies(tmp_path: Path) -> None:
    ratings = _write(
        tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::2::978298413\n"
    )
    _write(
        tmp_path / "movies.dat",
        "1193::Amélie (2001)::Comedy|Romance\n661::Up: The Movie (1996)::Animation\n",
        "latin-1",
    )
    world = load_interactions(ratings)
    assert world.events.num_rows == 3
    assert sorted(world.items.column("title").to_pylist()) == ["Amélie (2001)", "Up: The Movie (1996)"]
    assert {e["kind"] for e in _events(world)} == {"purchase", "view", "dislike"}


def test_movielens_u_data(tmp_path: Path) -> None:
    path = _write(tmp_path / "u.data", "196\t242\t3\t881250949\n186\t302\t4\t891717742\n")
    world = load_interactions(path)
    assert [(e["user_id"], e["item_id"], e["kind"]) for e in _events(world)] == [
        ("196", "242", "view"),
        ("186", "302", "purchase"),
    ]


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


def test_a_file_of_no_known_format_is_refused_naming_file_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "clicks.csv", "visitor,product,when\na,b,2020-01-01\n")
    with pytest.raises(SchemaError, match=r"clicks\.csv user_id: required column is missing"):
        load_interactions(path)


def test_a_headerless_csv_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "ratings.csv", "1,31,2.5,1260759144\n")
    with pytest.raises(SchemaError, match=r"ratings\.csv line 1: the file has no header"):
        load_interactions(path)


def test_a_short_row_is_named_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.csv", "user_id,item_id,timestamp\nu1,A,2020-01-01\nu2,B\n")
    with pytest.raises(SchemaError, match=r"events\.csv line 3"):
        load_interactions(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("u1,A,2020-01-01,buy\n", r"kind: expected one of .* on line 2, got 'buy'"),
        ("u1,A,yesterday,view\n", r"timestamp: cannot read 'yesterday' on line 2"),
        ("u1,A,2020-01-01,view\nu1,B,1600000000,view\n", r"timestamp: mixes epoch seconds and ISO-8601"),
        ("u1,,2020-01-01,view\n", r"item_id: empty on line 2"),
    ],
)
def test_bad_values_are_named_with_column_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "events.csv", "user_id,item_id,timestamp,kind\n" + body)
    with pytest.raises(SchemaError, match=message):
        load_interactions(path)


def test_a_bad_rating_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,2,five,1260759144\n")
    with pytest.raises(SchemaError, match=r"rating: expected a number on line 2, got 'five'"):
        load_interactions(path)


def test_bad_arguments_and_missing_files(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.csv", "user_id,item_id,timestamp\nu1,A,2020-01-01\n")
    with pytest.raises(LookbookError, match="kind"):
        load_interactions(path, kind="buy")
    with pytest.raises(NotFound, match=r"nowhere\.csv"):
        load_interactions(tmp_path / "nowhere.csv")
    with pytest.raises(SchemaError, match="empty"):
        load_interactions(_write(tmp_path / "empty.csv", ""))


# --------------------------------------------------------------------------------------------------
# Scale
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_rows_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    table = pa.table(
        {
            "user_id": rng.integers(0, 50_000, n).astype(str),
            "item_id": np.char.add("0", rng.integers(0, 20_000, n).astype(str)),
            "timestamp": rng.integers(1_500_000_000, 1_700_000_000, n).astype(str),
        }
    )
    path = tmp_path / "big.csv"
    pa_csv.write_csv(table, path)
    world = load_interactions(path)
    assert world.events.num_rows == n
    assert world.items.column("item_id")[0].as_py().startswith("0")
