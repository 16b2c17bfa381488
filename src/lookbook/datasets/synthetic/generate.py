"""``make_synthetic_world``: build a whole demo shop, from hidden tastes to rendered photos.

Stages, each with its own random stream (spawned from the seed) so that changing one stage's
internals does not reshuffle the others: catalog truth -> users -> weeks of events -> sold-out
items -> outfits / rooms -> item images -> community photos -> tables and truth on disk.

The world is written into a temporary sibling folder and renamed into place at the end, so an
interrupted run never leaves a half-made world where a whole one is expected.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lookbook.datasets.synthetic.catalog import items_table, make_brands, sample_items, sample_size_bits
from lookbook.datasets.synthetic.config import WorldConfig
from lookbook.datasets.synthetic.outfits import sample_sets
from lookbook.datasets.synthetic.population import DEVICES, REGIONS, sample_users, users_table
from lookbook.datasets.synthetic.simulate import TOUCHPOINTS, Simulation, simulate
from lookbook.datasets.synthetic.taste import (
    ItemTruth,
    colour_harmony,
    slot_complementarity,
    slot_pair_weights,
)
from lookbook.datasets.synthetic.vocab import VOCABS, DomainVocab
from lookbook.datasets.world import World, save_world
from lookbook.errors import LookbookError
from lookbook.schema import EventKind
from lookbook.tables import GARMENT_TYPE

log = logging.getLogger(__name__)

#: Bumped whenever the same config and seed would generate a different world, so that a saved world
#: made by older code is regenerated instead of reused.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class GenerationReport:
    """What was made and how long each stage took (seconds)."""

    world: World
    path: Path
    timings: dict[str, float]


def _dict_array(codes: np.ndarray, names: tuple[str, ...] | list[str] | np.ndarray) -> pa.Array:
    """Strings stored as codes into a small dictionary: no Python string per row, even at 10 M rows."""
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(list(names), pa.string())
    )


def _events_table(
    sim: Simulation,
    user_ids: list[str],
    item_ids: list[str],
    user_region: np.ndarray,
    user_device: np.ndarray,
) -> pa.Table:
    kinds = [k.value for k in EventKind]
    position = pa.array(sim.ev_position.astype(np.int64), mask=sim.ev_position < 0)
    return pa.table(
        {
            "user_id": _dict_array(sim.ev_user, user_ids),
            "item_id": _dict_array(sim.ev_item, item_ids),
            "kind": _dict_array(sim.ev_kind, kinds),
            "timestamp": pa.array(sim.ev_time, type=pa.timestamp("us", tz="UTC")),
            "device": _dict_array(user_device[sim.ev_user], DEVICES),
            "region": _dict_array(user_region[sim.ev_user], REGIONS),
            "touchpoint": _dict_array(sim.ev_touchpoint, TOUCHPOINTS),
            "position": position,
        }
    )


def _impressions_table(sim: Simulation, user_ids: list[str], item_ids: list[str]) -> pa.Table:
    return pa.table(
        {
            "user_id": _dict_array(sim.imp_user, user_ids),
            "item_id": _dict_array(sim.imp_item, item_ids),
            "timestamp": pa.array(sim.imp_time, type=pa.timestamp("us", tz="UTC")),
            "session_id": sim.imp_session,
            "touchpoint": _dict_array(np.zeros(sim.imp_user.size, np.int32), ["home"]),
            "position": sim.imp_position,
            "clicked": sim.imp_clicked,
        }
    )


def _looks(vocab: DomainVocab, items: ItemTruth, category: list[str], seed: int) -> list[Any]:
    from lookbook.datasets.synthetic.render import ItemLook
    from lookbook.datasets.synthetic.vocab import COLOURS

    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, items.slot.size)
    return [
        ItemLook(
            vocab.domain,
            vocab.slots[s],
            category[r],
            COLOURS[c].name,
            vocab.patterns[p],
            vocab.materials[m],
            vocab.shapes[h],
            int(seeds[r]),
        )
        for r, (s, c, p, m, h) in enumerate(
            zip(
                items.slot.tolist(),
                items.colour.tolist(),
                items.pattern.tolist(),
                items.material.tolist(),
                items.shape.tolist(),
                strict=True,
            )
        )
    ]


def make_synthetic_world(
    cfg: WorldConfig,
    out: Path | str,
    *,
    overwrite: bool = False,
    show_progress: bool = True,
    workers: int = 2,
) -> GenerationReport:
    """Generate the world described by ``cfg`` into the folder ``out``.

    Raises ``LookbookError`` if ``out`` exists and ``overwrite`` is false (a world is never mixed
    with leftovers of another).
    """
    from lookbook.datasets.synthetic.photos import render_photos
    from lookbook.datasets.synthetic.render import render_items

    out = Path(out)
    if out.exists() and not overwrite:
        raise LookbookError(f"world --out {out}: already exists; pass --overwrite to replace it")
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "truth").mkdir(parents=True)

    vocab = VOCABS[cfg.domain]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(9)]
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    brands = make_brands(vocab)
    items = sample_items(cfg, vocab, brands, streams[0])
    size_bits = sample_size_bits(vocab, items, streams[1])
    users = sample_users(cfg, vocab, brands, streams[2])
    base_log_price = np.log(np.array([vocab.base_price[s] for s in vocab.slots], dtype=np.float32))
    lap("taste")

    sim = simulate(
        cfg, vocab, items, users, size_bits, base_log_price, streams[3], show_progress=show_progress
    )
    lap("events")

    n_sold = round(cfg.sold_out_share * cfg.n_items)
    p = (sim.item_counts + 1.0) / (sim.item_counts + 1.0).sum()
    sold = streams[4].choice(cfg.n_items, size=n_sold, replace=False, p=p)
    in_stock = np.ones(cfg.n_items, dtype=bool)
    in_stock[sold] = False
    catalog, category = items_table(cfg, vocab, items, brands, size_bits, in_stock, streams[5])
    item_ids = catalog.column("item_id").to_pylist()
    user_table, user_region, user_device = users_table(cfg, users, streams[6])
    user_ids = user_table.column("user_id").to_pylist()
    events = _events_table(sim, user_ids, item_ids, user_region, user_device)
    impressions = _impressions_table(sim, user_ids, item_ids)
    lap("tables")

    harmony = colour_harmony()
    slot_matrix = slot_complementarity(vocab)
    pair_weights = slot_pair_weights(vocab)
    set_rows, set_styles = sample_sets(
        vocab,
        items,
        harmony,
        slot_matrix,
        cfg.sets,
        streams[7],
        pair_weights=pair_weights,
        show_progress=show_progress,
    )
    set_ids = [f"set{n:05d}" for n in range(len(set_rows))]
    sets = pa.table(
        {
            "set_id": set_ids,
            "item_ids": pa.array(
                [[item_ids[r] for r in rows] for rows in set_rows], type=pa.list_(pa.string())
            ),
            "source": ["stylist"] * len(set_rows),
        }
    )
    lap("sets")

    looks = _looks(vocab, items, category, cfg.seed)
    render_items(
        looks,
        [tmp / "images" / f"{i}.png" for i in item_ids],
        size=cfg.image_size,
        workers=workers,
        show_progress=show_progress,
    )
    lap("images")

    photo_rng = streams[8]
    n_photos = cfg.photos
    photo_sets = photo_rng.choice(len(set_rows), size=n_photos, replace=len(set_rows) < n_photos)
    photo_ids = [f"ph{n:05d}" for n in range(n_photos)]
    parts = [[(item_ids[r], looks[r]) for r in set_rows[s]] for s in photo_sets.tolist()]
    seeds = photo_rng.integers(0, 2**31 - 1, n_photos).tolist()
    garments = render_photos(
        cfg.domain,
        parts,
        seeds,
        [tmp / "photos" / f"{p}.png" for p in photo_ids],
        workers=workers,
        show_progress=show_progress,
    )
    split = np.where(photo_rng.random(n_photos) < cfg.photo_test_share, "test", "train")

    all_boxes = [[g.as_row() for g in gs] for gs in garments]
    photos = pa.table(
        {
            "photo_id": photo_ids,
            "image": [f"photos/{p}.png" for p in photo_ids],
            "split": split.tolist(),
            # held-out photos keep their labels in truth/ only
            "garments": pa.array(
                [b if s == "train" else [] for b, s in zip(all_boxes, split, strict=True)],
                type=pa.list_(GARMENT_TYPE),
            ),
        }
    )
    lap("photos")

    truth = tmp / "truth"
    items.save(truth / "items.npz")
    users.save(truth / "users.npz")
    np.savez_compressed(
        truth / "ids.npz",
        item_ids=np.array(item_ids),
        user_ids=np.array(user_ids),
        set_ids=np.array(set_ids),
        set_styles=set_styles,
    )
    pq.write_table(
        pa.table(
            {
                "photo_id": photo_ids,
                "split": split.tolist(),
                "garments": pa.array(all_boxes, type=pa.list_(GARMENT_TYPE)),
                "visible_fraction": pa.array(
                    [[g.visible_fraction for g in gs] for gs in garments], pa.list_(pa.float32())
                ),
            }
        ),
        truth / "photos.parquet",
    )
    model = {
        "domain": cfg.domain.value,
        "weeks": cfg.weeks,
        "start_date": cfg.start_date,
        "slots": [s.value for s in vocab.slots],
        "styles": [s.name for s in vocab.styles],
        "base_log_price": base_log_price.tolist(),
        "colour_harmony": harmony.tolist(),
        "slot_complementarity": slot_matrix.tolist(),
        "slot_pair_colour_weight": pair_weights.colour.tolist(),
        "slot_pair_material_bonus": pair_weights.material.tolist(),
        "brands": list(brands.names),
    }
    (truth / "model.json").write_text(json.dumps(model, indent=1))

    world = World(
        items=catalog,
        users=user_table,
        events=events,
        sets=sets,
        photos=photos,
        impressions=impressions,
        root=out,
        meta={
            "source": "synthetic",
            "domain": cfg.domain.value,
            "config": cfg.to_dict(),
            "generator_version": GENERATOR_VERSION,
        },
    )
    save_world(world, tmp)
    lap("write")
    timings["total"] = round(sum(timings.values()), 3)
    meta = json.loads((tmp / "world.json").read_text())
    meta["timings_s"] = timings
    (tmp / "world.json").write_text(json.dumps(meta, indent=2, sort_keys=True))

    if out.exists():
        trash = out.with_name(f".{out.name}.old")
        if trash.exists():
            shutil.rmtree(trash)
        out.rename(trash)
        tmp.rename(out)
        shutil.rmtree(trash)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    world.root = out
    log.info(
        "world %s: %d items, %d users, %d events, %d sets, %d photos in %.1f s",
        out,
        catalog.num_rows,
        user_table.num_rows,
        events.num_rows,
        sets.num_rows,
        photos.num_rows,
        timings["total"],
    )
    return GenerationReport(world=world, path=out, timings=timings)
