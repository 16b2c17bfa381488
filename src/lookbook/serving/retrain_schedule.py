"""``lookbook serve --retrain-every DURATION``: retrain the served project on a schedule, in a
separate process.

Training never runs inside the serving process: it would take the cores and the interpreter the
requests need for minutes. The schedule starts ``lookbook retrain --project P --json`` as a child
process at a lower CPU priority (``nice`` 10: on two cores the requests keep theirs), reads its
report, and counts the outcome. A promoted version reaches the server the usual way: the child
replaces ``models/CURRENT`` and the reload watcher swaps it in (``lookbook.touchpoints.swap``).

One retrain at a time: the next waits until ``every`` seconds after the previous one ended, so a
retrain that takes longer than the interval never overlaps itself. Stopping the server stops the
schedule and terminates a running child (its half-written version is marked failed by the next
retrain; the promoted one is untouched).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from lookbook.errors import LookbookError

log = logging.getLogger(__name__)

__all__ = ["MIN_INTERVAL_S", "RetrainSchedule", "parse_duration"]

#: Shortest interval accepted: a retrain of the default world takes about two minutes.
MIN_INTERVAL_S = 60.0

_UNITS = {"s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"30m"``, ``"6h"``, ``"1d"`` or a bare number of seconds."""
    got = _DURATION.match(str(text).lower())
    if got is None:
        raise LookbookError(f"duration: expected a number with s, m, h or d (like 6h), got {text!r}")
    return float(got.group(1)) * _UNITS[got.group(2) or "s"]


def _lower_priority() -> None:  # runs in the child between fork and exec
    os.nice(10)


class RetrainSchedule:
    """Runs ``command`` (default: ``lookbook retrain`` of ``project``) every ``every_s`` seconds on its
    own thread; ``on_done(outcome)`` hears ``"promoted"``, ``"kept"`` or ``"failed"``."""

    def __init__(
        self,
        project: Path,
        every_s: float,
        on_done: Callable[[str], None] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        if not every_s >= MIN_INTERVAL_S:
            raise LookbookError(f"retrain interval: expected at least {MIN_INTERVAL_S:.0f} s, got {every_s}")
        self.project, self.every_s, self.on_done = Path(project), float(every_s), on_done
        self.command = list(command or [sys.executable, "-m", "lookbook", "-q", "retrain", "--project",
                                        str(self.project), "--json"])  # fmt: skip
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="lookbook-retrain", daemon=True)
        self._thread.start()
        log.info("retraining %s every %.0f s in a separate process", self.project, self.every_s)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the schedule; a retrain in progress is terminated."""
        self._stop.set()
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                self._child.terminate()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> str:
        """Retrain now (on the caller's thread); returns the outcome."""
        with self._lock:
            if self._stop.is_set():
                return "failed"
            self._child = subprocess.Popen(
                self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                preexec_fn=_lower_priority if os.name == "posix" else None,
            )  # fmt: skip
        out, err = self._child.communicate()
        code = self._child.returncode
        if code != 0:
            log.error("scheduled retrain failed (exit %s): %s", code, err.strip()[-2000:])
            return self._tell("failed")
        try:
            report = json.loads(out)
        except json.JSONDecodeError:
            log.error("scheduled retrain printed no report: %s", out.strip()[-500:])
            return self._tell("failed")
        outcome = "promoted" if report.get("promoted") else "kept"
        log.info("scheduled retrain: version %s %s", report.get("version"), outcome)
        return self._tell(outcome)

    def _tell(self, outcome: str) -> str:
        if self.on_done is not None:
            self.on_done(outcome)
        return outcome

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.run_once()
            except Exception:  # the schedule must outlive one broken run
                log.exception("scheduled retrain: could not run")
