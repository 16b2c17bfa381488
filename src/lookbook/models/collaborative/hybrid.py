"""The model Lookbook ships for preference: the two-tower blended with EASE, chosen on validation.

The issue's goal is the best ranking, not one architecture. On implicit feedback a linear
item-item model (EASE) is hard to beat for users with history, while the two-tower model brings
content (cold-start items, new users folded in without retraining) and the vectors retrieval needs.
``LookbookRecommender`` therefore cuts a temporal validation split from the training events, fits
both, and picks EASE's ``l2`` and the blend weight ``w`` of

    score = w * z(two_tower) + (1 - w) * z(EASE)          (z: per-user standardised scores)

by NDCG@k on that split (never on test), then refits both on all training events. ``w = 1`` is
the pure two-tower and ``w = 0`` pure EASE, so the chosen blend is at least as good as either on
validation. Items without training events have no EASE column worth anything (all zeros), so they
are scored by the two-tower's content path alone. Retrieval uses the two-tower's vectors
(``item_vectors``, ``user_vector``, and ``similar_items``); the blend is the ranking of record.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lookbook.errors import LookbookError, SchemaError
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.baselines import EASEConfig, EASERecommender, csr_from_parts, csr_parts
from lookbook.models.collaborative.data import InteractionData
from lookbook.models.collaborative.loading import temporal_split
from lookbook.models.collaborative.tuning import Targets, score_fitted
from lookbook.models.collaborative.two_tower import TwoTowerConfig, TwoTowerRecommender

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
#: Layout of a saved blend: ``model.json``, ``two_tower/`` and (when EASE is in the blend)
#: ``ease.safetensors``, as ``lookbook build`` has always written it.
FORMAT_VERSION = 1
EASE_FILE = "ease.safetensors"


@dataclass(frozen=True)
class LookbookConfig:
    """What ``LookbookRecommender`` searches on its validation split.

    ``ease_l2`` spans the values tuned EASE picked on the demo world (2000) and on H&M (10);
    ``blend_weights`` includes both pure models. ``validation_fraction`` of each user's latest
    positive events form the validation split. The final two-tower starts from the validation fit
    and trains ``refit_epochs_share`` of its epochs on all events (the same NDCG as a fit from
    scratch on the default world, in a third of the time).
    """

    two_tower: TwoTowerConfig = field(default_factory=TwoTowerConfig)
    ease_l2: tuple[float, ...] = (10.0, 300.0, 3000.0)
    blend_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    validation_fraction: float = 0.2
    refit_epochs_share: float = 1 / 3
    k: int = 10

    def __post_init__(self) -> None:
        if not self.blend_weights or any(not 0.0 <= w <= 1.0 for w in self.blend_weights):
            raise SchemaError(
                f"LookbookConfig.blend_weights: expected values in [0, 1], got {self.blend_weights}"
            )
        if not self.ease_l2 or any(not v > 0 for v in self.ease_l2):
            raise SchemaError(f"LookbookConfig.ease_l2: expected values > 0, got {self.ease_l2}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise SchemaError(
                f"LookbookConfig.validation_fraction: expected (0, 1), got {self.validation_fraction}"
            )


def _standardised(scores: F32) -> F32:
    """Per-row z-scores (a constant row becomes zeros), so two models' scales can be blended."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return ((scores - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


class _Blend(Recommender):
    """A fitted two-tower and a fitted EASE, scored together with weight ``w`` on the two-tower.

    The components are fitted by ``LookbookRecommender`` on one dataset, so the blend is fitted on
    it too (it takes the two-tower's seen items); ``fit`` only records another dataset's.
    """

    name = "blend"

    def __init__(self, two_tower: TwoTowerRecommender, ease: EASERecommender | None, w: float) -> None:
        self.two_tower, self.ease, self.w = two_tower, ease, w
        if hasattr(two_tower, "seen_"):
            self._set_seen(two_tower.seen_)

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        self._record_fit(data)  # components are fitted by LookbookRecommender
        return self

    def score(self, users: npt.ArrayLike) -> F32:
        users = self._user_rows(users, "score")
        if self.ease is None or self.w >= 1.0:
            return self.two_tower.score(users)
        ease = _standardised(self.ease.score(users))
        if self.w <= 0.0:
            return ease
        tt = _standardised(self.two_tower.score(users))
        blended = self.w * tt + (1.0 - self.w) * ease
        # EASE knows nothing of items without training events (their column is all zeros): there
        # the two-tower's content path speaks for both, or new items could never be recommended
        cold = ~self.two_tower.has_events_
        blended[:, cold] = tt[:, cold]
        return blended

    def _similar_scores(self, items: I64) -> F32:
        return self.two_tower._similar_scores(items)

    def _save(self, folder: Path) -> None:
        raise LookbookError("_Blend: save the LookbookRecommender that holds it")

    @classmethod
    def _load(cls, folder: Path) -> Self:
        raise LookbookError("_Blend: load the LookbookRecommender that holds it")


class LookbookRecommender(Recommender):
    """Two-tower + EASE blend tuned on validation: the ``Recommender`` contract plus vectors for
    retrieval. Similar items are the two-tower's (its item vectors are what retrieval searches)."""

    name = "lookbook"

    def __init__(self, config: LookbookConfig | None = None) -> None:
        self.config = config or LookbookConfig()
        self.info: dict[str, Any] = {}

    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        cfg = self.config
        started = time.perf_counter()
        use_ease = data.n_items <= EASEConfig().max_items
        fit_part, valid = temporal_split(data, cfg.validation_fraction)
        table: list[dict[str, Any]] = []
        best_l2, best_w = cfg.ease_l2[len(cfg.ease_l2) // 2], 1.0
        tt: TwoTowerRecommender | None = None
        if valid.user.size and use_ease:
            targets = Targets.from_data(valid)
            tt = TwoTowerRecommender(cfg.two_tower).fit(fit_part, show_progress=show_progress)
            best_ease, best_ndcg = None, -1.0
            for l2 in cfg.ease_l2:
                ease = EASERecommender(EASEConfig(l2=l2)).fit(fit_part)
                ndcg = score_fitted(_Blend(tt, ease, 0.0), fit_part, targets, cfg.k, digits=None)["ndcg"]
                table.append({"w": 0.0, "l2": l2, "ndcg": round(ndcg, 5)})
                if ndcg > best_ndcg:
                    best_ease, best_ndcg, best_l2 = ease, ndcg, l2
            best_w = 0.0
            for w in (w for w in cfg.blend_weights if w > 0.0):
                ndcg = score_fitted(_Blend(tt, best_ease, w), fit_part, targets, cfg.k, digits=None)["ndcg"]
                table.append({"w": w, "l2": best_l2, "ndcg": round(ndcg, 5)})
                if ndcg > best_ndcg:
                    best_ndcg, best_w = ndcg, w
        elif not use_ease:
            log.info("lookbook: %d items is too many for EASE; two-tower alone", data.n_items)
        # the validation fit is the starting point: a third of the epochs on all events finish it
        final = (
            cfg.two_tower
            if tt is None
            else dataclasses.replace(
                cfg.two_tower, epochs=max(1, round(cfg.two_tower.epochs * cfg.refit_epochs_share))
            )
        )
        self.two_tower_ = TwoTowerRecommender(final).fit(data, show_progress=show_progress, warm_start=tt)
        self.ease_ = EASERecommender(EASEConfig(l2=best_l2)).fit(data) if use_ease and best_w < 1.0 else None
        self.blend_ = _Blend(self.two_tower_, self.ease_, best_w)
        self.info = {
            "w": best_w,
            "l2": best_l2 if self.ease_ is not None else None,
            "validation": table,
            "fit_s": round(time.perf_counter() - started, 2),
        }
        log.info("lookbook: blend w=%.2f (two-tower share), EASE l2=%s", best_w, self.info["l2"])
        self._record_fit(data)
        return self

    def score(self, users: npt.ArrayLike) -> F32:
        rows = self._user_rows(users, "score")
        return self.blend_.score(rows)

    def _similar_scores(self, items: I64) -> F32:
        return self.two_tower_._similar_scores(items)

    def item_vectors(self, content: npt.ArrayLike | None = None) -> F32:
        """Preference-space item vectors (the two-tower's; new items from ``content``)."""
        self._check_fitted()
        return self.two_tower_.item_vectors(content)

    def user_vector(self, items: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> F32:
        """Preference-space vector of a user from the items they touched (fold-in, no retraining)."""
        self._check_fitted()
        return self.two_tower_.user_vector(items, weights)

    # ---------------------------------------------------------------------------------- persistence
    def _save(self, folder: Path) -> None:
        """The blend as a folder: the two-tower's own folder (``two_tower/``), EASE's item weights
        and user matrix (``ease.safetensors``) and ``model.json`` (the chosen blend and the
        validation table); the files ``lookbook build`` writes and the shop loads."""
        from safetensors.numpy import save_file

        self.two_tower_.save(folder / "two_tower")
        if self.ease_ is not None:
            tmp = folder / (EASE_FILE + ".tmp")
            save_file(
                {"item_weights": np.ascontiguousarray(self.ease_.item_weights), **csr_parts(self.ease_._x)},
                str(tmp),
                metadata={"format_version": str(FORMAT_VERSION)},
            )
            tmp.replace(folder / EASE_FILE)
        self._write_meta(
            folder, FORMAT_VERSION, info=self.info, two_tower_config=self.config.two_tower.to_dict()
        )

    @classmethod
    def _load(cls, folder: Path) -> Self:
        """A blend saved by ``save`` (or by any earlier ``lookbook build``); scores exactly as
        before saving."""
        from safetensors import safe_open

        meta = cls._read_meta(folder, FORMAT_VERSION)
        model = cls(LookbookConfig(two_tower=TwoTowerConfig.from_dict(meta["two_tower_config"])))
        model.info = meta["info"]
        model.two_tower_ = TwoTowerRecommender.load(folder / "two_tower")
        model.ease_ = None
        if (folder / EASE_FILE).exists():
            with safe_open(str(folder / EASE_FILE), framework="np") as fh:
                version = (fh.metadata() or {}).get("format_version", str(FORMAT_VERSION))
                if version != str(FORMAT_VERSION):
                    raise SchemaError(
                        f"LookbookRecommender {folder / EASE_FILE}: format_version {version} is not "
                        f"{FORMAT_VERSION}; retrain it"
                    )
                t = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118
            ease = EASERecommender(EASEConfig(l2=float(model.info["l2"])))
            ease.item_weights = t["item_weights"]
            ease._x = csr_from_parts(t)
            ease._set_seen(model.two_tower_.seen_)
            model.ease_ = ease
        model.blend_ = _Blend(model.two_tower_, model.ease_, float(model.info["w"]))
        return model

    def _legacy_seen(self, folder: Path) -> sp.csr_matrix:
        """Folders saved before ``seen.npz``: the two-tower's (see ``TwoTowerRecommender``)."""
        return self.two_tower_.seen_
