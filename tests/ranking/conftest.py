"""Small fixtures for the ranking stages: an eight-item catalog whose answers are obvious.

| row | id | slot      | category | brand  | price | sizes     | in stock |
|-----|----|-----------|----------|--------|-------|-----------|----------|
| 0   | a  | top       | tee      | Acme   | 20    | S M L     | yes      |
| 1   | b  | top       | tee      | Bold   | 30    | XS S      | yes      |
| 2   | c  | bottom    | jeans    | Acme   | 50    | M         | no       |
| 3   | d  | shoes     | boots    | Cobble | 120   | 38 39     | yes      |
| 4   | e  | bag       | tote     | Bold   | 80    | ONE       | yes      |
| 5   | f  | dress     | midi     | Dune   | 90    | S L       | yes      |
| 6   | g  | accessory | scarf    | (none) | (none)| (none)    | yes      |
| 7   | h  | outerwear | jacket   | Acme   | 200   | M L       | yes      |

The user of ``user`` wears top M (also dresses and outerwear), bottom S and shoes 38, disliked
``b`` and bought ``e``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from lookbook.ranking import CatalogArrays, UserContext

NOW = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())


def items_table() -> pa.Table:
    created = [datetime(2026, 1, d + 1, tzinfo=UTC) for d in range(8)]
    return pa.table(
        {
            "item_id": list("abcdefgh"),
            "title": [f"item {x}" for x in "abcdefgh"],
            "slot": ["top", "top", "bottom", "shoes", "bag", "dress", "accessory", "outerwear"],
            "category": ["tee", "tee", "jeans", "boots", "tote", "midi", "scarf", "jacket"],
            "brand": ["Acme", "Bold", "Acme", "Cobble", "Bold", "Dune", None, "Acme"],
            "price": [20.0, 30.0, 50.0, 120.0, 80.0, 90.0, None, 200.0],
            "sizes": [
                ["S", "M", "L"],
                ["XS", "S"],
                ["M"],
                ["38", "39"],
                ["ONE"],
                ["S", "L"],
                None,
                ["M", "L"],
            ],
            "in_stock": [True, True, False, True, True, True, True, True],
            "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        }
    )


@pytest.fixture
def catalog() -> CatalogArrays:
    return CatalogArrays.from_items(items_table(), popularity=np.arange(8, dtype=np.float32))


@pytest.fixture
def user(catalog: CatalogArrays) -> UserContext:
    return UserContext.build(
        catalog,
        sizes={"top": "M", "bottom": "S", "shoes": "38"},
        history_rows=[1, 4, 0, 0, 3],
        history_kinds=["dislike", "purchase", "click", "save", "view"],
        now=NOW,
        user_id="u1",
    )
