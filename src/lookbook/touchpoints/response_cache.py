"""``ResponseCache``: home feeds and similar-items pages reused between requests, refreshed without a
stampede.

Two kinds of change make a cached page out of date, and they are not equally urgent:

* **hard**: a write (an item added, updated or sold, the user's own events) or new settings. A page
  that still shows a sold item, or ignores the shopper's last click, is wrong: such a page is never
  served again (its ``stamp`` no longer matches) and the request computes a new one.
* **soft**: the trending and popularity numbers were recomputed (every 30 s of shop time), or a new
  model version was swapped in. Every page is a little out of date at once, but none is wrong.
  Dropping them all at once made every request of the next seconds compute its page: on the
  default world under 8 closed-loop clients, throughput fell from ~350 to ~50 requests per second
  for ~6 s after each refresh and the worst latency rose from ~150 ms to ~300 ms (600 ms after a
  swap). So a soft-stale page is still served, and *one* background thread computes its new
  version (pages in the order requests asked for them, each once); the request after that gets it.

A page is never older than ``ttl_s``: past it, the request computes, soft-stale or not. So trending
reaches a cached feed within the counts' refresh period plus the refresher's queue (seconds), and
never later than refresh period + ``ttl_s``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["ResponseCache"]

#: A queued refresh: (stamp, soft generation, compute, ttl_s) of one page.
_Refresh = tuple[Callable[[], Hashable], Callable[[], int], Callable[[], Any], float]

#: Background refreshes queued at most (beyond it a soft-stale page is computed by its request).
MAX_PENDING = 4096


class ResponseCache:
    """Pages by key, each with the ``stamp`` (hard state) and ``soft`` generation it was computed at."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, Hashable, int, Any]] = {}
        self._pending: OrderedDict[Hashable, _Refresh] = OrderedDict()
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False
        #: pages computed in the background (for tests and logs)
        self.refreshed = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self,
        key: Hashable,
        *,
        stamp: Callable[[], Hashable],
        soft: Callable[[], int],
        compute: Callable[[], Any],
        ttl_s: float,
        max_entries: int,
    ) -> Any:
        """The page of ``key``: cached when its stamp is current, computed otherwise. ``stamp`` and
        ``soft`` are read *before* computing, so a change that lands meanwhile makes the stored page
        stale at once."""
        if ttl_s <= 0:
            return compute()
        now = time.monotonic()
        hard, generation = stamp(), soft()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now and hit[1] == hard:
            if hit[2] != generation:
                self._refresh_later(key, (stamp, soft, compute, ttl_s))
            return hit[3]
        value = compute()
        self._store(key, now + ttl_s, hard, generation, value, max_entries)
        return value

    def clear(self) -> None:
        """Forget every page (new settings, a process override)."""
        self._entries.clear()
        with self._wake:
            self._pending.clear()

    def close(self) -> None:
        """Stop the refresher (pages already cached stay readable)."""
        with self._wake:
            self._closed = True
            self._pending.clear()
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(5.0)

    # ------------------------------------------------------------------------------ internals
    def _store(
        self, key: Hashable, expires: float, hard: Hashable, soft: int, value: Any, limit: int
    ) -> None:
        if len(self._entries) >= limit and key not in self._entries:
            self._entries.clear()  # crude but bounded; a full cache is rebuilt from live requests
        self._entries[key] = (expires, hard, soft, value)

    def _refresh_later(self, key: Hashable, refresh: _Refresh) -> None:
        with self._wake:
            if self._closed or key in self._pending or len(self._pending) >= MAX_PENDING:
                return
            self._pending[key] = refresh
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="lookbook-cache-refresh", daemon=True)
                self._worker.start()
            self._wake.notify()

    def _run(self) -> None:
        # the cores go to request threads first (Linux schedules threads; elsewhere nothing)
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                key, (stamp, soft, compute, ttl_s) = self._pending.popitem(last=False)
            try:
                now = time.monotonic()
                hard, generation = stamp(), soft()
                value = compute()
            except Exception:  # the page's next request computes it (and reports what went wrong)
                log.debug("background refresh of %r failed", key, exc_info=True)
                self._entries.pop(key, None)
                continue
            hit = self._entries.get(key)
            if hit is None or hit[1] == hard:  # a write landed meanwhile: its request recomputes
                self._entries[key] = (now + ttl_s, hard, generation, value)
                self.refreshed += 1
