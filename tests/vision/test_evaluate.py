"""Detection metrics on hand-made boxes whose answers are obvious."""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.errors import SchemaError
from lookbook.schema import Slot
from lookbook.vision.base import DetectedGarment, LabelledPhoto
from lookbook.vision.evaluate import box_iou, detection_metrics, evaluate_detector

TRUTH = [
    LabelledPhoto(
        "a.png", np.asarray([[10, 10, 50, 60], [12, 70, 48, 120]], np.float32), (Slot.TOP, Slot.BOTTOM)
    ),
    LabelledPhoto("b.png", np.asarray([[0, 0, 30, 30]], np.float32), (Slot.SHOES,)),
]


def _as_detections(photos: list[LabelledPhoto], shift: float = 0.0, slot: Slot | None = None) -> list:
    return [
        [
            DetectedGarment(
                box=tuple((b + np.asarray([shift, 0, shift, 0])).tolist()), slot=slot or s, confidence=0.9
            )
            for b, s in zip(p.boxes, p.slots, strict=True)
        ]
        for p in photos
    ]


def test_box_iou_matches_a_hand_worked_overlap() -> None:
    # two 10x10 squares overlapping in a 5x10 strip: 50 / (100 + 100 - 50)
    assert box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)
    assert box_iou([[0, 0, 10, 10]], [[20, 20, 30, 30]])[0, 0] == 0.0


def test_perfect_detections_score_map_one() -> None:
    out = detection_metrics(_as_detections(TRUTH), TRUTH)
    assert out["map"] == pytest.approx(1.0)
    assert out["precision"] == pytest.approx(1.0) and out["recall"] == pytest.approx(1.0)
    assert set(out["ap"]) == {"top", "bottom", "shoes"}


def test_shifted_boxes_score_lower_and_far_shifts_score_zero() -> None:
    perfect = detection_metrics(_as_detections(TRUTH), TRUTH)["map"]
    # a 12 px shift keeps the 40-wide top above IoU 0.5 but drops the 30-wide shoes below it
    shifted = detection_metrics(_as_detections(TRUTH, shift=12.0), TRUTH)["map"]
    gone = detection_metrics(_as_detections(TRUTH, shift=100.0), TRUTH)["map"]
    assert gone == 0.0 < shifted < perfect


def test_right_box_with_the_wrong_slot_scores_zero() -> None:
    out = detection_metrics(_as_detections(TRUTH, slot=Slot.DRESS), TRUTH)
    assert out["map"] == 0.0
    assert out["precision"] == 0.0
    assert "dress" not in out["ap"]  # no true dress: the slot is left out of the mean


def test_duplicates_count_as_false_positives() -> None:
    dets = _as_detections(TRUTH)
    dets[1] = dets[1] + [DetectedGarment(box=(0, 0, 30, 30), slot=Slot.SHOES, confidence=0.5)]
    out = detection_metrics(dets, TRUTH)
    assert out["ap"]["shoes"] == pytest.approx(1.0)  # the duplicate ranks below the match
    assert out["precision"] == pytest.approx(3 / 4)


def test_score_threshold_limits_precision_and_recall_not_ap() -> None:
    dets = _as_detections(TRUTH)
    dets[0][1] = DetectedGarment(box=dets[0][1].box, slot=Slot.BOTTOM, confidence=0.1)
    out = detection_metrics(dets, TRUTH, score_threshold=0.5)
    assert out["recall"] == pytest.approx(2 / 3)
    assert out["map"] == pytest.approx(1.0)


def test_evaluate_detector_runs_any_detector() -> None:
    class Fixed:
        def detect(self, image: object) -> list[DetectedGarment]:
            return [DetectedGarment(box=(0, 0, 30, 30), slot=Slot.SHOES, confidence=1.0)]

    out = evaluate_detector(Fixed(), TRUTH, show_progress=False)
    assert out["n_photos"] == 2
    # one true shoe among two equal-scored shoe boxes: precision 1/2 at recall 1
    assert out["ap"]["shoes"] == pytest.approx(0.5)
    assert out["ap"]["top"] == 0.0


def test_mismatched_lengths_name_the_argument() -> None:
    with pytest.raises(SchemaError, match="detections"):
        detection_metrics([[]], TRUTH)
