"""Reload without a restart: a thread watches the project's ``settings.toml`` and ``models/CURRENT``
and asks the shop to reload when either changes.

``lookbook retrain`` promotes a model version by replacing ``models/CURRENT``; a person tunes the
shop by editing ``settings.toml``. The server notices either within about ``interval`` seconds by
polling the two files' modification time, size and inode (no inotify: it works the same on every
file system, and two ``stat`` calls a second cost nothing), then calls ``shop.reload()``, which
re-reads both and swaps the shop's read snapshot atomically: requests in flight finish on the old
one, none fails or waits for the load.

The watcher runs on its own thread, not on the request pool: a reload loads models for seconds,
and must not take a thread the feeds need. A reload that fails (a settings file with a mistake) is
logged and counted, and the shop keeps serving what it had; the file is tried again when it
changes again. Only a shop with a project behind it is watched (``shop.project_root()``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from lookbook.touchpoints.api import Shop

log = logging.getLogger(__name__)

#: The files watched, relative to the project folder.
WATCHED = (Path("settings.toml"), Path("models") / "CURRENT")

Signature = tuple[int, int, int] | None


def _signature(path: Path) -> Signature:
    """What changes when a file is written or replaced: (mtime in ns, size, inode); None if absent."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ReloadWatcher:
    """Polls ``WATCHED`` under ``root`` every ``interval`` seconds; ``on_reload(outcome)`` is told
    ``"ok"`` or ``"failed"`` after each reload (the app counts them in its metrics)."""

    def __init__(
        self,
        shop: Shop,
        root: Path,
        interval: float = 1.0,
        on_reload: Callable[[str], None] | None = None,
    ) -> None:
        self.shop, self.root, self.interval = shop, Path(root), float(interval)
        self.on_reload = on_reload
        self.files = tuple(self.root / p for p in WATCHED)
        self._seen = self._signatures()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()

    def _signatures(self) -> tuple[Signature, ...]:
        return tuple(_signature(p) for p in self.files)

    def poll(self) -> str | None:
        """Look once; reload when a watched file changed since the last look. Returns the model
        version the shop reports after a successful reload, else None."""
        with self._poll_lock:
            now = self._signatures()
            if now == self._seen:
                return None
            changed = [
                str(p.relative_to(self.root))
                for p, a, b in zip(self.files, self._seen, now, strict=True)
                if a != b
            ]
            # remembered before the reload: a broken file is tried again once it changes, not every second
            self._seen = now
            try:
                version = self.shop.reload()
            except Exception:
                log.exception("reload after a change to %s failed; still serving the previous snapshot",
                              ", ".join(changed))  # fmt: skip
                self._tell("failed")
                return None
            log.info("reloaded after a change to %s: model version %s", ", ".join(changed), version)
            self._tell("ok")
            return str(version)

    def _tell(self, outcome: str) -> None:
        if self.on_reload is not None:
            self.on_reload(outcome)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="lookbook-reload", daemon=True)
        self._thread.start()
        log.info("watching %s for changes every %.1f s", ", ".join(map(str, self.files)), self.interval)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling (a reload in progress is waited for, up to ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive anything odd (a stat on a vanished mount)
                log.exception("reload watcher: a poll failed")
