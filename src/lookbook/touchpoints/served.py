"""The saved models of one model version, loaded: what a shop serves and its writer embeds with.

Its own module because the shop, its writer and the swap (``lookbook.touchpoints.swap``) all name
it, and the swap needs the other two: here it depends on none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lookbook.project.layout import ProjectPaths, preference_item_ids
from lookbook.project.spaces import SpaceEmbedder

__all__ = ["ServedModels", "load_models"]


@dataclass(frozen=True)
class ServedModels:
    """The saved models of one model version, loaded, with the embedder that writes use."""

    paths: ProjectPaths  # pinned to the version
    embedder: SpaceEmbedder
    reranker: Any
    model_ids: list[str]  # the preference model's own catalog (its rows)

    @property
    def version(self) -> str:
        return self.paths.model_version

    @property
    def preference(self) -> Any:
        return self.embedder.preference

    @property
    def compatibility(self) -> Any:
        return self.embedder.compatibility


def load_models(paths: ProjectPaths) -> ServedModels:
    """Load the models of the version ``paths`` is pinned to."""
    from lookbook.ranking import Reranker
    from lookbook.ranking.reranker import META_FILE

    embedder = SpaceEmbedder(paths, cache_dir=paths.root / "cache")
    reranker = Reranker.load(paths.ranker) if (paths.ranker / META_FILE).exists() else None
    return ServedModels(paths, embedder, reranker, [str(i) for i in preference_item_ids(paths)])
