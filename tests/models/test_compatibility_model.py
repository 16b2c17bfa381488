"""The compatibility model on worlds whose answers are obvious.

The helpers are checked against loops written from their docstrings. The model is trained on a tiny
world of three hidden styles: items' content vectors carry a noisy one-hot of their style, their
slot and their colour, and every set takes one item per slot from a single style. A model that
learned anything must answer fill-in-the-blank questions, tell real sets from swapped ones and
place a never-seen item next to its style.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lookbook.errors import DimensionMismatch, NotFittedError, SchemaError
from lookbook.models.compatibility import (
    AttributeVocab,
    CompatibilityConfig,
    CompatibilityModel,
    _matching_colour_share,
    _NegativePools,
    _pair_weights,
    _set_pairs,
)
from lookbook.models.triplet import AttributePairTerm

N_STYLES, N_SLOTS, N_COLOURS, PER_GROUP, N_NOISE = 3, 3, 3, 8, 12
VOCAB = AttributeVocab(("top", "bottom", "shoes"), ("red", "blue", "green"), ())
TINY = {"dim": 16, "hidden": 32, "negatives": 4, "batch_size": 64, "lr": 1e-2}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------ the tiny world
def content(rng, style, slot, colour):
    """Noisy one-hot of the style, one-hot slot and colour, then louder pure noise: (n, 21).

    The noise outweighs the style in raw cosine, so an untrained network answers at chance and
    any skill the tests see was learned."""
    n = len(style)
    return np.hstack(
        [
            np.eye(N_STYLES)[style] + 0.3 * rng.standard_normal((n, N_STYLES)),
            np.eye(N_SLOTS)[slot],
            np.eye(N_COLOURS)[colour],
            rng.standard_normal((n, N_NOISE)),
        ]
    ).astype(np.float32)


class StyleWorld:
    """``PER_GROUP`` items per (style, slot); colours are random, so they say nothing about style."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.style = np.repeat(np.arange(N_STYLES), N_SLOTS * PER_GROUP)
        self.slot = np.tile(np.repeat(np.arange(N_SLOTS), PER_GROUP), N_STYLES)
        self.colour = self.rng.integers(0, N_COLOURS, self.style.size)
        self.features = content(self.rng, self.style, self.slot, self.colour)
        self.train_sets = self.draw_sets(120)
        self.test_sets = self.draw_sets(40)

    def group(self, style, slot):
        return np.flatnonzero((self.style == style) & (self.slot == slot))

    def draw_sets(self, n):
        out = []
        for _ in range(n):
            style = self.rng.integers(N_STYLES)
            out.append(np.array([self.rng.choice(self.group(style, slot)) for slot in range(N_SLOTS)]))
        return out


def fit_world(world, **overrides):
    config = CompatibilityConfig(**{**TINY, "epochs": 15, "aux_colour": 1.0, **overrides})
    return CompatibilityModel(config).fit(
        world.train_sets, world.features, world.slot, VOCAB, colours=world.colour, show_progress=False
    )


@pytest.fixture(scope="module")
def world():
    return StyleWorld(seed=0)


@pytest.fixture(scope="module")
def model(world):
    return fit_world(world)


# ------------------------------------------------------------------------------------ _set_pairs
def test_set_pairs_yields_every_ordered_pair_within_sets():
    sets = [[0, 1, 2], [4, 5], [2, 3, 4, 5]]
    a, p = _set_pairs(sets, 6)
    expected = sorted(pair for s in sets for pair in itertools.permutations(s, 2))
    assert sorted(zip(a.tolist(), p.tolist(), strict=True)) == expected


def test_set_pairs_skips_singletons():
    a, p = _set_pairs([[3], [1, 1], [0, 2]], 4)  # [1, 1] is one item twice
    assert sorted(zip(a.tolist(), p.tolist(), strict=True)) == [(0, 2), (2, 0)]
    a, p = _set_pairs([[3], [1]], 4)
    assert a.size == 0 and p.size == 0 and a.dtype == np.int64


@pytest.mark.parametrize("bad_set", [[0, 4], [-1, 2]])
def test_set_pairs_out_of_range_row_raises_schema_error(bad_set):
    with pytest.raises(SchemaError, match=r"sets: item rows must be in \[0, 4\)"):
        _set_pairs([[0, 1], bad_set], 4)


# ------------------------------------------------------------------------------------ _pair_weights
def test_pair_weights_match_loop_and_sum_to_one():
    sets = [[0, 1], [0, 2], [0, 3, 4], [5, 6]]
    a, p = _set_pairs(sets, 7)
    w = _pair_weights(a, p, 7)
    freq = {item: sum(1 for x in [*a.tolist(), *p.tolist()] if x == item) for item in range(7)}
    raw = [1 / math.sqrt(freq[i] * freq[j]) for i, j in zip(a.tolist(), p.tolist(), strict=True)]
    np.testing.assert_allclose(w, np.array(raw) / sum(raw))
    assert w.sum() == pytest.approx(1.0)


def test_pair_weights_down_weight_pairs_with_popular_items():
    sets = [[0, 1], [0, 2], [0, 3], [4, 5]]  # item 0 is in three sets, 4 and 5 in one each
    a, p = _set_pairs(sets, 6)
    w = _pair_weights(a, p, 6)
    weight = dict(zip(zip(a.tolist(), p.tolist(), strict=True), w.tolist(), strict=True))
    assert weight[(0, 1)] < weight[(4, 5)]
    assert weight[(1, 0)] == pytest.approx(weight[(0, 1)])


# ------------------------------------------------------------------------------------ negative pools
def sample_many(slot, colour, sets, n_slots, n_colours, r, r_colour, times=50):
    n = slot.size
    a, p = _set_pairs(sets, n)
    keys = np.unique(a * n + p)
    pools = _NegativePools(slot, colour, n_slots, n_colours)
    rng = np.random.default_rng(0)
    draws = [pools.sample(a, p, keys, r, r_colour, rng) for _ in range(times)]
    return a, p, np.stack(draws)  # (times, pairs, r)


def test_negative_pools_return_positive_slot_only_and_never_the_anchor():
    slot = np.repeat([0, 1, 2], 6)
    colour = np.tile([0, 1, 2], 6)
    a, p, cand = sample_many(slot, colour, [[0, 6, 12], [1, 7, 13]], 3, 3, r=8, r_colour=4)
    assert (slot[cand] == slot[p][None, :, None]).all()
    assert not (cand == a[None, :, None]).any()


def test_negative_pools_draw_colour_share_in_anchor_colour():
    # slot 1 holds items 4..7; the anchor (row 0, red) has two red partners-to-be in slot 1 (4, 5)
    slot = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    colour = np.array([0, 1, 1, 1, 0, 0, 1, 1])
    a, _, cand = sample_many(slot, colour, [[0, 6]], 2, 2, r=6, r_colour=3, times=100)
    first = cand[:, a == 0][:, :, :3]
    assert (colour[first] == 0).all()
    assert (colour[cand[:, a == 0][:, :, 3:]] != 0).any()  # the rest come from the whole slot


def test_matching_colour_share_equalises_positive_and_negative_colour_rates():
    # slot 0 anchors; slot 1 holds 4 items, one in each of 4 colours: a random negative shares the
    # anchor's colour 1/4 of the time; positives share it 1/2 of the time
    slot = np.array([0, 0, 1, 1, 1, 1])
    colour = np.array([0, 1, 0, 1, 2, 3])
    anchors, positives = np.array([0, 1, 0, 1]), np.array([2, 3, 4, 5])
    f = _matching_colour_share(anchors, positives, slot, colour, 2, 4)
    assert f == pytest.approx((0.5 - 0.25) / 0.75)
    assert f + (1 - f) * 0.25 == pytest.approx(0.5)
    assert _matching_colour_share(anchors, positives, slot, np.full(6, -1), 2, 4) == 0.0
    assert _matching_colour_share(np.array([0]), np.array([4]), slot, colour, 2, 4) == 0.0


def test_negative_pools_fall_back_to_slot_when_anchor_colour_absent():
    slot = np.array([0, 0, 1, 1, 1])
    colour = np.array([2, 2, 0, 1, 1])  # nothing in slot 1 is green
    _, p, cand = sample_many(slot, colour, [[0, 2]], 2, 3, r=4, r_colour=4)
    assert (cand >= 0).all()
    assert (slot[cand] == slot[p][None, :, None]).all()


def test_negative_pools_never_return_anchor_when_set_repeats_a_slot():
    slot = np.repeat([0, 1], 6)
    colour = np.full(12, -1)
    a, _, cand = sample_many(slot, colour, [[0, 1, 6]], 2, 1, r=16, r_colour=0, times=200)
    assert not (cand == a[None, :, None]).any()


# ------------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dim", 0),
        ("hidden", 0),
        ("negatives", -1),
        ("epochs", 0),
        ("batch_size", 2.5),
        ("dim", True),
        ("margin", -0.1),
        ("aux_colour", -1.0),
        ("dropout", -0.5),
        ("colour_negatives", 1.5),
        ("lr", 0.0),
        ("mining", "x"),
    ],
)
def test_config_invalid_field_raises_naming_field(field, value):
    with pytest.raises(SchemaError, match=rf"CompatibilityConfig\.{field}:.*got {value!r}"):
        CompatibilityConfig(**{field: value})


def test_config_round_trips_through_dict():
    config = CompatibilityConfig(dim=8, mining="batch-hard", type_aware=False)
    assert CompatibilityConfig.from_dict(config.to_dict()) == config


# ------------------------------------------------------------------------------------ end to end
def fitb_accuracy(world, score, rng):
    """Blank one item per held-out set; the choices are it and three items of its slot from other
    styles. A choice scores the sum of its pair scores with the items left in the set."""
    correct = []
    for q, s in enumerate(world.test_sets):
        blank = q % N_SLOTS
        answer = s[blank]
        others = [st for st in range(N_STYLES) if st != world.style[answer]]
        wrong = [rng.choice(world.group(st, blank)) for st in [*others, others[0]]]
        rest = np.delete(s, blank)
        totals = [score(rest, np.full(rest.size, c)).sum() for c in [answer, *wrong]]
        correct.append(int(np.argmax(totals)) == 0)
    return float(np.mean(correct))


def test_fitb_on_held_out_sets_far_above_random(world, model):
    accuracy = fitb_accuracy(world, model.scorer(world.features, world.slot), np.random.default_rng(1))
    assert accuracy > 0.6  # random is 0.25


def test_untrained_network_answers_fitb_near_chance(world):
    """The world hides its styles well enough that the FITB skill above has to be learned."""
    untrained = fit_world(world, epochs=1, lr=1e-9)
    accuracy = fitb_accuracy(world, untrained.scorer(world.features, world.slot), np.random.default_rng(1))
    assert accuracy < 0.45


def test_scorer_ranks_real_sets_above_same_slot_swaps(world, model):
    score = model.scorer(world.features, world.slot)
    rng = np.random.default_rng(2)

    def set_score(s):
        i, j = np.triu_indices(s.size, 1)
        return score(s[i], s[j]).mean()

    wins = []
    for q, s in enumerate(world.test_sets):
        swapped = s.copy()
        slot = q % N_SLOTS
        swapped[slot] = rng.choice(world.group((world.style[s[slot]] + 1) % N_STYLES, slot))
        wins.append(set_score(s) > set_score(swapped))
    assert np.mean(wins) > 0.8


def test_same_seed_gives_identical_embeddings(world):
    first = fit_world(world, epochs=2, random_state=7).embed(world.features)
    second = fit_world(world, epochs=2, random_state=7).embed(world.features)
    np.testing.assert_array_equal(first, second)


def test_new_item_lands_near_its_style(world, model):
    """Thirty items with fresh noise, never seen in training: most are closest (in mean cosine) to
    the training items of their own style. Chance is a third."""
    rng = np.random.default_rng(3)
    style = np.repeat(np.arange(N_STYLES), 10)
    slot = np.tile(np.arange(N_SLOTS), 10)
    new = content(rng, style, slot, rng.integers(0, N_COLOURS, style.size))
    sims = model.embed(new) @ model.embed(world.features).T
    by_style = np.stack([sims[:, world.style == k].mean(axis=1) for k in range(N_STYLES)], axis=1)
    assert (by_style.argmax(axis=1) == style).mean() > 0.7


def test_embed_returns_unit_vectors_of_config_dim(world, model):
    e = model.embed(world.features)
    assert e.shape == (world.features.shape[0], TINY["dim"]) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------------------ type conditioning
class TypedWorld:
    """Slot 0 goes with slot 1 through feature block A only, and with slot 2 through block B only."""

    def __init__(self, seed=0, per_slot=40, n_sets=300):
        rng = np.random.default_rng(seed)
        self.slot = np.repeat(np.arange(3), per_slot)
        n = self.slot.size
        self.a, self.b = rng.integers(0, 2, n), rng.integers(0, 2, n)
        noise = 0.2 * rng.standard_normal((n, 8))
        self.features = np.hstack([np.eye(2)[self.a], np.eye(2)[self.b], np.eye(3)[self.slot], noise[:, :4]])
        self.features[:, :4] += 0.5 * noise[:, 4:]
        self.features = self.features.astype(np.float32)
        self.sets = []
        for _ in range(n_sets):
            i = rng.choice(np.flatnonzero(self.slot == 0))
            j = rng.choice(np.flatnonzero((self.slot == 1) & (self.a == self.a[i])))
            k = rng.choice(np.flatnonzero((self.slot == 2) & (self.b == self.b[i])))
            self.sets.append(np.array([i, j, k]))


TYPED_VOCAB = AttributeVocab(("s0", "s1", "s2"), (), ())


def fit_typed(world, type_aware):
    config = CompatibilityConfig(
        **{**TINY, "dim": 8, "batch_size": 128},
        epochs=10,
        type_aware=type_aware,
        aux_slot=0.0,
        colour_negatives=0.0,
    )
    return CompatibilityModel(config).fit(
        world.sets, world.features, world.slot, TYPED_VOCAB, show_progress=False
    )


@pytest.fixture(scope="module")
def typed_world():
    return TypedWorld()


@pytest.fixture(scope="module")
def typed_model(typed_world):
    return fit_typed(typed_world, type_aware=True)


def pair_masks(model):
    with torch.no_grad():
        return model.net_.masks(torch.tensor([0, 0]), torch.tensor([1, 2])).numpy()


def test_type_aware_masks_differ_between_slot_pairs(typed_model):
    m01, m02 = pair_masks(typed_model)
    assert np.linalg.norm(m01 - m02) / np.linalg.norm(m01) > 0.1


def test_type_unaware_masks_are_identical_ones(typed_world):
    m01, m02 = pair_masks(fit_typed(typed_world, type_aware=False))
    assert np.array_equal(m01, m02) and (m01 == 1.0).all()


def test_type_aware_pair_scores_follow_each_pairs_feature_block(typed_world, typed_model):
    w = typed_world

    def match_effects(target_slot):
        i, j = (x.ravel() for x in np.meshgrid(*(np.flatnonzero(w.slot == s) for s in (0, target_slot))))
        score = typed_model.pair_score(w.features[i], w.slot[i], w.features[j], w.slot[j])
        return [score[x[i] == x[j]].mean() - score[x[i] != x[j]].mean() for x in (w.a, w.b)]

    a_effect, b_effect = match_effects(1)
    assert a_effect > 0.5 and a_effect > 3 * abs(b_effect)
    a_effect, b_effect = match_effects(2)
    assert b_effect > 0.5 and b_effect > 3 * abs(a_effect)


def test_query_and_item_vectors_dot_to_pair_score_plus_two(typed_world, typed_model):
    w = typed_world
    anchor = w.features[[0]]
    cand = np.flatnonzero(w.slot == 2)
    q = typed_model.query_vectors(anchor, [0], target_slot=2)
    c = typed_model.item_vectors(w.features[cand], w.slot[cand], anchor_slot=0)
    assert q.shape[1] == c.shape[1]
    dots = c @ q[0]
    scores = typed_model.pair_score(
        anchor.repeat(cand.size, 0), np.zeros(cand.size), w.features[cand], w.slot[cand]
    )
    # |x - y|^2 = 2 - 2 x.y on the sphere, and the attribute-pair terms are bilinear
    np.testing.assert_allclose(scores, dots - 2, atol=1e-4)
    np.testing.assert_array_equal(
        np.argsort(-dots, kind="stable")[:5], np.argsort(-scores, kind="stable")[:5]
    )


def test_attribute_pair_term_is_symmetric_and_scaled_per_slot_pair():
    term = AttributePairTerm(n_slots=3, n_classes=4)
    with torch.no_grad():
        term.raw.copy_(torch.randn(4, 4))
        term.weight.copy_(torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0, 1.0]))
    pa, pb = torch.softmax(torch.randn(5, 4), -1), torch.softmax(torch.randn(5, 4), -1)
    sa, sb = torch.tensor([0, 1, 2, 0, 1]), torch.tensor([1, 2, 0, 2, 1])
    forward, backward = term(pa, pb, sa, sb), term(pb, pa, sb, sa)
    torch.testing.assert_close(forward, backward)
    h = (term.raw + term.raw.T) / 2
    expected = torch.stack([term.weight[[1, 4, 2, 2, 3][i]] * pa[i] @ h @ pb[i] for i in range(5)])
    torch.testing.assert_close(forward, expected.detach())


def test_attribute_pair_term_learns_a_clash_a_metric_space_cannot_hold():
    """Red-black and green-black go together, red-green clashes: a triangle no distance can draw."""
    term = AttributePairTerm(n_slots=1, n_classes=3)  # 0 red, 1 green, 2 black
    opt = torch.optim.Adam(term.parameters(), lr=0.1)
    pairs = torch.tensor([[0, 2], [1, 2], [0, 1]])
    target = torch.tensor([1.0, 1.0, -1.0])
    eye = torch.eye(3)
    zero = torch.zeros(3, dtype=torch.long)
    for _ in range(200):
        loss = ((term(eye[pairs[:, 0]], eye[pairs[:, 1]], zero, zero) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    got = term(eye[pairs[:, 0]], eye[pairs[:, 1]], zero, zero).detach()
    assert got[0] > 0.8 and got[1] > 0.8 and got[2] < -0.8


# ------------------------------------------------------------------------------------ attribute queries
@pytest.mark.parametrize(("head", "width"), [("slot", N_SLOTS), ("colour", N_COLOURS)])
def test_attribute_proba_rows_sum_to_one_with_vocab_width(world, model, head, width):
    proba = model.attribute_proba(world.features, head)
    assert proba.shape == (world.features.shape[0], width)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_attribute_proba_unknown_head_raises_naming_head(world, model):
    with pytest.raises(SchemaError, match=r"attribute_proba head:.*'size'"):
        model.attribute_proba(world.features, "size")


def bottoms_for_first_top(world):
    anchor = world.features[world.slot == 0][0]
    cand = np.flatnonzero(world.slot == 1)
    return anchor, world.features[cand], world.slot[cand]


def test_compatible_filter_returns_only_candidates_predicted_value(world, model):
    anchor, cand, cand_slots = bottoms_for_first_top(world)
    rows, scores = model.compatible(
        anchor, 0, cand, cand_slots, attribute="colour", value="blue", mode="filter", k=len(cand)
    )
    predicted_blue = np.flatnonzero(model.attribute_proba(cand, "colour").argmax(axis=1) == 1)
    assert rows.size > 0
    assert sorted(rows.tolist()) == predicted_blue.tolist()
    assert (np.diff(scores) <= 0).all()


def test_compatible_reweight_moves_value_candidates_up(world, model):
    anchor, cand, cand_slots = bottoms_for_first_top(world)
    blue = np.flatnonzero(world.colour[world.slot == 1] == 1)
    plain, _ = model.compatible(anchor, 0, cand, cand_slots, k=len(cand))
    reweighted, _ = model.compatible(
        anchor, 0, cand, cand_slots, attribute="colour", value="blue", mode="reweight", k=len(cand)
    )

    def mean_rank(order):
        return np.flatnonzero(np.isin(order, blue)).mean()

    assert mean_rank(reweighted) < mean_rank(plain)


def test_compatible_unknown_value_raises_naming_value(world, model):
    anchor, cand, cand_slots = bottoms_for_first_top(world)
    with pytest.raises(SchemaError, match=r"compatible value:.*'purple'"):
        model.compatible(anchor, 0, cand, cand_slots, attribute="colour", value="purple")


# ------------------------------------------------------------------------------------ persistence, misuse
def test_save_load_round_trip_gives_identical_pair_scores(world, model, tmp_path):
    loaded = CompatibilityModel.load(model.save(tmp_path / "compat"))
    a, b = np.arange(0, 36), np.arange(36, 72)
    args = (world.features[a], world.slot[a], world.features[b], world.slot[b])
    np.testing.assert_array_equal(loaded.pair_score(*args), model.pair_score(*args))
    assert loaded.config == model.config and loaded.vocab_ == model.vocab_


def test_load_rejects_other_format_version(model, tmp_path):
    folder = model.save(tmp_path / "compat")
    meta = folder / "model.json"
    meta.write_text(meta.read_text().replace('"format_version": 2', '"format_version": 99'))
    with pytest.raises(SchemaError, match="format_version 99"):
        CompatibilityModel.load(folder)


UNFITTED_CALLS = {
    "embed": lambda m, x, s: m.embed(x),
    "query_vectors": lambda m, x, s: m.query_vectors(x, s, 0),
    "item_vectors": lambda m, x, s: m.item_vectors(x, s, 0),
    "pair_score": lambda m, x, s: m.pair_score(x, s, x, s),
    "scorer": lambda m, x, s: m.scorer(x, s),
    "attribute_proba": lambda m, x, s: m.attribute_proba(x, "colour"),
    "compatible": lambda m, x, s: m.compatible(x[0], 0, x, s),
}


@pytest.mark.parametrize("call", [*UNFITTED_CALLS, "save"])
def test_use_before_fit_raises_not_fitted(world, call, tmp_path):
    unfitted = CompatibilityModel(CompatibilityConfig(**TINY))
    with pytest.raises(NotFittedError):
        if call == "save":
            unfitted.save(tmp_path / "compat")
        else:
            UNFITTED_CALLS[call](unfitted, world.features, world.slot)


@pytest.mark.parametrize("call", list(UNFITTED_CALLS))
def test_features_of_wrong_width_raise_dimension_mismatch(world, model, call):
    wide = np.hstack([world.features, np.zeros((world.features.shape[0], 1), np.float32)])
    with pytest.raises(DimensionMismatch, match=rf"expected \(n, {world.features.shape[1]}\)"):
        UNFITTED_CALLS[call](model, wide, world.slot)


def test_fit_without_colour_labels_trains(world):
    CompatibilityModel(CompatibilityConfig(**TINY, epochs=1)).fit(
        world.train_sets, world.features, world.slot, VOCAB, show_progress=False
    )
