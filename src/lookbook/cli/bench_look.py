"""``lookbook bench shop-the-look``: how long a shopper waits from photo to recommendations."""

from __future__ import annotations

import argparse
from pathlib import Path

from lookbook.cli._common import REAL_PHOTOS as DEFAULT_PHOTOS
from lookbook.cli._common import emit, print_json


def register(bench_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = bench_sub.add_parser(
        "shop-the-look",
        help="photo -> garments -> anchors -> recommendations latency (p50 / p90, per step)",
        description="Target: p50 <= 1.5 s on 2 cores, warm (the project open, each photo seen once). "
        "Times every step of `ShopTheLook.look` (decode, detect, match, rank) over --repeats runs per photo.",
    )
    parser.add_argument("--project", type=Path, required=True, help="a project made by `lookbook build`")
    parser.add_argument(
        "photos", type=Path, nargs="*", help=f"photo files or folders (default {DEFAULT_PHOTOS})"
    )
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per photo (default 10)")
    parser.add_argument("--user", default=None, help="personalise for this user (default: a demo user)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run, _parser=parser)


def _run(args: argparse.Namespace) -> int:
    from lookbook.evaluation.shop_the_look import bench_looks

    if args.repeats < 1:
        args._parser.error(f"--repeats: expected an int >= 1, got {args.repeats}")
    photos: list[Path] = []
    for p in args.photos or [DEFAULT_PHOTOS]:
        if p.is_dir():
            photos += sorted(q for q in p.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
        else:
            photos.append(p)
    result = bench_looks(args.project, photos, repeats=args.repeats, user=args.user)
    if args.json:
        print_json(result)
        return 0
    steps = "  ".join(f"{k} {v * 1e3:.0f} ms" for k, v in result["steps_p50_s"].items())
    emit(
        f"shop the look, {result['photos']} photos x {result['repeats']} runs, {result['detector']}, "
        f"{result['garments_per_photo']:.1f} garments per photo\n"
        f"  photo -> recommendations p50 {result['p50_s']:.3f} s  p90 {result['p90_s']:.3f} s "
        "(target p50 <= 1.5 s)\n"
        f"  per step (p50): {steps}\n"
        f"  one-off: open {result['open_s']:.1f} s, first photo {result['first_look_s']:.2f} s"
    )
    return 0
