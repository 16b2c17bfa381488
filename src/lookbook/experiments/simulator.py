"""A demo world's hidden shoppers, let loose on a served shop: what an experiment measures, beside
what is really so.

Each simulated day, every shopper of the panel opens the touchpoint once. The shop answers with the
arm the experiment gives them (``arm_config``: a set of setting overrides), through the same code
a request runs (``ProjectShop.home_feed`` / ``similar`` of a ``variant`` shop), and logs the slate
as an impression. The shopper then behaves as the world's own simulation made its shoppers behave
(``lookbook.datasets.synthetic.simulate``): position ``p`` is examined with probability
``1 / (1 + p) ** 0.8``, an examined item is clicked with probability ``sigmoid(affinity - 1.8)``
from the oracle's true affinity, a click leads to add-to-bag with ``0.45 * sigmoid(affinity -
2.2)`` and a bag to a purchase with 0.55. Clicks, bags and purchases are posted with the slate's
``request_id`` through ``ProjectShop.add_events``, the write path of real traffic, so the shop
learns from them as it would from real shoppers. The shop's clock is a ``ManualClock`` moved by the
simulation: a day takes as long as its requests.

For every slate the simulation also keeps what only the truth knows: the expected clicks of the
slate (examination times click probability, summed), and its NDCG@k against the shopper's true
top k among items the shop may show them (in stock, not bought). An experiment's estimates are
checked against these.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from lookbook.datasets.synthetic.simulate import CLICK_BIAS, CLICK_SLOPE, EXAMINATION_DECAY
from lookbook.errors import LookbookError
from lookbook.metrics import ndcg_at_k

if TYPE_CHECKING:
    from lookbook.datasets.synthetic.oracle import Oracle
    from lookbook.touchpoints.clock import ManualClock
    from lookbook.touchpoints.config import TouchpointConfig
    from lookbook.touchpoints.shop import ProjectShop

log = logging.getLogger(__name__)

__all__ = ["TOUCHPOINTS", "Shoppers", "SimulationConfig", "SlateOutcome", "arm_config"]

F64 = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

#: Touchpoints an experiment can run on.
TOUCHPOINTS = ("home", "similar")

#: Setting keys an arm may override, per touchpoint: (path of the config field,).
_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "home": {
        "alpha": ("home", "for_you", "alpha"),
        "reranker": ("home", "for_you", "use_reranker"),
        "mmr_lambda": ("home", "for_you", "diversity", "mmr_lambda"),
        "exact": ("home", "exact"),
    },
    "similar": {
        "alpha": ("similar", "rank", "alpha"),
        "beta": ("similar", "beta"),
        "reranker": ("similar", "rank", "use_reranker"),
        "mmr_lambda": ("similar", "rank", "diversity", "mmr_lambda"),
        "exact": ("similar", "exact"),
    },
}

ADD_TO_BAG = (0.45, 2.2)  # P(bag | click) = 0.45 * sigmoid(affinity - 2.2), as the world's simulation
PURCHASE_AFTER_BAG = 0.55


def arm_config(base: TouchpointConfig, touchpoint: str, overrides: Mapping[str, Any]) -> TouchpointConfig:
    """``base`` with an arm's overrides applied to ``touchpoint`` (keys: ``_KEYS``; a key the
    touchpoint does not have is named in the error)."""
    if touchpoint not in _KEYS:
        raise LookbookError(f"experiment touchpoint: expected one of {TOUCHPOINTS}, got {touchpoint!r}")
    config: Any = base
    for key, value in overrides.items():
        path = _KEYS[touchpoint].get(key)
        if path is None:
            raise LookbookError(
                f"experiment arm key {key!r}: expected one of {sorted(_KEYS[touchpoint])} for {touchpoint}"
            )
        config = _replace_path(config, path, value)
    return config  # type: ignore[no-any-return]


def _replace_path(obj: Any, path: tuple[str, ...], value: Any) -> Any:
    head, rest = path[0], path[1:]
    current = getattr(obj, head)
    if rest:
        return dataclasses.replace(obj, **{head: _replace_path(current, rest, value)})
    if isinstance(current, bool):
        value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "on", "yes")
    elif isinstance(current, int | float):
        value = type(current)(float(value))
    return dataclasses.replace(obj, **{head: value})


@dataclass(frozen=True)
class SimulationConfig:
    """``users`` shoppers (the world's most active ones: they have a history to personalise on, and
    new ones alike come from the same taste model), ``k`` items per slate, ``seed``."""

    users: int = 200
    k: int = 20
    seed: int = 0
    #: shop-clock seconds between two shoppers' visits (a day of ``users`` visits spans
    #: ``users * gap``), so events keep their order and windows move
    visit_gap_s: float = 20.0

    def __post_init__(self) -> None:
        if self.users < 1 or self.k < 1 or self.visit_gap_s <= 0:
            raise LookbookError(f"SimulationConfig: expected users, k >= 1 and a positive gap, got {self}")


@dataclass
class SlateOutcome:
    """One day's slates, as arrays over slates (row ``j`` of every field is slate ``j``)."""

    user: npt.NDArray[np.int64]  # index into ``Shoppers.users``
    arm: npt.NDArray[np.int64]
    shown: npt.NDArray[np.int64]  # items shown
    clicks: npt.NDArray[np.int64]
    purchases: npt.NDArray[np.int64]
    revenue: F64
    true_clicks: F64  # expected clicks of the slate (the truth)
    true_ndcg: F64  # NDCG@k against the shopper's true top k
    #: per slate: (team of each position, clicked flags) when the slate interleaved two arms
    interleaved: list[tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]] | None = None


def _sigmoid(x: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-x))


class Shoppers:
    """The panel of simulated shoppers for one shop and its world's oracle."""

    def __init__(
        self, shop: ProjectShop, oracle: Oracle, clock: ManualClock, config: SimulationConfig | None = None
    ) -> None:
        self.shop, self.oracle, self.clock = shop, oracle, clock
        self.config = config or SimulationConfig()
        self.rng = np.random.default_rng(self.config.seed)
        known = set(oracle.user_ids.ids.tolist())
        histories = shop.users
        shared = [u for u in histories.users() if u in known]
        # the most active shoppers first (ties by id: the panel is the same for a seed)
        shared.sort(key=lambda u: (-histories.get(u)[0].size, u))
        panel = shared[: self.config.users]
        if not panel:
            raise LookbookError("simulation: the project and the world share no shopper")
        self.users: list[str] = panel
        self._examine = 1.0 / (1.0 + np.arange(self.config.k)) ** EXAMINATION_DECAY
        self._variants: dict[tuple[str, ...], ProjectShop] = {}
        self._price: dict[str, float] = {}

    def close(self) -> None:
        """Close the arms' shop variants (their page caches); the shop itself is the caller's."""
        for variant in self._variants.values():
            variant.close()
        self._variants.clear()

    # ------------------------------------------------------------------------------- slates
    def variant(self, touchpoint: str, overrides: Mapping[str, Any]) -> ProjectShop:
        """The shop with an arm's settings (one per arm, reused: each keeps its own page cache)."""
        key = (touchpoint, *sorted(f"{k}={v}" for k, v in overrides.items()))
        if key not in self._variants:
            self._variants[key] = self.shop.variant(arm_config(self.shop.config, touchpoint, overrides))
        return self._variants[key]

    def ranking(self, shop: ProjectShop, touchpoint: str, user: str, hero: str | None) -> list[str]:
        """The item ids ``shop`` shows ``user`` on ``touchpoint`` (home: the "for you" carousel)."""
        k = self.config.k
        if touchpoint == "home":
            feed = shop.home_feed(user, k=k)
            return [r.item_id for r in feed[0].items] if feed else []
        if hero is None:
            return []
        return [r.item_id for r in shop.similar(hero, user, k=k)]

    def hero(self, user: str) -> str | None:
        """The item a shopper opens similar items from: the last one they engaged with."""
        rows = self.shop.users.get(user)[0]
        if rows.size == 0:
            return None
        state = self.shop.state
        row = int(rows[-1])
        if not (state.catalog.alive[row] and state.catalog.in_stock[row]):
            return None
        return str(state.catalog.ids.ids[row])

    # ------------------------------------------------------------------------------ behaviour
    def respond(self, user: str, items: Sequence[str]) -> tuple[Flags, Flags, Flags, F64]:
        """(clicked, bagged, bought, true click probability per position) of one shopper on one slate."""
        n = len(items)
        if n == 0:
            empty = np.zeros(0, bool)
            return empty, empty, empty, np.zeros(0)
        aff = self.oracle.affinity([user] * n, list(items)).astype(np.float64)
        p_click = self._examine[:n] * _sigmoid(CLICK_SLOPE * aff - CLICK_BIAS)
        clicked = self.rng.random(n) < p_click
        bagged = clicked & (self.rng.random(n) < ADD_TO_BAG[0] * _sigmoid(aff - ADD_TO_BAG[1]))
        bought = bagged & (self.rng.random(n) < PURCHASE_AFTER_BAG)
        return clicked, bagged, bought, p_click

    def true_ndcg(self, user: str, shown: Sequence[str]) -> float:
        """NDCG@k of ``shown`` against the user's true top k among items the shop may show them."""
        state = self.shop.state
        c = state.catalog
        eligible = c.alive & c.in_stock
        ctx, _, _ = self.shop.user_context(user, state)
        eligible[ctx.bought] = False
        rows = np.flatnonzero(eligible)
        truth = self.oracle.affinity([user] * rows.size, c.ids.ids[rows].tolist())
        ideal = rows[np.argsort(-truth, kind="stable")[: self.config.k]]
        shown_rows = c.ids.lookup(list(shown), missing=-1)
        return float(ndcg_at_k([shown_rows], [ideal], self.config.k))

    def post(self, user: str, touchpoint: str, request_id: str, items: Sequence[str],
             clicked: Flags, bagged: Flags, bought: Flags) -> None:  # fmt: skip
        """The shopper's events, through the shop's write path, attributed to the slate."""
        now = self.clock.now()
        events: list[dict[str, Any]] = []
        for p in np.flatnonzero(clicked):
            base = {"user_id": user, "item_id": items[p], "touchpoint": touchpoint, "position": int(p),
                    "request_id": request_id}  # fmt: skip
            events.append({**base, "kind": "click", "timestamp": now})
            if bagged[p]:
                events.append({**base, "kind": "add_to_bag", "timestamp": now})
            if bought[p]:
                events.append({**base, "kind": "purchase", "timestamp": now})
        if events:
            self.shop.add_events(events)

    def price(self, items: Sequence[str]) -> F64:
        missing = [i for i in items if i not in self._price]
        if missing:
            for i in missing:
                self._price[i] = float(self.shop.item(i).price or 0.0)
        return np.asarray([self._price[i] for i in items], np.float64)

    # ----------------------------------------------------------------------------------- days
    def day(
        self,
        touchpoint: str,
        arms: Sequence[Mapping[str, Any]],
        choose: Callable[[int, str], int | tuple[int, int]],
        *,
        show_progress: bool = False,
    ) -> SlateOutcome:
        """Every shopper visits ``touchpoint`` once. ``choose(user_index, user_id)`` gives the arm
        (an index into ``arms``), or a pair of arms to interleave in one slate (team draft)."""
        from lookbook.experiments.interleaving import team_draft

        k = self.config.k
        n = len(self.users)
        out: dict[str, list[Any]] = {f: [] for f in ("user", "arm", "shown", "clicks", "purchases",
                                                       "revenue", "true_clicks", "true_ndcg")}  # fmt: skip
        interleaved: list[tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]] = []
        order = self.rng.permutation(n)
        for u in tqdm(order, desc=f"simulate {touchpoint}", unit="shopper", disable=not show_progress):
            self.clock.advance(self.config.visit_gap_s)
            user = self.users[int(u)]
            hero = self.hero(user) if touchpoint == "similar" else None
            if touchpoint == "similar" and hero is None:
                continue
            picked = choose(int(u), user)
            if isinstance(picked, tuple):
                a = self.ranking(self.variant(touchpoint, arms[picked[0]]), touchpoint, user, hero)
                b = self.ranking(self.variant(touchpoint, arms[picked[1]]), touchpoint, user, hero)
                items, teams = team_draft(a, b, k, self.rng)
                arm = -1
            else:
                items, teams = (
                    self.ranking(self.variant(touchpoint, arms[picked]), touchpoint, user, hero),
                    None,
                )
                arm = int(picked)
            if not items:
                continue
            request_id = uuid.uuid4().hex
            self.shop.log_impressions(request_id, user, touchpoint, items, [0.0] * len(items))
            clicked, bagged, bought, p_click = self.respond(user, items)
            self.post(user, touchpoint, request_id, items, clicked, bagged, bought)
            if teams is not None:
                interleaved.append((teams, clicked))
            out["user"].append(int(u))
            out["arm"].append(arm)
            out["shown"].append(len(items))
            out["clicks"].append(int(clicked.sum()))
            out["purchases"].append(int(bought.sum()))
            out["revenue"].append(float(self.price([items[p] for p in np.flatnonzero(bought)]).sum()))
            out["true_clicks"].append(float(p_click.sum()))
            out["true_ndcg"].append(self.true_ndcg(user, items))
        return SlateOutcome(
            user=np.asarray(out["user"], np.int64),
            arm=np.asarray(out["arm"], np.int64),
            shown=np.asarray(out["shown"], np.int64),
            clicks=np.asarray(out["clicks"], np.int64),
            purchases=np.asarray(out["purchases"], np.int64),
            revenue=np.asarray(out["revenue"], np.float64),
            true_clicks=np.asarray(out["true_clicks"], np.float64),
            true_ndcg=np.asarray(out["true_ndcg"], np.float64),
            interleaved=interleaved if interleaved else None,
        )
