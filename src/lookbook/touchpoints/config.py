"""How each touchpoint retrieves and ranks: one frozen dataclass per page, defaults that work.

``alpha`` is the weight of closeness to the anchor against the user's affinity in
``s = alpha * (1 - d) + (1 - alpha) * a``: high where the page is about an item (similar items,
complete the look), low where it is about the user (home feed).

A project tunes these in its settings file (``lookbook.project.settings``: ``ShopSettings``, read
from ``<project>/settings.toml`` and checked key by key). That module mirrors the classes below field
for field but holds plain data, because ``project`` sits on the ranking layer and may not import
``RankConfig``; ``TouchpointConfig.from_settings`` / ``to_settings`` convert, by field name, so a
field added on one side and not the other fails the conversion (and its test) at once. The defaults
here and there are equal (a test checks it): a project without a settings file runs as before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Self

from lookbook.errors import SchemaError
from lookbook.project.settings import CAROUSELS, CLOCKS, DETECTORS, ShopSettings
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
_PHOTO = RankConfig(k=20, alpha=0.6, use_reranker=False, diversity=DiversityConfig(max_per_category=4))


@dataclass(frozen=True)
class HomeConfig:
    """Home feed carousels.

    ``for_you_candidates``: items from the user's preference vector; ``anchors`` / ``per_anchor``:
    how many recent items the user engaged with seed "similar to ..." candidates, and how many each;
    ``new_days`` / ``trending_days``: the windows of new in and trending; ``explore``: share of a
    cold visitor's feed drawn from new items they could not otherwise discover. ``carousels``: the
    ids of the carousels shown (``project.settings.CAROUSELS``); ``exact``: brute-force vector
    queries instead of approximate ones.
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
    carousels: tuple[str, ...] = CAROUSELS
    exact: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "carousels", tuple(self.carousels))
        unknown = [c for c in self.carousels if c not in CAROUSELS]
        if unknown:
            raise SchemaError(f"HomeConfig.carousels: expected ids from {CAROUSELS}, got {unknown}")


@dataclass(frozen=True)
class SimilarConfig:
    """Similar items: candidates from the hero's content neighbours and from the hero blended with
    the user (``beta`` = the user's share of the query), kept to the hero's slot."""

    rank: RankConfig = _SIMILAR
    candidates: int = 100
    beta: float = 0.3
    exact: bool = False


@dataclass(frozen=True)
class LookConfig:
    """Complete the look: compatible items of other slots from the style spaces."""

    rank: RankConfig = _LOOK
    candidates: int = 60
    max_slots: int = 4
    exact: bool = False


@dataclass(frozen=True)
class BrowseConfig:
    """Search and category pages: relevance (text match or category) blended with the user."""

    search: RankConfig = _SEARCH
    category: RankConfig = _CATEGORY
    search_candidates: int = 100
    category_candidates: int = 300
    search_exact: bool = False
    category_exact: bool = False


@dataclass(frozen=True)
class PhotoConfig:
    """Shop the look (a photo in, items out): ``anchors`` catalog items per garment, ``per_anchor``
    candidates per anchor, garments under ``min_confidence`` skipped, ``detector`` (auto, box, pose),
    and its ``rank`` (``rank.alpha``: the photo against the user; the page size is the request's).
    ``ShopTheLook`` builds its ``ShopTheLookConfig`` from these."""

    rank: RankConfig = _PHOTO
    anchors: int = 5
    per_anchor: int = 30
    min_confidence: float = 0.3
    detector: str = "auto"
    exact: bool = False

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise SchemaError(f"PhotoConfig.detector: expected one of {DETECTORS}, got {self.detector!r}")


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

    ``clock``: ``"wall"`` (the machine's time, a live shop) or ``"replay"`` (the time of the events
    being replayed, for demo worlds whose weeks lie in the past).
    """

    use_reranker: bool = False
    response_cache_seconds: float = 30.0
    response_cache_size: int = 20_000
    home: HomeConfig = field(default_factory=HomeConfig)
    similar: SimilarConfig = field(default_factory=SimilarConfig)
    look: LookConfig = field(default_factory=LookConfig)
    browse: BrowseConfig = field(default_factory=BrowseConfig)
    shop_the_look: PhotoConfig = field(default_factory=PhotoConfig)
    clock: str = "replay"

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise SchemaError(f"TouchpointConfig.clock: expected one of {CLOCKS}, got {self.clock!r}")

    @classmethod
    def from_settings(cls, settings: ShopSettings) -> Self:
        """The touchpoints' config for a project's settings: the defaults with every setting applied
        (ranking's ``k`` keeps its default: each request sets its page size)."""
        if not isinstance(settings, ShopSettings):
            raise SchemaError(f"settings: expected ShopSettings, got {type(settings).__name__}")
        return _apply(cls(), settings)

    def to_settings(self) -> ShopSettings:
        """The settings this config runs (``.version`` names them, e.g. for a config built in code)."""
        return _read(self, ShopSettings())


def _apply(config: Any, settings: Any) -> Any:
    """``config`` (a config dataclass) with each value of ``settings`` (its mirror), by field name,
    sub-tables into sub-configs. A settings field the config lacks is a bug: ``AttributeError``."""
    changes = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        current = getattr(config, f.name)
        changes[f.name] = _apply(current, value) if dataclasses.is_dataclass(value) else value
    return dataclasses.replace(config, **changes)


def _read(config: Any, settings: Any) -> Any:
    """``settings`` (a settings table) with each of its fields read from ``config``."""
    changes = {}
    for f in dataclasses.fields(settings):
        current = getattr(settings, f.name)
        value = getattr(config, f.name)
        changes[f.name] = _read(value, current) if dataclasses.is_dataclass(current) else value
    return dataclasses.replace(settings, **changes)
