"""``HybridTextSearch``: BM25 and dense retrieval over the same items, fused, filtered inside both.

The search touchpoint calls this one component. Each retriever sees what the other misses: BM25
(``TextIndex``) matches the shopper's exact words, including rare ones ("linen", a brand name),
but finds nothing for a word the catalog does not use ("couch" where titles say "sofa"); a
sentence encoder (all-MiniLM-L6-v2 by default) knows a couch is a sofa and pants are jeans, but
blurs exact attributes, and knows fewer synonyms than one hopes (it does not put "orange" next to
"tangerine", measured). Both rank the same items and their rankings are fused:

* ``weighted`` (the default): per query, each list's scores are normalised (min-max or z-score
  over its candidates) and combined as ``weight * dense + (1 - weight) * sparse``. It uses how far
  apart the scores are, which ranks cannot: when BM25 finds a few items that match every word
  far above the rest, a dense ranking cannot drag a half-match up, while among items BM25 scores
  alike (equal matches), dense decides;
* ``rrf``: reciprocal rank fusion, ``sum 1 / (c + rank)``. It needs no calibration between a
  cosine and a BM25 score, but gives a weak retriever's top ranks as much say as a strong one's.

Measured by ``lookbook evaluate search`` on both default demo worlds (NDCG@10, 300 queries in the
catalog's own attribute words and 180 with the colour said in another word): weighted fusion with
``weight=0.3`` (chosen on separate validation queries, the same in both worlds) beats BM25 on the
mean of the four figures (0.621 against 0.606) and RRF does not (0.602); RRF is best on the
synonym queries alone. BM25 stays best on the home world's exact-word queries (0.736 against
0.721): the catalog text says those words verbatim, so a dense retriever can only add noise there.

An item missing from one list counts as that list's lowest candidate: it scored at most that.

Filters apply inside both retrievers, never by over-fetching and dropping: the dense side passes the
``Filter`` to the ``VectorIndex`` (so the engine pre-filters), the sparse side turns it into a mask
over its rows (``PayloadTable``, the reference semantics) that BM25 applies before ranking. With a
filter every result satisfies it; dense and hybrid return ``k`` results whenever ``k`` items match,
BM25 only returns items that share at least one query term.

Writes: ``upsert`` and ``delete`` go to the vector index at once (visible to the next dense search,
as the index promises) and mark the BM25 side stale; BM25 is rebuilt lazily on the next search that
needs it (0.2 to 0.5 s for 5,000 items here, payload table included), since ``bm25s`` indexes are
built whole, not patched. A burst of writes therefore costs one rebuild, not one per write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.index.base import F32, SearchResult, VectorIndex
from lookbook.index.filters import Filter
from lookbook.index.payload_mask import PayloadTable
from lookbook.index.text import TextIndex, reciprocal_rank_fusion

log = logging.getLogger(__name__)

__all__ = [
    "HybridConfig",
    "HybridTextSearch",
    "QueryEncoder",
    "RetrieverResults",
    "fuse",
    "minilm_query_encoder",
    "weighted_fusion",
]

#: A text encoder: ``n`` strings in, ``(n, dim)`` L2-normalised float32 vectors out.
QueryEncoder = Callable[[list[str]], npt.ArrayLike]

MODES = ("sparse", "dense", "hybrid")
FUSIONS = ("rrf", "weighted")
NORMALISATIONS = ("minmax", "zscore")


@dataclass(frozen=True)
class HybridConfig:
    """Settings of hybrid text search.

    Parameters
    ----------
    mode
        What ``search`` does unless told otherwise: ``sparse`` (BM25 only), ``dense`` (the vector
        index only) or ``hybrid`` (both, fused).
    fusion
        ``weighted`` (normalised score fusion, the default, see the module docstring) or ``rrf``
        (reciprocal rank fusion).
    weight
        Dense share of ``weighted`` fusion, in [0, 1] (0 = BM25 only, 1 = dense only). 0.3 is what
        ``lookbook evaluate search`` chose on validation queries in both demo worlds, with
        all-MiniLM-L6-v2 on titles and attribute facts; re-run it for another encoder or catalog.
    rrf_c
        The ``c`` of RRF (> 0). 60 is the value of the original paper, which found it robust: large
        enough that the top few ranks of one list do not drown the other list.
    depth
        Candidates each retriever returns before fusion (at least ``k`` are always fetched). Fusion
        can only promote what some list found; 100 keeps items that one retriever ranks low and the
        other high, at a cost linear in ``depth``.
    normalise
        How ``weighted`` fusion makes scores comparable per query: ``minmax`` (to [0, 1] over the
        candidates) or ``zscore`` (mean 0, unit spread).
    exact
        Ask the vector index for exact (brute force) rather than approximate dense search.
    bm25_k1, bm25_b
        BM25 term-frequency saturation and length normalisation (the usual 1.5 and 0.75).
    """

    mode: str = "hybrid"
    fusion: str = "weighted"
    weight: float = 0.3
    rrf_c: float = 60.0
    depth: int = 100
    normalise: str = "minmax"
    exact: bool = False
    bm25_k1: float = 1.5
    bm25_b: float = 0.75

    def __post_init__(self) -> None:
        for name, options in (("mode", MODES), ("fusion", FUSIONS), ("normalise", NORMALISATIONS)):
            if getattr(self, name) not in options:
                raise SchemaError(
                    f"HybridConfig.{name}: expected one of {options}, got {getattr(self, name)!r}"
                )
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise SchemaError(f"HybridConfig.depth: expected an int >= 1, got {self.depth!r}")
        if not isinstance(self.exact, bool):
            raise SchemaError(f"HybridConfig.exact: expected a bool, got {self.exact!r}")
        for name, lo, hi in (
            ("weight", 0.0, 1.0),
            ("rrf_c", 0.0, None),
            ("bm25_k1", 0.0, None),
            ("bm25_b", 0.0, 1.0),
        ):
            value = getattr(self, name)
            bad = isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value)
            bad = bad or value < lo or (hi is not None and value > hi) or (name == "rrf_c" and value == 0)
            if bad:
                want = f"a number in [{lo}, {hi}]" if hi is not None else f"a number > {lo}"
                raise SchemaError(f"HybridConfig.{name}: expected {want}, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HybridConfig:
        return cls(**data)


@dataclass(frozen=True)
class RetrieverResults:
    """Each retriever's ranked candidates for the same queries, before fusion (``None``: not asked)."""

    sparse: SearchResult | None
    dense: SearchResult | None


def minilm_query_encoder(cache_dir: Path | None = None) -> QueryEncoder:
    """all-MiniLM-L6-v2 as a ``QueryEncoder`` (the default). Imported here, lazily, so that the index
    layer loads no encoder (nor torch) unless a caller relies on this default; ``cache_dir`` is the
    feature cache root, so catalog texts encoded once are never encoded again."""
    from lookbook.encoders.text import TextEncoder

    encoder = TextEncoder(cache_dir=cache_dir)

    def encode(texts: list[str]) -> F32:
        return encoder.encode(list(texts), show_progress=False)

    return encode


class HybridTextSearch:
    """Text search over items: BM25 and a dense ``VectorIndex``, filtered in both, fused.

    Parameters
    ----------
    ids, texts
        The items and their texts (title, description and attribute words, e.g.
        ``lookbook.encoders.content.item_texts``).
    index
        Any ``VectorIndex`` (embedded, server or numpy); this component upserts the items' vectors
        and payloads into it, so it should hold exactly these items.
    payloads
        One payload per item (fields of ``index.schema``: slot, category, sizes, price, ...), used by
        the filters of both retrievers. ``None``: no payload fields (then no ``Eq``, ``In`` or
        ``Range`` matches an item).
    vectors
        ``(n, index.dim)`` document vectors of ``texts`` in the encoder's space; ``None`` encodes
        ``texts`` with ``encoder`` (pass them when they are cached elsewhere).
    encoder
        Turns query texts (and, when ``vectors`` is not given, item texts) into unit vectors of
        width ``index.dim``; ``None`` is all-MiniLM-L6-v2 without a disk cache.
    config
        ``HybridConfig``; its ``mode`` is the default of ``search``.
    indexed
        The index already holds these items' vectors and payloads (a persistent index reopened):
        only the BM25 side is filled, instead of writing every vector again.
    """

    def __init__(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        index: VectorIndex,
        *,
        payloads: Sequence[Mapping[str, Any]] | None = None,
        vectors: npt.ArrayLike | None = None,
        encoder: QueryEncoder | None = None,
        config: HybridConfig | None = None,
        indexed: bool = False,
    ) -> None:
        if not isinstance(index, VectorIndex):
            raise SchemaError(f"HybridTextSearch index: expected a VectorIndex, got {type(index).__name__}")
        self.config = HybridConfig() if config is None else config
        if not isinstance(self.config, HybridConfig):
            raise SchemaError(
                f"HybridTextSearch config: expected a HybridConfig, got {type(self.config).__name__}"
            )
        self.index = index
        self.encoder = minilm_query_encoder() if encoder is None else encoder
        self._lock = threading.RLock()
        self._texts: dict[str, str] = {}
        self._payloads: dict[str, Mapping[str, Any]] = {}
        self._sparse: tuple[TextIndex | None, PayloadTable] | None = None  # None: stale, rebuild
        if indexed:
            self._remember(
                [str(i) for i in ids], list(texts), [{} for _ in ids] if payloads is None else payloads
            )
        else:
            self.upsert(ids, texts, payloads=payloads, vectors=vectors)

    def __len__(self) -> int:
        with self._lock:
            return len(self._texts)

    # ----------------------------------------------------------------------------------- writes
    def upsert(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        *,
        payloads: Sequence[Mapping[str, Any]] | None = None,
        vectors: npt.ArrayLike | None = None,
    ) -> None:
        """Insert or replace items (text, vector, payload). The vector index checks ids, widths and
        payloads before it changes anything, so a rejected call leaves both retrievers as they were;
        BM25 is rebuilt on the next search that needs it."""
        id_list = [str(i) for i in ids]
        text_list = list(texts)
        if len(text_list) != len(id_list):
            raise SchemaError(
                f"HybridTextSearch.upsert texts: expected {len(id_list)} texts (one per id), "
                f"got {len(text_list)}"
            )
        for j, text in enumerate(text_list):
            if not isinstance(text, str):
                raise SchemaError(f"HybridTextSearch.upsert texts[{j}]: expected a string, got {text!r}")
        plist = [{} for _ in id_list] if payloads is None else list(payloads)
        if vectors is None:
            vectors = self._encode(text_list, "upsert texts") if id_list else np.zeros((0, self.index.dim))
        with self._lock:  # one writer at a time, so both retrievers see writes in the same order
            self.index.upsert(id_list, vectors, plist)
            self._remember(id_list, text_list, plist)

    def _remember(self, ids: list[str], texts: list[str], payloads: Sequence[Mapping[str, Any]]) -> None:
        """The BM25 side's copy of items' texts and payloads (rebuilt on the next search)."""
        if len(texts) != len(ids) or len(payloads) != len(ids):
            raise SchemaError(
                f"HybridTextSearch: {len(ids)} ids, {len(texts)} texts, {len(payloads)} payloads"
            )
        with self._lock:
            for item_id, text, payload in zip(ids, texts, payloads, strict=True):
                self._texts[item_id] = text
                self._payloads[item_id] = dict(payload)
            self._sparse = None

    def delete(self, ids: Sequence[str]) -> None:
        """Remove items from both retrievers; unknown ids are ignored."""
        id_list = [str(i) for i in ids]
        with self._lock:
            self.index.delete(id_list)
            for item_id in id_list:
                self._texts.pop(item_id, None)
                self._payloads.pop(item_id, None)
            self._sparse = None

    # ------------------------------------------------------------------------------------ reads
    def search(
        self,
        queries: Sequence[str],
        k: int,
        filter: Filter | None = None,
        mode: str | None = None,
        exact: bool | None = None,
    ) -> SearchResult:
        """Top ``k`` items per query; ``mode`` and ``exact`` override the config's for this call.

        Returns a ``SearchResult`` of ``(len(queries), k)`` ids and scores, best first, padded with
        ``""``: BM25 scores for ``sparse``, inner products for ``dense``, fused scores for ``hybrid``.
        """
        mode = self.config.mode if mode is None else mode
        if mode not in MODES:
            raise SchemaError(f"HybridTextSearch.search mode: expected one of {MODES}, got {mode!r}")
        k = _check_k(k, "HybridTextSearch.search k")
        candidates = self.candidates(queries, filter, depth=max(self.config.depth, k), mode=mode, exact=exact)
        return fuse(candidates, k, replace(self.config, mode=mode))

    def candidates(
        self,
        queries: Sequence[str],
        filter: Filter | None = None,
        *,
        depth: int | None = None,
        mode: str = "hybrid",
        exact: bool | None = None,
    ) -> RetrieverResults:
        """Each retriever's top ``depth`` (default ``config.depth``) for ``queries``, unfused: what
        ``search`` fuses, exposed so that an evaluation can try several fusions on one retrieval."""
        query_list = _check_queries(queries)
        depth = _check_k(self.config.depth if depth is None else depth, "HybridTextSearch.candidates depth")
        if mode not in MODES:
            raise SchemaError(f"HybridTextSearch.candidates mode: expected one of {MODES}, got {mode!r}")
        if filter is not None:
            if not isinstance(filter, Filter):
                raise SchemaError(
                    "HybridTextSearch.search filter: expected a lookbook.index.filters expression, "
                    f"got {filter!r}"
                )
            filter.validate(self.index.schema)
        sparse = dense = None
        if mode in ("sparse", "hybrid"):
            sparse = self._sparse_search(query_list, depth, filter)
        if mode in ("dense", "hybrid"):
            vectors = self._encode(query_list, "queries")
            exact = self.config.exact if exact is None else bool(exact)
            dense = self.index.search(vectors, depth, filter=filter, exact=exact)
        return RetrieverResults(sparse=sparse, dense=dense)

    def _sparse_search(self, queries: list[str], depth: int, filter: Filter | None) -> SearchResult:
        text_index, table = self._sparse_state()
        if text_index is None:
            return _empty(len(queries), depth)
        mask = None if filter is None else table.mask(filter)
        return text_index.search(queries, depth, mask=mask)

    def _sparse_state(self) -> tuple[TextIndex | None, PayloadTable]:
        """The BM25 index and its payload table, rebuilt when a write made them stale. Searches use
        the pair they got, so a write during a search affects only later searches."""
        with self._lock:
            if self._sparse is None:
                started = time.perf_counter()
                ids = list(self._texts)
                table = PayloadTable([self._payloads[i] for i in ids], self.index.schema)
                text_index = (
                    TextIndex(
                        ids, [self._texts[i] for i in ids], k1=self.config.bm25_k1, b=self.config.bm25_b
                    )
                    if ids
                    else None
                )
                self._sparse = (text_index, table)
                log.debug(
                    "hybrid search: BM25 rebuilt over %d items in %.2f s",
                    len(ids),
                    time.perf_counter() - started,
                )
            return self._sparse

    def _encode(self, texts: list[str], what: str) -> F32:
        vectors = np.asarray(self.encoder(texts), dtype=np.float32)
        if vectors.shape != (len(texts), self.index.dim):
            raise DimensionMismatch(
                f"HybridTextSearch encoder: expected shape ({len(texts)}, {self.index.dim}) for the {what}, "
                f"got {vectors.shape}"
            )
        if not np.isfinite(vectors).all():
            raise SchemaError(f"HybridTextSearch encoder: returned NaN or inf for the {what}")
        return vectors


# ---------------------------------------------------------------------------------------- fusion
def fuse(candidates: RetrieverResults, k: int, config: HybridConfig) -> SearchResult:
    """The top ``k`` per query that ``config.mode`` (and, for ``hybrid``, ``config.fusion``) makes of
    the candidates: one list cut to ``k``, or both fused."""
    k = _check_k(k, "fuse k")
    needed = {"sparse": ("sparse",), "dense": ("dense",), "hybrid": ("dense", "sparse")}[config.mode]
    lists = [getattr(candidates, name) for name in needed]
    for name, result in zip(needed, lists, strict=True):
        if result is None:
            raise SchemaError(f"fuse candidates.{name}: mode {config.mode!r} needs it, got None")
    if config.mode != "hybrid":
        return _head(lists[0], k)
    if config.fusion == "rrf":
        return reciprocal_rank_fusion(lists, k, c=config.rrf_c)
    return weighted_fusion(lists, (config.weight, 1.0 - config.weight), k, normalise=config.normalise)


def weighted_fusion(
    results: Sequence[SearchResult], weights: Sequence[float], k: int, *, normalise: str = "minmax"
) -> SearchResult:
    """Fuse rankings of the same queries by a weighted sum of per-query normalised scores.

    Each list's scores are normalised over its own candidates of that query (``minmax`` to [0, 1],
    or ``zscore``); an item a list did not return gets that list's lowest normalised score (it
    scored at most that); a list whose candidates all score the same gives them 1 and the rest 0.
    Ties are broken by id, as in ``reciprocal_rank_fusion``. Vectorised over all queries: one
    ``np.unique`` to group (query, id) pairs, one ``bincount`` to sum them, one ``lexsort`` to rank.
    """
    if not results:
        raise SchemaError("weighted_fusion: no rankings to fuse")
    if len(weights) != len(results):
        raise SchemaError(
            f"weighted_fusion weights: expected {len(results)} (one per ranking), got {len(weights)}"
        )
    if normalise not in NORMALISATIONS:
        raise SchemaError(f"weighted_fusion normalise: expected one of {NORMALISATIONS}, got {normalise!r}")
    k = _check_k(k, "weighted_fusion k")
    n_queries = results[0].ids.shape[0]
    if any(r.ids.shape[0] != n_queries for r in results):
        raise SchemaError("weighted_fusion: rankings have different numbers of queries")

    ids = np.concatenate([np.asarray(r.ids, dtype=str) for r in results], axis=1)
    gains, floors = [], np.zeros(n_queries)
    for result, weight in zip(results, weights, strict=True):
        norm, floor = _normalised(result, normalise)
        gains.append(weight * (norm - floor[:, None]))  # above the floor every absent item gets
        floors += weight * floor
    gain = np.concatenate(gains, axis=1)
    present = ids != ""

    vocab, code = np.unique(ids, return_inverse=True)
    code = code.reshape(ids.shape)
    query = np.broadcast_to(np.arange(n_queries)[:, None], ids.shape)
    pair, inverse = np.unique(query[present] * vocab.size + code[present], return_inverse=True)
    pair_query, pair_code = pair // vocab.size, pair % vocab.size
    total = np.bincount(inverse, weights=gain[present], minlength=pair.size) + floors[pair_query]

    order = np.lexsort((pair_code, -total, pair_query))  # vocab is sorted, so code order = id order
    pair_query, pair_code, total = pair_query[order], pair_code[order], total[order]
    rank = np.arange(pair_query.size) - np.searchsorted(pair_query, pair_query)
    keep = rank < k
    out_ids = np.full((n_queries, k), "", dtype=object)
    out_scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
    out_ids[pair_query[keep], rank[keep]] = vocab[pair_code[keep]]
    out_scores[pair_query[keep], rank[keep]] = total[keep]
    return SearchResult(out_ids.astype(str), out_scores)


def _normalised(result: SearchResult, how: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(q, width)`` normalised scores (0 where no item) and each query's floor for absent items."""
    present = np.asarray(result.ids, dtype=str) != ""
    s = np.where(present, np.asarray(result.scores, dtype=np.float64), 0.0)
    count = present.sum(axis=1)
    lo = np.where(present, s, np.inf).min(axis=1, initial=np.inf)
    hi = np.where(present, s, -np.inf).max(axis=1, initial=-np.inf)
    flat = ~(hi > lo)  # one distinct score (or no candidate): present items 1, absent 0
    if how == "minmax":
        norm = (s - lo[:, None]) / np.where(flat, 1.0, hi - lo)[:, None]
    else:
        mean = s.sum(axis=1) / np.maximum(count, 1)
        std = np.sqrt(np.where(present, (s - mean[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(count, 1))
        norm = (s - mean[:, None]) / np.where(flat, 1.0, std)[:, None]
    norm = np.where(flat[:, None], 1.0, norm)
    floor = np.where(flat, 0.0, np.where(present, norm, np.inf).min(axis=1, initial=np.inf))
    return np.where(present, norm, floor[:, None]), floor


def _head(result: SearchResult, k: int) -> SearchResult:
    """The first ``k`` columns of a result, padded with ``""`` / ``-inf`` when it is narrower."""
    n, width = result.ids.shape
    if width >= k:
        return SearchResult(result.ids[:, :k], result.scores[:, :k])
    ids = np.full((n, k), "", dtype=object)
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    ids[:, :width] = result.ids
    scores[:, :width] = result.scores
    return SearchResult(ids.astype(str), scores)


def _empty(n_queries: int, k: int) -> SearchResult:
    return SearchResult(np.full((n_queries, k), "", dtype=str), np.full((n_queries, k), -np.inf, np.float32))


def _check_k(k: Any, owner: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SchemaError(f"{owner}: expected an int >= 1, got {k!r}")
    return int(k)


def _check_queries(queries: Any) -> list[str]:
    owner = "HybridTextSearch.search queries"
    if isinstance(queries, str):
        raise SchemaError(f"{owner}: expected a list of strings, got one string (wrap it in a list)")
    query_list = list(queries)
    if not query_list:
        raise SchemaError(f"{owner}: expected at least one query, got an empty list")
    for j, q in enumerate(query_list):
        if not isinstance(q, str) or not q.strip():
            raise SchemaError(f"{owner}[{j}]: expected a non-blank string, got {q!r}")
    return query_list
