"""Simulating weeks of shopping: impressions with position bias, clicks, views, saves, bags,
purchases, returns and dislikes, all driven by the hidden affinity.

The shop shown to users is a *logged policy* that is deliberately imperfect, as a real shop's
recommender is: it mixes popularity (with feedback: what was clicked last week is shown more this
week), a coarse style-based personalisation, new arrivals and random exploration. Users examine
positions with decreasing probability (position bias) and click with a probability that grows with
their true affinity. Product pages, reached by a click or by browsing (a ``view``), lead to saves,
add-to-bag and purchases; a purchase in an item that runs small or large is often returned.

Everything is vectorised over all sessions of a week; the only Python loop is over weeks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from lookbook.datasets.synthetic.config import WorldConfig
from lookbook.datasets.synthetic.taste import ItemTruth, UserTruth, affinity, user_style_at
from lookbook.datasets.synthetic.vocab import DomainVocab, size_group
from lookbook.schema import EVENT_KIND_CODES

log = logging.getLogger(__name__)

# Behaviour constants, calibrated so the default world has a click-through rate around 10 % and
# about 100 events per user (see ``lookbook world generate`` output).
POLICY_MIX = (0.45, 0.33, 0.07, 0.15)  # popularity, style-personalised, new arrivals, random
EXAMINATION_DECAY = 0.8  # P(examine position p) = 1 / (1 + p) ** decay
CLICK_BIAS = 1.8
VIEW_BIAS = 3.2
VIEWS_PER_SESSION = 1.6
SEARCH_RESULTS = 12
SEARCH_TEMPERATURE = 0.5
CLICK_SLOPE = 1.0
EVENTS_PER_SESSION_GUESS = 2.6
SECOND = 1_000_000  # microseconds
DAY = 86_400 * SECOND


@dataclass
class Simulation:
    """Columnar results: events and impressions as parallel arrays of rows and codes."""

    ev_user: npt.NDArray[np.int32]
    ev_item: npt.NDArray[np.int32]
    ev_kind: npt.NDArray[np.int8]
    ev_time: npt.NDArray[np.int64]  # epoch microseconds, UTC
    ev_touchpoint: npt.NDArray[np.int8]  # index into TOUCHPOINTS
    ev_position: npt.NDArray[np.int32]  # -1 when not from a list
    imp_user: npt.NDArray[np.int32]
    imp_item: npt.NDArray[np.int32]
    imp_time: npt.NDArray[np.int64]
    imp_session: npt.NDArray[np.int64]
    imp_position: npt.NDArray[np.int32]
    imp_clicked: npt.NDArray[np.bool_]
    item_counts: npt.NDArray[np.float64]  # engagement per item over the whole simulation


TOUCHPOINTS = ("home", "search", "product")


def _sigmoid(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def _size_ok(
    vocab: DomainVocab,
    items: ItemTruth,
    users: UserTruth,
    size_bits: npt.NDArray[np.int32],
    u: npt.NDArray[np.int32],
    i: npt.NDArray[np.int32],
) -> npt.NDArray[np.bool_]:
    """Whether each user's size is offered for each item (always true where size does not matter)."""
    group_of_slot = np.array(
        [{"top": 1, "bottom": 2, "shoes": 3}.get(size_group(s) or "", 0) for s in vocab.slots], dtype=np.int8
    )
    group = group_of_slot[items.slot[i]]
    user_size = np.stack([np.zeros_like(users.size_top), users.size_top, users.size_bottom, users.size_shoes])
    size = user_size[group, u]
    return (group == 0) | (((size_bits[i] >> size) & 1) == 1)


class _StylePicker:
    """Uniform draws among the available items of a given dominant style, vectorised."""

    def __init__(
        self, available: npt.NDArray[np.int32], dominant: npt.NDArray[np.int32], n_styles: int
    ) -> None:
        order = np.argsort(dominant[available], kind="stable")
        self.items = available[order]
        counts = np.bincount(dominant[available], minlength=n_styles)
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.count = counts

    def draw(self, styles: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.int32]:
        count = self.count[styles]
        fallback = count == 0
        pos = self.start[styles] + (rng.random(styles.size) * np.maximum(count, 1)).astype(np.int64)
        out = self.items[np.minimum(pos, self.items.size - 1)]
        if fallback.any():
            out[fallback] = self.items[rng.integers(0, self.items.size, int(fallback.sum()))]
        return out


def _draw_styles(style: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.int64]:
    cdf = np.cumsum(style / style.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(style.shape[0])[:, None] > cdf).sum(axis=1), style.shape[1] - 1)


def simulate(
    cfg: WorldConfig,
    vocab: DomainVocab,
    items: ItemTruth,
    users: UserTruth,
    size_bits: npt.NDArray[np.int32],
    base_log_price: npt.NDArray[np.float32],
    rng: np.random.Generator,
    *,
    show_progress: bool = True,
) -> Simulation:
    """Run ``cfg.weeks`` weeks of shopping and return every event and impression."""
    n_items = items.slot.size
    n_styles = items.style.shape[1]
    start_us = int(datetime.fromisoformat(cfg.start_date + "T00:00:00+00:00").timestamp() * SECOND)
    counts = np.zeros(n_items, dtype=np.float64)
    session_rate = cfg.events_per_user / cfg.weeks / EVENTS_PER_SESSION_GUESS
    target_events = cfg.events_per_user * cfg.n_users
    out_ev: list[tuple[np.ndarray, ...]] = []
    out_imp: list[tuple[np.ndarray, ...]] = []
    n_events = 0
    session_base = 0
    code = EVENT_KIND_CODES

    for week in tqdm(range(cfg.weeks), desc="simulating weeks", disable=not show_progress, unit="wk"):
        available = np.flatnonzero(items.created_week <= week).astype(np.int32)
        new_items = np.flatnonzero(items.created_week == week).astype(np.int32)
        if new_items.size == 0:
            new_items = available
        picker = _StylePicker(available, items.dominant_style, n_styles)

        n_sessions_u = rng.poisson(session_rate * users.activity)
        s_user = np.repeat(np.arange(cfg.n_users, dtype=np.int32), n_sessions_u)
        n_sess = s_user.size
        if n_sess == 0:
            continue
        s_offset = rng.uniform(0, 7 * DAY - 3600 * SECOND, n_sess).astype(np.int64)
        s_time = start_us + week * 7 * DAY + s_offset
        s_progress = ((week + s_offset / (7 * DAY)) / cfg.weeks).astype(np.float32)
        s_style = user_style_at(users, s_user, s_progress)

        # --- impressions: a slate per session from the logged policy -----------------------------
        slate = cfg.slate_size
        imp_user = np.repeat(s_user, slate)
        imp_sess = np.repeat(np.arange(n_sess), slate)
        imp_pos = np.tile(np.arange(slate, dtype=np.int32), n_sess)
        component = rng.choice(4, size=n_sess * slate, p=POLICY_MIX)
        imp_item = np.empty(n_sess * slate, dtype=np.int32)
        pop_p = (counts[available] + 1.0) ** 0.9
        sel = component == 0
        imp_item[sel] = rng.choice(available, size=int(sel.sum()), p=pop_p / pop_p.sum())
        sel = component == 1
        imp_item[sel] = picker.draw(_draw_styles(s_style[imp_sess[sel]], rng), rng)
        sel = component == 2
        imp_item[sel] = new_items[rng.integers(0, new_items.size, int(sel.sum()))]
        sel = component == 3
        imp_item[sel] = available[rng.integers(0, available.size, int(sel.sum()))]

        imp_aff = affinity(users, items, base_log_price, imp_user, imp_item, s_progress[imp_sess])
        examined = rng.random(imp_pos.size) < 1.0 / (1.0 + imp_pos) ** EXAMINATION_DECAY
        clicked = examined & (rng.random(imp_pos.size) < _sigmoid(CLICK_SLOPE * imp_aff - CLICK_BIAS))
        disliked = examined & ~clicked & (rng.random(imp_pos.size) < 0.012 * _sigmoid(-(imp_aff - 1.0)))
        imp_time = s_time[imp_sess] + imp_pos.astype(np.int64) * 2 * SECOND

        # --- browsing views: pages reached from search or category lists --------------------------
        n_views_s = rng.poisson(VIEWS_PER_SESSION, n_sess)
        v_sess = np.repeat(np.arange(n_sess), n_views_s)
        v_user = s_user[v_sess]
        # a search shows SEARCH_RESULTS items of a style the user is after; the user opens the one
        # they like best (Gumbel noise = the softmax choice of a random-utility model)
        n_v = v_sess.size
        cand = picker.draw(np.repeat(_draw_styles(s_style[v_sess], rng), SEARCH_RESULTS), rng)
        cand_aff = affinity(
            users,
            items,
            base_log_price,
            np.repeat(v_user, SEARCH_RESULTS),
            cand,
            np.repeat(s_progress[v_sess], SEARCH_RESULTS),
        ).reshape(n_v, SEARCH_RESULTS)
        utility = cand_aff / SEARCH_TEMPERATURE + rng.gumbel(size=cand_aff.shape)
        best = utility.argmax(axis=1)
        v_item = cand.reshape(n_v, SEARCH_RESULTS)[np.arange(n_v), best]
        v_aff = cand_aff[np.arange(n_v), best]
        v_keep = rng.random(n_v) < _sigmoid(v_aff - VIEW_BIAS)
        v_sess, v_user, v_item, v_aff = v_sess[v_keep], v_user[v_keep], v_item[v_keep], v_aff[v_keep]
        v_rank = np.arange(v_sess.size) - np.searchsorted(v_sess, v_sess)  # order within the session
        v_time = s_time[v_sess] + 60 * SECOND + v_rank.astype(np.int64) * 45 * SECOND

        # --- product pages: engagement after a click or a view -------------------------------------
        p_user = np.concatenate([imp_user[clicked], v_user])
        p_item = np.concatenate([imp_item[clicked], v_item])
        p_aff = np.concatenate([imp_aff[clicked], v_aff])
        p_time = np.concatenate([imp_time[clicked] + 3 * SECOND, v_time])
        size_ok = _size_ok(vocab, items, users, size_bits, p_user, p_item)
        saved = rng.random(p_item.size) < 0.22 * _sigmoid(p_aff - 2.0)
        bagged = size_ok & (rng.random(p_item.size) < 0.45 * _sigmoid(p_aff - 2.2))
        bought = bagged & (rng.random(p_item.size) < 0.55)
        returned = bought & (rng.random(p_item.size) < np.where(items.fit_offset[p_item] != 0, 0.6, 0.04))
        return_delay = rng.uniform(2 * DAY, 10 * DAY, p_item.size).astype(np.int64)

        parts = [
            (
                imp_user[clicked],
                imp_item[clicked],
                code["click"],
                imp_time[clicked] + 1 * SECOND,
                0,
                imp_pos[clicked],
            ),
            (
                imp_user[disliked],
                imp_item[disliked],
                code["dislike"],
                imp_time[disliked] + SECOND,
                0,
                imp_pos[disliked],
            ),
            (v_user, v_item, code["view"], v_time, 1, -1),
            (p_user[saved], p_item[saved], code["save"], p_time[saved] + 20 * SECOND, 2, -1),
            (p_user[bagged], p_item[bagged], code["add_to_bag"], p_time[bagged] + 40 * SECOND, 2, -1),
            (p_user[bought], p_item[bought], code["purchase"], p_time[bought] + 120 * SECOND, 2, -1),
            (
                p_user[returned],
                p_item[returned],
                code["return"],
                p_time[returned] + return_delay[returned],
                2,
                -1,
            ),
        ]
        for u, i, kind, t, tp, pos in parts:
            m = u.size
            out_ev.append(
                (
                    u.astype(np.int32),
                    i.astype(np.int32),
                    np.full(m, kind, np.int8),
                    t.astype(np.int64),
                    np.full(m, tp, np.int8),
                    np.broadcast_to(np.asarray(pos, dtype=np.int32), (m,)).copy(),
                )
            )
            n_events += m
        out_imp.append((imp_user, imp_item, imp_time, imp_sess + session_base, imp_pos, clicked))
        session_base += n_sess

        # popularity feedback for next week's policy
        counts += np.bincount(imp_item[clicked], minlength=n_items)
        counts += 3 * np.bincount(p_item[bought], minlength=n_items)

        # after the first week, re-aim the session rate so the world lands near its event target
        if week == 0:
            per_session = n_events / max(n_sess, 1)
            remaining = max(target_events - n_events, 0)
            session_rate = remaining / max(cfg.weeks - 1, 1) / cfg.n_users / max(per_session, 1e-6)
            log.debug("week 0: %.2f events per session; session rate now %.3f", per_session, session_rate)

    ev = [np.concatenate(col) for col in zip(*out_ev, strict=True)]
    imp = [np.concatenate(col) for col in zip(*out_imp, strict=True)]
    order = np.argsort(ev[3], kind="stable")
    ev = [c[order] for c in ev]
    return Simulation(
        ev_user=ev[0],
        ev_item=ev[1],
        ev_kind=ev[2],
        ev_time=ev[3],
        ev_touchpoint=ev[4],
        ev_position=ev[5],
        imp_user=imp[0].astype(np.int32),
        imp_item=imp[1].astype(np.int32),
        imp_time=imp[2].astype(np.int64),
        imp_session=imp[3].astype(np.int64),
        imp_position=imp[4].astype(np.int32),
        imp_clicked=imp[5],
        item_counts=counts,
    )
