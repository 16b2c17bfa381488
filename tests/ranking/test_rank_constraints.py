"""Each hard constraint on its own, against the eight-item catalog of ``conftest``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lookbook.errors import SchemaError
from lookbook.ranking import (
    Anchor,
    CatalogArrays,
    Constraints,
    Relation,
    UserContext,
    apply_constraints,
    constraint_mask,
    from_rows,
    size_available,
)

from .conftest import NOW

ALL = np.arange(8)
NONE = Constraints(in_stock=False, size_available=False, exclude_disliked=False, exclude_bought=False)


def _passing(catalog: CatalogArrays, user: UserContext, constraints: Constraints) -> list[str]:
    c = from_rows(ALL, Anchor(Relation.FOR_YOU))
    return catalog.ids.to_ids(c.rows[constraint_mask(c, catalog, constraints, user)]).tolist()


def test_no_constraint_keeps_everything(catalog: CatalogArrays, user: UserContext) -> None:
    assert _passing(catalog, user, NONE) == list("abcdefgh")


def test_in_stock(catalog: CatalogArrays, user: UserContext) -> None:
    assert "c" not in _passing(
        catalog,
        user,
        Constraints(in_stock=True, size_available=False, exclude_disliked=False, exclude_bought=False),
    )


def test_size_available_uses_the_users_size_for_the_slot_group(
    catalog: CatalogArrays, user: UserContext
) -> None:
    only_size = Constraints(in_stock=False, size_available=True, exclude_disliked=False, exclude_bought=False)
    # a: top M ok; b: top XS/S no; c: bottom M but user is S; d: shoes 38 ok; e: one size;
    # f: a dress takes the top size (M), offered S/L; g: lists no sizes; h: outerwear M ok
    assert _passing(catalog, user, only_size) == ["a", "d", "e", "g", "h"]


def test_one_size_items_fit_everyone(catalog: CatalogArrays, user: UserContext) -> None:
    poncho = pa.table({"item_id": ["p", "q"], "slot": ["top", "top"], "sizes": [["ONE"], ["XL"]]})
    grown = catalog.upsert(poncho)
    assert size_available(grown, np.asarray([8, 9]), user.size_by_slot).tolist() == [True, False]


def test_a_user_without_sizes_is_not_constrained(catalog: CatalogArrays) -> None:
    anonymous = UserContext.build(catalog, now=NOW)
    assert size_available(catalog, ALL, anonymous.size_by_slot).all()


def test_a_size_no_item_has_matches_nothing_sized(catalog: CatalogArrays) -> None:
    giant = UserContext.build(catalog, sizes={"top": "XXXL"}, now=NOW)
    ok = size_available(catalog, ALL, giant.size_by_slot)
    assert catalog.ids.to_ids(ALL[~ok]).tolist() == ["a", "b", "f", "h"]


def test_disliked_and_bought(catalog: CatalogArrays, user: UserContext) -> None:
    disliked = Constraints(in_stock=False, size_available=False, exclude_disliked=True, exclude_bought=False)
    bought = Constraints(in_stock=False, size_available=False, exclude_disliked=False, exclude_bought=True)
    assert _passing(catalog, user, disliked) == list("acdefgh")
    assert _passing(catalog, user, bought) == list("abcdfgh")


def test_business_rules_exclude_brands_and_keep_a_price_band(
    catalog: CatalogArrays, user: UserContext
) -> None:
    no_acme = Constraints(
        in_stock=False,
        size_available=False,
        exclude_disliked=False,
        exclude_bought=False,
        exclude_brands=("Acme", "Unknown"),
    )
    assert _passing(catalog, user, no_acme) == list("bdefg")
    band = Constraints(
        in_stock=False,
        size_available=False,
        exclude_disliked=False,
        exclude_bought=False,
        price_min=30,
        price_max=100,
    )
    assert _passing(catalog, user, band) == list("bcef")  # g has no price: it fails a band


def test_removed_items_are_always_excluded(catalog: CatalogArrays, user: UserContext) -> None:
    assert _passing(catalog.remove(["a"]), user, NONE) == list("bcdefgh")


def test_all_defaults_together(catalog: CatalogArrays, user: UserContext) -> None:
    c = from_rows(ALL, Anchor(Relation.FOR_YOU))
    kept = apply_constraints(c, catalog, Constraints(), user)
    assert catalog.ids.to_ids(kept.rows).tolist() == ["a", "d", "g", "h"]


def test_bad_constraints_name_the_field() -> None:
    with pytest.raises(SchemaError, match="price_min"):
        Constraints(price_min=-1)
    with pytest.raises(SchemaError, match="price_min 9 is above price_max 3"):
        Constraints(price_min=9, price_max=3)
    with pytest.raises(SchemaError, match="exclude_brands"):
        Constraints(exclude_brands="Acme")  # type: ignore[arg-type]
