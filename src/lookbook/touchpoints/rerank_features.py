"""The reranker's ``a`` and ``d`` at request time, computed as its training data computed them.

Training (``lookbook.pipeline.ranker_data``) featurised each logged impression with ``a`` = the user's EASE
score for the item over their best score, and ``d`` = ``1 - max cos`` between the item and the
user's ``recent`` latest engaged items in ALS item space. The build saves those two models, fitted
on every event; here they are aligned with the serving catalog (items added later have neither: NaN,
which the trees were trained to route) and applied to one user's current history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.ranking import Candidates
from lookbook.ranking.features import RECENT_KINDS
from lookbook.schema import EVENT_KIND_CODES, IdMap

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
_RECENT = np.asarray([EVENT_KIND_CODES[k.value] for k in RECENT_KINDS])


@dataclass(frozen=True, eq=False)
class RerankerInputs:
    """Row-aligned with the serving catalog via ``model_rows`` (-1: unknown to these models)."""

    ease: F32
    factors: F32
    known: npt.NDArray[np.bool_]
    model_rows: I64
    recent: int = 10

    @classmethod
    def load(cls, folder: Path, catalog_ids: npt.NDArray[np.str_]) -> RerankerInputs | None:
        if not (folder / "ease_item_weights.npy").exists():
            return None
        ids = json.loads((folder / "feature_item_ids.json").read_text())
        rows = IdMap(ids, name="item_id").lookup(catalog_ids, missing=-1)
        return cls(
            ease=np.load(folder / "ease_item_weights.npy", mmap_mode="r"),
            factors=np.load(folder / "als_item_factors.npy"),
            known=np.load(folder / "item_known.npy"),
            model_rows=rows.astype(np.int64),
        )

    def extended(self, n_new: int) -> RerankerInputs:
        rows = np.concatenate([self.model_rows, np.full(n_new, -1, np.int64)])
        return RerankerInputs(self.ease, self.factors, self.known, rows, self.recent)

    def apply(self, c: Candidates, rows: I64, kinds: npt.NDArray[np.int8], weights: F32) -> Candidates:
        """``c`` with the ranker's ``a`` and ``d`` for this history (catalog rows, kinds, weights
        in time order)."""
        import dataclasses

        m_hist = self.model_rows[rows]
        m_cand = self.model_rows[c.rows]
        ok_cand = (m_cand >= 0) & self.known[np.maximum(m_cand, 0)]
        a = np.full(len(c), np.nan, np.float32)
        keep = m_hist >= 0
        if keep.any():
            uniq, inv = np.unique(m_hist[keep], return_inverse=True)
            net = np.maximum(np.bincount(inv, weights=weights[keep], minlength=uniq.size), 0.0)
            pos = net > 0
            if pos.any():
                scores = net[pos].astype(np.float32) @ self.ease[uniq[pos]]  # (n_model_items,)
                best = float(scores.max())
                if best > 0:
                    a[ok_cand] = scores[m_cand[ok_cand]] / best
        d = np.full(len(c), np.nan, np.float32)
        engaged = np.isin(kinds, _RECENT) & keep
        if engaged.any():
            latest = m_hist[engaged][::-1]
            _, first = np.unique(latest, return_index=True)
            recent = latest[np.sort(first)][: self.recent]
            recent = recent[self.known[recent]]
            if recent.size and ok_cand.any():
                sims = self.factors[m_cand[ok_cand]] @ self.factors[recent].T
                d[ok_cand] = 1.0 - sims.max(axis=1)
        return dataclasses.replace(c, a=a, d=d)


class ServingReranker:
    """The project's ``Reranker`` fed the features it was trained on: ``rank`` calls
    ``score_candidates``, which swaps in the ranker's ``a`` and ``d`` for the request's user first."""

    def __init__(self, reranker: Any, inputs: RerankerInputs, histories: Any, clock: Any) -> None:
        self.reranker, self.inputs, self.histories, self.clock = reranker, inputs, histories, clock

    def score_candidates(self, c: Candidates, catalog: Any, user: Any) -> F32:
        rows, kinds, ts = self.histories.get(user.user_id or None)
        weights = self.histories.weights(kinds, ts, self.clock())
        return self.reranker.score_candidates(self.inputs.apply(c, rows, kinds, weights), catalog, user)
