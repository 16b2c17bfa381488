"""Sparse text retrieval (BM25 through ``bm25s``) and reciprocal rank fusion with dense results.

Shoppers type "red leather bag"; a dense content vector knows what a bag looks like, BM25 knows
that "leather" was in the title. The search touchpoint asks both and fuses the two rankings with
reciprocal rank fusion (RRF, Cormack et al. 2009): ``sum over lists of 1 / (c + rank)``, which needs
no score calibration between a cosine and a BM25 score. Filters apply inside BM25 too, as a
document mask (``weight_mask``), so a filtered sparse search is pre-filtered like the dense one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError
from lookbook.index.base import SearchResult

log = logging.getLogger(__name__)


class TextIndex:
    """BM25 over one text per item (title, description and attribute values joined)."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s

        if len(ids) != len(texts):
            raise SchemaError(f"TextIndex: {len(ids)} ids but {len(texts)} texts")
        if len(set(ids)) != len(ids):
            raise SchemaError("TextIndex: duplicate ids")
        self.ids = np.asarray([str(i) for i in ids], dtype=object)
        self._row = {item_id: j for j, item_id in enumerate(self.ids)}
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        tokens = bm25s.tokenize(list(texts), stopwords="en", show_progress=False)
        self._vocab = tokens.vocab
        self._bm25.index(tokens, show_progress=False)

    def __len__(self) -> int:
        return int(self.ids.size)

    def rows(self, ids: Sequence[str]) -> npt.NDArray[np.int64]:
        return np.asarray([self._row.get(str(i), -1) for i in ids], dtype=np.int64)

    def search(
        self, queries: Sequence[str], k: int, *, mask: npt.NDArray[np.bool_] | None = None
    ) -> SearchResult:
        """Top ``k`` items per query by BM25; ``mask`` (n_items,) keeps only those items. Items with a
        zero score (no query term) are not returned, so a row may be shorter than ``k``."""
        import bm25s

        if k < 1:
            raise SchemaError(f"TextIndex.search k: expected >= 1, got {k}")
        n = len(self)
        if mask is not None and mask.shape != (n,):
            raise SchemaError(f"TextIndex.search mask: expected shape ({n},), got {mask.shape}")
        out_ids = np.full((len(queries), k), "", dtype=object)
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for i, query in enumerate(queries):  # per query: bm25s scores the whole corpus at once
            tokens = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
            known = [t for t in tokens if t in self._vocab]
            if not known:
                continue
            scores = self._bm25.get_scores(known).astype(np.float32)
            if mask is not None:
                scores = np.where(mask, scores, 0.0)
            width = min(k, int((scores > 0).sum()))
            if width == 0:
                continue
            top = np.argpartition(-scores, width - 1)[:width]
            top = top[np.lexsort((self.ids[top], -scores[top]))]
            out_ids[i, :width] = self.ids[top]
            out_scores[i, :width] = scores[top]
        return SearchResult(out_ids.astype(str), out_scores)


def reciprocal_rank_fusion(results: Sequence[SearchResult], k: int, *, c: float = 60.0) -> SearchResult:
    """Fuse rankings of the same queries: score = sum of ``1 / (c + rank)`` (rank from 1) per list.

    Ties are broken by id so the fusion is deterministic. Each result must have the same number of
    query rows.
    """
    if not results:
        raise SchemaError("reciprocal_rank_fusion: no rankings to fuse")
    n_queries = results[0].ids.shape[0]
    if any(r.ids.shape[0] != n_queries for r in results):
        raise SchemaError("reciprocal_rank_fusion: rankings have different numbers of queries")
    out_ids = np.full((n_queries, k), "", dtype=object)
    out_scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
    for q in range(n_queries):  # per query: a few hundred candidates at most
        fused: dict[str, float] = {}
        for r in results:
            for rank, item_id in enumerate(r.ids[q], start=1):
                if item_id:
                    fused[item_id] = fused.get(item_id, 0.0) + 1.0 / (c + rank)
        best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        for j, (item_id, score) in enumerate(best):
            out_ids[q, j] = item_id
            out_scores[q, j] = score
    return SearchResult(out_ids.astype(str), out_scores)
