"""A real ``lookbook ingest`` process SIGKILLed at any moment leaves the store exactly before or after.

The ingest runs as a subprocess on a big events file and is killed at several moments. One kill
point is deterministic: a logging hook in the subprocess pauses the writer once it logs that it is
writing (inside the transaction, before ``COMMIT``), and the test kills it there, so the "killed
mid-transaction" case is exercised however fast or loaded the machine is. The other kills come after
fixed delays and may land anywhere (start-up, reading, writing, committing, done). Each time the store
is reopened (DuckDB replays or discards its write-ahead log) and its content (counts and the sum of
the events' keys) must equal the state before the ingest or the state after a complete ingest, never
anything in between; and the store must accept a new ingest afterwards.
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
#: Seconds after start, or ``IN_TRANSACTION``: once the paused writer reports it is inside the transaction.
IN_TRANSACTION = "in-transaction"
KILL_AFTER_S: list[float | str] = [0.2, 0.5, 1.0, IN_TRANSACTION, 1.4, 1.8, 2.6]
PAUSED = "PAUSED-IN-TRANSACTION"
#: Runs ``lookbook`` with a log handler that, on the ingest's "writing ... to the store" line (logged
#: after ``BEGIN`` and before the rows are written), says so on stderr and then waits to be killed.
DRIVER = f"""
import logging, sys, time
from lookbook.cli import main

class Pause(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        if message.startswith("writing ") and message.endswith(" to the store"):
            sys.stderr.write("{PAUSED}\\n")
            sys.stderr.flush()
            time.sleep(600)

logging.getLogger("lookbook").addHandler(Pause())
sys.exit(main(sys.argv[1:]))
"""


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
        if when == IN_TRANSACTION:
            assert proc.stderr is not None
            seen = []
            for line in proc.stderr:
                if line.strip() == PAUSED:
                    break
                seen.append(line)
            else:
                pytest.fail("the ingest ended without pausing inside its transaction:\n" + "".join(seen))
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
        assert ingest_file(store, "events", big, show_progress=False).inserted == N_EVENTS
        after = _state(store)

    outcomes = []
    for i, when in enumerate(KILL_AFTER_S):
        project = tmp_path / f"kill-{i}"
        shutil.copytree(base, project)
        # only the deterministic kill pauses the writer; the timed ones may land mid-write or mid-commit
        entry = ["-c", DRIVER] if when == IN_TRANSACTION else ["-m", "lookbook.cli"]
        cmd = [
            sys.executable,
            *entry,
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
            if when == IN_TRANSACTION:
                assert state == before, "killed inside the transaction, yet the rows were committed"
            report = ingest_file(store, "events", small, show_progress=False)
            assert report.committed and report.rejected == 0
            assert store.counts()["users"] == dict(state[0])["users"] + 1
    assert "before" in outcomes, outcomes
    print("kill outcomes:", dict(zip(map(str, KILL_AFTER_S), outcomes, strict=True)))
