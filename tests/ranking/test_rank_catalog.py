"""CatalogArrays: columns from an items table, real-time upserts and removals, errors by row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lookbook.errors import NotFound, SchemaError
from lookbook.ranking import MISSING_TIME, SLOT_VOCAB, CatalogArrays

from .conftest import items_table


def _sizes_of(catalog: CatalogArrays, row: int) -> set[str]:
    bits = catalog.sizes[row]
    return {s for c, s in enumerate(catalog.size_vocab) if (int(bits[c // 64]) >> (c % 64)) & 1}


def test_columns_are_row_aligned_codes(catalog: CatalogArrays) -> None:
    assert len(catalog) == 8 and catalog.ids.row("c") == 2
    assert [SLOT_VOCAB[s] for s in catalog.slot] == [
        "top",
        "top",
        "bottom",
        "shoes",
        "bag",
        "dress",
        "accessory",
        "outerwear",
    ]
    brands = [catalog.brand_vocab[b] if b >= 0 else None for b in catalog.brand]
    assert brands == ["Acme", "Bold", "Acme", "Cobble", "Bold", "Dune", None, "Acme"]
    assert catalog.category_vocab[catalog.category[7]] == "jacket"
    assert _sizes_of(catalog, 0) == {"S", "M", "L"} and _sizes_of(catalog, 3) == {"38", "39"}
    assert _sizes_of(catalog, 6) == set()
    assert np.isnan(catalog.price[6]) and catalog.price[3] == pytest.approx(120.0)
    assert catalog.in_stock.tolist() == [True, True, False, True, True, True, True, True]
    assert catalog.created_at[1] - catalog.created_at[0] == 86_400
    assert catalog.popularity[5] == 5.0 and catalog.alive.all()


def test_missing_columns_take_the_data_model_defaults() -> None:
    catalog = CatalogArrays.from_items(pa.table({"item_id": ["x", "y"]}))
    assert [SLOT_VOCAB[s] for s in catalog.slot] == ["other", "other"]
    assert (catalog.brand == -1).all() and np.isnan(catalog.price).all() and catalog.in_stock.all()
    assert (catalog.created_at == MISSING_TIME).all() and (catalog.sizes == 0).all()


def test_size_vocabularies_beyond_64_sizes_use_more_words() -> None:
    sizes = [[f"s{i}"] for i in range(70)]
    catalog = CatalogArrays.from_items(pa.table({"item_id": [f"i{i}" for i in range(70)], "sizes": sizes}))
    assert catalog.n_words == 2
    assert _sizes_of(catalog, 69) == {"s69"}


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("price", [1.0, -3.0, 2.0], r"row 1 \(id 'y'\) price: expected a finite number >= 0, got -3.0"),
        ("slot", ["top", "top", "hat"], r"row 2 \(id 'z'\) slot: expected one of"),
    ],
)
def test_bad_rows_are_named_with_their_field(column: str, values: list[object], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        CatalogArrays.from_items(pa.table({"item_id": ["x", "y", "z"], column: values}))


def test_missing_ids_and_duplicates_are_rejected() -> None:
    with pytest.raises(SchemaError, match="item_id: required column is missing"):
        CatalogArrays.from_items(pa.table({"price": [1.0]}))
    with pytest.raises(SchemaError, match="items row 1 item_id: is required"):
        CatalogArrays.from_items(pa.table({"item_id": ["x", None]}))
    with pytest.raises(SchemaError, match="duplicate id 'x'"):
        CatalogArrays.from_items(pa.table({"item_id": ["x", "y", "x"]}))
    with pytest.raises(SchemaError, match="popularity: row 1"):
        CatalogArrays.from_items(pa.table({"item_id": ["x", "y"]}), popularity=[1.0, -1.0])


def test_upsert_changes_only_given_columns_and_appends_new_items(catalog: CatalogArrays) -> None:
    update = pa.table({"item_id": ["c", "z"], "price": [45.0, 10.0], "brand": ["Acme", "Zeta"]})
    after = catalog.upsert(update)
    assert len(after) == 9 and after.ids.row("z") == 8
    assert after.price[2] == pytest.approx(45.0) and after.price[8] == pytest.approx(10.0)
    assert not after.in_stock[2]  # not in the update: kept
    assert (
        after.brand_vocab[after.brand[8]] == "Zeta"
        and after.brand_vocab[: len(catalog.brand_vocab)] == catalog.brand_vocab
    )
    assert SLOT_VOCAB[after.slot[8]] == "other" and after.in_stock[8]
    # the old snapshot is untouched (copy on write)
    assert catalog.price[2] == pytest.approx(50.0) and len(catalog) == 8


def test_upsert_sells_out_and_adds_sizes(catalog: CatalogArrays) -> None:
    after = catalog.upsert(pa.table({"item_id": ["a"], "in_stock": [False], "sizes": [["M", "XXL"]]}))
    assert not after.in_stock[0] and catalog.in_stock[0]
    assert _sizes_of(after, 0) == {"M", "XXL"}
    assert _sizes_of(after, 3) == {"38", "39"}


def test_remove_keeps_rows_and_upsert_revives(catalog: CatalogArrays) -> None:
    gone = catalog.remove(["b", "d"])
    assert gone.alive.tolist() == [True, False, True, False, True, True, True, True] and len(gone) == 8
    with pytest.raises(NotFound, match="'nope'"):
        catalog.remove(["nope"])
    assert catalog.remove(["nope"], missing_ok=True).alive.all()
    back = gone.upsert(pa.table({"item_id": ["b"]}))
    assert back.alive[1] and back.ids.row("b") == 1


def test_from_items_reads_the_world_layout() -> None:
    catalog = CatalogArrays.from_items(items_table().select(["item_id", "slot", "price"]))
    assert len(catalog) == 8 and catalog.price[0] == pytest.approx(20.0)
