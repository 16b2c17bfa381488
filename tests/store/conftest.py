"""Shared fixtures: a fresh project store, a six-item catalog whose answers are obvious, file writers."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lookbook.schema import Item
from lookbook.store import Store, open_store

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path / "project"


@pytest.fixture
def store(project: Path) -> Iterator[Store]:
    with open_store(project) as s:
        yield s


def _six_items() -> list[Item]:
    """Three fashion items and three home items; sku-1..sku-6 in insertion order."""
    return [
        Item(
            "sku-1",
            "White tee",
            category="t-shirt",
            slot="top",
            brand="acme",
            price=15.0,
            sizes=("S", "M"),
            attributes={"colour": "white"},
            created_at=T0,
        ),
        Item("sku-2", "Blue jeans", category="jeans", slot="bottom", price=49.5, sizes=("30", "32")),
        Item("sku-3", "Trainers", slot="shoes", price=80.0, in_stock=False),
        Item("sku-4", "Grey sofa", slot="sofa", price=899.0, attributes={"material": "linen"}),
        Item("sku-5", "Floor lamp", slot="lamp", price=120.0),
        Item("sku-6", "Jute rug", slot="rug", price=60.0),
    ]


@pytest.fixture
def six_items() -> list[Item]:
    return _six_items()


@pytest.fixture
def catalog(store: Store) -> Store:
    """The store with the six-item catalog in it."""
    report = store.upsert_items(_six_items())
    assert report.inserted == 6 and report.rejected == 0
    return store


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _make_image(path: Path, payload: bytes) -> Path:
    """A tiny real PNG (8 x 8) whose pixels come from ``payload``: the store decodes every image it
    accepts, and hashes its bytes, so the same payload gives the same file and another payload
    another file (whatever the suffix says, the content is a PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.frombuffer(hashlib.sha256(payload).digest() * 6, dtype=np.uint8).reshape(8, 8, 3)
    Image.fromarray(rgb).save(path, format="PNG")
    return path


@pytest.fixture
def write_csv() -> Any:
    return _write_csv


@pytest.fixture
def write_jsonl() -> Any:
    return _write_jsonl


@pytest.fixture
def make_image() -> Any:
    return _make_image
