"""A whole generated world: files, determinism, the truth kept apart, the oracle's answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
from lookbook.datasets.synthetic.oracle import Oracle
from lookbook.datasets.synthetic.vocab import VOCABS
from lookbook.datasets.world import load_world
from lookbook.errors import LookbookError
from lookbook.schema import Domain

TABLES = ("items", "users", "events", "sets", "photos", "impressions")


@pytest.fixture(scope="module", params=["fashion", "home"])
def world_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(request.param) / "world"
    cfg = WorldConfig(domain=request.param, n_items=240, n_users=60, seed=5, n_photos=12)
    make_synthetic_world(cfg, out, show_progress=False, workers=1)
    return out


def test_world_has_every_table_and_its_images(world_dir: Path) -> None:
    world = load_world(world_dir)
    assert world.items.num_rows == 240 and world.users.num_rows == 60
    assert world.events.num_rows > 60 * 50
    assert world.sets.num_rows > 20 and world.photos.num_rows == 12
    for rel in world.items.column("image").to_pylist()[:20] + world.photos.column("image").to_pylist():
        with Image.open(world_dir / rel) as im:
            assert min(im.size) >= 128 and im.format == "PNG"


def test_item_text_mentions_attributes_and_never_the_hidden_style(world_dir: Path) -> None:
    world = load_world(world_dir)
    vocab = VOCABS[Domain(world.meta["domain"])]
    text = " ".join(
        world.items.column("title").to_pylist() + world.items.column("description").to_pylist()
    ).lower()
    for style in vocab.styles:
        assert style.name.replace("_", " ") not in text and style.name not in text
    titles = world.items.column("title").to_pylist()
    assert len(set(titles)) > 0.5 * len(titles)  # varied wording


def test_models_cannot_see_the_truth(world_dir: Path) -> None:
    world = load_world(world_dir)
    assert not hasattr(world, "truth")
    # held-out photos carry no labels in what models read; the oracle has them
    split = world.photos.column("split").to_pylist()
    labels = world.photos.column("garments").to_pylist()
    assert all(not g for g, s in zip(labels, split, strict=True) if s == "test")
    assert any(g for g, s in zip(labels, split, strict=True) if s == "train")
    oracle = Oracle.load(world_dir)
    for photo_id in world.photos.column("photo_id").to_pylist():
        garments = oracle.photo_truth(photo_id)
        assert garments, photo_id
        w, h = (384, 256) if world.meta["domain"] == "home" else (256, 384)
        assert all(0 <= g.box[0] < g.box[2] <= w and 0 <= g.box[1] < g.box[3] <= h for g in garments)


def test_same_seed_same_world(world_dir: Path, tmp_path: Path) -> None:
    meta = json.loads((world_dir / "world.json").read_text())
    again = tmp_path / "again"
    make_synthetic_world(WorldConfig.from_dict(meta["config"]), again, show_progress=False, workers=2)
    for name in TABLES:
        assert pq.read_table(again / f"{name}.parquet").equals(
            pq.read_table(world_dir / f"{name}.parquet")
        ), name
    first = sorted((world_dir / "images").iterdir())[:5]
    for path in first:
        assert path.read_bytes() == (again / "images" / path.name).read_bytes()


def test_oracle_agrees_with_the_events(world_dir: Path) -> None:
    """Items users bought are ones they truly like more than average."""
    world = load_world(world_dir)
    oracle = Oracle.load(world_dir)
    events = world.events
    kind = np.array(events.column("kind").to_pylist())
    users = np.array(events.column("user_id").to_pylist())
    items = np.array(events.column("item_id").to_pylist())
    bought = kind == "purchase"
    rng = np.random.default_rng(0)
    random_items = world.items.column("item_id").to_numpy(zero_copy_only=False)[
        rng.integers(0, 240, bought.sum())
    ]
    assert (
        oracle.affinity(users[bought], items[bought]).mean()
        > oracle.affinity(users[bought], random_items).mean() + 0.5
    )


def test_oracle_compatibility_prefers_the_styled_sets(world_dir: Path) -> None:
    world = load_world(world_dir)
    oracle = Oracle.load(world_dir)
    sets = world.sets.column("item_ids").to_pylist()
    real = np.mean([oracle.compatibility(s) for s in sets])
    ids = world.items.column("item_id").to_pylist()
    rng = np.random.default_rng(1)
    shuffled = [list(rng.choice(ids, size=len(s), replace=False)) for s in sets]
    assert real > np.mean([oracle.compatibility(s) for s in shuffled])
    first = sets[0]
    negatives = oracle.hard_negatives(first, 0, n=3)
    assert negatives and all(n not in first for n in negatives)
    assert len(oracle.compatible_items(first[0], k=5)) == 5


def test_refuses_to_overwrite_without_permission(world_dir: Path) -> None:
    with pytest.raises(LookbookError, match="already exists"):
        make_synthetic_world(WorldConfig(n_items=60, n_users=10), world_dir, show_progress=False)
