"""A real ``lookbook ingest`` process SIGKILLed at any moment leaves the store exactly before or after.

The ingest runs as a subprocess on an events file big enough to take a second or more, and is
killed at several moments (early, mid-way, and right after it logs that it is writing). Each time
the store is reopened (DuckDB replays or discards its write-ahead log) and its content (counts and
the sum of the events' keys) must equal the state before the ingest or the state after a complete
ingest, never anything in between; and the store must accept a new ingest afterwards.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from lookbook.store import Store, ingest_file, open_store

N_EVENTS = 600_000
N_ITEMS = 2_000
KILL_AFTER_S: list[float | str] = [0.2, 0.5, 1.0, "writing", 1.4, 1.8, 2.6]


def _write_files(folder: Path) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(0)
    ids = np.char.add("sku-", np.arange(N_ITEMS).astype(str))
    items = folder / "items.csv"
    pacsv.write_csv(pa.table({"item_id": ids, "title": np.char.add("Item ", ids)}), items)
    ts = np.datetime64("2024-01-01T00:00:00", "s") + np.sort(rng.integers(0, 90 * 86400, N_EVENTS)).astype(
        "timedelta64[s]"
    )
    big = folder / "big.csv"
    table = pa.table(
        {
            "user_id": np.char.add("u", rng.integers(0, 20_000, N_EVENTS).astype(str)),
            "item_id": ids[rng.integers(0, N_ITEMS, N_EVENTS)],
            "kind": np.array(["view", "click", "purchase"])[rng.integers(0, 3, N_EVENTS)],
            "timestamp": np.datetime_as_string(ts, unit="s", timezone="UTC"),
            "position": rng.integers(0, 30, N_EVENTS),
        }
    )
    pacsv.write_csv(table, big)
    small = folder / "small.csv"
    pacsv.write_csv(table.slice(0, 10).set_column(0, "user_id", pa.array(["late"] * 10)), small)
    return items, big, small


def _state(store: Store) -> tuple[tuple[tuple[str, int], ...], int]:
    key_sum = int(store.connection.execute("SELECT coalesce(sum(event_key), 0) FROM events").fetchall()[0][0])
    return tuple(sorted(store.counts().items())), key_sum


def _kill(cmd: list[str], when: float | str) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if when == "writing":
            assert proc.stderr is not None
            for line in proc.stderr:
                if "writing" in line:
                    break
        else:
            time.sleep(float(when))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.slow
def test_killed_ingest_leaves_the_store_before_or_after(tmp_path: Path) -> None:
    items, big, small = _write_files(tmp_path)
    base = tmp_path / "base"
    with open_store(base) as store:
        assert ingest_file(store, "items", items, show_progress=False).inserted == N_ITEMS
        before = _state(store)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    with open_store(reference) as store:
        t = time.perf_counter()
        assert ingest_file(store, "events", big, show_progress=False).inserted == N_EVENTS
        ingest_s = time.perf_counter() - t
        after = _state(store)
    assert ingest_s > 0.8, f"the file should take a while to ingest, took {ingest_s:.2f} s"

    outcomes = []
    for i, when in enumerate(KILL_AFTER_S):
        project = tmp_path / f"kill-{i}"
        shutil.copytree(base, project)
        cmd = [
            sys.executable,
            "-m",
            "lookbook.cli",
            "--no-progress",
            "ingest",
            "events",
            str(big),
            "--project",
            str(project),
        ]
        _kill(cmd, when)
        with open_store(project, create=False) as store:
            state = _state(store)
            assert state in (before, after), f"kill after {when}: store is in neither state: {state}"
            outcomes.append("before" if state == before else "after")
            report = ingest_file(store, "events", small, show_progress=False)
            assert report.committed and report.rejected == 0
            assert store.counts()["users"] == dict(state[0])["users"] + 1
    assert "before" in outcomes, outcomes
    print("kill outcomes:", dict(zip(map(str, KILL_AFTER_S), outcomes, strict=True)))
