"""A bandit over a grid of one setting (alpha first), per segment, with its state on disk.

Thompson sampling (Chapelle and Li, NIPS 2011) on a Beta-Bernoulli model of each grid value's
*engagement rate*: the attributed clicks of a served slate over the items it showed.
Each request draws one sample per grid value from its Beta posterior and serves the largest, so
values that might still be best keep getting traffic and clearly worse ones fade out. Segments
(``new`` and ``returning`` shoppers, per touchpoint) learn separately: a new shopper's best alpha
need not be a returning one's. ``EpsilonGreedy`` is the baseline it is compared against.

The state (successes and trials per segment and grid value, and the best value after each update)
is a small JSON file replaced atomically, so it survives a restart and a ``kill -9`` mid-write
leaves the previous state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import LookbookError

__all__ = ["BanditState", "EpsilonGreedy", "ThompsonBandit"]

F64 = npt.NDArray[np.float64]


@dataclass
class BanditState:
    """What a bandit learned: per segment, successes and trials per grid value."""

    key: str
    grid: list[float]
    successes: dict[str, list[float]] = field(default_factory=dict)
    trials: dict[str, list[float]] = field(default_factory=dict)
    #: (update number, segment, best grid value by posterior mean) after each update
    history: list[tuple[int, str, float]] = field(default_factory=list)

    def counts(self, segment: str) -> tuple[F64, F64]:
        n = len(self.grid)
        s = np.asarray(self.successes.get(segment, [0.0] * n), np.float64)
        t = np.asarray(self.trials.get(segment, [0.0] * n), np.float64)
        return s, t

    def save(self, path: Path) -> None:
        """Replace ``path`` atomically (written beside, flushed, renamed)."""
        tmp = path.with_name(path.name + ".tmp")
        body = {"key": self.key, "grid": self.grid, "successes": self.successes, "trials": self.trials,
                "history": [list(h) for h in self.history]}  # fmt: skip
        with tmp.open("w") as f:
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> BanditState:
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
            return cls(
                key=str(raw["key"]),
                grid=[float(v) for v in raw["grid"]],
                successes={str(k): [float(x) for x in v] for k, v in raw["successes"].items()},
                trials={str(k): [float(x) for x in v] for k, v in raw["trials"].items()},
                history=[(int(a), str(b), float(c)) for a, b, c in raw.get("history", [])],
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LookbookError(f"{path}: not a bandit state file ({exc})") from None


class _GridBandit:
    def __init__(self, key: str, grid: Sequence[float], state: BanditState | None = None) -> None:
        values = [float(v) for v in grid]
        if len(values) < 2 or len(set(values)) != len(values):
            raise LookbookError(f"bandit grid {key}: expected at least two distinct values, got {list(grid)}")
        if state is not None and (state.key != key or state.grid != values):
            raise LookbookError(
                f"bandit state: learned {state.key}={state.grid}, asked for {key}={values}; "
                "start a new experiment name for a new grid"
            )
        self.state = state if state is not None else BanditState(key=key, grid=values)

    @property
    def grid(self) -> list[float]:
        return self.state.grid

    def update(
        self, segment: str, arms: npt.ArrayLike, successes: npt.ArrayLike, trials: npt.ArrayLike | None = None
    ) -> None:
        """Add served slates: ``arms[i]`` (grid index) earned ``successes[i]`` of ``trials[i]``
        (default 1: one success or none per slate). A slate of 20 items is 20 trials of its clicks:
        "any click in the slate" is near 1 for every arm and tells them apart poorly."""
        arms = np.asarray(arms, np.int64)
        wins = np.asarray(successes, np.float64)
        tries = np.ones_like(wins) if trials is None else np.asarray(trials, np.float64)
        n = len(self.grid)
        aligned = arms.shape == wins.shape == tries.shape
        if not aligned or (arms.size and (arms.min() < 0 or arms.max() >= n)):
            raise LookbookError(f"bandit update: arms must be grid indices in [0, {n}) aligned with rewards")
        if np.any(wins < 0) or np.any(wins > tries):
            raise LookbookError("bandit update: successes must lie in [0, trials]")
        s, t = self.state.counts(segment)
        s += np.bincount(arms, weights=wins, minlength=n)
        t += np.bincount(arms, weights=tries, minlength=n)
        self.state.successes[segment], self.state.trials[segment] = s.tolist(), t.tolist()
        self.state.history.append((len(self.state.history), segment, self.best(segment)))

    def best(self, segment: str) -> float:
        """The grid value with the highest posterior mean engagement (what the bandit learned)."""
        s, t = self.state.counts(segment)
        return self.grid[int(np.argmax((s + 1.0) / (t + 2.0)))]


class ThompsonBandit(_GridBandit):
    """Thompson sampling over the grid (module doc)."""

    def choose(
        self, segment: str, rng: np.random.Generator, size: int | None = None
    ) -> npt.NDArray[np.int64]:
        """Grid indices for ``size`` requests (one draw of every posterior per request)."""
        s, t = self.state.counts(segment)
        draws = rng.beta(s + 1.0, t - s + 1.0, size=(size or 1, len(self.grid)))
        return draws.argmax(axis=1).astype(np.int64)


class EpsilonGreedy(_GridBandit):
    """The best empirical value, and a uniformly random one with probability ``epsilon``."""

    def __init__(
        self, key: str, grid: Sequence[float], epsilon: float = 0.1, state: BanditState | None = None
    ):
        super().__init__(key, grid, state)
        if not 0.0 <= epsilon <= 1.0:
            raise LookbookError(f"epsilon: expected a probability, got {epsilon}")
        self.epsilon = float(epsilon)

    def choose(
        self, segment: str, rng: np.random.Generator, size: int | None = None
    ) -> npt.NDArray[np.int64]:
        s, t = self.state.counts(segment)
        means = np.where(t > 0, s / np.maximum(t, 1.0), np.inf)  # untried values first
        n = size or 1
        explore = rng.random(n) < self.epsilon
        best = rng.choice(np.flatnonzero(means == means.max()), size=n)
        return np.where(explore, rng.integers(len(self.grid), size=n), best).astype(np.int64)
