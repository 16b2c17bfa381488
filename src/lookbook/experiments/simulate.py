"""One whole experiment in the simulator: A/B, interleaving or a bandit, with the truth beside it.

``run_experiment`` opens a private copy of the project (a simulation writes events; the project
itself is never touched) on a ``ManualClock``, lets the world's shoppers (``Shoppers``) visit the
touchpoint for ``days`` days under the design, and returns the figures of the
``lookbook experiment simulate`` contract (the issue's JSON keys):

* ``truth``: each arm served to the whole panel once, on a fresh copy, without any event posted:
  the mean true NDCG@20 and true click rate (expected clicks per shown item) per arm, and the
  winner by true click rate;
* ``ab``: the panel split by hashed user id; per arm users, impressions, CTR with a 95 % bootstrap
  interval over users, purchase rate; Welch's t-test on per-user CTR; ``users_to_verdict``: the
  number of users (in visiting order) after which the test first declared the winner at 5 % and
  kept declaring it to the end;
* ``interleave``: both arms in every slate (team draft), clicks credited to the arm that placed the
  item, a sign test over users' preferences, ``users_to_verdict`` the same way;
* ``bandit``: Thompson sampling over the grid (per segment: new or returning shopper), updated
  after every visit from the attributed clicks (clicks over items shown); ``alpha_learned`` (its
  posterior-best value), ``alpha_best_fixed`` (the best grid value on the truth), ``regret``
  (expected clicks lost against always serving the best fixed value, summed over slates, on the
  truth's per-value click rates), and ``regret_epsilon_greedy`` for the same simulation with epsilon-greedy.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import ttest_ind

from lookbook.errors import LookbookError
from lookbook.experiments.assignment import assign_arms
from lookbook.experiments.bandit import EpsilonGreedy, ThompsonBandit
from lookbook.experiments.interleaving import TEAM_A, TEAM_B, verdict
from lookbook.experiments.simulator import Shoppers, SimulationConfig, SlateOutcome

log = logging.getLogger(__name__)

__all__ = ["DESIGNS", "parse_arm", "parse_grid", "run_experiment"]

DESIGNS = ("ab", "interleave", "bandit")
F64 = npt.NDArray[np.float64]


def parse_arm(text: str) -> tuple[str, dict[str, str]]:
    """``NAME:KEY=VALUE[,KEY=VALUE]`` (the CLI's ``--arms``)."""
    name, sep, rest = text.partition(":")
    if not sep or not name.strip():
        raise LookbookError(f"--arms {text!r}: expected NAME:KEY=VALUE[,KEY=VALUE]")
    pairs = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq:
            raise LookbookError(f"--arms {text!r}: {part!r} is not KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return name.strip(), pairs


def parse_grid(text: str) -> tuple[str, list[float]]:
    """``KEY=V1,V2,...`` (the CLI's ``--grid``)."""
    key, eq, values = text.partition("=")
    try:
        grid = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        grid = []
    if not eq or len(grid) < 2:
        raise LookbookError(f"--grid {text!r}: expected KEY=V1,V2,... with at least two numbers")
    return key.strip(), grid


@contextmanager
def _simulated_shop(project: Path, config: SimulationConfig, world: Path) -> Iterator[Shoppers]:
    """Shoppers on a private copy of ``project``, its clock a ``ManualClock`` from its last event."""
    from lookbook.datasets.synthetic.oracle import Oracle
    from lookbook.project.layout import copy_project
    from lookbook.touchpoints.clock import ManualClock
    from lookbook.touchpoints.factory import open_shop

    tmp = Path(tempfile.mkdtemp(prefix="lookbook-simulate-"))
    try:
        copy = copy_project(project, tmp / "project")
        clock = ManualClock(0.0)
        shop = open_shop(copy, clock=clock)
        try:
            ts = shop.live.events.arrays()[2]
            clock.set(float(ts.max()) + 60.0 if ts.size else time.time())
            shoppers = Shoppers(shop, Oracle.load(world), clock, config)
            try:
                yield shoppers
            finally:
                shoppers.close()
        finally:
            shop.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _truth(
    project: Path, world: Path, config: SimulationConfig, touchpoint: str, arms: Sequence[Mapping[str, Any]]
) -> tuple[F64, F64]:
    """(mean true NDCG@k, true click rate) per arm: each arm shown to the whole panel, no events."""
    ndcg, rate = [], []
    with _simulated_shop(project, config, world) as shoppers:
        for arm in arms:
            shop = shoppers.variant(touchpoint, arm)
            n, clicks, shown = [], 0.0, 0
            for user in shoppers.users:
                hero = shoppers.hero(user) if touchpoint == "similar" else None
                items = shoppers.ranking(shop, touchpoint, user, hero)
                if not items:
                    continue
                _, _, _, p_click = shoppers.respond(user, items)
                clicks += float(p_click.sum())
                shown += len(items)
                n.append(shoppers.true_ndcg(user, items))
            ndcg.append(float(np.mean(n)) if n else float("nan"))
            rate.append(clicks / shown if shown else float("nan"))
    return np.asarray(ndcg), np.asarray(rate)


def _per_user(outcome: SlateOutcome, n_users: int, arm: int) -> tuple[F64, F64, F64, F64]:
    """(clicks, impressions, purchases, revenue) per panel user over slates of ``arm``."""
    m = outcome.arm == arm
    u = outcome.user[m]
    return (
        np.bincount(u, weights=outcome.clicks[m], minlength=n_users),
        np.bincount(u, weights=outcome.shown[m], minlength=n_users),
        np.bincount(u, weights=outcome.purchases[m], minlength=n_users),
        np.bincount(u, weights=outcome.revenue[m], minlength=n_users),
    )


def _bootstrap_ctr(clicks: F64, shown: F64, rng: np.random.Generator, draws: int = 1000) -> list[float]:
    """95 % interval of clicks / impressions, resampling users (their slates are not independent)."""
    if clicks.size == 0 or shown.sum() == 0:
        return [float("nan"), float("nan")]
    idx = rng.integers(clicks.size, size=(draws, clicks.size))
    ratios = clicks[idx].sum(axis=1) / np.maximum(shown[idx].sum(axis=1), 1.0)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return [round(float(lo), 5), round(float(hi), 5)]


def _welch(a: F64, b: F64) -> float:
    if a.size < 2 or b.size < 2:
        return 1.0
    p = float(ttest_ind(a, b, equal_var=False).pvalue)
    return 1.0 if np.isnan(p) else p


def _users_to_verdict(verdicts: list[tuple[int, str | None]], final: str | None) -> int | None:
    """The users seen when the test first said ``final`` and never said otherwise after."""
    if final is None:
        return None
    at = None
    for users, said in verdicts:
        at = (users if at is None else at) if said == final else None
    return at


def _checkpoints(n: int, every: int = 1) -> list[int]:
    """User counts at which the sequential test looks (every user: the tests are cheap)."""
    return list(range(2, n + 1, every)) + ([n] if n >= 2 and (n - 2) % every else [])


def _ab(outcomes: list[SlateOutcome], names: list[str], n_users: int, seed: int) -> dict[str, Any]:
    slates = _concat(outcomes)
    rng = np.random.default_rng(seed)
    arms: dict[str, Any] = {}
    rates = []
    for j, name in enumerate(names):
        clicks, shown, bought, _ = _per_user(slates, n_users, j)
        seen = shown > 0
        arms[name] = {
            "users": int(seen.sum()),
            "impressions": int(shown.sum()),
            "ctr": round(float(clicks.sum() / max(shown.sum(), 1)), 5),
            "ctr_ci95": _bootstrap_ctr(clicks[seen], shown[seen], rng),
            "purchase_rate": round(float(bought.sum() / max(shown.sum(), 1)), 5),
        }
        rates.append(clicks[seen] / shown[seen])
    p = _welch(rates[0], rates[1])
    winner = None if p >= 0.05 else names[int(np.argmax([r.mean() for r in rates]))]
    # the sequential view: users in the order they first visited
    first_seen = _first_visits(slates)
    verdicts = []
    for n in _checkpoints(len(first_seen)):
        users = first_seen[:n]
        part = [np.zeros(0)] * 2
        for j in range(2):
            clicks, shown, _, _ = _per_user(slates, n_users, j)
            sel = users[shown[users] > 0]
            part[j] = clicks[sel] / shown[sel]
        pv = _welch(part[0], part[1])
        verdicts.append((n, None if pv >= 0.05 else names[int(np.argmax([x.mean() for x in part]))]))
    return {"arms": arms, "winner": winner, "p_value": round(p, 6),
            "users_to_verdict": _users_to_verdict(verdicts, winner)}  # fmt: skip


def _interleave(outcomes: list[SlateOutcome], names: list[str], n_users: int) -> dict[str, Any]:
    a = np.zeros(n_users)
    b = np.zeros(n_users)
    order: list[int] = []
    for outcome in outcomes:
        for u, (teams, clicked) in zip(outcome.user, outcome.interleaved or [], strict=True):
            ca, cb = int((clicked & (teams == TEAM_A)).sum()), int((clicked & (teams == TEAM_B)).sum())
            a[u] += ca
            b[u] += cb
            if int(u) not in order:
                order.append(int(u))
    said, p, _, _ = verdict(a, b)
    winner = None if said is None else names[0 if said == "a" else 1]
    verdicts = []
    seen = np.asarray(order, np.int64)
    for n in _checkpoints(len(seen)):
        part = seen[:n]
        s, _, _, _ = verdict(a[part], b[part])
        verdicts.append((n, None if s is None else names[0 if s == "a" else 1]))
    return {"winner": winner, "p_value": round(p, 6), "users_to_verdict": _users_to_verdict(verdicts, winner)}


def _first_visits(slates: SlateOutcome) -> npt.NDArray[np.int64]:
    _, first = np.unique(slates.user, return_index=True)
    return slates.user[np.sort(first)]


def _concat(outcomes: list[SlateOutcome]) -> SlateOutcome:
    fields = ("user", "arm", "shown", "clicks", "purchases", "revenue", "true_clicks", "true_ndcg")
    return SlateOutcome(**{f: np.concatenate([getattr(o, f) for o in outcomes]) for f in fields})


def _bandit_run(
    shoppers: Shoppers, touchpoint: str, key: str, grid: list[float], policy: str, days: int, true_rate: F64
) -> tuple[float, float]:
    """(learned value, regret) of one bandit run over ``days``."""
    bandit = (ThompsonBandit(key, grid) if policy == "thompson"
              else EpsilonGreedy(key, grid, epsilon=0.1))  # fmt: skip
    arms = [{key: v} for v in grid]
    rng = shoppers.rng
    regret = 0.0

    def segment(user: str) -> str:
        return "returning" if shoppers.shop.users.get(user)[0].size else "new"

    chosen: dict[str, int] = {}

    def choose(_: int, user: str) -> int:
        arm = int(bandit.choose(segment(user), rng)[0])
        chosen[user] = arm
        return arm

    best = float(np.nanmax(true_rate))
    for _ in range(days):
        outcome = _day_with_updates(shoppers, touchpoint, arms, choose, bandit, segment)
        regret += float(((best - true_rate[outcome.arm]) * outcome.shown).sum())
    seg = "returning" if any(segment(u) == "returning" for u in shoppers.users) else "new"
    return bandit.best(seg), regret


def _day_with_updates(
    shoppers: Shoppers, touchpoint: str, arms: list[dict[str, float]], choose: Any, bandit: Any, segment: Any
) -> SlateOutcome:
    """One day where the bandit learns after every visit (from the visit's attributed clicks)."""
    pending: list[tuple[str, int]] = []

    def choose_and_learn(u: int, user: str) -> int:
        arm = choose(u, user)
        pending.append((user, arm))
        return arm

    original = shoppers.post

    def post(
        user: str, tp: str, rid: str, items: Sequence[str], clicked: Any, bagged: Any, bought: Any
    ) -> None:
        original(user, tp, rid, items, clicked, bagged, bought)
        who, arm = pending.pop()
        bandit.update(segment(who), [arm], [float(clicked.sum())], [float(len(items))])

    shoppers.post = post  # type: ignore[method-assign]
    try:
        return shoppers.day(touchpoint, arms, choose_and_learn)
    finally:
        shoppers.post = original  # type: ignore[method-assign]


def run_experiment(
    *,
    world: Path,
    project: Path,
    design: str,
    touchpoint: str,
    arms: Sequence[tuple[str, Mapping[str, Any]]] = (),
    grid: tuple[str, list[float]] | None = None,
    users: int = 200,
    days: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """The contract's JSON object for one simulated experiment (module doc)."""
    if design not in DESIGNS:
        raise LookbookError(f"--design: expected one of {DESIGNS}, got {design!r}")
    if design == "bandit":
        if grid is None:
            raise LookbookError("--grid: a bandit needs KEY=V1,V2,... (e.g. alpha=0,0.25,0.5,0.75,1)")
        key, values = grid
        names = [f"{key}={v:g}" for v in values]
        arm_settings: list[Mapping[str, Any]] = [{key: v} for v in values]
    else:
        if len(arms) != 2:
            raise LookbookError(f"--arms: {design} compares exactly two arms, got {len(arms)}")
        names = [a[0] for a in arms]
        arm_settings = [a[1] for a in arms]
    if days < 1:
        raise LookbookError(f"--days: expected >= 1, got {days}")
    config = SimulationConfig(users=users, seed=seed)
    started = time.perf_counter()
    true_ndcg, true_rate = _truth(project, world, config, touchpoint, arm_settings)
    out: dict[str, Any] = {
        "design": design,
        "touchpoint": touchpoint,
        "users": users,
        "days": days,
        "truth": {
            "arms": {
                n: {"true_ndcg20": round(float(g), 5), "true_click_rate": round(float(r), 5)}
                for n, g, r in zip(names, true_ndcg, true_rate, strict=True)
            },
            "winner": names[int(np.nanargmax(true_rate))],
        },
    }
    truth_s = time.perf_counter() - started
    if design == "bandit":
        assert grid is not None
        with _simulated_shop(project, config, world) as shoppers:
            learned, regret = _bandit_run(shoppers, touchpoint, grid[0], grid[1], "thompson", days, true_rate)
        with _simulated_shop(project, config, world) as shoppers:
            _, regret_eps = _bandit_run(shoppers, touchpoint, grid[0], grid[1], "epsilon", days, true_rate)
        out.update({
            "alpha_learned": learned,
            "alpha_best_fixed": grid[1][int(np.nanargmax(true_rate))],
            "regret": round(regret, 3),
            "regret_epsilon_greedy": round(regret_eps, 3),
        })  # fmt: skip
    else:
        with _simulated_shop(project, config, world) as shoppers:
            n_users = len(shoppers.users)
            if design == "ab":
                split = assign_arms(f"simulate-{seed}", shoppers.users, [1.0, 1.0])
                outcomes = [shoppers.day(touchpoint, arm_settings, lambda u, _: int(split[u]))
                            for _ in range(days)]  # fmt: skip
                out.update(_ab(outcomes, names, n_users, seed))
            else:
                outcomes = [shoppers.day(touchpoint, arm_settings, lambda u, _: (0, 1)) for _ in range(days)]
                out.update(_interleave(outcomes, names, n_users))
    out["seconds"] = {"truth": round(truth_s, 1), "total": round(time.perf_counter() - started, 1)}
    return out
