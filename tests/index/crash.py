"""Kill a writer process mid-stream and check what survives: shared by every persistent backend.

The writer opens its index with ``open_expr`` (a Python expression over ``sys.argv``), upserts one
item at a time and deletes every tenth-but-five, printing each acknowledgement; the test reads the
acknowledgements, SIGKILLs the writer while it is still going, and checks the reopened index.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import numpy as np

from lookbook.index import VectorIndex

_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    {imports}

    index = {open_expr}
    rng = np.random.default_rng(0)
    for i in range(100_000):
        index.upsert([f"item{{i}}"], rng.normal(size=(1, 8)), [{{"price": float(i)}}])
        print("acked", f"item{{i}}", flush=True)
        if i % 10 == 9:
            index.delete([f"item{{i - 5}}"])
            print("deleted", f"item{{i - 5}}", flush=True)
    """
)


def kill_writer_midstream(
    imports: str, open_expr: str, args: list[str], min_acked: int
) -> tuple[list[str], set[str]]:
    """(acknowledged upserts, acknowledged deletes) of a writer killed after ``min_acked`` upserts."""
    script = _WRITER.format(imports=imports, open_expr=open_expr)
    child = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True)
    acked: list[str] = []
    deleted: set[str] = set()
    try:
        assert child.stdout is not None
        for line in child.stdout:
            verb, item_id = line.split()
            (acked.append if verb == "acked" else deleted.add)(item_id)
            if verb == "deleted" and len(acked) >= min_acked:  # the writer's next delete hits an unread id
                break
    finally:
        child.send_signal(signal.SIGKILL)  # mid-stream: the writer is still going
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return acked, deleted


def assert_survived(index: VectorIndex, acked: list[str], deleted: set[str]) -> None:
    """Every acknowledged upsert is there and no acknowledged delete is."""
    survivors = [i for i in acked if i not in deleted]
    stored = index.count()  # the writer may have got further than the lines read here
    assert stored >= len(survivors)
    found = set(index.search(np.zeros((1, 8), np.float32), stored, exact=True).row(0))
    assert len(found) == stored
    assert not set(survivors) - found, "an acknowledged upsert was lost"
    assert not deleted & found, "an acknowledged delete was lost"
