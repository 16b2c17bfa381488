"""Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008): two rankers share one slate.

Each round the team with fewer picks (a coin flip on ties) adds its best item not yet shown, and
the slate remembers which team placed each position. A click credits the team that placed the
item; a user prefers the arm whose team collected more of their clicks. Because both arms are
judged on the same user, at the same moment, with the same position bias, interleaving needs far
fewer users than an A/B test to tell two rankers apart (Chapelle et al., TOIS 2012, report one to
two orders of magnitude).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.stats import binomtest

__all__ = ["TEAM_A", "TEAM_B", "credit", "team_draft", "verdict"]

TEAM_A, TEAM_B = 0, 1


def team_draft(
    a: Sequence[str], b: Sequence[str], k: int, rng: np.random.Generator
) -> tuple[list[str], npt.NDArray[np.int8]]:
    """Interleave rankings ``a`` and ``b`` into ``k`` items: (items, team of each position)."""
    shown: set[str] = set()
    items: list[str] = []
    teams: list[int] = []
    picks = [0, 0]
    cursor = [0, 0]
    lists = (a, b)
    while len(items) < k:
        if picks[TEAM_A] != picks[TEAM_B]:
            team = TEAM_A if picks[TEAM_A] < picks[TEAM_B] else TEAM_B
        else:
            team = int(rng.integers(2))
        ranking = lists[team]
        while cursor[team] < len(ranking) and ranking[cursor[team]] in shown:
            cursor[team] += 1
        if cursor[team] >= len(ranking):  # this team ran out: the other one fills the slate
            other = lists[1 - team]
            while cursor[1 - team] < len(other) and other[cursor[1 - team]] in shown:
                cursor[1 - team] += 1
            if cursor[1 - team] >= len(other):
                break
            team, ranking = 1 - team, other
        item = ranking[cursor[team]]
        shown.add(item)
        items.append(item)
        teams.append(team)
        picks[team] += 1
    return items, np.asarray(teams, np.int8)


def credit(teams: npt.NDArray[np.int8], clicked: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """Clicks credited to (team A, team B) for one slate: ``clicked[p]`` is position ``p``'s click."""
    clicked = np.asarray(clicked, bool)
    return int((clicked & (teams == TEAM_A)).sum()), int((clicked & (teams == TEAM_B)).sum())


def verdict(
    a_clicks: npt.ArrayLike, b_clicks: npt.ArrayLike, alpha: float = 0.05
) -> tuple[str | None, float, int, int]:
    """Over users (their summed credit per arm): (winner ``"a"``/``"b"``/None, two-sided sign-test
    p-value, users preferring a, users preferring b). Users without a preference do not count."""
    diff = np.asarray(a_clicks, np.float64) - np.asarray(b_clicks, np.float64)
    wins_a, wins_b = int((diff > 0).sum()), int((diff < 0).sum())
    if wins_a + wins_b == 0:
        return None, 1.0, 0, 0
    p = float(binomtest(wins_a, wins_a + wins_b, 0.5).pvalue)
    winner = None if p >= alpha else ("a" if wins_a > wins_b else "b")
    return winner, p, wins_a, wins_b
