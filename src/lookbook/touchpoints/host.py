"""``ShopHost``: what a touchpoint function reads from the shop it serves, as a protocol.

The page functions (``home``, ``pages``, ``browse``, ``shop_the_look``) are plain functions over
this surface rather than methods of the concrete ``ProjectShop``: they can be tested over any
object with these members, and the shop module imports them without their importing it back.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from lookbook.index.spaces import ItemSpaces
from lookbook.project.layout import ProjectPaths
from lookbook.ranking import Ranked, UserContext
from lookbook.touchpoints.api import RecItem
from lookbook.touchpoints.config import TouchpointConfig
from lookbook.touchpoints.rerank_features import ServingReranker
from lookbook.touchpoints.state import CatalogState, UserHistories

__all__ = ["ShopHost"]

F32 = npt.NDArray[np.float32]


class ShopHost(Protocol):
    """The members of an open shop that touchpoints read (``ProjectShop`` is the one implementation)."""

    paths: ProjectPaths
    spaces: ItemSpaces
    config: TouchpointConfig
    compatibility: Any
    text_search: Any

    @property
    def state(self) -> CatalogState: ...

    @property
    def users(self) -> UserHistories: ...

    @property
    def now(self) -> int: ...

    @property
    def active_reranker(self) -> ServingReranker | None: ...

    def user_context(
        self, user_id: str | None, state: CatalogState
    ) -> tuple[UserContext, F32 | None, F32 | None]: ...

    def page(self, ranked: Ranked, state: CatalogState, why: str | None = None) -> list[RecItem]: ...

    def row(self, item_id: str, state: CatalogState) -> int: ...
