"""How each touchpoint retrieves and ranks: one frozen dataclass per page, defaults that work.

``alpha`` is the weight of closeness to the anchor against the user's affinity in
``s = alpha * (1 - d) + (1 - alpha) * a``: high where the page is about an item (similar items,
complete the look), low where it is about the user (home feed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lookbook.ranking import Constraints, DiversityConfig, RankConfig

_FEED_DIVERSITY = DiversityConfig(max_per_category=3, max_per_brand=3, max_run=2, mmr_lambda=0.8)
# the defaults of each touchpoint (module constants: frozen, shared by every config instance)
_HOME_FOR_YOU = RankConfig(k=12, alpha=0.25, diversity=_FEED_DIVERSITY)
# the secondary carousels keep the caps but skip MMR: their candidate sets are already spread
# (recent arrivals, rising items), and MMR is the costliest stage of a page
_CAPS_ONLY = DiversityConfig(max_per_category=3, max_per_brand=3, max_run=2)
_HOME_NEW_IN = RankConfig(k=12, alpha=0.0, diversity=_CAPS_ONLY, use_reranker=False)
_HOME_TRENDING = RankConfig(k=12, alpha=0.5, diversity=_CAPS_ONLY, use_reranker=False)
_SIMILAR = RankConfig(
    k=12,
    alpha=0.7,
    use_reranker=False,
    constraints=Constraints(exclude_bought=False),
    diversity=DiversityConfig(max_per_brand=4),
)
_LOOK = RankConfig(
    k=3, alpha=0.8, use_reranker=False, diversity=DiversityConfig(max_per_brand=2, max_per_category=2)
)
_SEARCH = RankConfig(k=24, alpha=0.7, use_reranker=False, constraints=Constraints(exclude_bought=False))
_CATEGORY = RankConfig(k=24, alpha=0.3, diversity=DiversityConfig(max_per_brand=4))


@dataclass(frozen=True)
class HomeConfig:
    """Home feed carousels.

    ``for_you_candidates``: items from the user's preference vector; ``anchors`` / ``per_anchor``:
    how many recent items the user engaged with seed "similar to ..." candidates, and how many each;
    ``new_days`` / ``trending_days``: the windows of new in and trending; ``explore``: share of a
    cold visitor's feed drawn from new items they could not otherwise discover.
    """

    for_you: RankConfig = _HOME_FOR_YOU
    new_in: RankConfig = _HOME_NEW_IN
    trending: RankConfig = _HOME_TRENDING
    for_you_candidates: int = 300
    anchors: int = 3
    per_anchor: int = 40
    ease_candidates: int = 200
    new_days: float = 14.0
    trending_days: float = 7.0
    trending_pool: int = 200
    explore: float = 0.2


@dataclass(frozen=True)
class SimilarConfig:
    """Similar items: candidates from the hero's content neighbours and from the hero blended with
    the user (``beta`` = the user's share of the query), kept to the hero's slot."""

    rank: RankConfig = _SIMILAR
    candidates: int = 100
    beta: float = 0.3


@dataclass(frozen=True)
class LookConfig:
    """Complete the look: compatible items of other slots from the style spaces."""

    rank: RankConfig = _LOOK
    candidates: int = 60
    max_slots: int = 4


@dataclass(frozen=True)
class BrowseConfig:
    """Search and category pages: relevance (text match or category) blended with the user."""

    search: RankConfig = _SEARCH
    category: RankConfig = _CATEGORY
    search_candidates: int = 100
    category_candidates: int = 300


@dataclass(frozen=True)
class TouchpointConfig:
    """Every touchpoint's settings.

    ``use_reranker``: rank with the project's LightGBM reranker where a touchpoint allows it. Off by
    default: the reranker is trained on features of the logged impressions (``a`` from EASE scaled by
    the user's best score, ``d`` in an ALS space, see ``lookbook.pipeline.ranker_data``) that the serving
    path does not compute the same way yet, and a tree model is only as good as that agreement.
    ``lookbook bench serve`` measures the home feed both ways.

    ``response_cache_seconds``: how long a home feed or similar-items page is reused for the same
    request. Any catalog write and any event of that user invalidate it at once, so the real-time
    guarantees hold; what the cache saves is recomputing an unchanged answer for a shopper who
    reloads or pages back (0 turns it off).
    """

    use_reranker: bool = False
    response_cache_seconds: float = 30.0
    response_cache_size: int = 20_000
    home: HomeConfig = field(default_factory=HomeConfig)
    similar: SimilarConfig = field(default_factory=SimilarConfig)
    look: LookConfig = field(default_factory=LookConfig)
    browse: BrowseConfig = field(default_factory=BrowseConfig)
