"""How good is a garment detector: precision, recall and VOC-style mAP@0.5 over labelled photos.

One definition of each number, used for every backend. Average precision is per slot, with the
PASCAL VOC 2010+ all-point interpolation (the area under the precision envelope, precision made
monotone from the right; ``lookbook.metrics.average_precision``); mAP is the mean over the slots
that have at least one true garment, so a slot nobody labelled neither helps nor hurts. A detection
is a true positive when its best-overlap true garment of the same slot has IoU >= ``iou`` and was
not already taken by a higher-scored detection (duplicates count as false positives, as in VOC).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from lookbook.errors import SchemaError
from lookbook.metrics import average_precision
from lookbook.schema import Slot
from lookbook.vision.base import DetectedGarment, GarmentDetector, LabelledPhoto

log = logging.getLogger(__name__)

__all__ = ["box_iou", "detection_metrics", "evaluate_detector"]

F32 = npt.NDArray[np.float32]


def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> F32:
    """IoU of every box in ``a`` ``(n, 4)`` with every box in ``b`` ``(m, 4)``: an ``(n, m)`` array."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def detection_metrics(
    detections: Sequence[Sequence[DetectedGarment]],
    truths: Sequence[LabelledPhoto],
    iou: float = 0.5,
    score_threshold: float | None = None,
) -> dict[str, Any]:
    """Score detections against the truth, photo by photo.

    Parameters
    ----------
    detections
        One list of detections per photo, in the order of ``truths``.
    truths
        The labelled photos (only ``boxes`` and ``slots`` are read).
    iou
        Overlap needed for a match (0.5: the VOC / mAP@0.5 rule).
    score_threshold
        Precision and recall are counted over detections with ``confidence >=`` this (all of them
        when None); AP always uses every detection, since it sweeps the threshold itself.

    Returns
    -------
    dict with ``map`` (mean AP over slots with truth), ``ap`` (slot -> AP), ``precision``,
    ``recall``, ``recall_per_slot``, ``n_truth``, ``n_detections`` and ``iou``.
    """
    if len(detections) != len(truths):
        raise SchemaError(
            f"detection_metrics detections: expected one list per photo ({len(truths)}), "
            f"got {len(detections)}"
        )
    if not 0.0 < iou <= 1.0:
        raise SchemaError(f"detection_metrics iou: expected a number in (0, 1], got {iou!r}")
    slots = sorted({s for t in truths for s in t.slots} | {d.slot for ds in detections for d in ds})
    ap: dict[str, float] = {}
    recall_per_slot: dict[str, float] = {}
    n_tp = n_det = n_truth = 0
    for slot in slots:
        tp, scores, n_true = _match_slot(detections, truths, slot, iou)
        ap_value = average_precision(tp, n_true)
        if n_true > 0:
            ap[slot.value] = ap_value
        kept = np.ones_like(scores, dtype=bool) if score_threshold is None else scores >= score_threshold
        n_tp += int(tp[kept].sum())
        n_det += int(kept.sum())
        n_truth += n_true
        if n_true > 0:
            recall_per_slot[slot.value] = float(tp[kept].sum() / n_true)
    return {
        "map": float(np.mean(list(ap.values()))) if ap else float("nan"),
        "ap": ap,
        "precision": n_tp / n_det if n_det else float("nan"),
        "recall": n_tp / n_truth if n_truth else float("nan"),
        "recall_per_slot": recall_per_slot,
        "n_truth": n_truth,
        "n_detections": n_det,
        "iou": iou,
    }


def _match_slot(
    detections: Sequence[Sequence[DetectedGarment]], truths: Sequence[LabelledPhoto], slot: Slot, iou: float
) -> tuple[npt.NDArray[np.int8], F32, int]:
    """VOC greedy matching for one slot: 0/1 per detection (sorted by falling score), scores, truth count."""
    photo_idx, scores, boxes = [], [], []
    for i, dets in enumerate(detections):
        for d in dets:
            if d.slot == slot:
                photo_idx.append(i)
                scores.append(d.confidence)
                boxes.append(d.box)
    true_boxes = [
        np.asarray(t.boxes, dtype=np.float32).reshape(-1, 4)[
            np.asarray([s == slot for s in t.slots], dtype=bool)
        ]
        for t in truths
    ]
    n_true = int(sum(len(b) for b in true_boxes))
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")
    tp = np.zeros(len(order), dtype=np.int8)
    taken = [np.zeros(len(b), dtype=bool) for b in true_boxes]
    for rank, j in enumerate(order):
        gt = true_boxes[photo_idx[j]]
        if len(gt) == 0:
            continue
        overlaps = box_iou([boxes[j]], gt)[0]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou and not taken[photo_idx[j]][best]:
            taken[photo_idx[j]][best] = True
            tp[rank] = 1
    return tp, np.asarray(scores, dtype=np.float32)[order], n_true


def evaluate_detector(
    detector: GarmentDetector,
    photos_with_truth: Sequence[LabelledPhoto],
    iou: float = 0.5,
    score_threshold: float | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run ``detector`` on every labelled photo and score it (``detection_metrics``), with timing.

    AP is computed over whatever ``detect`` returns, so build the detector with a low
    ``min_confidence`` (0.05) to get the whole precision-recall curve, and pass its serving
    threshold as ``score_threshold`` for precision and recall at the operating point. Adds
    ``seconds_per_photo`` and ``n_photos`` to the result.
    """
    start = time.perf_counter()
    detections = [
        detector.detect(p.image)
        for p in tqdm(photos_with_truth, desc="detect", unit="photo", disable=not show_progress)
    ]
    elapsed = time.perf_counter() - start
    out = detection_metrics(detections, photos_with_truth, iou=iou, score_threshold=score_threshold)
    out["n_photos"] = len(photos_with_truth)
    out["seconds_per_photo"] = elapsed / max(1, len(photos_with_truth))
    log.info(
        "detector %s: mAP@%.2f %.3f over %d photos (%.1f ms/photo)",
        type(detector).__name__,
        iou,
        out["map"],
        len(photos_with_truth),
        out["seconds_per_photo"] * 1e3,
    )
    return out
