"""The shop's clock: what "now" is for new-in, trending, recency weights and event time stamps.

A live shop's clock is the wall clock. A shop served from recorded history (a demo world, a data
set from 2020) would look dead on the wall clock: every event months old, nothing trending, no new
arrivals. So such a project runs on a *replay* clock: the wall clock shifted back by a fixed
offset, chosen the first time the project is served (the gap between then and its last event) and
kept in ``clock.json``, so its history stays as recent as when it was recorded, time then flows at
wall speed, and a restart does not jump. Tests and simulations pass a ``ManualClock``.

Whichever it is, the clock is the shop's own: an event's time stamp never moves it (one client with
a wrong clock must not change everyone's feed), and events later than ``now`` plus a small skew are
refused.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["MAX_SKEW_S", "Clock", "ManualClock", "ReplayClock", "WallClock", "project_clock"]

#: How far into the future (seconds) an event's time stamp may be: clients' clocks drift.
MAX_SKEW_S = 300
CLOCK_FILE = "clock.json"


@runtime_checkable
class Clock(Protocol):
    """Epoch seconds, as the shop sees them."""

    def now(self) -> float: ...


class WallClock:
    """The wall clock (``time.time``)."""

    def now(self) -> float:
        return time.time()


class ReplayClock:
    """The wall clock ``offset_s`` seconds in the past."""

    def __init__(self, offset_s: float) -> None:
        self.offset_s = float(offset_s)

    def now(self) -> float:
        return time.time() - self.offset_s


class ManualClock:
    """A clock that moves only when told to (tests, simulations: a day in seconds)."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, value: float) -> None:
        with self._lock:
            self._now = float(value)


def project_clock(root: Path, kind: str, last_event_s: float | None) -> Clock:
    """The clock of the project at ``root``: ``"wall"``, or ``"replay"`` anchored at its last event.

    The replay offset is fixed the first time and read back afterwards; a project whose last event
    is recent (or that has none) gets offset 0, which is the wall clock.
    """
    if kind == "wall":
        return WallClock()
    if kind != "replay":
        raise ValueError(f"clock: expected 'wall' or 'replay', got {kind!r}")
    path = Path(root) / CLOCK_FILE
    if path.exists():
        offset = float(json.loads(path.read_text())["offset_s"])
    else:
        offset = max(0.0, time.time() - float(last_event_s)) if last_event_s else 0.0
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"kind": "replay", "offset_s": offset}))
        tmp.replace(path)
    return ReplayClock(offset) if offset > 0 else WallClock()
