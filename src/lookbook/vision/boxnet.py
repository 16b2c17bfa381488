"""A small learned box detector for labelled photos, trained on the CPU in minutes.

Why a detector of our own: shop the look needs garment boxes on photos that are not people (room
scenes, the demo worlds' composites, a user's own labelled set), and the usual pretrained detectors
either need a model hub at run time or torchvision, neither of which this deployment has. A
single-stage, anchor-free design keeps it small and fast to train on a few hundred photos:

- **Backbone**: five stride-2 stages of 3x3 conv + batch norm + ReLU (stride 32 at the top), and a
  top-down neck that merges stride 32 -> 16 -> 8 (an FPN with one output level). Stride 8 is
  enough: the smallest garments of the demo worlds (shoes, necklaces) are still several cells wide
  at the default 224 px input.
- **Heads** (TTFNet, Liu et al. 2019, a CenterNet variant): a per-slot centre heatmap trained with
  the penalty-reduced focal loss against elliptical Gaussians (sigma = ``gaussian_alpha`` * box
  side / 6), and a per-slot ``(left, top, right, bottom)`` distance map trained with GIoU loss on
  every cell of the Gaussian's core, each box's cells weighted to sum to one. Using all the core
  cells rather than only the centre (CenterNet) gives many regression samples per box, which is
  what makes a few hundred photos and a few dozen epochs enough. Regression is per slot, so a
  necklace and the top under it never fight over the same cell.
- **Decoding**: 3x3 max-pool peaks, top-k, per-slot NMS (a safety net; peaks rarely duplicate).

Images are letterboxed (scaled to fit, padded right and bottom) onto one canvas whose shape is
fixed at ``fit`` from the training photos (portrait photos give a portrait canvas), so detection
boxes map back to the input's pixels by one scale. Training augments each batch on the fly with one
vectorised affine warp (scale, aspect, shift, mirror) and colour jitter.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from lookbook import weights as model_files
from lookbook.errors import NotFittedError, SchemaError
from lookbook.schema import Slot
from lookbook.vision.base import (
    DetectedGarment,
    DetectorConfig,
    DetectorSettings,
    ImageLike,
    LabelledPhoto,
    _check_positive_int,
    _check_unit,
    keep_confident,
    to_rgb_array,
)

log = logging.getLogger(__name__)

__all__ = ["BoxDetector", "BoxDetectorConfig", "nms"]

FORMAT_VERSION = 1
STRIDE = 8
_MEAN, _STD = 0.5, 0.25
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BoxDetectorConfig(DetectorSettings):
    """Settings of ``BoxDetector``; every field has a default, validated on creation.

    ``input_size`` 224: the long side of the network input; the demo worlds' photos (256 x 384)
    keep 58% of their side, which even necklaces survive, and an epoch over 160 photos takes about
    four seconds on one core. ``width`` 20 channels in the first stage (8x at stride 32): ~1 M
    weights, enough for seven slots of composited garments. ``epochs`` 40 with AdamW at ``lr``
    3e-3 on a cosine schedule gives mAP@0.5 0.81 on the demo fashion world's held-out photos after
    under three minutes on one thread (164 training photos; 192 px and 24 channels: 0.76, the
    small accessories losing most). ``gaussian_alpha`` 0.54
    and ``box_weight`` 5 are TTFNet's.
    ``min_confidence`` and ``max_detections`` are the shared detector settings; ``nms_iou`` the
    overlap at which two same-slot boxes are duplicates. ``threads`` caps torch's intra-op threads
    during ``fit`` and ``detect`` (restored afterwards) so training beside a latency-sensitive
    process stays on one core.
    """

    input_size: int = 224
    width: int = 20
    epochs: int = 40
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    gaussian_alpha: float = 0.54
    box_weight: float = 5.0
    augment: bool = True
    scale_jitter: float = 0.25
    shift_jitter: float = 0.12
    min_confidence: float = 0.3
    max_detections: int = 20
    nms_iou: float = 0.6
    threads: int = 1
    random_state: int = 0

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in ("input_size", "width", "epochs", "batch_size", "max_detections", "threads"):
            _check_positive_int(owner, name, getattr(self, name))
        if self.input_size % 32:
            raise SchemaError(f"{owner}.input_size: expected a multiple of 32, got {self.input_size!r}")
        for name in ("min_confidence", "nms_iou", "scale_jitter", "shift_jitter"):
            _check_unit(owner, name, getattr(self, name))
        for name in ("lr", "weight_decay", "gaussian_alpha", "box_weight"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise SchemaError(f"{owner}.{name}: expected a finite number >= 0, got {value!r}")
        if self.lr == 0 or self.gaussian_alpha == 0:
            raise SchemaError(
                f"{owner}.lr and gaussian_alpha: expected > 0, got {self.lr!r}, {self.gaussian_alpha!r}"
            )


# ==================================================================================================
# Network
# ==================================================================================================


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class _Net(nn.Module):
    """Backbone (strides 2..32), top-down neck to stride 8, heatmap and box heads."""

    def __init__(self, n_classes: int, width: int) -> None:
        super().__init__()
        w = width
        self.stem = _conv(3, w, 2)
        self.s4 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))
        self.s8 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w))
        self.s16 = nn.Sequential(_conv(4 * w, 6 * w, 2), _conv(6 * w, 6 * w))
        self.s32 = nn.Sequential(_conv(6 * w, 8 * w, 2), _conv(8 * w, 8 * w))
        neck = 4 * w
        self.lat32 = nn.Conv2d(8 * w, neck, 1)
        self.lat16 = nn.Conv2d(6 * w, neck, 1)
        self.lat8 = nn.Conv2d(4 * w, neck, 1)
        self.smooth16 = _conv(neck, neck)
        self.smooth8 = _conv(neck, neck)
        self.heat = nn.Sequential(_conv(neck, neck), nn.Conv2d(neck, n_classes, 1))
        self.box = nn.Sequential(_conv(neck, neck), nn.Conv2d(neck, 4 * n_classes, 1))
        # CenterNet's prior: every cell starts at p = 0.1 of being a centre, so the focal loss of the
        # overwhelming negatives does not swamp the first steps.
        nn.init.constant_(self.heat[-1].bias, -2.19)
        nn.init.zeros_(self.box[-1].bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c8 = self.s8(self.s4(self.stem(x)))
        c16 = self.s16(c8)
        c32 = self.s32(c16)
        p16 = self.smooth16(
            self.lat16(c16) + F.interpolate(self.lat32(c32), size=c16.shape[-2:], mode="nearest")
        )
        p8 = self.smooth8(self.lat8(c8) + F.interpolate(p16, size=c8.shape[-2:], mode="nearest"))
        return self.heat(p8), F.softplus(self.box(p8)) * 16.0


# ==================================================================================================
# Targets and losses (vectorised over the batch)
# ==================================================================================================


def _targets(
    boxes: torch.Tensor,
    classes: torch.Tensor,
    valid: torch.Tensor,
    n_classes: int,
    hf: int,
    wf: int,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Heatmap ``(B, C, hf, wf)``, box targets ``(B, C, 4, hf, wf)``, regression weights ``(B, C, hf, wf)``.

    ``boxes`` ``(B, M, 4)`` in canvas pixels, ``classes`` ``(B, M)`` long, ``valid`` ``(B, M)`` bool.
    """
    b = classes.shape[0]
    cx = (boxes[..., 0] + boxes[..., 2]) / (2 * STRIDE)
    cy = (boxes[..., 1] + boxes[..., 3]) / (2 * STRIDE)
    ix, iy = cx.floor().clamp(0, wf - 1), cy.floor().clamp(0, hf - 1)
    sx = ((boxes[..., 2] - boxes[..., 0]) / STRIDE * alpha / 6).clamp_min(0.5)
    sy = ((boxes[..., 3] - boxes[..., 1]) / STRIDE * alpha / 6).clamp_min(0.5)
    gx = torch.arange(wf, dtype=torch.float32).view(1, 1, 1, wf)
    gy = torch.arange(hf, dtype=torch.float32).view(1, 1, hf, 1)
    g = torch.exp(
        -((gx - ix[..., None, None]) ** 2) / (2 * sx[..., None, None] ** 2)
        - ((gy - iy[..., None, None]) ** 2) / (2 * sy[..., None, None] ** 2)
    )
    g = g * valid[..., None, None]  # (B, M, hf, wf)
    onehot = F.one_hot(classes.clamp_min(0), n_classes).to(torch.float32) * valid[..., None]  # (B, M, C)
    per_class = g[:, None] * onehot.permute(0, 2, 1)[..., None, None]  # (B, C, M, hf, wf)
    heat = per_class.amax(dim=2)
    # regression cells: the Gaussian's core whose cell centre lies inside the box
    px = (gx + 0.5) * STRIDE
    py = (gy + 0.5) * STRIDE
    inside = (
        (px > boxes[..., 0, None, None])
        & (px < boxes[..., 2, None, None])
        & (py > boxes[..., 1, None, None])
        & (py < boxes[..., 3, None, None])
    )
    core = g * inside * (g > 0.1)
    core = core / core.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)  # each box's cells sum to one
    core_c = core[:, None] * onehot.permute(0, 2, 1)[..., None, None]  # (B, C, M, hf, wf)
    weight, best = core_c.max(dim=2)
    idx = best.view(b, -1)  # (B, C*hf*wf)
    gathered = torch.gather(boxes, 1, idx[..., None].expand(-1, -1, 4))  # (B, C*hf*wf, 4)
    target = gathered.view(b, n_classes, hf, wf, 4).permute(0, 1, 4, 2, 3)
    return heat, target, weight


def _focal_loss(logits: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of centres."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = heat >= 0.999
    pos_loss = (torch.log(p) * (1 - p) ** 2)[pos].sum()
    neg_loss = (torch.log(1 - p) * p**2 * (1 - heat) ** 4)[~pos].sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp_min(1)


def _cell_boxes(dist: torch.Tensor) -> torch.Tensor:
    """Distances ``(B, C, 4, hf, wf)`` from each cell centre -> boxes ``(B, C, 4, hf, wf)`` in canvas px."""
    hf, wf = dist.shape[-2:]
    px = (torch.arange(wf, dtype=torch.float32) + 0.5) * STRIDE
    py = (torch.arange(hf, dtype=torch.float32) + 0.5) * STRIDE
    px, py = px.view(1, 1, 1, wf), py.view(1, 1, hf, 1)
    return torch.stack(
        [px - dist[:, :, 0], py - dist[:, :, 1], px + dist[:, :, 2], py + dist[:, :, 3]], dim=2
    )


def _giou_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted GIoU loss over the cells with weight > 0; boxes ``(..., 4)``."""
    keep = weight > 0
    if not bool(keep.any()):
        return pred.sum() * 0.0
    p = pred.permute(0, 1, 3, 4, 2)[keep]
    t = target.permute(0, 1, 3, 4, 2)[keep]
    w = weight[keep]
    area_p = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    area_t = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    lt = torch.maximum(p[:, :2], t[:, :2])
    rb = torch.minimum(p[:, 2:], t[:, 2:])
    inter = (rb - lt).clamp_min(0).prod(dim=1)
    union = area_p + area_t - inter
    iou = inter / union.clamp_min(1e-6)
    hull = (torch.maximum(p[:, 2:], t[:, 2:]) - torch.minimum(p[:, :2], t[:, :2])).prod(dim=1)
    giou = iou - (hull - union) / hull.clamp_min(1e-6)
    return ((1 - giou) * w).sum() / w.sum().clamp_min(1e-6)


# ==================================================================================================
# Images onto the canvas, augmentation
# ==================================================================================================


def _letterbox(
    image: ImageLike, canvas: tuple[int, int]
) -> tuple[npt.NDArray[np.uint8], float, tuple[int, int]]:
    """The image scaled to fit ``canvas`` (h, w), top-left, padded grey; returns it, the scale and (H, W)."""
    arr = to_rgb_array(image)
    h, w = arr.shape[:2]
    ch, cw = canvas
    scale = min(cw / w, ch / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.full((ch, cw, 3), 128, dtype=np.uint8)
    out[:nh, :nw] = np.asarray(Image.fromarray(arr).resize((nw, nh), Image.Resampling.BILINEAR))
    return out, scale, (h, w)


def _normalise(batch_u8: torch.Tensor) -> torch.Tensor:
    """``(B, H, W, 3)`` uint8 -> ``(B, 3, H, W)`` float centred on grey (padding becomes zeros)."""
    return (batch_u8.permute(0, 3, 1, 2).to(torch.float32) / 255.0 - _MEAN) / _STD


def _augment(
    x: torch.Tensor, boxes: torch.Tensor, valid: torch.Tensor, cfg: BoxDetectorConfig, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One random affine warp per image (scale, aspect, shift, mirror) plus colour jitter, boxes to match.

    Boxes clipped to less than 40% of their area, or to under 2 px, stop counting (``valid`` False):
    a garment pushed out of the frame is no longer a garment to find.
    """
    b, _, h, w = x.shape
    u = torch.rand(b, 6, generator=gen)
    s = 1.0 + (u[:, 0] * 2 - 1) * cfg.scale_jitter
    aspect = 1.0 + (u[:, 1] * 2 - 1) * 0.1
    sx, sy = s * aspect, s / aspect
    tx, ty = (u[:, 2] * 2 - 1) * cfg.shift_jitter * 2, (u[:, 3] * 2 - 1) * cfg.shift_jitter * 2
    flip = torch.where(u[:, 4] < 0.5, -1.0, 1.0)
    # output = A * input + t in normalised coords; grid_sample wants input = A^-1 (output - t)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = flip / sx
    theta[:, 0, 2] = -flip * tx / sx
    theta[:, 1, 1] = 1 / sy
    theta[:, 1, 2] = -ty / sy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # colour: brightness, contrast, per-channel gain
    jitter = torch.rand(b, 5, generator=gen) * 2 - 1
    out = out * (1 + 0.2 * jitter[:, 0, None, None, None]) + 0.8 * jitter[:, 1, None, None, None]
    out = out * (1 + 0.1 * jitter[:, 2:5, None, None])
    # boxes
    nx = boxes[..., 0::2] / w * 2 - 1
    ny = boxes[..., 1::2] / h * 2 - 1
    nx = flip[:, None, None] * sx[:, None, None] * nx + tx[:, None, None]
    ny = sy[:, None, None] * ny + ty[:, None, None]
    x0, x1 = torch.minimum(nx[..., 0], nx[..., 1]), torch.maximum(nx[..., 0], nx[..., 1])
    new = torch.stack(
        [(x0 + 1) / 2 * w, (ny[..., 0] + 1) / 2 * h, (x1 + 1) / 2 * w, (ny[..., 1] + 1) / 2 * h], -1
    )
    area = (new[..., 2] - new[..., 0]) * (new[..., 3] - new[..., 1])
    clipped = torch.stack(
        [new[..., 0].clamp(0, w), new[..., 1].clamp(0, h), new[..., 2].clamp(0, w), new[..., 3].clamp(0, h)],
        -1,
    )
    cw, ch = clipped[..., 2] - clipped[..., 0], clipped[..., 3] - clipped[..., 1]
    keep = valid & (cw * ch >= 0.4 * area) & (cw >= 2) & (ch >= 2)
    return out, clipped, keep


# ==================================================================================================
# NMS
# ==================================================================================================


def nms(boxes: npt.ArrayLike, scores: npt.ArrayLike, iou: float) -> npt.NDArray[np.int64]:
    """Greedy non-maximum suppression: indices of the boxes kept, best score first.

    ``boxes`` ``(n, 4)``; a box is dropped when it overlaps a better-scored kept box by more than
    ``iou``. The loop runs once per *kept* box, each step vectorised over the rest.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.clip(rb - lt, 0, None).prod(axis=1)
        overlap = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


# ==================================================================================================
# The detector
# ==================================================================================================


class _Threads:
    """Cap torch's intra-op threads inside a block, restoring the caller's setting afterwards."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.old)


class BoxDetector:
    """A small CNN box detector (see the module docstring), fitted like an estimator.

    ``BoxDetector(config).fit(photos)`` learns one heatmap and box map per slot seen in the photos
    (``slots_``), on a canvas fixed from them (``canvas_``, (h, w)); ``detect(image)`` returns
    ``DetectedGarment`` records (no masks) in the input's pixels, confident ones only, top to
    bottom. ``save``/``load`` write safetensors weights and a JSON of config and vocabulary.
    """

    def __init__(self, config: BoxDetectorConfig | None = None) -> None:
        self.config = config if config is not None else BoxDetectorConfig()

    # ------------------------------------------------------------------------------------------ fit
    def fit(
        self,
        photos: Sequence[LabelledPhoto | tuple[ImageLike, npt.ArrayLike, Sequence[Slot | str]]],
        show_progress: bool = True,
        callback: Callable[[int, float, dict[str, float]], None] | None = None,
    ) -> Self:
        """Train on labelled photos ``(image, boxes (n, 4) in pixels, slots)``; starts fresh each call."""
        cfg = self.config
        start = time.perf_counter()
        photos = [_as_labelled(p, i) for i, p in enumerate(photos)]
        if not photos:
            raise SchemaError("BoxDetector.fit photos: expected at least one labelled photo, got none")
        slots = sorted({s for p in photos for s in p.slots}, key=lambda s: list(Slot).index(s))
        if not slots:
            raise SchemaError("BoxDetector.fit photos: expected at least one labelled garment, got none")
        slot_row = {s: i for i, s in enumerate(slots)}
        canvas = _canvas_for(photos, cfg.input_size)
        with _Threads(cfg.threads):
            images, boxes, classes, valid = _load_training_set(photos, canvas, slot_row, show_progress)
            gen = torch.Generator().manual_seed(cfg.random_state)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.random_state)
                net = _Net(len(slots), cfg.width)
            history = self._train(
                net, images, boxes, classes, valid, len(slots), gen, show_progress, callback
            )
        self.net_ = net.eval()
        self.slots_ = tuple(slots)
        self.canvas_ = canvas
        self.history_ = history
        self.fit_seconds_ = time.perf_counter() - start
        log.info(
            "BoxDetector: %d photos, %d slots, canvas %s, %d epochs in %.1f s",
            len(photos),
            len(slots),
            canvas,
            cfg.epochs,
            self.fit_seconds_,
        )
        return self

    def _train(
        self,
        net: _Net,
        images: torch.Tensor,
        boxes: torch.Tensor,
        classes: torch.Tensor,
        valid: torch.Tensor,
        n_classes: int,
        gen: torch.Generator,
        show_progress: bool,
        callback: Callable[[int, float, dict[str, float]], None] | None,
    ) -> list[dict[str, float]]:
        cfg = self.config
        n = images.shape[0]
        hf, wf = images.shape[1] // STRIDE, images.shape[2] // STRIDE
        steps_per_epoch = math.ceil(n / cfg.batch_size)
        total = cfg.epochs * steps_per_epoch
        warmup = min(steps_per_epoch * 2, total // 10 + 1)
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt,
            lambda step: (
                min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total))))
            ),
        )
        history: list[dict[str, float]] = []
        start = time.perf_counter()
        net.train()
        bar = tqdm(range(cfg.epochs), desc="BoxDetector", unit="epoch", disable=not show_progress)
        for epoch in bar:
            order = torch.randperm(n, generator=gen)
            sums = {"heat": 0.0, "box": 0.0}
            for s in range(steps_per_epoch):
                idx = order[s * cfg.batch_size : (s + 1) * cfg.batch_size]
                x = _normalise(images[idx])
                bx, cl, va = boxes[idx], classes[idx], valid[idx]
                if cfg.augment:
                    x, bx, va = _augment(x, bx, va, cfg, gen)
                heat_t, box_t, weight = _targets(bx, cl, va, n_classes, hf, wf, cfg.gaussian_alpha)
                logits, dist = net(x)
                pred = _cell_boxes(dist.reshape(dist.shape[0], n_classes, 4, hf, wf))
                loss_heat = _focal_loss(logits, heat_t)
                loss_box = _giou_loss(pred, box_t, weight)
                loss = loss_heat + cfg.box_weight * loss_box
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 10.0)
                opt.step()
                sched.step()
                sums["heat"] += float(loss_heat.detach()) / steps_per_epoch
                sums["box"] += float(loss_box.detach()) / steps_per_epoch
            if not all(math.isfinite(v) for v in sums.values()):
                raise SchemaError(f"BoxDetector.fit: the loss diverged at epoch {epoch} ({sums}); lower lr")
            history.append(sums)
            bar.set_postfix(heat=f"{sums['heat']:.3f}", box=f"{sums['box']:.3f}")
            if callback is not None:
                callback(epoch, time.perf_counter() - start, sums)
        net.eval()
        return history

    # --------------------------------------------------------------------------------------- detect
    def detect(self, image: ImageLike, min_confidence: float | None = None) -> list[DetectedGarment]:
        """Garments in one image, boxes in its pixels; see ``GarmentDetector``.

        ``min_confidence`` overrides the config's threshold for this call (evaluation uses 0.05 to
        see the whole precision-recall curve).
        """
        return self.detect_batch([image], min_confidence=min_confidence)[0]

    def detect_batch(
        self, images: Sequence[ImageLike], min_confidence: float | None = None
    ) -> list[list[DetectedGarment]]:
        """``detect`` over several images in one forward pass (they share the canvas)."""
        self._check_fitted()
        cfg = self.config
        threshold = cfg.min_confidence if min_confidence is None else float(min_confidence)
        _check_unit("BoxDetector.detect", "min_confidence", threshold)
        if not images:
            return []
        boxed = [_letterbox(im, self.canvas_) for im in images]
        batch = torch.from_numpy(np.stack([b[0] for b in boxed]))
        with _Threads(cfg.threads), torch.inference_mode():
            logits, dist = self.net_(_normalise(batch))
        n_classes = len(self.slots_)
        hf, wf = logits.shape[-2:]
        heat = torch.sigmoid(logits)
        peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        boxes_all = _cell_boxes(dist.reshape(dist.shape[0], n_classes, 4, hf, wf))  # (B, C, 4, hf, wf)
        k = min(cfg.max_detections * 3, n_classes * hf * wf)
        scores, flat = peaks.reshape(peaks.shape[0], -1).topk(k, dim=1)
        cls = flat // (hf * wf)
        boxes_flat = boxes_all.permute(0, 1, 3, 4, 2).reshape(peaks.shape[0], n_classes * hf * wf, 4)
        picked = torch.gather(boxes_flat, 1, flat[..., None].expand(-1, -1, 4)).numpy()
        detector_cfg = DetectorConfig(min_confidence=threshold, max_detections=cfg.max_detections)
        out = []
        for i, (_, scale, (h, w)) in enumerate(boxed):
            sc, cl, bx = scores[i].numpy(), cls[i].numpy(), picked[i] / scale
            keep = sc >= threshold
            sc, cl, bx = sc[keep], cl[keep], bx[keep]
            bx[:, 0::2] = bx[:, 0::2].clip(0, w)
            bx[:, 1::2] = bx[:, 1::2].clip(0, h)
            ok = (bx[:, 2] - bx[:, 0] >= 1) & (bx[:, 3] - bx[:, 1] >= 1)
            sc, cl, bx = sc[ok], cl[ok], bx[ok]
            found = []
            for c in np.unique(cl):
                rows = np.flatnonzero(cl == c)
                for r in rows[nms(bx[rows], sc[rows], cfg.nms_iou)]:
                    found.append(
                        DetectedGarment(
                            box=tuple(bx[r].tolist()), slot=self.slots_[c], confidence=float(sc[r])
                        )
                    )
            out.append(keep_confident(found, detector_cfg))
        return out

    # ------------------------------------------------------------------------------------ save/load
    def save(self, path: Path | str) -> Path:
        """Weights as safetensors, config, slots and canvas as JSON, in the folder ``path``
        (``lookbook.weights``: format version checked on load)."""
        self._check_fitted()
        meta = {
            "config": self.config.to_dict(),
            "slots": [s.value for s in self.slots_],
            "canvas": list(self.canvas_),
            "history": self.history_,
            "fit_seconds": self.fit_seconds_,
        }
        return model_files.save(path, self.net_.state_dict(), meta, FORMAT_VERSION)

    @classmethod
    def load(cls, path: Path | str) -> BoxDetector:
        """A fitted detector from a folder written by ``save``."""
        folder = Path(path)
        if not (folder / model_files.META_FILE).exists():
            raise NotFittedError(f"BoxDetector {folder}: no model.json here; fit and save a detector first")
        saved = model_files.load(folder, FORMAT_VERSION, owner="BoxDetector")
        meta = saved.meta
        model = cls(BoxDetectorConfig.from_dict(meta["config"]))
        slots = tuple(Slot(s) for s in meta["slots"])
        net = _Net(len(slots), model.config.width)
        net.load_state_dict(saved.state_dict)
        model.net_ = net.eval()
        model.slots_ = slots
        model.canvas_ = (int(meta["canvas"][0]), int(meta["canvas"][1]))
        model.history_ = meta["history"]
        model.fit_seconds_ = meta["fit_seconds"]
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError("BoxDetector: call fit() or BoxDetector.load() before detect()")


# ==================================================================================================
# Input helpers
# ==================================================================================================


def _as_labelled(photo: Any, i: int) -> LabelledPhoto:
    try:
        image, boxes, slots = photo
    except (TypeError, ValueError):
        raise SchemaError(
            f"BoxDetector.fit photos[{i}]: expected (image, boxes, slots), got {photo!r}"
        ) from None
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    slots = tuple(Slot(s) for s in slots)
    if len(slots) != len(boxes):
        raise SchemaError(
            f"BoxDetector.fit photos[{i}]: expected one slot per box, "
            f"got {len(boxes)} boxes and {len(slots)} slots"
        )
    if len(boxes) and not bool(np.all((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))):
        raise SchemaError(
            f"BoxDetector.fit photos[{i}] boxes: expected x1 > x0 and y1 > y0, got {boxes.tolist()}"
        )
    return LabelledPhoto(image, boxes, slots)


def _image_size(image: ImageLike) -> tuple[int, int]:
    """(h, w) without decoding a file's pixels."""
    if isinstance(image, str | Path):
        with Image.open(image) as img:
            return img.height, img.width
    if isinstance(image, Image.Image):
        return image.height, image.width
    arr = np.asarray(image)
    return int(arr.shape[0]), int(arr.shape[1])


def _canvas_for(photos: Sequence[LabelledPhoto], input_size: int) -> tuple[int, int]:
    """(h, w) of the network input: the long side ``input_size``, the short side fitted to the photos.

    The short side is the largest the training photos need once scaled to the long side, rounded
    up to a multiple of 32 (the network's total stride), so portrait photos do not pay for a square.
    """
    sizes = np.asarray([_image_size(p.image) for p in photos], dtype=np.float64)
    portrait = np.median(sizes[:, 0] / sizes[:, 1]) >= 1.0
    long_side, short_side = (sizes[:, 0], sizes[:, 1]) if portrait else (sizes[:, 1], sizes[:, 0])
    need = float(np.max(short_side / long_side)) * input_size
    short = int(min(input_size, 32 * math.ceil(need / 32 - 1e-9)))
    return (input_size, short) if portrait else (short, input_size)


def _load_training_set(
    photos: Sequence[LabelledPhoto], canvas: tuple[int, int], slot_row: dict[Slot, int], show_progress: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Letterboxed uint8 images ``(N, h, w, 3)`` and padded boxes ``(N, M, 4)``, classes, valid flags."""
    m = max(1, max(len(p.boxes) for p in photos))
    n = len(photos)
    images = np.empty((n, canvas[0], canvas[1], 3), dtype=np.uint8)
    boxes = np.zeros((n, m, 4), dtype=np.float32)
    classes = np.full((n, m), -1, dtype=np.int64)
    for i, p in enumerate(tqdm(photos, desc="load photos", unit="photo", disable=not show_progress)):
        images[i], scale, _ = _letterbox(p.image, canvas)
        k = len(p.boxes)
        boxes[i, :k] = p.boxes * scale
        classes[i, :k] = [slot_row[s] for s in p.slots]
    return (
        torch.from_numpy(images),
        torch.from_numpy(boxes),
        torch.from_numpy(classes),
        torch.from_numpy(classes >= 0),
    )
