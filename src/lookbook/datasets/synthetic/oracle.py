"""The one door to a demo world's truth, for evaluation only.

Models never import this module: they read a world through ``load_world``, which does not open
``truth/``. Evaluation asks the oracle what is really so: how much a user likes an item, how well
items go together, which garment is where in a photo, what an item's hidden style is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq

from lookbook.datasets.synthetic.taste import (
    ItemTruth,
    SlotPairWeights,
    UserTruth,
    affinity,
    affinity_matrix,
    pair_compatibility,
)
from lookbook.errors import NotFound
from lookbook.schema import Garment, IdMap, Slot

F32 = npt.NDArray[np.float32]


class Oracle:
    """Truth of one generated world. Ids in, numbers out; all methods are vectorised.

    ``week`` arguments pick the point in simulated time (tastes drift); ``None`` means the end of
    the simulation, which is what held-out evaluation is about.
    """

    def __init__(
        self,
        root: Path,
        items: ItemTruth,
        users: UserTruth,
        model: dict[str, Any],
        item_ids: IdMap,
        user_ids: IdMap,
        set_styles: dict[str, int],
        photos: dict[str, list[Garment]],
    ) -> None:
        self.root = root
        self.items = items
        self.users = users
        self.model = model
        self.item_ids = item_ids
        self.user_ids = user_ids
        self._set_styles = set_styles
        self._photos = photos
        self._harmony = np.asarray(model["colour_harmony"], dtype=np.float32)
        self._slot_matrix = np.asarray(model["slot_complementarity"], dtype=np.float32)
        self._base_log_price = np.asarray(model["base_log_price"], dtype=np.float32)
        self._weights = SlotPairWeights(
            np.asarray(model["slot_pair_colour_weight"], dtype=np.float32),
            np.asarray(model["slot_pair_material_bonus"], dtype=np.float32),
        )
        self.slots = tuple(Slot(s) for s in model["slots"])
        self.style_names = tuple(model["styles"])

    @classmethod
    def load(cls, world_dir: Path | str) -> Oracle:
        root = Path(world_dir)
        truth = root / "truth"
        if not (truth / "model.json").exists():
            raise NotFound(f"world {root}: no truth/ here (only generated demo worlds have an oracle)")
        model = json.loads((truth / "model.json").read_text())
        with np.load(truth / "ids.npz", allow_pickle=False) as ids:
            item_ids = IdMap(ids["item_ids"], name="item_id")
            user_ids = IdMap(ids["user_ids"], name="user_id")
            set_styles = dict(zip(ids["set_ids"].tolist(), ids["set_styles"].tolist(), strict=True))
        photos: dict[str, list[Garment]] = {}
        for row in pq.read_table(truth / "photos.parquet").to_pylist():
            photos[row["photo_id"]] = [
                Garment((g["x0"], g["y0"], g["x1"], g["y1"]), Slot(g["slot"]), g["item_id"])
                for g in row["garments"]
            ]
        return cls(
            root,
            ItemTruth.load(truth / "items.npz"),
            UserTruth.load(truth / "users.npz"),
            model,
            item_ids,
            user_ids,
            set_styles,
            photos,
        )

    def _progress(self, week: float | None) -> float:
        return 1.0 if week is None else float(np.clip(week / self.model["weeks"], 0.0, 1.0))

    def affinity(self, user_ids: Sequence[str], item_ids: Sequence[str], *, week: float | None = None) -> F32:
        """True affinity of each (user, item) pair (equal-length sequences)."""
        u = self.user_ids.lookup(user_ids)
        i = self.item_ids.lookup(item_ids)
        return affinity(self.users, self.items, self._base_log_price, u, i, self._progress(week))

    def affinity_matrix(
        self, user_ids: Sequence[str], item_ids: Sequence[str] | None = None, *, week: float | None = None
    ) -> F32:
        """(n_users, n_items) true affinity; all items in catalog order when ``item_ids`` is None."""
        u = self.user_ids.lookup(user_ids)
        i = None if item_ids is None else self.item_ids.lookup(item_ids)
        return affinity_matrix(self.users, self.items, self._base_log_price, u, i, self._progress(week))

    def pair_compatibility(self, a_ids: Sequence[str], b_ids: Sequence[str]) -> F32:
        """True compatibility of each (a, b) pair."""
        a = self.item_ids.lookup(a_ids)
        b = self.item_ids.lookup(b_ids)
        return pair_compatibility(self.items, self._harmony, self._slot_matrix, a, b, weights=self._weights)

    def compatibility(self, item_ids: Sequence[str]) -> float:
        """True compatibility of a whole set: the mean over its pairs."""
        rows = self.item_ids.lookup(item_ids)
        a, b = np.triu_indices(rows.size, k=1)
        if a.size == 0:
            return 0.0
        return float(
            pair_compatibility(
                self.items, self._harmony, self._slot_matrix, rows[a], rows[b], weights=self._weights
            ).mean()
        )

    def compatible_items(
        self, item_id: str, k: int = 10, *, slots: Sequence[Slot] | None = None
    ) -> list[str]:
        """The ``k`` items that truly go best with ``item_id``, from other slots (or the given ones)."""
        row = self.item_ids.row(item_id)
        own = self.items.slot[row]
        allowed = np.array([s in slots for s in self.slots]) if slots else np.arange(len(self.slots)) != own
        cand = np.flatnonzero(allowed[self.items.slot])
        score = pair_compatibility(
            self.items, self._harmony, self._slot_matrix, np.full(cand.size, row), cand, weights=self._weights
        )
        top = cand[np.argsort(-score, kind="stable")[:k]]
        return self.item_ids.to_ids(top).tolist()

    def hard_negatives(
        self, set_item_ids: Sequence[str], position: int, n: int = 3, *, seed: int = 0
    ) -> list[str]:
        """Items of the same slot as ``set_item_ids[position]`` that clash with the rest of the set
        (bottom quarter of true compatibility among that slot)."""
        rows = self.item_ids.lookup(set_item_ids)
        target = rows[position]
        rest = np.delete(rows, position)
        cand = np.flatnonzero(
            (self.items.slot == self.items.slot[target]) & (np.arange(self.items.slot.size) != target)
        )
        score = np.zeros(cand.size, dtype=np.float32)
        for r in rest:
            score += pair_compatibility(
                self.items,
                self._harmony,
                self._slot_matrix,
                cand,
                np.full(cand.size, r),
                weights=self._weights,
            )
        low = cand[score <= np.quantile(score, 0.25)]
        rng = np.random.default_rng(seed)
        return self.item_ids.to_ids(rng.choice(low, size=min(n, low.size), replace=False)).tolist()

    def photo_truth(self, photo_id: str) -> list[Garment]:
        """Every garment of a photo with its true box and item id (held-out photos included)."""
        try:
            return list(self._photos[photo_id])
        except KeyError:
            raise NotFound(f"photo_id: unknown id {photo_id!r}") from None

    def item_style(self, item_ids: Sequence[str]) -> npt.NDArray[np.int32]:
        """Hidden dominant style index of each item (for plots; names in ``style_names``)."""
        return self.items.dominant_style[self.item_ids.lookup(item_ids)]

    def set_style(self, set_id: str) -> int:
        """The style a set was styled around."""
        try:
            return int(self._set_styles[set_id])
        except KeyError:
            raise NotFound(f"set_id: unknown id {set_id!r}") from None
