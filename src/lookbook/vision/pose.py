"""Garments of a person in a real photo, from body landmarks, a person mask and colour change.

Why not a learned garment detector here: nothing labelled with real garments ships with Lookbook,
and the product groups shop the look needs on real photos (upper body, lower body, full body,
shoes) follow the body. mediapipe's pose model (33 landmarks, ``model_complexity=1``, bundled in
the wheel, so it works offline) says where shoulders, hips, knees and feet are, and its selfie
segmentation says which pixels are the person. From those:

1. **Cores**: small body areas that are almost always covered by the garment of a region, whatever
   its cut: the middle of the torso (below the neckline, above a cropped hem, inside the arms), the
   upper thighs, the upper arms. Each core's colours are summarised as a palette (k-means in CIE
   Lab); clusters that match the wearer's skin (sampled on the face, else the forearms) are dropped.
2. **Dress or top + bottom**: a dress (or jumpsuit) is one fabric from the chest to the thighs, so
   the torso and thigh cores share a palette, a texture (mean gradient) and the waist between them
   is the same fabric; a top and a skirt or trousers change there. Without a dress, colours the
   top's core shares with the thighs are the bottom's (a cropped top over high-waisted trousers);
   a top reaching well below the hips over bare thighs is a short dress.
3. **Regions**: each garment's mask is the person-mask pixels in its body band whose colour matches
   its palette, kept only where connected to its core (a matching patch of background or of the
   other garment does not count); its box is the mask's box. Feet: the foot landmarks' box,
   tightened to the person mask minus the trousers and skin.
4. **Outerwear** (open jacket): the sleeves and the torso's flanks share a colour the torso's
   middle does not; the jacket is then its own region and the top is the middle's.

Confidence = mean visibility of the region's landmarks inside the frame x the share of its core
inside the person mask; a region whose landmarks all lie outside the frame (the legs of a
portrait) is not reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw
from scipy import ndimage

from lookbook.errors import LookbookError
from lookbook.schema import Slot
from lookbook.vision.base import (
    DetectedGarment,
    DetectorSettings,
    ImageLike,
    _check_positive_int,
    _check_unit,
    keep_confident,
    to_rgb_array,
)

log = logging.getLogger(__name__)

__all__ = ["PoseDetectorConfig", "PoseGarmentDetector", "PoseRegions", "rgb_to_lab"]

F32 = npt.NDArray[np.float32]
BoolMap = npt.NDArray[np.bool_]

# mediapipe pose landmark indices (mp.solutions.pose.PoseLandmark)
NOSE, MOUTH_L, MOUTH_R = 0, 9, 10
SHOULDER_L, SHOULDER_R, ELBOW_L, ELBOW_R, WRIST_L, WRIST_R = 11, 12, 13, 14, 15, 16
HIP_L, HIP_R, KNEE_L, KNEE_R, ANKLE_L, ANKLE_R = 23, 24, 25, 26, 27, 28
HEEL_L, HEEL_R, FOOT_L, FOOT_R = 29, 30, 31, 32
_UPPER = (SHOULDER_L, SHOULDER_R, HIP_L, HIP_R)
_LOWER = (HIP_L, HIP_R, KNEE_L, KNEE_R, ANKLE_L, ANKLE_R)
_FEET = (ANKLE_L, ANKLE_R, HEEL_L, HEEL_R, FOOT_L, FOOT_R)
_ARMS = (SHOULDER_L, SHOULDER_R, ELBOW_L, ELBOW_R)


@dataclass(frozen=True)
class PoseDetectorConfig(DetectorSettings):
    """Settings of ``PoseGarmentDetector``; every field has a default, validated on creation.

    ``model_complexity`` 1 is the bundled full pose model (2 would download weights at run time).
    ``mask_threshold`` 0.5 on the selfie-segmentation probability. ``colour_tolerance`` 16 is a CIE
    Lab distance: two fabrics under the same light rarely come closer, shading across one fabric
    rarely goes further. ``palette_size`` 4 k-means clusters cover a print's few colours; clusters
    under ``min_cluster_share`` are noise. ``dress_match`` is the share of each core that must
    match the other's palette for one garment, ``texture_ratio`` the most their mean gradients may
    differ. ``outerwear`` switches the open-jacket test on.
    """

    min_confidence: float = 0.3
    max_detections: int = 20
    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    mask_threshold: float = 0.5
    colour_tolerance: float = 16.0
    skin_tolerance: float = 12.0
    palette_size: int = 4
    min_cluster_share: float = 0.08
    dress_match: float = 0.6
    texture_ratio: float = 1.8
    outerwear: bool = True
    random_state: int = 0

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in (
            "min_confidence",
            "min_detection_confidence",
            "mask_threshold",
            "min_cluster_share",
            "dress_match",
        ):
            _check_unit(owner, name, getattr(self, name))
        _check_positive_int(owner, "max_detections", self.max_detections)
        _check_positive_int(owner, "palette_size", self.palette_size)
        if self.model_complexity not in (0, 1):
            raise LookbookError(
                f"{owner}.model_complexity: expected 0 or 1 (the models bundled with mediapipe), "
                f"got {self.model_complexity!r}"
            )
        for name in ("colour_tolerance", "skin_tolerance", "texture_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise LookbookError(f"{owner}.{name}: expected a number > 0, got {value!r}")


@dataclass(frozen=True)
class PoseRegions:
    """What the pose step saw, for drawing and debugging: landmarks ``(33, 3)`` (x px, y px,
    visibility), the person mask ``(H, W)`` and the garments found (before the threshold)."""

    landmarks: F32
    person: BoolMap
    garments: tuple[DetectedGarment, ...]


# ==================================================================================================
# Colour helpers (numpy only)
# ==================================================================================================


def rgb_to_lab(rgb: npt.NDArray[np.uint8]) -> F32:
    """sRGB uint8 ``(..., 3)`` -> CIE Lab (D65) float32 ``(..., 3)``; distances ~ perceived difference."""
    c = rgb.astype(np.float32) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.asarray(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]], dtype=np.float32
    )
    xyz = c @ m.T / np.asarray([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1
    )
    return lab.astype(np.float32)


def _palette(pixels: F32, k: int, min_share: float, rng: np.random.Generator) -> F32:
    """Main colours of ``pixels`` ``(n, 3)`` Lab: k-means centres holding at least ``min_share``."""
    if len(pixels) == 0:
        return np.zeros((0, 3), np.float32)
    if len(pixels) > 3000:
        pixels = pixels[rng.choice(len(pixels), 3000, replace=False)]
    k = min(k, len(pixels))
    centres = pixels[rng.choice(len(pixels), k, replace=False)].copy()
    for _ in range(12):
        assign = np.argmin(((pixels[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        counts = np.bincount(assign, minlength=k)
        sums = np.zeros_like(centres)
        np.add.at(sums, assign, pixels)
        centres = np.where(counts[:, None] > 0, sums / np.maximum(counts[:, None], 1), centres)
    shares = np.bincount(assign, minlength=k) / len(pixels)
    return centres[shares >= min_share].astype(np.float32)


def _matches(lab: F32, palette: F32, tol: float) -> BoolMap:
    """Pixels of ``lab`` ``(..., 3)`` within ``tol`` of any palette colour."""
    out = np.zeros(lab.shape[:-1], dtype=bool)
    limit = np.float32(tol * tol)
    for colour in np.asarray(palette, dtype=np.float32).reshape(-1, 3):  # a palette has a few colours
        d = lab - colour  # one (..., 3) temporary per colour, not a (..., n_colours, 3) one
        out |= np.einsum("...k,...k->...", d, d) <= limit
    return out


def _without(palette: F32, other: F32, tol: float) -> F32:
    """``palette`` minus the colours that match ``other``, unless that would leave nothing."""
    if len(palette) == 0 or len(other) == 0:
        return palette
    keep = ~_matches(palette, other, tol)
    return palette[keep] if keep.any() else palette


def _share(match: BoolMap, region: BoolMap) -> float:
    n = int(region.sum())
    return float((match & region).sum() / n) if n else 0.0


# ==================================================================================================
# The detector
# ==================================================================================================


class PoseGarmentDetector:
    """Garment regions of one person from mediapipe pose + selfie segmentation (module docstring).

    The mediapipe graphs are built on the first ``detect`` and reused (``close`` frees them; the
    detector is also a context manager). ``detect`` returns top / outerwear / bottom / dress /
    shoes garments with full-frame masks (shoes: the person mask inside the feet box), confident
    ones only, top to bottom; a photo without a person gives an empty list.
    """

    def __init__(self, config: PoseDetectorConfig | None = None) -> None:
        self.config = config if config is not None else PoseDetectorConfig()

    def __enter__(self) -> PoseGarmentDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the mediapipe graphs (they are rebuilt on the next ``detect``)."""
        for name in ("_pose", "_seg"):
            graph = self.__dict__.pop(name, None)
            if graph is not None:
                graph.close()

    def _graphs(self) -> tuple[Any, Any]:
        if "_pose" not in self.__dict__:
            try:
                import mediapipe as mp
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise LookbookError(
                    "PoseGarmentDetector needs mediapipe: pip install -c constraints.txt mediapipe==0.10.21"
                ) from exc
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=True,
                model_complexity=self.config.model_complexity,
                enable_segmentation=False,
                min_detection_confidence=self.config.min_detection_confidence,
            )
            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        return self._pose, self._seg

    def landmarks(self, rgb: npt.NDArray[np.uint8]) -> tuple[F32 | None, F32]:
        """Landmarks ``(33, 3)`` (x px, y px, visibility) or None, and the person probability ``(H, W)``."""
        pose, seg = self._graphs()
        h, w = rgb.shape[:2]
        result = pose.process(rgb)
        prob = seg.process(rgb).segmentation_mask
        prob = np.zeros((h, w), np.float32) if prob is None else np.asarray(prob, dtype=np.float32)
        if result.pose_landmarks is None:
            return None, prob
        lm = np.asarray(
            [(p.x * w, p.y * h, p.visibility) for p in result.pose_landmarks.landmark], np.float32
        )
        return lm, prob

    def detect(self, image: ImageLike) -> list[DetectedGarment]:
        """Garments of the person in ``image``; see ``GarmentDetector``."""
        return keep_confident(self.regions(image).garments, self.config.detector)

    def regions(self, image: ImageLike) -> PoseRegions:
        """Landmarks, person mask and every garment region found (no threshold applied)."""
        rgb = to_rgb_array(image)
        lm, prob = self.landmarks(rgb)
        person = prob >= self.config.mask_threshold
        if lm is None:
            log.debug("pose: no person found")
            return PoseRegions(np.zeros((33, 3), np.float32), person, ())
        garments = _Regions(rgb, lm, person, self.config).find()
        return PoseRegions(lm, person, tuple(garments))


class _Regions:
    """One photo's region finding: holds the Lab image, landmarks and masks shared by the steps."""

    def __init__(self, rgb: npt.NDArray[np.uint8], lm: F32, person: BoolMap, cfg: PoseDetectorConfig) -> None:
        self.rgb, self.lm, self.person, self.cfg = rgb, lm, person, cfg
        self.h, self.w = rgb.shape[:2]
        self.lab = rgb_to_lab(rgb)
        self.rng = np.random.default_rng(cfg.random_state)
        sh, hp = lm[[SHOULDER_L, SHOULDER_R], :2].mean(0), lm[[HIP_L, HIP_R], :2].mean(0)
        self.torso = float(max(np.hypot(*(hp - sh)), 1.0))
        ly, lx = np.gradient(self.lab[..., 0])
        self.grad = np.hypot(lx, ly)
        self.skin: F32 | None = None
        self.bottom_pal = np.zeros((0, 3), np.float32)

    # ------------------------------------------------------------------ geometry
    def _xy(self, i: int) -> tuple[float, float]:
        return float(self.lm[i, 0]), float(self.lm[i, 1])

    def _lerp(self, a: int, b: int, u: float) -> tuple[float, float]:
        (ax, ay), (bx, by) = self._xy(a), self._xy(b)
        return ax + (bx - ax) * u, ay + (by - ay) * u

    def _in_frame(self, idx: tuple[int, ...]) -> npt.NDArray[np.bool_]:
        p = self.lm[list(idx)]
        return (p[:, 0] >= 0) & (p[:, 0] < self.w) & (p[:, 1] >= 0) & (p[:, 1] < self.h)

    def _visibility(self, idx: tuple[int, ...]) -> float:
        inside = self._in_frame(idx)
        return float(self.lm[list(idx), 2][inside].mean()) if inside.any() else 0.0

    def _polygon(self, pts: list[tuple[float, float]]) -> BoolMap:
        img = Image.new("1", (self.w, self.h), 0)
        ImageDraw.Draw(img).polygon(pts, fill=1)
        return np.asarray(img, dtype=bool)

    def _segment(self, a: int, b: int, u0: float, u1: float, half_width: float) -> BoolMap:
        img = Image.new("1", (self.w, self.h), 0)
        ImageDraw.Draw(img).line(
            [self._lerp(a, b, u0), self._lerp(a, b, u1)], fill=1, width=max(1, round(2 * half_width))
        )
        return np.asarray(img, dtype=bool)

    def _torso_part(self, u0: float, u1: float, s0: float, s1: float) -> BoolMap:
        """Torso area between heights u0..u1 (shoulders 0 -> hips 1) and sides s0..s1 (0 left, 1 right)."""

        def at(u: float, s: float) -> tuple[float, float]:
            left = self._lerp(SHOULDER_R, HIP_R, u)
            right = self._lerp(SHOULDER_L, HIP_L, u)
            return left[0] + (right[0] - left[0]) * s, left[1] + (right[1] - left[1]) * s

        return self._polygon([at(u0, s0), at(u0, s1), at(u1, s1), at(u1, s0)])

    def _rows(self, y0: float, y1: float) -> BoolMap:
        band = np.zeros((self.h, self.w), dtype=bool)
        band[max(0, int(y0)) : max(0, min(self.h, int(np.ceil(y1))))] = True
        return band

    # ------------------------------------------------------------------ colour
    def _palette_of(self, region: BoolMap) -> F32:
        pal = _palette(
            self.lab[region & self.person], self.cfg.palette_size, self.cfg.min_cluster_share, self.rng
        )
        if len(pal) and self.skin is not None and len(pal) > 1:
            not_skin = ((pal - self.skin) ** 2).sum(-1) > self.cfg.skin_tolerance**2
            if not_skin.any():
                pal = pal[not_skin]
        return pal

    def _skin_colour(self, torso_core: BoolMap) -> F32 | None:
        """Median Lab of the face (between nose and mouth), else of a forearm unlike the torso."""
        face_pts = (NOSE, MOUTH_L, MOUTH_R)
        r = 0.45 * float(np.hypot(*(self.lm[MOUTH_L, :2] - self.lm[MOUTH_R, :2]))) + 2
        mouth = self.lm[[MOUTH_L, MOUTH_R], :2].mean(0)
        centre = mouth + 0.35 * (self.lm[NOSE, :2] - mouth)
        candidates = []
        if self.lm[list(face_pts), 2].min() > 0.5:
            yy, xx = np.ogrid[: self.h, : self.w]
            candidates.append(((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) <= r * r)
        torso_main = _palette(self.lab[torso_core & self.person], 1, 0.0, self.rng)
        for elbow, wrist in ((ELBOW_L, WRIST_L), (ELBOW_R, WRIST_R)):
            if min(self.lm[elbow, 2], self.lm[wrist, 2]) > 0.5:
                seg = self._segment(elbow, wrist, 0.4, 0.8, 0.03 * self.torso)
                px = self.lab[seg & self.person]
                if len(px) >= 20 and not _matches(np.median(px, 0), torso_main, self.cfg.colour_tolerance):
                    candidates.append(seg)
        for region in candidates:
            px = self.lab[region & self.person]
            if len(px) >= 20:
                return np.median(px, axis=0).astype(np.float32)
        return None

    def _grown(self, palette: F32, band: BoolMap, seed: BoolMap, exclude: BoolMap | None = None) -> BoolMap:
        """Person pixels in ``band`` matching ``palette``, connected to ``seed``, lightly cleaned."""
        mask = self.person & band & _matches(self.lab, palette, self.cfg.colour_tolerance)
        if exclude is not None:
            mask &= ~exclude
        mask = ndimage.binary_opening(mask, iterations=2)
        labels, n = ndimage.label(mask)
        if n == 0:
            return mask
        hit = np.unique(labels[seed & mask])
        hit = hit[hit > 0]
        return np.isin(labels, hit) & mask

    def _box(self, mask: BoolMap) -> tuple[float, float, float, float] | None:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size == 0 or mask.sum() < 50:
            return None
        return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)

    def _garment(self, mask: BoolMap, slot: Slot, confidence: float) -> DetectedGarment | None:
        box = self._box(mask)
        if box is None:
            return None
        return DetectedGarment(box=box, slot=slot, confidence=float(np.clip(confidence, 0, 1)), mask=mask)

    # ------------------------------------------------------------------ regions
    def find(self) -> list[DetectedGarment]:
        cfg, t = self.cfg, self.torso
        if not self._in_frame((SHOULDER_L, SHOULDER_R)).any():
            return []
        sh_y = float(self.lm[[SHOULDER_L, SHOULDER_R], 1].min())
        hip_y = float(self.lm[[HIP_L, HIP_R], 1].mean())
        ankle_y = float(self.lm[[ANKLE_L, ANKLE_R], 1].max())
        torso_core = self._torso_part(0.25, 0.65, 0.25, 0.75)
        thigh_core = self._segment(HIP_L, KNEE_L, 0.15, 0.6, 0.08 * t) | self._segment(
            HIP_R, KNEE_R, 0.15, 0.6, 0.08 * t
        )
        self.skin = self._skin_colour(torso_core)
        skin = (
            _matches(self.lab, self.skin[None], cfg.skin_tolerance)
            if self.skin is not None
            else np.zeros((self.h, self.w), bool)
        )
        top_pal = self._palette_of(torso_core)
        out: list[DetectedGarment] = []

        upper_conf = self._visibility(_UPPER) * _share(self.person, torso_core)
        legs_in_frame = int((thigh_core & self.person).sum()) >= 50 and self._in_frame((KNEE_L, KNEE_R)).any()
        thigh_pal = self._palette_of(thigh_core) if legs_in_frame else np.zeros((0, 3), np.float32)
        thighs_bare = legs_in_frame and _share(skin, thigh_core & self.person) >= 0.6

        # --- one garment from chest to thighs?
        dress = False
        if legs_in_frame and len(top_pal) and len(thigh_pal) and not thighs_bare:
            same = min(
                _share(_matches(self.lab, top_pal, cfg.colour_tolerance), thigh_core & self.person),
                _share(_matches(self.lab, thigh_pal, cfg.colour_tolerance), torso_core & self.person),
            )
            g_top = float(self.grad[torso_core & self.person].mean())
            g_thigh = float(self.grad[thigh_core & self.person].mean())
            texture = max(g_top, g_thigh) / max(min(g_top, g_thigh), 1e-3)
            waist = self._torso_part(0.85, 1.1, 0.3, 0.7)
            waist_same = _share(_matches(self.lab, top_pal, cfg.colour_tolerance), waist & self.person)
            dress = same >= cfg.dress_match and texture <= cfg.texture_ratio and waist_same >= 0.5
            log.debug(
                "pose: dress test same=%.2f texture=%.2f waist=%.2f -> %s", same, texture, waist_same, dress
            )

        upper_band = self._rows(sh_y - 0.25 * t, hip_y + 0.45 * t)
        if not dress:
            # colours the top shares with the thighs belong to the bottom (a short top over high trousers)
            top_pal = _without(top_pal, thigh_pal, cfg.colour_tolerance)
            self.bottom_pal = thigh_pal
        if dress:
            pal = np.concatenate([top_pal, thigh_pal])
            band = self._rows(sh_y - 0.25 * t, ankle_y + 0.1 * t)
            mask = self._grown(pal, band, torso_core | thigh_core, exclude=skin)
            lower_conf = self._visibility(_LOWER) * _share(self.person, thigh_core)
            g = self._garment(mask, Slot.DRESS, 0.5 * (upper_conf + lower_conf))
            if g is not None:
                out.append(g)
        else:
            top_mask, jacket = self._upper(top_pal, upper_band, torso_core, skin)
            g = self._garment(top_mask, Slot.TOP, upper_conf)
            if g is not None:
                out.append(g)
            if jacket is not None:
                arm_conf = self._visibility(_ARMS) * _share(self.person, torso_core)
                g = self._garment(jacket, Slot.OUTERWEAR, min(upper_conf, arm_conf))
                if g is not None:
                    out.append(g)
            if legs_in_frame and len(thigh_pal) and not thighs_bare:
                band = self._rows(hip_y - 0.35 * t, ankle_y + 0.1 * t)
                exclude = skin | (top_mask if top_mask.any() else np.zeros_like(skin))
                mask = self._grown(thigh_pal, band, thigh_core, exclude=exclude)
                g = self._garment(
                    mask, Slot.BOTTOM, self._visibility(_LOWER) * _share(self.person, thigh_core)
                )
                if g is not None:
                    out.append(g)
            elif thighs_bare and out and out[0].slot == Slot.TOP and out[0].box[3] > hip_y + 0.35 * t:
                # a top reaching well below the hips over bare thighs is a short dress
                top = out.pop(0)
                out.insert(
                    0, DetectedGarment(box=top.box, slot=Slot.DRESS, confidence=top.confidence, mask=top.mask)
                )

        shoes = self._shoes(out, skin)
        if shoes is not None:
            out.append(shoes)
        return out

    def _upper(
        self, top_pal: F32, band: BoolMap, torso_core: BoolMap, skin: BoolMap
    ) -> tuple[BoolMap, BoolMap | None]:
        """The top's mask and, when the open-jacket test passes, the jacket's."""
        cfg, t = self.cfg, self.torso
        jacket = None
        arms_in = self._in_frame((ELBOW_L, ELBOW_R)).any()
        if cfg.outerwear and arms_in:
            arm_core = self._segment(SHOULDER_L, ELBOW_L, 0.3, 0.8, 0.05 * t) | self._segment(
                SHOULDER_R, ELBOW_R, 0.3, 0.8, 0.05 * t
            )
            flanks = self._torso_part(0.3, 0.9, 0.0, 0.15) | self._torso_part(0.3, 0.9, 0.85, 1.0)
            centre = self._torso_part(0.3, 0.9, 0.4, 0.6)
            arm_pal = self._palette_of(arm_core)
            arm_match = _matches(self.lab, arm_pal, cfg.colour_tolerance)
            arms_bare = _share(skin, arm_core & self.person) >= 0.5
            if (
                len(arm_pal)
                and not arms_bare
                and _share(arm_match, flanks & self.person) >= 0.6
                and _share(arm_match, centre & self.person) <= 0.3
            ):
                centre_pal = _without(self._palette_of(centre), self.bottom_pal, cfg.colour_tolerance)
                rows = np.flatnonzero(band.any(axis=1))
                jacket_band = self._rows(float(rows[0]), float(rows[-1]) + 0.3 * t)  # jackets run longer
                jacket = self._grown(arm_pal, jacket_band, arm_core | flanks, exclude=skin)
                top = self._grown(centre_pal, band, centre, exclude=skin | jacket)
                return top, jacket if jacket.any() else None
        return self._grown(top_pal, band, torso_core, exclude=skin), jacket

    def _shoes(self, found: list[DetectedGarment], skin: BoolMap) -> DetectedGarment | None:
        """Both feet as one garment (as the worlds label shoes): the feet landmarks' box, tightened to
        the person mask minus skin and the garment above."""
        t = self.torso
        inside = self._in_frame(_FEET)
        if inside.sum() < 2:
            return None
        pts = self.lm[list(_FEET)][inside, :2]
        pad = 0.12 * t
        x0, x1 = max(0.0, float(pts[:, 0].min()) - pad), min(float(self.w), float(pts[:, 0].max()) + pad)
        y0 = max(0.0, float(self.lm[[ANKLE_L, ANKLE_R], 1].min()) - 0.08 * t)
        y1 = min(float(self.h), float(pts[:, 1].max()) + 0.1 * t)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        region = self._polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        # ankles show more skin under other light than the face: a looser skin test here; and the
        # trousers' colours above the ankles are the hem, not the shoe
        exclude = (
            _matches(self.lab, self.skin[None], 1.8 * self.cfg.skin_tolerance)
            if self.skin is not None
            else skin
        )
        ankle_y = float(self.lm[[ANKLE_L, ANKLE_R], 1].mean())
        exclude = exclude | (
            self._rows(0, ankle_y) & _matches(self.lab, self.bottom_pal, self.cfg.colour_tolerance)
        )
        for g in found:
            if g.slot in (Slot.BOTTOM, Slot.DRESS) and g.mask is not None:
                exclude |= g.mask
        mask = ndimage.binary_opening(self.person & region & ~exclude, iterations=2)
        seeds = np.zeros_like(mask)
        for i in (HEEL_L, HEEL_R, FOOT_L, FOOT_R):
            x, y = round(float(self.lm[i, 0])), round(float(self.lm[i, 1]))
            if 0 <= x < self.w and 0 <= y < self.h:
                r = max(2, int(0.04 * t))
                seeds[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1] = True
        labels, n = ndimage.label(mask)
        if n:
            hit = np.unique(labels[seeds & mask])
            mask = np.isin(labels, hit[hit > 0])
        xs = np.clip(np.round(pts[:, 0]).astype(int), 0, self.w - 1)
        ys = np.clip(np.round(pts[:, 1]).astype(int), 0, self.h - 1)
        coverage = float(ndimage.binary_dilation(self.person, iterations=3)[ys, xs].mean())
        confidence = self._visibility(_FEET) * coverage
        g = self._garment(mask, Slot.SHOES, confidence)
        if g is None:  # nothing of the mask left: fall back to the landmarks' box
            g = DetectedGarment(
                box=(x0, y0, x1, y1), slot=Slot.SHOES, confidence=float(np.clip(confidence, 0, 1))
            )
        return g
