"""A ``World``: the tables of one shop (catalog, users, events, sets, photos) as Arrow tables.

Both the synthetic demo worlds and the real-data loaders (H&M, Polyvore, interaction CSVs) return
one, so everything downstream (ingest, training, evaluation) reads one shape. Tables are columnar
(Arrow), never lists of records: a 100k-user world has ten million events.

A world on disk is a folder of Parquet files in the layouts of ``lookbook.tables`` plus
its images. A synthetic world also has ``truth/``, which only ``lookbook.datasets.synthetic.oracle``
reads: ``load_world`` never opens it, so a model that loads a world cannot see the answers.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lookbook.errors import NotFound
from lookbook.tables import (
    EVENTS_SCHEMA,
    ITEMS_SCHEMA,
    PHOTOS_SCHEMA,
    SETS_SCHEMA,
    USERS_SCHEMA,
    conform,
)
from lookbook.tables import (
    WORLD_IMPRESSIONS_SCHEMA as IMPRESSIONS_SCHEMA,
)

log = logging.getLogger(__name__)

WORLD_FORMAT_VERSION = 1
_TABLES: dict[str, pa.Schema] = {
    "items": ITEMS_SCHEMA,
    "users": USERS_SCHEMA,
    "events": EVENTS_SCHEMA,
    "sets": SETS_SCHEMA,
    "photos": PHOTOS_SCHEMA,
    "impressions": IMPRESSIONS_SCHEMA,
}


def empty_table(name: str) -> pa.Table:
    """An empty table of one of the world's layouts."""
    return _TABLES[name].empty_table()


@dataclass
class World:
    """The observable tables of one shop.

    ``root`` is the folder that relative ``image`` paths resolve against (``None`` for a world that
    exists only in memory). ``meta`` is free-form provenance (domain, seed, source, sizes).
    ``extras`` holds source-specific tables that are not part of the data model (Polyvore's FITB
    questions, H&M's raw article columns) for the evaluation code that needs them.
    """

    items: pa.Table
    users: pa.Table = field(default_factory=lambda: empty_table("users"))
    events: pa.Table = field(default_factory=lambda: empty_table("events"))
    sets: pa.Table = field(default_factory=lambda: empty_table("sets"))
    photos: pa.Table = field(default_factory=lambda: empty_table("photos"))
    impressions: pa.Table = field(default_factory=lambda: empty_table("impressions"))
    root: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, pa.Table] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, schema in _TABLES.items():
            setattr(self, name, conform(getattr(self, name), schema, name=f"World.{name}"))

    def summary(self) -> dict[str, Any]:
        """Counts a person wants first: table sizes, and items / events broken down."""
        items = self.items
        out: dict[str, Any] = {
            "domain": self.meta.get("domain"),
            "items": items.num_rows,
            "users": self.users.num_rows,
            "events": self.events.num_rows,
            "sets": self.sets.num_rows,
            "photos": self.photos.num_rows,
            "impressions": self.impressions.num_rows,
        }
        if items.num_rows:
            counts = items.column("slot").value_counts().to_pylist()
            out["items_by_slot"] = {c["values"]: c["counts"] for c in counts if c["values"] is not None}
            price = items.column("price").to_numpy(zero_copy_only=False)
            out["price_median"] = float(_nanmedian(price))
            out["in_stock_share"] = float(
                pa.compute.mean(items.column("in_stock").cast(pa.float64())).as_py() or 0
            )
        if self.events.num_rows:
            counts = self.events.column("kind").value_counts().to_pylist()
            out["events_by_kind"] = {c["values"]: c["counts"] for c in counts}
            ts = self.events.column("timestamp")
            out["first_event"] = str(pa.compute.min(ts).as_py())
            out["last_event"] = str(pa.compute.max(ts).as_py())
        return out


def _nanmedian(values: Any) -> float:
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmedian(values)) if values.size and not np.isnan(values).all() else float("nan")


def save_world(world: World, out: Path) -> Path:
    """Write the world's tables as Parquet into ``out`` (images must already be under ``out``).

    Tables are written to temporary files and renamed into place, so a killed writer never leaves
    a half-written table behind.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in _TABLES:
        _write_parquet_atomic(getattr(world, name), out / f"{name}.parquet")
    for name, table in world.extras.items():
        _write_parquet_atomic(table, out / "extras" / f"{name}.parquet")
    meta = dict(world.meta)
    meta["format_version"] = WORLD_FORMAT_VERSION
    _write_text_atomic(out / "world.json", json.dumps(meta, indent=2, sort_keys=True, default=str))
    return out


def load_world(root: Path) -> World:
    """Read a world folder written by ``save_world`` (never its ``truth/``)."""
    root = Path(root)
    meta_path = root / "world.json"
    if not meta_path.exists():
        raise NotFound(
            f"world {root}: no world.json here; make one with `lookbook world generate --out {root}`"
        )
    meta = json.loads(meta_path.read_text())
    version = meta.get("format_version")
    if version != WORLD_FORMAT_VERSION:
        raise NotFound(f"world {root}: format_version {version} is not {WORLD_FORMAT_VERSION}; regenerate it")
    tables = {
        name: pq.read_table(root / f"{name}.parquet")
        if (root / f"{name}.parquet").exists()
        else empty_table(name)
        for name in _TABLES
    }
    extras_dir = root / "extras"
    extras = (
        {p.stem: pq.read_table(p) for p in sorted(extras_dir.glob("*.parquet"))}
        if extras_dir.exists()
        else {}
    )
    return World(**tables, root=root, meta=meta, extras=extras)


def _write_parquet_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    Path(tmp).replace(path)
