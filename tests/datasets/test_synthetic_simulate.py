"""The event simulation behaves like a shop: position bias, taste-driven clicks, size-driven returns."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.datasets.synthetic.catalog import make_brands, sample_items, sample_size_bits
from lookbook.datasets.synthetic.config import WorldConfig
from lookbook.datasets.synthetic.population import sample_users
from lookbook.datasets.synthetic.simulate import _size_ok, simulate
from lookbook.datasets.synthetic.taste import affinity
from lookbook.datasets.synthetic.vocab import VOCABS
from lookbook.schema import EVENT_KIND_CODES as CODE


@pytest.fixture(scope="module")
def sim_world():
    cfg = WorldConfig(n_items=1500, n_users=400, weeks=6, events_per_user=80)
    vocab = VOCABS[cfg.domain]
    rng = np.random.default_rng(0)
    brands = make_brands(vocab)
    items = sample_items(cfg, vocab, brands, rng)
    bits = sample_size_bits(vocab, items, rng)
    users = sample_users(cfg, vocab, brands, rng)
    base = np.log(np.array([vocab.base_price[s] for s in vocab.slots], dtype=np.float32))
    sim = simulate(cfg, vocab, items, users, bits, base, np.random.default_rng(1), show_progress=False)
    return cfg, vocab, items, users, bits, base, sim


def test_event_volume_hits_the_target(sim_world) -> None:
    cfg, *_, sim = sim_world
    target = cfg.events_per_user * cfg.n_users
    assert 0.75 * target < sim.ev_user.size < 1.25 * target


def test_events_are_time_ordered_and_every_kind_occurs(sim_world) -> None:
    *_, sim = sim_world
    assert np.all(np.diff(sim.ev_time) >= 0)
    assert set(np.unique(sim.ev_kind).tolist()) == set(CODE.values())


def test_position_bias_in_click_through(sim_world) -> None:
    *_, sim = sim_world
    ctr = np.bincount(sim.imp_position, weights=sim.imp_clicked) / np.bincount(sim.imp_position)
    assert ctr[0] > 2 * ctr[-1]
    assert 0.04 < sim.imp_clicked.mean() < 0.25


def test_clicks_follow_true_affinity(sim_world) -> None:
    _, _, items, users, _, base, sim = sim_world
    aff = affinity(users, items, base, sim.imp_user, sim.imp_item, 0.5)
    first = sim.imp_position == 0
    assert aff[first & sim.imp_clicked].mean() > aff[first & ~sim.imp_clicked].mean() + 0.5


def test_purchases_only_in_the_users_size_and_returns_follow_purchases(sim_world) -> None:
    _, vocab, items, users, bits, _, sim = sim_world
    bought = sim.ev_kind == CODE["purchase"]
    assert _size_ok(vocab, items, users, bits, sim.ev_user[bought], sim.ev_item[bought]).all()
    returned = sim.ev_kind == CODE["return"]
    bought_pairs = set(zip(sim.ev_user[bought].tolist(), sim.ev_item[bought].tolist(), strict=True))
    assert all(
        p in bought_pairs
        for p in zip(sim.ev_user[returned].tolist(), sim.ev_item[returned].tolist(), strict=True)
    )
    # items that run small or large come back far more often
    off = items.fit_offset[sim.ev_item[bought]] != 0
    ret_items = set(zip(sim.ev_user[returned].tolist(), sim.ev_item[returned].tolist(), strict=True))
    was_returned = np.array(
        [p in ret_items for p in zip(sim.ev_user[bought].tolist(), sim.ev_item[bought].tolist(), strict=True)]
    )
    assert was_returned[off].mean() > 3 * was_returned[~off].mean()


def test_new_items_get_events_only_after_they_arrive(sim_world) -> None:
    cfg, _, items, _, _, _, sim = sim_world
    week = (sim.ev_time - sim.ev_time.min()) // (7 * 86_400 * 1_000_000)
    not_return = sim.ev_kind != CODE["return"]
    assert np.all(items.created_week[sim.ev_item[not_return]] <= week[not_return] + 1)
    late = items.created_week >= cfg.weeks - 2
    assert np.isin(np.flatnonzero(late), sim.ev_item).mean() > 0.5  # drops are exposed (cold start)


def test_activity_is_heavy_tailed(sim_world) -> None:
    cfg, *_, sim = sim_world
    per_user = np.sort(np.bincount(sim.ev_user, minlength=cfg.n_users))[::-1]
    assert per_user[: cfg.n_users // 10].sum() > 0.3 * per_user.sum()
