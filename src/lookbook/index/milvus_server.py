"""A throwaway Milvus 2.3.5 standalone server on 127.0.0.1, for tests, CI and local trials.

``local_milvus(base_dir)`` starts the server that the ``milvus`` PyPI package bundles (install
``lookbook[milvus-server]``), waits until it answers a real client call, yields its URI
(``http://127.0.0.1:PORT``) and stops it on the way out, on error too. A production deployment points
``MilvusIndex`` at its own cluster instead (see ``lookbook.index.milvus``).

Why not simply ``milvus.default_server.start()``:

* the package unpacks ~250 MB of lzma-compressed binaries into every base folder (about 4 s on the
  2-core CI machine); they are unpacked once into a per-user cache (``$LOOKBOOK_MILVUS_CACHE`` or
  ``~/.cache/lookbook/milvus-server-2.3.5``) and the base folder links to it;
* it picks ports by counting up from the defaults (19530, 2379, ...), so a developer's real Milvus or
  etcd shifts it onto neighbouring well-known ports; here every port is a fresh free one;
* Milvus announces its components on "the first unicastable address" of the machine; every
  component is told to use 127.0.0.1 so that no traffic leaves the loopback interface;
* once a collection is loaded its graceful stop took more than a minute here (the coordinators wait
  for each other), and its own ``stop()`` kills it after one second anyway; here SIGTERM gets half
  a second (enough for a server without collections), then SIGKILL, and on Linux the server also
  gets SIGKILL if the Python process that started it dies, so a killed test run leaves no server
  behind;
* its readiness check sleeps a fixed second after ``/healthz``; here readiness is a real
  ``list_collections`` call.

Startup on the 2-core CI machine: 2.7 s to the first answered call with the cache warm, 6.3 s
with a cold cache (once per machine). ``QUICK`` below tunes the server for tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

#: the components whose ``ip`` Milvus would otherwise take from the first network interface
_COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")
_PR_SET_PDEATHSIG = 1

#: settings for a server that tests and trials create collections on and read right after writing:
#: a read after a write waits for the next time tick (200 ms by default), loading a collection waits
#: for the query coordinator's checks (1 s apart by default), and a flushed segment reaches the query
#: node at the next target update (10 s by default) and gets its index loaded at the next index
#: check (until then it is searched through the interim IVF index, whatever ``ef`` says). An idle
#: server then uses ~12 % of one core instead of ~3 %.
QUICK: Mapping[str, object] = {
    "proxy.timeTickInterval": 20,
    "queryCoord.checkInterval": 100,
    "queryCoord.distPullInterval": 100,
    "queryCoord.checkChannelInterval": 100,
    "queryCoord.checkSegmentInterval": 100,
    "queryCoord.checkHandoffInterval": 500,
    "queryCoord.UpdateNextTargetInterval": 1,
    "queryCoord.checkIndexInterval": 500,
}


class MilvusServerError(RuntimeError):
    """The bundled Milvus server could not be started (missing package, crash, timeout)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def default_cache_dir(version: str) -> Path:
    env = os.environ.get("LOOKBOOK_MILVUS_CACHE")
    root = Path(env) if env else Path.home() / ".cache" / "lookbook"
    return root / f"milvus-server-{version}"


def _unpacked_binaries(milvus_module, cache_dir: Path) -> Path:
    """``cache_dir/bin`` with the server's binaries, unpacked once; a file lock keeps two test runs
    from writing the same files at once (the package checks each file's md5 and skips what is there)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            t0 = time.perf_counter()
            milvus_module._initialize_data_files(str(cache_dir))
            log.debug("milvus binaries ready in %s (%.1f s)", cache_dir, time.perf_counter() - t0)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return cache_dir / "bin"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL the server when the process that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _patch_yaml(text: str, overrides: Mapping[str, object]) -> str:
    """Set dotted keys (``queryCoord.checkChannelInterval``) in Milvus's two-space-indented YAML,
    adding the ones the template lacks under their section (the package can only change keys that
    its template already has)."""
    lines = text.splitlines()
    for key, value in overrides.items():
        parts = key.split(".")
        rendered = str(value).lower() if isinstance(value, bool) else str(value)
        path: list[str] = []
        parent_at = -1
        done = False
        for n, line in enumerate(lines):
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or ":" not in stripped or stripped.startswith("-"):
                continue
            level = (len(line) - len(line.lstrip(" "))) // 2
            name = stripped.split(":", 1)[0].strip()
            path = [*path[:level], name]
            if path == parts:
                comment = line.split("#", 1)[1] if "#" in line.split(":", 1)[1] else ""
                lines[n] = "  " * level + f"{name}: {rendered}" + (f" #{comment}" if comment else "")
                done = True
                break
            if path == parts[: len(path)] and len(path) == len(parts) - 1:
                parent_at = n
        if not done:
            if parent_at < 0:
                raise MilvusServerError(f"milvus config: no section for {key!r}")
            indent = "  " * (len(parts) - 1)
            lines.insert(parent_at + 1, f"{indent}{parts[-1]}: {rendered}")
    return "\n".join(lines) + "\n"


def _log_tail(logs: Path, lines: int = 20) -> str:
    out = []
    for name in ("milvus-stderr.log", "milvus-stdout.log"):
        with contextlib.suppress(OSError):
            text = (logs / name).read_text(errors="replace").splitlines()
            out.append(f"--- {name}\n" + "\n".join(line[:400] for line in text[-lines:]))
    return "\n".join(out)


def _wait_ready(proc: subprocess.Popen, uri: str, metrics_port: int, timeout: float, logs: Path) -> None:
    """Return once the server answers a client call; raise ``MilvusServerError`` if it dies or times out."""
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout
    healthy = False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise MilvusServerError(
                f"milvus exited with code {proc.returncode} while starting\n{_log_tail(logs)}"
            )
        if not healthy:
            try:
                url = f"http://127.0.0.1:{metrics_port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    healthy = b"OK" in resp.read()
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
        if healthy:
            try:
                client = MilvusClient(
                    uri=uri, timeout=5, alias=f"lookbook-ready-{os.getpid()}-{metrics_port}"
                )
                try:
                    client.list_collections()
                    return
                finally:
                    client.close()
            except Exception as exc:  # not ready yet: the proxy may still be registering
                log.debug("milvus not answering yet: %s", exc)
        time.sleep(0.1)
    raise MilvusServerError(f"milvus did not answer within {timeout:.0f} s\n{_log_tail(logs)}")


def _stop(proc: subprocess.Popen, grace: float) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


@contextlib.contextmanager
def local_milvus(
    base_dir: str | os.PathLike[str],
    *,
    port: int | None = None,
    timeout: float = 120.0,
    stop_grace: float = 0.5,
    cache_dir: Path | None = None,
    extra_config: Mapping[str, object] | None = None,
) -> Iterator[str]:
    """Start the bundled Milvus standalone server with its data in ``base_dir`` and yield its URI.

    ``port`` is the client (proxy) port, a free one by default. ``timeout`` bounds the start; the
    server is stopped on leaving the block, with ``stop_grace`` seconds for SIGTERM before SIGKILL
    (its graceful stop would take minutes). A killed server keeps every acknowledged write: started
    again on the same ``base_dir`` it replays its log (checked: upserts and deletes survive), but
    that start takes about a minute, until the killed server's etcd sessions expire; tests use a
    fresh folder. Raises ``MilvusServerError`` when the server cannot start here.
    """
    try:
        import milvus
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MilvusServerError(
            "the bundled Milvus server needs the `milvus` package: pip install 'lookbook[milvus-server]'"
        ) from exc
    if not sys.platform.startswith("linux"):  # pragma: no cover
        log.warning("local_milvus is only tested on Linux (the package ships Linux and macOS binaries)")

    t0 = time.perf_counter()
    base = Path(base_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    bin_dir = _unpacked_binaries(milvus, cache_dir or default_cache_dir(milvus.__version__))
    link = base / "bin"
    if not link.exists():
        link.symlink_to(bin_dir, target_is_directory=True)

    config = milvus.MilvusServerConfig(data_dir=str(base))
    ports = {key: _free_port() for key in config.configurable_items if key.endswith("_port")}
    ports["proxy_port"] = port or ports["proxy_port"]
    for key, value in ports.items():
        config.set(key, value)
    config.resolve()  # writes base/configs/milvus.yaml (and checks every port binds)
    overrides: dict[str, object] = {f"{component}.ip": "127.0.0.1" for component in _COMPONENTS}
    overrides["log.level"] = "warn"
    overrides.update(QUICK)
    overrides.update(extra_config or {})
    yaml = base / "configs" / "milvus.yaml"
    yaml.write_text(_patch_yaml(yaml.read_text(), overrides))
    proxy_port = int(config.get("proxy_port"))
    metrics_port = _free_port()

    exe = link / "milvus"
    env = dict(os.environ)
    env.update(
        DEPLOY_MODE="STANDALONE",
        METRICS_PORT=str(metrics_port),
        MILVUS_RUN_DIR=str(base / "run"),
        LD_LIBRARY_PATH=":".join(filter(None, [str(link), os.environ.get("LD_LIBRARY_PATH", "")])),
    )
    logs = base / "logs"
    logs.mkdir(exist_ok=True)
    uri = f"http://127.0.0.1:{proxy_port}"
    with (logs / "milvus-stdout.log").open("ab") as out, (logs / "milvus-stderr.log").open("ab") as err:
        proc = subprocess.Popen(
            [str(exe), "run", "standalone"],
            cwd=base,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    try:
        _wait_ready(proc, uri, metrics_port, timeout, logs)
        log.info(
            "milvus %s up at %s in %.1f s (pid %d)",
            milvus.__version__,
            uri,
            time.perf_counter() - t0,
            proc.pid,
        )
        yield uri
    finally:
        t1 = time.perf_counter()
        _stop(proc, stop_grace)
        log.info("milvus at %s stopped in %.1f s", uri, time.perf_counter() - t1)
