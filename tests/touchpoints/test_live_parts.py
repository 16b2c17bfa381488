"""The living shop's small parts on their own: the clock, the event log with its fresh counts, and
the impression log's batching."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pyarrow as pa
import pytest

from lookbook.touchpoints.clock import ManualClock, ReplayClock, WallClock, project_clock
from lookbook.touchpoints.freshness import EventBuffer, FreshCounts
from lookbook.touchpoints.impressions import ImpressionLog
from lookbook.touchpoints.state import trending_scores

DAY = 86_400


def test_a_replay_clock_keeps_history_as_recent_as_it_was_and_survives_a_restart(tmp_path):
    last_event = time.time() - 200 * DAY
    clock = project_clock(tmp_path, "replay", last_event)
    assert isinstance(clock, ReplayClock)
    assert abs(clock.now() - last_event) < 5  # the last event is "just now"
    again = project_clock(tmp_path, "replay", last_event - 50 * DAY)  # new history does not move it
    assert abs(again.now() - clock.now()) < 1
    assert json.loads((tmp_path / "clock.json").read_text())["kind"] == "replay"


def test_a_recent_history_or_the_wall_setting_is_the_wall_clock(tmp_path):
    assert isinstance(project_clock(tmp_path / "a", "wall", 0.0), WallClock)
    (tmp_path / "b").mkdir()
    assert isinstance(project_clock(tmp_path / "b", "replay", time.time() + 10), WallClock)
    with pytest.raises(ValueError, match="clock"):
        project_clock(tmp_path, "sundial", None)


def test_the_manual_clock_moves_only_when_told():
    clock = ManualClock(1000.0)
    assert clock.now() == 1000.0
    assert clock.advance(60) == 1060.0
    clock.set(5.0)
    assert clock.now() == 5.0


def test_the_event_buffer_reads_every_chunk_in_order():
    buf = EventBuffer(np.array([0, 1]), np.array([1, 1], np.int8), np.array([10, 20]))
    buf.append(np.array([2]), np.array([4], np.int8), np.array([30]))
    rows, kinds, ts = buf.arrays()
    assert rows.tolist() == [0, 1, 2] and kinds.tolist() == [1, 1, 4] and ts.tolist() == [10, 20, 30]
    assert len(buf) == 3
    buf.append(np.array([0]), np.array([1], np.int8), np.array([40]))
    assert buf.arrays()[0].tolist() == [0, 1, 2, 0]


def test_a_burst_of_events_moves_trending_at_the_next_refresh():
    now = 100 * DAY
    rows = np.arange(50) % 5
    ts = now - 30 * DAY + np.arange(50) * DAY // 2
    buf = EventBuffer(rows, np.ones(50, np.int8), ts)
    counts = FreshCounts(buf, trending_days=7, refresh_s=30)
    _, before = counts.compute(6, now)
    np.testing.assert_allclose(before, trending_scores(rows, np.ones(50, np.int8), ts, 6, now, 7))
    assert not counts.stale(now + 10) and counts.stale(now + 30)
    buf.append(np.full(20, 5), np.ones(20, np.int8), np.full(20, now + 5))
    popularity, after = counts.compute(6, now + 30)
    assert after[5] > 0 and np.argmax(after) == 5 and popularity[5] > 0
    assert before[5] == 0


def test_events_stamped_ahead_of_the_clock_count_only_once_it_passes_them():
    buf = EventBuffer(np.array([0, 1]), np.ones(2, np.int8), np.array([100, 10_000]))
    popularity, _ = FreshCounts(buf, 7).compute(2, 200)
    assert popularity[0] > 0 and popularity[1] == 0


def test_impressions_are_written_in_batches_with_positions():
    written: list[pa.Table] = []
    log = ImpressionLog(written.append, flush_s=60, batch_rows=1_000)
    log.log("r1", "u1", "home.for_you", "cfg", ["a", "b", "c"], [0.9, 0.5, 0.1], at=1000.0)
    log.log("r2", None, "similar", "cfg", ["d"], [0.3], at=1001.0)
    log.flush()
    table = pa.concat_tables(written)
    assert table.column("request_id").to_pylist() == ["r1", "r1", "r1", "r2"]
    assert table.column("position").to_pylist() == [0, 1, 2, 0]
    assert table.column("user_id").to_pylist() == ["u1", "u1", "u1", None]
    assert log.written == 4
    log.close()


def test_a_failing_store_write_does_not_stop_later_impressions():
    calls: list[int] = []

    def write(table: pa.Table) -> None:
        calls.append(table.num_rows)
        if len(calls) == 1:
            raise OSError("disk full")

    log = ImpressionLog(write, flush_s=60)
    log.log("r1", "u", "home", "cfg", ["a"], [1.0])
    log.flush()
    log.log("r2", "u", "home", "cfg", ["b", "c"], [1.0, 0.5])
    log.flush()
    assert calls == [1, 2] and log.written == 2


def test_logging_a_slate_only_queues_it():
    """Every ``log`` returns while the store write is still blocked: the request never waits for it."""
    gate = threading.Event()
    log = ImpressionLog(lambda table: gate.wait(30), flush_s=0.01)
    for j in range(1_000):
        log.log(f"r{j}", "u", "home", "cfg", [f"i{k}" for k in range(20)], [0.0] * 20)
    assert log.written == 0  # nothing could be written yet, and yet all 1,000 calls returned
    gate.set()
    log.close()
    assert log.written == 20_000
