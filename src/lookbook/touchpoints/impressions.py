"""``ImpressionLog``: every served slate into the store, off the request path.

A request only appends one tuple to a queue (microseconds); a background thread turns what
accumulated into one Arrow table and one store transaction every ``flush_s`` seconds or
``batch_rows`` rows, whichever comes first. Impressions are what the reranker, position-bias
correction and experiments learn from, so they are kept, but a kill loses at most the last
``flush_s`` seconds of them: unlike items and events, no shopper was told "done" for an impression.
``close`` flushes what is queued.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lookbook.tables import IMPRESSIONS_SCHEMA as _SCHEMA

__all__ = ["ImpressionLog"]

log = logging.getLogger(__name__)

_Slate = tuple[str, str | None, str, str, str | None, Sequence[str], Sequence[float], float]


class ImpressionLog:
    """Queues slates and writes them in batches with ``write(table)`` (a store append)."""

    def __init__(
        self,
        write: Callable[[pa.Table], Any],
        *,
        flush_s: float = 0.5,
        batch_rows: int = 5_000,
    ) -> None:
        self._write, self.flush_s, self.batch_rows = write, float(flush_s), int(batch_rows)
        self._queue: queue.SimpleQueue[_Slate | None] = queue.SimpleQueue()
        self._written = 0
        self._failed = 0
        self._flushed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="impressions", daemon=True)
        self._thread.start()

    @property
    def written(self) -> int:
        """Impression rows written to the store so far."""
        return self._written

    def log(
        self,
        request_id: str,
        user_id: str | None,
        touchpoint: str,
        config_version: str,
        item_ids: Sequence[str],
        scores: Sequence[float],
        *,
        arm: str | None = None,
        at: float | None = None,
    ) -> None:
        """Queue one slate (``item_ids`` in the order shown, position 0 first)."""
        if item_ids:
            when = time.time() if at is None else at
            self._queue.put((request_id, user_id, touchpoint, config_version, arm, item_ids, scores, when))

    def flush(self, timeout: float = 10.0) -> None:
        """Write everything queued so far, and wait until it is written."""
        self._flushed.clear()
        self._queue.put(None)
        self._flushed.wait(timeout)

    def close(self) -> None:
        self.flush()

    def _run(self) -> None:
        pending: list[_Slate] = []
        rows = 0
        deadline = time.monotonic() + self.flush_s
        while True:
            timeout = max(deadline - time.monotonic(), 0.0)
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ()  # type: ignore[assignment]
            if item:
                pending.append(item)  # type: ignore[arg-type]
                rows += len(item[5])  # type: ignore[index]
                if rows < self.batch_rows:
                    continue
            if pending:
                self._write_batch(pending)
                pending, rows = [], 0
            deadline = time.monotonic() + self.flush_s
            if item is None:
                self._flushed.set()

    def _write_batch(self, slates: list[_Slate]) -> None:
        cols: dict[str, list[Any]] = {f.name: [] for f in _SCHEMA}
        for request_id, user_id, touchpoint, version, arm, items, scores, when in slates:
            n = len(items)
            stamp = datetime.fromtimestamp(when, UTC)
            cols["request_id"] += [request_id] * n
            cols["user_id"] += [user_id] * n
            cols["touchpoint"] += [touchpoint] * n
            cols["config_version"] += [version] * n
            cols["arm"] += [arm] * n
            cols["item_id"] += [str(i) for i in items]
            cols["position"] += list(range(n))
            cols["score"] += [float(s) for s in scores] if len(scores) == n else [None] * n
            cols["timestamp"] += [stamp] * n
        table = pa.Table.from_pydict(cols, schema=_SCHEMA)
        try:
            self._write(table)
            self._written += table.num_rows
        except Exception:  # a failed batch must not kill the thread that logs every later slate
            self._failed += table.num_rows
            log.exception("impressions: %d rows not written", table.num_rows)
