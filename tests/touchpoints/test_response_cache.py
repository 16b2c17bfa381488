"""The response cache: writes make a page wrong (never served again), new counts or models only old
(served while one background thread refreshes it)."""

from __future__ import annotations

import threading
import time

from lookbook.touchpoints.response_cache import ResponseCache


class Page:
    """A page whose value is the number of times it was computed."""

    def __init__(self) -> None:
        self.computed = 0
        self.threads: set[str] = set()

    def __call__(self) -> int:
        self.computed += 1
        self.threads.add(threading.current_thread().name)
        return self.computed


def _get(cache: ResponseCache, page: Page, state: dict[str, int], ttl_s: float = 60.0) -> int:
    return cache.get(
        "home",
        stamp=lambda: state["hard"],
        soft=lambda: state["soft"],
        compute=page,
        ttl_s=ttl_s,
        max_entries=100,
    )


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the background refresh did not happen"
        time.sleep(0.01)


def test_a_write_makes_the_page_stale_at_once() -> None:
    cache, page, state = ResponseCache(), Page(), {"hard": 0, "soft": 0}
    assert _get(cache, page, state) == 1 and _get(cache, page, state) == 1
    state["hard"] += 1
    assert _get(cache, page, state) == 2  # computed by the request itself
    assert cache.refreshed == 0
    cache.close()


def test_new_counts_serve_the_old_page_once_and_refresh_it_in_the_background() -> None:
    cache, page, state = ResponseCache(), Page(), {"hard": 0, "soft": 0}
    assert _get(cache, page, state) == 1
    state["soft"] += 1
    assert _get(cache, page, state) == 1  # not recomputed by the request
    _wait_for(lambda: cache.refreshed == 1)
    assert _get(cache, page, state) == 2 and page.computed == 2
    assert "lookbook-cache-refresh" in page.threads
    cache.close()


def test_a_write_during_a_background_refresh_wins() -> None:
    cache, state = ResponseCache(), {"hard": 0, "soft": 0}
    release = threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append(threading.current_thread().name)
        if threading.current_thread().name == "lookbook-cache-refresh":
            release.wait(5)
            return "refreshed before the write"
        return f"computed at {state['hard']}"

    def get() -> str:
        return cache.get("k", stamp=lambda: state["hard"], soft=lambda: state["soft"], compute=slow,
                         ttl_s=60, max_entries=10)  # fmt: skip

    assert get() == "computed at 0"
    state["soft"] += 1
    assert get() == "computed at 0"
    _wait_for(lambda: len(calls) == 2)  # the refresher started, with the old stamp
    state["hard"] += 1
    assert get() == "computed at 1"  # the write: computed by the request
    release.set()
    time.sleep(0.2)
    assert get() == "computed at 1"  # the refresher's older page did not replace it
    cache.close()


def test_no_page_outlives_its_ttl_and_a_zero_ttl_never_caches() -> None:
    cache, page, state = ResponseCache(), Page(), {"hard": 0, "soft": 0}
    assert _get(cache, page, state, ttl_s=0.05) == 1
    time.sleep(0.1)
    assert _get(cache, page, state, ttl_s=0.05) == 2
    assert _get(cache, page, state, ttl_s=0) == 3 and _get(cache, page, state, ttl_s=0) == 4
    cache.close()


def test_clear_and_close() -> None:
    cache, page, state = ResponseCache(), Page(), {"hard": 0, "soft": 0}
    _get(cache, page, state)
    cache.clear()
    assert len(cache) == 0 and _get(cache, page, state) == 2
    state["soft"] += 1
    _get(cache, page, state)
    _wait_for(lambda: cache.refreshed == 1)
    cache.close()
    state["soft"] += 1
    assert _get(cache, page, state) == 3  # still readable; no refresh after close
    time.sleep(0.1)
    assert cache.refreshed == 1
