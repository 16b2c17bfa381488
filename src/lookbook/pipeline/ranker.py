"""The build's ranker stage: LightGBM lambdarank on the world's logged impressions, saved with its
validation report (NDCG@k of the ranker, of the logging order and of the plain d/a blend), and the
two feature models the server needs to compute the ranker's ``a`` and ``d`` exactly as training
did (``lookbook.pipeline.ranker_data``): EASE (l2 200) item weights and unit ALS item factors, fitted on
every event. Without them the server would hand the trees features on another scale."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lookbook.datasets.world import World
from lookbook.errors import LookbookError

log = logging.getLogger(__name__)


def train_project_ranker(
    world: World, out: Path, *, seed: int = 0, show_progress: bool = False
) -> dict[str, Any]:
    """Trees on ``world.impressions`` (a world's logged impressions, or a store's own served slates
    through ``ranker_data.store_impressions``) and the serving feature models, saved in ``out``."""
    from lookbook.pipeline.ranker_data import WorldRankerConfig, ranker_training_data
    from lookbook.ranking import RankerConfig, Reranker

    if world.impressions.num_rows == 0:
        return {"trained": False, "reason": "the source has no logged impressions"}
    try:
        data = ranker_training_data(world, WorldRankerConfig(seed=seed), show_progress=show_progress)
        model = Reranker(RankerConfig()).fit(data, show_progress=show_progress)
    except LookbookError as exc:  # e.g. too few clicked slates in a tiny world
        log.warning("ranker not trained: %s", exc)
        return {"trained": False, "reason": str(exc)}
    model.save(out)
    save_serving_features(world, out, WorldRankerConfig(seed=seed))
    report = model.report_.to_dict() if model.report_ is not None else {}
    return {"trained": True, "ndcg": report.get("ndcg"), "ips_ndcg": report.get("ips_ndcg")}


def save_serving_features(world: World, out: Path, cfg: Any) -> None:
    """EASE weights and ALS factors on all events, with the item ids they are aligned to."""
    import json

    import numpy as np

    from lookbook.models.collaborative.baselines import ALSConfig, ALSRecommender, EASEConfig, EASERecommender
    from lookbook.models.collaborative.loading import interactions_from_world

    data = interactions_from_world(world)
    known = np.diff(data.matrix().tocsc().indptr) > 0
    ease = EASERecommender(EASEConfig(l2=cfg.ease_l2)).fit(data)
    als = ALSRecommender(
        ALSConfig(factors=cfg.als_factors, iterations=cfg.als_iterations, random_state=cfg.seed)
    ).fit(data)
    f = als.item_factors
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    f[~known] = 0.0
    np.save(out / "ease_item_weights.npy", ease.item_weights.astype(np.float32))
    np.save(out / "als_item_factors.npy", f.astype(np.float32))
    np.save(out / "item_known.npy", known)
    (out / "feature_item_ids.json").write_text(json.dumps(data.item_ids.ids.tolist()))
