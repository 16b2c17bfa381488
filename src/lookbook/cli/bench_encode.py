"""``lookbook bench encode``: how fast new items get their content vectors.

Renders N synthetic product shots into a temporary folder, then encodes them as a shop would encode
N newly added items: images (images/s at the chosen resolution), texts (texts/s), the fusion fit,
and the end-to-end seconds from "items table" to "fused vectors" with a cold feature cache (models
loaded, everything encoded) and again with a warm one (every image and text already cached, the
fitted fusion reused: what a re-run or a re-index costs). The issue's target: 1,000 new items in
under 60 s on two cores.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from lookbook.cli._common import emit, print_json

#: The issue's target for encoding 1,000 new items, in seconds.
TARGET_SECONDS_PER_1000 = 60.0

#: Fewer items than this give no verdict on the target (first-batch warm-up dominates).
MIN_ITEMS_FOR_VERDICT = 200

_BRANDS = ("Kalomi", "Northwind", "Atelier Vey", "Ossa", "Lune & Co", "Brisk", "Tallow", "Mirae")


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "encode",
        help="time the content encoders on N new items",
        description="Render N synthetic items, then time image encoding (images/s), text encoding "
        "(texts/s), the fusion fit, and encoding the N items end to end with a cold and a warm feature "
        "cache. The issue's target: 1,000 new items in under 60 s.",
    )
    parser.add_argument("--items", type=int, default=1_000, help="items to render and encode (default 1000)")
    parser.add_argument(
        "--resolution", type=int, default=128, help="image encoder input side in pixels (default 128)"
    )
    parser.add_argument("--domain", choices=["fashion", "home"], default="fashion")
    parser.add_argument("--image-size", type=int, default=128, help="side of the rendered PNGs (default 128)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: one per core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_bench_encode)


def synthetic_items(n: int, domain: str, seed: int) -> tuple[Any, list[Any]]:
    """``n`` random items of ``domain``: an ITEMS-like Arrow table and the matching ``ItemLook``s."""
    import numpy as np
    import pyarrow as pa

    from lookbook.datasets.synthetic.render import ItemLook
    from lookbook.datasets.synthetic.vocab import COLOURS, VOCABS
    from lookbook.schema import Domain

    vocab = VOCABS[Domain(domain)]
    rng = np.random.default_rng(seed)
    weights = np.array([vocab.slot_weights[s] for s in vocab.slots])
    slots = rng.choice(len(vocab.slots), size=n, p=weights / weights.sum())
    looks: list[ItemLook] = []
    rows: dict[str, list[Any]] = {
        k: [] for k in ("item_id", "title", "description", "category", "slot", "brand", "attributes", "image")
    }
    for i, s in enumerate(slots.tolist()):
        slot = vocab.slots[s]
        cats = vocab.categories[slot]
        mats = vocab.materials_by_slot[slot]
        category = cats[int(rng.integers(len(cats)))]
        colour = COLOURS[int(rng.integers(len(COLOURS)))]
        pattern = vocab.patterns[int(rng.integers(len(vocab.patterns)))]
        material = mats[int(rng.integers(len(mats)))]
        shape = vocab.shapes[int(rng.integers(len(vocab.shapes)))]
        brand = _BRANDS[int(rng.integers(len(_BRANDS)))]
        looks.append(
            ItemLook(Domain(domain), slot, category, colour.name, pattern, material, shape, seed * n + i)
        )
        word = colour.words[int(rng.integers(len(colour.words)))]
        item_id = f"bench{i:06d}"
        rows["item_id"].append(item_id)
        rows["title"].append(f"{shape.capitalize()} {word} {category}")
        rows["description"].append(
            f"A {shape} {category} in {word} {material}"
            + ("" if pattern == "solid" else f" with a {pattern} pattern")
            + f", by {brand}."
        )
        rows["category"].append(category)
        rows["slot"].append(slot.value)
        rows["brand"].append(brand)
        rows["attributes"].append(
            [("colour", colour.name), ("pattern", pattern), ("material", material), ("shape", shape)]
        )
        rows["image"].append(f"images/{item_id}.png")
    table = pa.table(
        {
            **{k: v for k, v in rows.items() if k != "attributes"},
            "attributes": pa.array(rows["attributes"], type=pa.map_(pa.string(), pa.string())),
        }
    )
    return table, looks


def run_bench(
    n_items: int,
    *,
    resolution: int = 128,
    domain: str = "fashion",
    image_size: int = 128,
    threads: int | None = None,
    seed: int = 0,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run the benchmark and return its figures (what ``--json`` prints)."""
    import torch

    from lookbook.datasets.synthetic.render import render_items
    from lookbook.encoders import ImageEncoderConfig, TextEncoderConfig, encode_items
    from lookbook.errors import LookbookError

    if n_items < 2:
        raise LookbookError(f"bench encode --items: expected an int >= 2, got {n_items}")
    try:
        image_config = ImageEncoderConfig(resolution=resolution, threads=threads)
        text_config = TextEncoderConfig(threads=threads)
    except LookbookError as exc:
        flag = "--threads" if "threads" in str(exc) else "--resolution"
        raise LookbookError(f"bench encode {flag}: {exc}") from None
    tmp = Path(tempfile.mkdtemp(prefix="lookbook-bench-encode-"))
    try:
        items, looks = synthetic_items(n_items, domain, seed)
        t = time.perf_counter()
        render_items(
            looks,
            [tmp / p for p in items.column("image").to_pylist()],
            size=image_size,
            workers=2,
            show_progress=show_progress,
        )
        render_s = time.perf_counter() - t

        cache = tmp / "cache"
        t = time.perf_counter()
        cold = encode_items(
            items,
            tmp,
            cache_dir=cache,
            image_config=image_config,
            text_config=text_config,
            show_progress=show_progress,
        )
        cold_s = time.perf_counter() - t
        t = time.perf_counter()
        warm = encode_items(
            items,
            tmp,
            cache_dir=cache,
            image_config=image_config,
            text_config=text_config,
            show_progress=show_progress,
            fusion=cold.fusion,
        )
        warm_s = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ct = cold.timings
    # Model loading is a fixed cost; the rest scales with the number of items.
    fixed = ct["image_load_s"] + ct["text_load_s"]
    projected = fixed + max(0.0, cold_s - fixed) * 1000 / n_items
    return {
        "items": n_items,
        "domain": domain,
        "resolution": resolution,
        "image_size": image_size,
        "torch_threads": threads or torch.get_num_threads(),
        "render_s": round(render_s, 2),
        "images_per_s": round(ct["images_per_s"], 1),
        "texts_per_s": round(ct["texts_per_s"], 1),
        "image_model_load_s": round(ct["image_load_s"], 2),
        "text_model_load_s": round(ct["text_load_s"], 2),
        "image_encode_s": round(ct["image_s"], 2),
        "text_encode_s": round(ct["text_s"], 2),
        "fusion_fit_s": round(ct["fusion_fit_s"], 2),
        "fusion_alignment_top1": round(float(cold.fusion.alignment_), 3) if cold.fusion else None,
        "fused_dim": int(cold.fused.shape[1]),
        "cold_end_to_end_s": round(cold_s, 2),
        "warm_end_to_end_s": round(warm_s, 2),
        "warm_cache_hits": int(warm.timings["image_cached"] + warm.timings["text_cached"]),
        "projected_1000_items_s": round(projected, 1),
        "target_1000_items_s": TARGET_SECONDS_PER_1000,
        # Below a few hundred items, warm-up noise dominates the projection: no verdict.
        "meets_target": projected < TARGET_SECONDS_PER_1000 if n_items >= MIN_ITEMS_FOR_VERDICT else None,
    }


def _bench_encode(args: argparse.Namespace) -> int:
    result = run_bench(
        args.items,
        resolution=args.resolution,
        domain=args.domain,
        image_size=args.image_size,
        threads=args.threads,
        seed=args.seed,
        show_progress=getattr(args, "show_progress", True),
    )
    if args.json:
        print_json(result)
        return 0
    r = result
    emit(
        f"encode {r['items']:,} new {r['domain']} items at {r['resolution']} px "
        f"({r['torch_threads']} torch threads)"
    )
    emit(
        f"images: {r['images_per_s']:.0f}/s (model load {r['image_model_load_s']:.1f}s); "
        f"texts: {r['texts_per_s']:.0f}/s (model load {r['text_model_load_s']:.1f}s)"
    )
    emit(f"fusion fit: {r['fusion_fit_s']:.1f}s (image->text top-1 {r['fusion_alignment_top1']})")
    verdict = {True: "met", False: "MISSED", None: "too few items for a verdict"}[r["meets_target"]]
    emit(
        f"end to end: cold cache {r['cold_end_to_end_s']:.1f}s, warm cache {r['warm_end_to_end_s']:.1f}s "
        f"(1,000 items: {r['projected_1000_items_s']:.1f}s projected, target < "
        f"{r['target_1000_items_s']:.0f}s: {verdict})"
    )
    return 0
