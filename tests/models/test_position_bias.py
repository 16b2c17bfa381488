"""Position propensities from impressions and the inverse-propensity weights of clicks."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import SchemaError
from lookbook.models.collaborative.position_bias import inverse_propensity, position_propensity


def test_propensity_is_each_positions_click_rate_relative_to_the_top() -> None:
    # position 0: 4 of 8 clicked; position 1: 2 of 8; position 2: 1 of 8
    positions = np.repeat([0, 1, 2], 8)
    clicked = np.zeros(24, bool)
    clicked[[0, 1, 2, 3, 8, 9, 16]] = True
    np.testing.assert_allclose(position_propensity(positions, clicked), [1.0, 0.5, 0.25])


def test_propensity_is_non_increasing_floored_and_fills_unseen_positions() -> None:
    positions = np.array([0, 0, 2, 2, 3, 3])
    clicked = np.array([True, False, True, True, False, False])  # position 2 beats the top: noise
    p = position_propensity(positions, clicked, floor=0.1)
    np.testing.assert_allclose(p, [1.0, 1.0, 1.0, 0.1])


def test_inverse_propensity_clips_and_leaves_unpositioned_events_alone() -> None:
    p = np.array([1.0, 0.5, 0.05], np.float32)
    w = inverse_propensity([0, 1, 2, 7, -1], p, clip=10.0)
    np.testing.assert_allclose(w, [1.0, 2.0, 10.0, 10.0, 1.0])


def test_bad_impressions_name_the_problem() -> None:
    with pytest.raises(SchemaError, match="top position has no clicks"):
        position_propensity([0, 1], [False, True])
    with pytest.raises(SchemaError, match="2 positions but 1 click"):
        position_propensity([0, 1], [True])
