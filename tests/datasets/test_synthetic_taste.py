"""The hidden taste model: deterministic, vectorised functions that agree with a readable loop."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.datasets.synthetic.catalog import make_brands, sample_items, sample_size_bits
from lookbook.datasets.synthetic.config import WorldConfig
from lookbook.datasets.synthetic.outfits import sample_sets
from lookbook.datasets.synthetic.population import sample_users
from lookbook.datasets.synthetic.taste import (
    affinity,
    affinity_matrix,
    colour_harmony,
    pair_compatibility,
    slot_complementarity,
    slot_pair_weights,
)
from lookbook.datasets.synthetic.vocab import COLOUR_INDEX, COLOURS, VOCABS
from lookbook.errors import SchemaError
from lookbook.schema import Domain


def _world(domain: str = "fashion", seed: int = 0, n_items: int = 600, n_users: int = 80):
    cfg = WorldConfig(domain=domain, n_items=n_items, n_users=n_users, seed=seed)
    vocab = VOCABS[cfg.domain]
    rng = np.random.default_rng(seed)
    brands = make_brands(vocab)
    items = sample_items(cfg, vocab, brands, rng)
    users = sample_users(cfg, vocab, brands, rng)
    base = np.log(np.array([vocab.base_price[s] for s in vocab.slots], dtype=np.float32))
    return cfg, vocab, items, users, base


def test_same_seed_same_truth_other_seed_other_truth() -> None:
    _, _, a, ua, _ = _world(seed=3)
    _, _, b, ub, _ = _world(seed=3)
    _, _, c, _, _ = _world(seed=4)
    np.testing.assert_array_equal(a.style, b.style)
    np.testing.assert_array_equal(ua.colour_pref, ub.colour_pref)
    assert not np.array_equal(a.colour, c.colour)


def test_attributes_follow_style_but_not_perfectly() -> None:
    """Content carries evidence of style (so content models can learn) but is not a giveaway."""
    _, vocab, items, _, _ = _world(n_items=4000)
    favoured = np.array(
        [
            COLOUR_INDEX[COLOURS[c].name] in [COLOUR_INDEX[x] for x in vocab.styles[s].colours]
            for c, s in zip(items.colour, items.dominant_style, strict=True)
        ]
    )
    assert 0.6 < favoured.mean() < 0.95


def test_affinity_matrix_matches_pairwise() -> None:
    _, _, items, users, base = _world()
    u = np.arange(7)
    i = np.arange(0, 600, 37)
    matrix = affinity_matrix(users, items, base, u, i, progress=0.5)
    uu, ii = np.meshgrid(u, i, indexing="ij")
    pairs = affinity(users, items, base, uu.ravel(), ii.ravel(), progress=0.5).reshape(matrix.shape)
    np.testing.assert_allclose(matrix, pairs, rtol=1e-5, atol=1e-5)


def test_drift_moves_taste_only_for_drifting_users() -> None:
    _, _, items, users, base = _world(n_users=300)
    start = affinity_matrix(users, items, base, np.arange(300), progress=0.0)
    end = affinity_matrix(users, items, base, np.arange(300), progress=1.0)
    moved = np.abs(start - end).max(axis=1) > 1e-4
    drifting = np.abs(users.style_start - users.style_end).max(axis=1) > 1e-6
    np.testing.assert_array_equal(moved, drifting)
    assert 0.15 < drifting.mean() < 0.45


def test_colour_harmony_is_symmetric_and_penalises_clashes() -> None:
    h = colour_harmony()
    np.testing.assert_array_equal(h, h.T)
    red, green, black = COLOUR_INDEX["red"], COLOUR_INDEX["green"], COLOUR_INDEX["black"]
    assert h[red, black] > h[red, red] > h[red, COLOUR_INDEX["olive"]]
    assert h[red, green] < h[red, black]
    assert h[COLOUR_INDEX["blue"], COLOUR_INDEX["yellow"]] > 0  # 170 degrees apart: complementary


def test_slot_complementarity_forbids_two_of_a_slot_and_dress_with_bottom() -> None:
    vocab = VOCABS[Domain.FASHION]
    m = slot_complementarity(vocab)
    top, bottom, dress = (vocab.slots.index(s) for s in ("top", "bottom", "dress"))
    assert m[top, top] < 0 and m[dress, bottom] < 0 and m[top, bottom] == 0


def test_pair_compatibility_matches_a_readable_loop() -> None:
    _, vocab, items, _, _ = _world()
    h, m = colour_harmony(), slot_complementarity(vocab)
    a, b = np.arange(0, 50), np.arange(50, 100)
    fast = pair_compatibility(items, h, m, a, b)
    for k in range(50):
        sa, sb = items.style[a[k]], items.style[b[k]]
        cos = sa @ sb / (np.linalg.norm(sa) * np.linalg.norm(sb))
        clash = items.pattern[a[k]] != 0 and items.pattern[b[k]] != 0
        slow = (
            2.0 * cos
            + h[items.colour[a[k]], items.colour[b[k]]]
            - 0.6 * clash
            + m[items.slot[a[k]], items.slot[b[k]]]
        )
        assert fast[k] == pytest.approx(slow, abs=1e-5)


@pytest.mark.parametrize("domain", ["fashion", "home"])
def test_styled_sets_are_more_compatible_than_random_sets(domain: str) -> None:
    _, vocab, items, _, _ = _world(domain=domain, n_items=1500)
    h, m = colour_harmony(), slot_complementarity(vocab)
    rng = np.random.default_rng(1)
    sets, styles = sample_sets(vocab, items, h, m, 120, rng, show_progress=False)
    assert len(sets) == styles.size > 100
    for rows in sets:
        assert len(set(items.slot[rows].tolist())) == len(rows)  # one item per slot

    def mean_compat(rows: list[int]) -> float:
        a, b = np.triu_indices(len(rows), 1)
        r = np.asarray(rows)
        return float(pair_compatibility(items, h, m, r[a], r[b]).mean())

    styled = np.mean([mean_compat(r) for r in sets])
    # random sets with the same slots
    shuffled = []
    for rows in sets:
        shuffled.append([int(rng.choice(np.flatnonzero(items.slot == items.slot[r]))) for r in rows])
    assert styled > np.mean([mean_compat(r) for r in shuffled]) + 0.8


def test_size_bits_cover_contiguous_runs() -> None:
    _, vocab, items, _, _ = _world()
    bits = sample_size_bits(vocab, items, np.random.default_rng(0))
    for b in bits[:200]:
        s = format(int(b), "b").strip("0")
        assert s and set(s) == {"1"}  # one contiguous run


def test_config_validation_names_the_field() -> None:
    with pytest.raises(SchemaError, match="n_items"):
        WorldConfig(n_items=3)
    with pytest.raises(SchemaError, match="drift"):
        WorldConfig(drift=1.5)
    assert WorldConfig.from_dict(WorldConfig(seed=5).to_dict()) == WorldConfig(seed=5)


@pytest.mark.parametrize("domain", ["fashion", "home"])
def test_slot_pairs_weigh_colour_and_material_differently(domain: str) -> None:
    """Type-awareness has something to learn: the colour term and a shared-material bonus depend
    on the pair of slots (case study 001: sofa-to-rug is not sofa-to-table)."""
    _, vocab, items, _, _ = _world(domain=domain, n_items=800)
    h, m = colour_harmony(), slot_complementarity(vocab)
    weights = slot_pair_weights(vocab)
    np.testing.assert_array_equal(weights.colour, weights.colour.T)
    assert len(set(weights.colour.ravel().tolist())) > 3 and weights.material.max() > 0
    a, b = np.arange(0, 400), np.arange(400, 800)
    plain = pair_compatibility(items, h, m, a, b)
    typed = pair_compatibility(items, h, m, a, b, weights=weights)
    ua, ub = items.slot[a], items.slot[b]
    expected = (
        plain
        + (weights.colour[ua, ub] - 1) * h[items.colour[a], items.colour[b]]
        + weights.material[ua, ub] * (items.material[a] == items.material[b])
    )
    np.testing.assert_allclose(typed, expected, atol=1e-5)
