"""``lookbook serve --retrain-every``: durations, and a schedule that runs a child process and
reads its report (a stand-in command here; the real retrain runs in the living-shop walk-through)."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from lookbook.errors import LookbookError
from lookbook.serving.config import ServeConfig
from lookbook.serving.retrain_schedule import RetrainSchedule, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90.0), ("30m", 1800.0), ("6h", 21600.0), ("1d", 86400.0), ("120", 120.0)]
)
def test_durations_read_with_their_units(text: str, seconds: float):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6 hours", "-5m", "1w", "h"])
def test_bad_durations_are_refused_naming_the_value(text: str):
    with pytest.raises(LookbookError, match="duration"):
        parse_duration(text)


def _report(promoted: bool) -> list[str]:
    code = f"import json; print(json.dumps({{'version': 'v9', 'promoted': {promoted}}}))"
    return [sys.executable, "-c", code]


def test_a_run_reads_the_childs_report_and_tells_the_outcome(tmp_path):
    heard: list[str] = []
    schedule = RetrainSchedule(tmp_path, 60, on_done=heard.append, command=_report(True))
    assert schedule.run_once() == "promoted"
    schedule.command = _report(False)
    assert schedule.run_once() == "kept"
    schedule.command = [sys.executable, "-c", "import sys; sys.exit(3)"]
    assert schedule.run_once() == "failed"
    schedule.command = [sys.executable, "-c", "print('not json')"]
    assert schedule.run_once() == "failed"
    assert heard == ["promoted", "kept", "failed", "failed"]


def test_the_child_runs_at_a_lower_priority(tmp_path):
    code = "import json, os; print(json.dumps({'promoted': os.nice(0) >= 10}))"  # promoted: it was niced
    schedule = RetrainSchedule(tmp_path, 60, command=[sys.executable, "-c", code])
    assert schedule.run_once() == "promoted"


def test_stopping_terminates_a_running_child(tmp_path):
    schedule = RetrainSchedule(tmp_path, 60, command=[sys.executable, "-c", "import time; time.sleep(60)"])
    outcome: list[str] = []
    t = threading.Thread(target=lambda: outcome.append(schedule.run_once()))
    t.start()
    time.sleep(1.0)
    started = time.monotonic()
    schedule.stop()
    t.join(10)
    assert outcome == ["failed"] and time.monotonic() - started < 10


def test_intervals_shorter_than_a_minute_are_refused(tmp_path):
    with pytest.raises(LookbookError, match="at least 60"):
        RetrainSchedule(tmp_path, 10)
    with pytest.raises(LookbookError, match="retrain_every"):
        ServeConfig(retrain_every=30)
    assert ServeConfig(retrain_every=3600).retrain_every == 3600
