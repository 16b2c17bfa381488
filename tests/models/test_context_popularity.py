"""Context popularity: each region gets its own bestsellers, small contexts borrow from the shop."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import NotFittedError, SchemaError
from lookbook.models.collaborative.context import ContextPopularity
from lookbook.models.collaborative.data import EventWeights
from lookbook.models.collaborative.loading import interactions_from_arrays


def region_log():
    # north buys item 0 (40 times) and 2 (5); south buys item 1 (40) and 2 (5); west has one event on 3
    items = [0] * 40 + [2] * 5 + [1] * 40 + [2] * 5 + [3]
    regions = ["north"] * 45 + ["south"] * 45 + ["west"]
    n = len(items)
    data = interactions_from_arrays(
        np.char.add("u", (np.arange(n) % 7).astype(str)),
        np.char.add("i", np.asarray(items).astype(str)),
        np.arange(n),
        None,
        EventWeights(half_life_days=None),
        np.char.add("i", np.arange(5).astype(str)),
    )
    return data, np.asarray(regions)


def test_each_context_ranks_its_own_bestseller_first_and_unknown_gets_global() -> None:
    data, regions = region_log()
    model = ContextPopularity(prior=5.0).fit(data, regions)
    row = data.item_ids.lookup(["i0", "i1", "i2", "i3", "i4"])
    assert np.argmax(model.scores("north")) == row[0]
    assert np.argmax(model.scores("south")) == row[1]
    np.testing.assert_allclose(model.scores("mars"), model.scores(None))
    np.testing.assert_allclose(model.scores("north").sum(), 1.0, rtol=1e-5)


def test_a_tiny_context_is_shrunk_towards_global_popularity() -> None:
    data, regions = region_log()
    model = ContextPopularity(prior=50.0).fit(data, regions)
    west = model.scores("west")
    row = data.item_ids.lookup(["i0", "i3"])
    assert west[row[0]] > west[row[1]] * 0.5  # one event on item 3 does not make it west's only item
    assert ContextPopularity(prior=0.0).fit(data, regions).scores("west")[row[1]] == pytest.approx(1.0)


def test_bad_context_length_and_unfitted_use_are_clear_errors() -> None:
    data, regions = region_log()
    with pytest.raises(SchemaError, match="one value per event"):
        ContextPopularity().fit(data, regions[:3])
    with pytest.raises(NotFittedError):
        ContextPopularity().scores("north")
