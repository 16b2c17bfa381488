"""Benchmark of the embedded store: ingest throughput per format, and loading events for training.

The figures that matter for the store are how fast a shop's exports get in (rows per second for a
catalog CSV, an events CSV and an events Parquet file) and how fast training gets every event back
as arrays (``Store.event_arrays``; target: one million events in under 2 s). The benchmark builds
its own synthetic files in a temporary folder, so it needs no data set and measures only the store:
the catalog has no images, ids and kinds are drawn with a seeded generator.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from lookbook.errors import SchemaError
from lookbook.schema import EventKind
from lookbook.store import DB_FILE, ingest_file, open_store

log = logging.getLogger(__name__)

__all__ = ["EVENTS_TO_ARRAYS_TARGET_S", "StoreBenchConfig", "make_bench_files", "run_store_benchmark"]

#: The store's performance target: one million events into arrays in under this many seconds.
EVENTS_TO_ARRAYS_TARGET_S = 2.0
_T0 = np.datetime64("2024-01-01T00:00:00", "s")
_DAYS = 90


@dataclass(frozen=True)
class StoreBenchConfig:
    """Sizes of the synthetic files and how often the array load is repeated (the median is reported).

    20,000 items and 50,000 users are a mid-size shop; one million events is the target's size.
    """

    n_events: int = 1_000_000
    n_items: int = 20_000
    n_users: int = 50_000
    repeats: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_events", "n_items", "n_users", "repeats"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchemaError(f"StoreBenchConfig.{name}: expected an int >= 1, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_bench_files(out: Path, config: StoreBenchConfig) -> dict[str, Path]:
    """Write ``items.csv``, ``events.csv`` and ``events.parquet`` (the same events) into ``out``.

    The CSV carries text timestamps with an offset, ``|``-separated sizes and a plain ``colour``
    column (folded into attributes), like a shop export; the Parquet file uses the world layout's
    typed columns (UTC timestamps, integers), like ``lookbook world generate`` writes.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    n_items, n_events = config.n_items, config.n_events
    item_ids = np.char.add("sku-", np.char.zfill(np.arange(n_items).astype(str), 6))
    slots = np.array(["top", "bottom", "dress", "outerwear", "shoes", "bag", "accessory"])
    colours = np.array(["black", "white", "red", "navy", "beige", "green"])
    created = _T0 + rng.integers(0, _DAYS * 86400, n_items).astype("timedelta64[s]")
    items = pa.table(
        {
            "item_id": item_ids,
            "title": np.char.add("Item ", np.arange(n_items).astype(str)),
            "slot": slots[rng.integers(0, slots.size, n_items)],
            "brand": np.char.add("brand-", rng.integers(0, 200, n_items).astype(str)),
            "price": np.round(rng.lognormal(3.5, 0.6, n_items), 2),
            "sizes": np.full(n_items, "S|M|L"),
            "colour": colours[rng.integers(0, colours.size, n_items)],
            "created_at": np.datetime_as_string(created, unit="s", timezone="UTC"),
        }
    )
    pacsv.write_csv(items, out / "items.csv")

    kinds = np.array([k.value for k in EventKind])
    kind_p = np.array([0.55, 0.25, 0.08, 0.05, 0.04, 0.02, 0.01])
    ts = _T0 + np.sort(rng.integers(0, _DAYS * 86400 * 1000, n_events)).astype("timedelta64[ms]")
    position = rng.integers(0, 48, n_events)
    has_position = rng.random(n_events) < 0.7
    events = {
        "user_id": np.char.add("u", rng.integers(0, config.n_users, n_events).astype(str)),
        "item_id": item_ids[np.minimum(rng.zipf(1.3, n_events) - 1, n_items - 1)],
        "kind": kinds[rng.choice(kinds.size, n_events, p=kind_p)],
        "device": np.array(["web", "ios", "android"])[rng.integers(0, 3, n_events)],
    }
    csv_events = pa.table(
        {
            **events,
            "timestamp": np.datetime_as_string(ts, unit="ms", timezone="UTC"),
            "position": pa.array(position, mask=~has_position),
        }
    )
    pacsv.write_csv(csv_events, out / "events.csv")
    pq_events = pa.table(
        {
            **events,
            "timestamp": pa.array(ts.astype("datetime64[us]").astype(np.int64), pa.timestamp("us", tz="UTC")),
            "position": pa.array(position, mask=~has_position),
        }
    )
    pq.write_table(pq_events, out / "events.parquet")
    return {
        "items_csv": out / "items.csv",
        "events_csv": out / "events.csv",
        "events_parquet": out / "events.parquet",
    }


def _db_size(project: Path) -> int:
    return sum(p.stat().st_size for p in project.glob(f"{DB_FILE}*") if p.is_file())


def run_store_benchmark(
    config: StoreBenchConfig | None = None, *, workdir: Path | None = None, show_progress: bool = True
) -> dict[str, Any]:
    """Run the benchmark (see the module doc) and return its figures as a flat dict.

    Each events file is ingested into its own project (with the catalog ingested first), so both
    measure inserting new events rather than skipping duplicates. ``workdir`` keeps the files and
    projects for inspection; by default a temporary folder is used and removed.
    """
    config = config or StoreBenchConfig()
    with tempfile.TemporaryDirectory(prefix="lookbook-bench-store-") as tmp:
        root = Path(workdir) if workdir is not None else Path(tmp)
        steps = tqdm(total=4, desc="bench store", unit="step", disable=not show_progress)
        t = time.perf_counter()
        files = make_bench_files(root / "files", config)
        gen_s = time.perf_counter() - t
        steps.update()
        out: dict[str, Any] = {"config": config.to_dict(), "generate_files_s": round(gen_s, 3)}
        for fmt in ("csv", "parquet"):
            project = root / f"project-{fmt}"
            with open_store(project) as store:
                items = ingest_file(store, "items", files["items_csv"], show_progress=False)
                events = ingest_file(store, "events", files[f"events_{fmt}"], show_progress=False)
                store.checkpoint()
            if fmt == "csv":
                out["items_csv_rows_per_s"] = round(items.rows_per_second)
                out["items_csv_s"] = round(items.seconds, 3)
            out[f"events_{fmt}_rows_per_s"] = round(events.rows_per_second)
            out[f"events_{fmt}_s"] = round(events.seconds, 3)
            out[f"events_{fmt}_inserted"] = events.inserted
            steps.update()
        project = root / "project-csv"
        times = []
        with open_store(project, read_only=True) as store:
            for _ in range(config.repeats):
                t = time.perf_counter()
                arrays = store.event_arrays()
                times.append(time.perf_counter() - t)
            n_loaded = len(arrays)
        steps.update()
        steps.close()
        median = statistics.median(times)
        out.update(
            {
                "event_arrays_events": n_loaded,
                "event_arrays_median_s": round(median, 4),
                "event_arrays_runs_s": [round(x, 4) for x in times],
                "event_arrays_target_s": EVENTS_TO_ARRAYS_TARGET_S,
                "event_arrays_meets_target": bool(
                    median * 1_000_000 / max(n_loaded, 1) < EVENTS_TO_ARRAYS_TARGET_S
                ),
                "db_size_mb": round(_db_size(project) / 2**20, 1),
                "db_bytes_per_event": round(_db_size(project) / max(n_loaded, 1), 1),
            }
        )
    log.info("bench store: %s", out)
    return out
