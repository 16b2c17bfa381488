"""Shop the look, scored: on a demo world's held-out photos (truth: boxes and item ids) and on real
photos against a real catalog (truth: hand labels of each garment's product group and colour).

World figures, for a project built from the world:

* detection precision / recall at the serving threshold and mAP@0.5 (``lookbook.vision.evaluate``);
* anchor recall@5: a detected garment (same slot, IoU >= 0.5 with a true one) whose true item is
  among its five anchors; also end to end (over every true garment, missed ones count as misses)
  and with the true boxes (the mapping alone, detection excluded);
* NDCG@k of the photo's recommendations against the user's true affinity (ideal: the best ``k``
  in-stock items of the photo's slots), and the alpha sweep: that NDCG beside ``photo_match``, the
  share of recommendations of a slot and colour truly in the photo, from alpha 0 (the user only)
  to 1 (the photo only).

Real figures: for every garment the detector finds, the share of its top-5 anchors whose
``product_group`` is the garment's (by hand label) and whose ``perceived_colour`` is one the label
accepts; a detection no label explains (a garment that is not there) counts as wrong.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq
from PIL import Image, ImageEnhance
from tqdm.auto import tqdm

from lookbook.errors import NotFound, SchemaError
from lookbook.metrics import graded_ndcg
from lookbook.vision.base import DetectedGarment, LabelledPhoto, to_rgb_array
from lookbook.vision.evaluate import box_iou, detection_metrics

log = logging.getLogger(__name__)

__all__ = [
    "SLOT_GROUPS",
    "bench_looks",
    "evaluate_real",
    "evaluate_world",
    "load_labels",
]

#: The H&M product group a detected garment of each slot belongs to.
SLOT_GROUPS = {
    "top": "Garment Upper body",
    "outerwear": "Garment Upper body",
    "bottom": "Garment Lower body",
    "dress": "Garment Full body",
    "shoes": "Shoes",
}


def _true_affinity_ndcg(
    affinity: npt.NDArray[np.floating[Any]],
    pool: npt.NDArray[np.bool_],
    shown: list[npt.NDArray[np.int64]],
    k: int,
) -> npt.NDArray[np.float64]:
    """NDCG@k of each user's recommendations for one photo, the user's true affinity as graded gain.

    ``affinity`` is ``(users, catalog rows)``, ``pool`` the items the photo could have been answered
    with (in stock, of its slots) and ``shown[i]`` user ``i``'s recommended rows in order. Gains are
    shifted so that the pool's least liked item gains 0 (a ranking of disliked items must not earn
    less than nothing); the ideal is the pool's best ``k``. A pool with no spread scores 0.
    """
    in_pool = affinity[:, pool]
    base = in_pool.min(axis=1, keepdims=True)
    gains = [affinity[i, rows] - base[i, 0] for i, rows in enumerate(shown)]  # a handful of users
    return np.nan_to_num(graded_ndcg(gains, in_pool - base, k), nan=0.0)


def _matched(detected: list[DetectedGarment], truth: list[Any], iou: float = 0.5) -> dict[int, int]:
    """Greedy one-to-one matching of detections (best confidence first) to same-slot true boxes."""
    out: dict[int, int] = {}
    if not detected or not truth:
        return out
    ious = box_iou(np.asarray([d.box for d in detected]), np.asarray([t.box for t in truth]))
    taken: set[int] = set()
    for i in np.argsort([-d.confidence for d in detected]).tolist():  # a handful per photo
        for j in np.argsort(-ious[i]).tolist():
            if j in taken or ious[i, j] < iou:
                continue
            if str(truth[j].slot) == str(detected[i].slot):
                out[i] = j
                taken.add(j)
                break
    return out


def evaluate_world(
    world_dir: Path | str,
    project_dir: Path | str,
    *,
    users: int = 10,
    ndcg_photos: int = 40,
    k: int = 20,
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
    show_progress: bool = True,
) -> dict[str, Any]:
    """The world figures of the module docstring, on the world's ``test`` photos."""
    from lookbook.datasets.synthetic.oracle import Oracle
    from lookbook.touchpoints.factory import open_shop
    from lookbook.touchpoints.shop_the_look import ShopTheLook, ShopTheLookConfig, recommend_for_photo
    from lookbook.vision.boxnet import BoxDetector

    world_dir, project_dir = Path(world_dir), Path(project_dir)
    oracle = Oracle.load(world_dir)
    rows = [r for r in pq.read_table(world_dir / "photos.parquet").to_pylist() if r.get("split") == "test"]
    if not rows:
        raise NotFound(f"world {world_dir}: no held-out (test) photos to evaluate on")
    with open_shop(project_dir) as shop:
        stl = ShopTheLook(shop)
        serving = stl.config
        images = [to_rgb_array(world_dir / r["image"]) for r in rows]
        truths = [oracle.photo_truth(r["photo_id"]) for r in rows]
        # detection: the whole precision-recall curve for AP, the serving threshold for P / R
        if isinstance(stl.detector, BoxDetector):
            detections = [stl.detector.detect(im, min_confidence=0.05) for im in images]
        else:
            detections = [stl.detector.detect(im) for im in images]
        labelled = [LabelledPhoto.from_garments(im, t) for im, t in zip(images, truths, strict=True)]
        detection = detection_metrics(detections, labelled, score_threshold=serving.min_confidence)
        ids = shop.state.catalog.ids.ids
        hits = found = truth_hits = n_truth = 0
        sets_per_photo = []
        for im, truth, dets in tqdm(
            list(zip(images, truths, detections, strict=True)), desc="anchors", disable=not show_progress
        ):
            kept = [d for d in dets if d.confidence >= serving.min_confidence]
            sets = stl.match(im, kept)
            sets_per_photo.append(sets)
            for i, j in _matched(kept, truth).items():
                found += 1
                hits += truth[j].item_id in {str(ids[r]) for r in sets[i].rows.tolist()}
            true_boxes = [DetectedGarment(t.box, t.slot, 1.0) for t in truth]
            for t, s in zip(truth, stl.match(im, true_boxes), strict=True):
                n_truth += 1
                truth_hits += t.item_id in {str(ids[r]) for r in s.rows.tolist()}
        alphas = tuple(sorted({*alphas, serving.alpha}))  # the serving alpha is always measured
        sweep = _alpha_sweep(shop, oracle, truths, sets_per_photo, users, ndcg_photos, k, alphas,
                             recommend_for_photo, ShopTheLookConfig, show_progress)  # fmt: skip
    at_serving = next(r for r in sweep if r["alpha"] == serving.alpha)
    return {
        "map50": detection["map"],
        "precision": detection["precision"],
        "recall": detection["recall"],
        "anchor_recall5": hits / max(found, 1),
        "anchor_recall5_end_to_end": hits / max(n_truth, 1),
        "anchor_recall5_true_boxes": truth_hits / max(n_truth, 1),
        "ndcg": at_serving["ndcg"],
        "alpha": serving.alpha,
        "alpha_sweep": sweep,
        "photos": len(rows),
        "garments": n_truth,
        "detected_matched": found,
        "detector": type(stl.detector).__name__,
    }


def _alpha_sweep(
    shop: Any, oracle: Any, truths: list[Any], sets_per_photo: list[Any], n_users: int, n_photos: int,
    k: int, alphas: tuple[float, ...], recommend: Any, config_type: Any, show_progress: bool,
) -> list[dict[str, float]]:  # fmt: skip
    state = shop.state
    ids = np.asarray(state.catalog.ids.ids).astype(str)
    items = {r["item_id"]: r for r in shop.store.items_table().to_pylist()}
    colour = np.asarray([dict(items[i]["attributes"] or {}).get("colour", "") for i in ids], dtype=object)
    users = shop.demo_users(n_users)
    affinity = oracle.affinity_matrix(users, list(ids))  # (users, catalog rows)
    usable = state.catalog.alive & state.catalog.in_stock
    out = []
    for alpha in tqdm(alphas, desc="alpha sweep", disable=not show_progress):
        cfg = config_type(alpha=alpha, k=k)
        scores, matches = [], []
        for truth, sets in zip(truths[:n_photos], sets_per_photo[:n_photos], strict=True):
            if not sets:
                continue
            scored: list[int] = []  # users with recommendations, and the rows they were shown
            shown: list[npt.NDArray[np.int64]] = []
            slots = {s.slot for s in sets}
            pool = usable & np.isin(state.slots, list(slots))
            truly = {
                (str(t.slot), dict(items[t.item_id]["attributes"] or {}).get("colour", ""))
                for t in truth
                if t.item_id in items
            }
            for u, user in enumerate(users):
                recs = recommend(shop, sets, user, cfg)
                if not recs:
                    continue
                rows = state.catalog.ids.lookup([r.item_id for r in recs])
                scored.append(u)
                shown.append(rows)
                matches.append(np.mean([(state.slots[r], colour[r]) in truly for r in rows.tolist()]))
            if scored:
                scores.append(_true_affinity_ndcg(affinity[scored], pool, shown, k))
        ndcg = float(np.mean(np.concatenate(scores))) if scores else float("nan")
        out.append({"alpha": alpha, "ndcg": ndcg, "photo_match": float(np.mean(matches))})
    return out


def load_labels(path: Path | str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Hand labels of real photos: ``{file name: [{"group", "colours"}, ...]}`` (the packaged set of
    ../shared/data/photos by default)."""
    if path is None:
        text = resources.files("lookbook.evaluation").joinpath("data/real_photo_labels.json").read_text()
        source = "packaged labels"
    else:
        text = Path(path).read_text()
        source = str(path)
    data = json.loads(text).get("photos")
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: expected an object with a 'photos' map of file name -> garments")
    for name, garments in data.items():
        for i, g in enumerate(garments):
            if not isinstance(g.get("group"), str) or not isinstance(g.get("colours"), list):
                raise SchemaError(f"{source} photos[{name!r}][{i}]: expected 'group' and a 'colours' list")
    return data


#: Re-shot versions of each real photo: the same outfit mirrored, smaller, darker and warmer. There
#: are only two full-body photos here; these say whether the figures survive framing and light.
VARIANTS: dict[str, Any] = {
    "mirrored": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "half_size": lambda im: im.resize((im.width // 2, im.height // 2)),
    "darker": lambda im: ImageEnhance.Brightness(im).enhance(0.75),
    "warmer": lambda im: Image.merge("RGB", [b.point(lambda v, f=f: min(255, int(v * f))) for b, f in
                                             zip(im.split(), (1.08, 1.0, 0.88), strict=True)]),
}  # fmt: skip


def _score_look(look: Any, labels: list[dict[str, Any]], items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each found garment against the photo's hand labels (one label per garment, by group)."""
    unused = list(labels)
    garments, group_shares, colour_shares = [], [], []
    for g in look.garments:
        group = SLOT_GROUPS.get(g.slot)
        label = next((lab for lab in unused if lab["group"] == group), None)
        if label is not None:
            unused.remove(label)
        attrs = [items.get(a, {}) for a in g.anchors]
        right_group = [label is not None and a.get("product_group") == label["group"] for a in attrs]
        right_colour = [label is not None and a.get("perceived_colour") in label["colours"] for a in attrs]
        group_shares.append(float(np.mean(right_group)) if attrs else 0.0)
        colour_shares.append(float(np.mean(right_colour)) if attrs else 0.0)
        garments.append({
            "slot": g.slot, "confidence": round(g.confidence, 3), "label": label,
            "anchor_groups": [a.get("product_group") for a in attrs],
            "anchor_colours": [a.get("perceived_colour") for a in attrs],
        })  # fmt: skip
    return {"garments": garments, "missed": unused, "group": group_shares, "colour": colour_shares}


def evaluate_real(
    project_dir: Path | str,
    photos_dir: Path | str,
    labels: dict[str, list[dict[str, Any]]] | None = None,
    *,
    sheets_dir: Path | str | None = None,
    repeats: int = 5,
    variants: bool = True,
    show_progress: bool = True,
) -> dict[str, Any]:
    """The real figures of the module docstring for every labelled photo found in ``photos_dir``,
    plus the photo-to-recommendations latency (p50 / p90 over ``repeats`` warm runs per photo), one
    contact sheet PNG per photo in ``sheets_dir``, and (``variants``) the shares again on re-shot
    versions of each photo (``VARIANTS``)."""
    from lookbook.touchpoints.factory import open_shop
    from lookbook.touchpoints.shop_the_look import ShopTheLook
    from lookbook.vision.sheet import contact_sheet

    labels = load_labels() if labels is None else labels
    photos_dir = Path(photos_dir)
    present = [name for name in sorted(labels) if (photos_dir / name).exists()]
    if not present:
        raise NotFound(f"{photos_dir}: none of the labelled photos {sorted(labels)} is here")
    per_photo, group_shares, colour_shares, times = [], [], [], []
    by_variant: dict[str, dict[str, list[float]]] = {v: {"group": [], "colour": []} for v in VARIANTS}
    with open_shop(project_dir) as shop:
        stl = ShopTheLook(shop)
        items = {r["item_id"]: dict(r["attributes"] or {}) for r in shop.store.items_table().to_pylist()}
        user = (shop.demo_users(1) or [None])[0]
        for name in tqdm(present, desc="real photos", disable=not show_progress):
            path = photos_dir / name
            look = stl.look(path, user)
            for _ in range(repeats):  # warm runs: the figure a shopper waits for
                times.append(stl.look(path, user).timings["total"])
            scored = _score_look(look, labels[name], items)
            group_shares += scored["group"]
            colour_shares += scored["colour"]
            per_photo.append({"photo": name, "garments": scored["garments"], "missed": scored["missed"]})
            if variants:
                with Image.open(path) as im:
                    rgb = im.convert("RGB")
                for variant, make in VARIANTS.items():
                    again = _score_look(stl.look(make(rgb), user), labels[name], items)
                    by_variant[variant]["group"] += again["group"]
                    by_variant[variant]["colour"] += again["colour"]
            if sheets_dir is not None:
                out = Path(sheets_dir)
                out.mkdir(parents=True, exist_ok=True)
                sheet = contact_sheet(
                    path,
                    look.detections,
                    [[shop.image_path(a) for a in g.anchors] for g in look.garments],
                    [[f"{items.get(a, {}).get('perceived_colour', '?')} {a}" for a in g.anchors]
                     for g in look.garments],
                )  # fmt: skip
                sheet_path = out / f"{Path(name).stem}_sheet.png"
                sheet.save(sheet_path)
                per_photo[-1]["sheet"] = str(sheet_path)
    n_labels = sum(len(labels[n]) for n in present)
    missed = sum(len(p["missed"]) for p in per_photo)
    out_variants = {
        v: {
            "garments": len(d["group"]),
            "top5_right_group": float(np.mean(d["group"])) if d["group"] else 0.0,
            "top5_right_colour": float(np.mean(d["colour"])) if d["colour"] else 0.0,
        }
        for v, d in by_variant.items()
        if variants
    }
    return {
        "photos": len(present),
        "garments": len(group_shares),
        "labelled_garments": n_labels,
        "labelled_found": n_labels - missed,
        "top5_right_group": float(np.mean(group_shares)) if group_shares else 0.0,
        "top5_right_colour": float(np.mean(colour_shares)) if colour_shares else 0.0,
        "latency_p50_s": float(np.median(times)),
        "latency_p90_s": float(np.quantile(times, 0.9)),
        "variants": out_variants,
        "per_photo": per_photo,
    }


def bench_looks(
    project_dir: Path | str, photos: list[Path], *, repeats: int = 10, user: str | None = None
) -> dict[str, Any]:
    """Photo-to-recommendations latency: medians per step and p50 / p90 of the total over
    ``repeats`` warm runs per photo, beside the one-off costs (opening, first photo)."""
    import time

    from lookbook.touchpoints.factory import open_shop
    from lookbook.touchpoints.shop_the_look import ShopTheLook

    if not photos:
        raise NotFound("bench shop-the-look: no photos given")
    started = time.perf_counter()
    with open_shop(project_dir) as shop:
        stl = ShopTheLook(shop)
        opened = time.perf_counter() - started
        user = user if user is not None else (shop.demo_users(1) or [None])[0]
        first = stl.look(photos[0], user).timings["total"]
        steps: dict[str, list[float]] = {}
        garments = []
        for path in photos:  # a few photos, each timed repeatedly
            stl.look(path, user)  # warm: decoder, detector graph, caches
            for _ in range(repeats):
                look = stl.look(path, user)
                for name, seconds in look.timings.items():
                    steps.setdefault(name, []).append(seconds)
            garments.append(len(look.garments))
        detector = type(stl.detector).__name__
    total = np.asarray(steps["total"])
    return {
        "photos": len(photos),
        "repeats": repeats,
        "detector": detector,
        "garments_per_photo": float(np.mean(garments)),
        "p50_s": float(np.median(total)),
        "p90_s": float(np.quantile(total, 0.9)),
        "steps_p50_s": {k: float(np.median(v)) for k, v in steps.items() if k != "total"},
        "open_s": opened,
        "first_look_s": first,
    }
