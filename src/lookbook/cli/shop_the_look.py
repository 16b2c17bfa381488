"""``lookbook shop-the-look PHOTO --project DIR``: a community photo in, garments and items out."""

from __future__ import annotations

import argparse
from pathlib import Path

from lookbook.cli._common import emit, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "shop-the-look",
        help="detect the garments in a photo, map each to catalog anchors and recommend items",
        description="Detect the garments in PHOTO (the project's trained box detector, else the pose "
        "detector), map each to its nearest catalog items of its slot (anchors), score the photo for the "
        "user (max over garments) and rank recommendations from the anchors' neighbours.",
    )
    parser.add_argument("photo", type=Path, help="a JPEG / PNG / WebP photo")
    parser.add_argument("--project", type=Path, required=True, help="a project made by `lookbook build`")
    parser.add_argument("--user", default=None, help="personalise for this user id")
    parser.add_argument("--k", type=int, default=20, help="recommendations (default 20)")
    parser.add_argument("--anchors", type=int, default=5, help="anchors per garment (default 5)")
    parser.add_argument("--detector", choices=["auto", "box", "pose"], default="auto")
    parser.add_argument("--sheet", type=Path, default=None, help="write a contact sheet PNG here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run, _parser=parser)


def _run(args: argparse.Namespace) -> int:
    from lookbook.errors import NotFound
    from lookbook.touchpoints.factory import open_shop
    from lookbook.touchpoints.shop_the_look import ShopTheLook, ShopTheLookConfig

    if args.k < 1 or args.anchors < 1:
        args._parser.error(f"--k / --anchors: expected ints >= 1, got {args.k} / {args.anchors}")
    if not args.photo.is_file():
        raise NotFound(f"photo {args.photo}: no such file")
    config = ShopTheLookConfig(k=args.k, anchors=args.anchors, detector=args.detector)
    with open_shop(args.project) as shop:
        look = ShopTheLook(shop, config).look(args.photo, args.user)
        if args.sheet is not None:
            from lookbook.vision.sheet import contact_sheet

            sheet = contact_sheet(
                args.photo, look.detections, [[shop.image_path(a) for a in g.anchors] for g in look.garments]
            )
            args.sheet.parent.mkdir(parents=True, exist_ok=True)
            sheet.save(args.sheet)
    if args.json:
        print_json(look.to_dict())
        return 0
    lines = [f"{len(look.garments)} garments in {args.photo.name} ({look.timings['total'] * 1e3:.0f} ms)"]
    for g in look.garments:
        lines.append(
            f"  {g.slot:<10} {g.confidence:.2f}  box {[round(v) for v in g.box]}  anchors {g.anchors}"
        )
    if look.photo_score is not None:
        lines.append(f"photo score for {args.user}: {look.photo_score:.3f}")
    lines.append("recommendations:")
    lines += [f"  {r.item_id:<14} {r.score:.3f}  {r.title[:40]:<40} {r.why}" for r in look.recommendations]
    emit("\n".join(lines))
    return 0
