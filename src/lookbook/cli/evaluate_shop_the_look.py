"""``lookbook evaluate shop-the-look``: detection, anchors and recommendations from photos, scored on a
demo world's held-out photos and on real photos against a real catalog (hand labels)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lookbook.cli._common import REAL_PHOTOS as DEFAULT_PHOTOS
from lookbook.cli._common import emit, print_json


def register(eval_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = eval_sub.add_parser(
        "shop-the-look",
        help="mAP, anchor recall@5, NDCG, alpha sweep on a world; group / colour shares on real photos",
        description="World part (--world and --project built from it): detection precision / recall / "
        "mAP@0.5 on the held-out photos, anchor recall@5, NDCG@20 of photo-conditioned recommendations "
        "against true affinity and the alpha sweep. Real part (--real-project, e.g. built with --dataset "
        "hm): for each garment found in the labelled photos, the share of its top-5 anchors of the right "
        "product group and colour, the photo-to-recommendations latency, and a contact sheet per photo.",
    )
    parser.add_argument("--world", type=Path, default=None, help="a generated demo world with photos")
    parser.add_argument("--project", type=Path, default=None, help="the project built from --world")
    parser.add_argument("--real-project", type=Path, default=None, help="a project of a real catalog")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="real photos folder")
    parser.add_argument("--labels", type=Path, default=None, help="hand labels JSON (default: packaged)")
    parser.add_argument("--sheets", type=Path, default=None, help="write contact sheets here")
    parser.add_argument("--users", type=int, default=10, help="users in the NDCG / alpha sweep (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run, _parser=parser)


def _run(args: argparse.Namespace) -> int:
    from lookbook.evaluation.shop_the_look import evaluate_real, evaluate_world, load_labels

    if (args.world is None) != (args.project is None):
        args._parser.error("--world and --project go together")
    if args.world is None and args.real_project is None:
        args._parser.error("give --world W --project P, --real-project P, or both")
    result: dict = {}
    if args.world is not None:
        result["world"] = evaluate_world(
            args.world, args.project, users=args.users, show_progress=args.show_progress
        )
    if args.real_project is not None:
        result["real"] = evaluate_real(
            args.real_project,
            args.photos,
            load_labels(args.labels),
            sheets_dir=args.sheets,
            show_progress=args.show_progress,
        )
    if args.json:
        print_json(result)
        return 0
    lines = []
    if "world" in result:
        w = result["world"]
        lines.append(
            f"world: {w['photos']} photos, {w['garments']} garments, detector {w['detector']}\n"
            f"  mAP@0.5 {w['map50']:.3f}  precision {w['precision']:.3f}  recall {w['recall']:.3f}\n"
            f"  anchor recall@5 {w['anchor_recall5']:.3f} (end to end {w['anchor_recall5_end_to_end']:.3f}, "
            f"true boxes {w['anchor_recall5_true_boxes']:.3f})\n"
            f"  NDCG@20 at alpha {w['alpha']}: {w['ndcg']:.3f}\n  alpha sweep:"
        )
        lines += [f"    alpha {r['alpha']:.2f}  NDCG {r['ndcg']:.3f}  photo match {r['photo_match']:.3f}"
                  for r in w["alpha_sweep"]]  # fmt: skip
    if "real" in result:
        r = result["real"]
        lines.append(
            f"real: {r['photos']} photos, {r['garments']} garments found "
            f"({r['labelled_found']} of {r['labelled_garments']} labelled)\n"
            f"  top-5 right group {r['top5_right_group']:.3f}  right colour {r['top5_right_colour']:.3f}\n"
            f"  photo -> recommendations p50 {r['latency_p50_s']:.3f} s, p90 {r['latency_p90_s']:.3f} s"
        )
        lines += [
            f"  re-shot {v}: right group {d['top5_right_group']:.3f}  "
            f"right colour {d['top5_right_colour']:.3f} ({d['garments']} garments)"
            for v, d in r["variants"].items()
        ]
        lines += [f"  sheet {p['sheet']}" for p in r["per_photo"] if "sheet" in p]
    emit("\n".join(lines))
    return 0
