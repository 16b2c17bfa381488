"""Text search on a demo world: BM25, dense and hybrid ranked against the hidden truth.

``evaluate_search`` asks the questions a shopper types into a search box and scores every
retriever of ``HybridTextSearch`` on the same candidates. Queries are built from the *hidden* item
truth (``truth/items.npz``, read only through the ``Oracle``) in the vocabulary's canonical names,
not in the titles' varied words ("orange", never "tangerine"), so a retriever is rewarded for
finding what items really are, not for echoing their titles. Five kinds, in equal shares:

=================  =====================================  ===========================================
kind               example                                named attributes
=================  =====================================  ===========================================
colour_material    ``orange linen skirt``                 colour, material
colour_pattern     ``navy striped shirt``                 colour, pattern
pattern            ``floral midi dress``                  pattern
shape_colour       ``oversized black coat``               shape, colour
style              ``boho tote``                          hidden dominant style (never in any text)
=================  =====================================  ===========================================

Each query starts from one random item (its category and attributes), so at least one item is
fully relevant. A second set (``synonyms``) asks the three colour kinds again with the colour said
in one of the other words the titles use ("tangerine" or "rust" for orange, "cobalt" for blue), as
a shopper would: the catalog text says the canonical colour name only where the title does not,
so these queries test what the first set cannot, a retriever that knows words mean the same.
Relevance is graded from the truth:

* **2**: the item's category is the query's and every named attribute matches;
* **1**: the category matches and at least one named attribute does, or the item is in the same
  slot (a near category: "maxi dress" for "midi dress") and every named attribute matches;
* **0**: anything else.

The figures use ``lookbook.metrics.ndcg_at_k``, NDCG with binary gains, so the grades are reported
as two thresholds rather than as graded gains: ``ndcg10`` counts grade 2 (the exact answers, the
headline), ``ndcg10_lenient`` counts grade >= 1; ``recall50`` is the share of grade-2 items in the
top 50.

Fusion is not tuned on the figures it reports: the weighted fusion's weight and normalisation are
chosen on separate validation queries (other query texts; both vocabularies, in the test sets'
proportions, since one setting must serve both kinds of shopper), and RRF keeps its textbook
``c = 60``. Dense retrieval is exact (``NumpyIndex``), so the figures measure the retrievers, not an
approximate index. BM25 indexes ``item_texts`` (title, description, attribute facts); the dense side
embeds the title and attribute facts without the description by default (``dense_texts``), which
measured better for dense retrieval on both default worlds (NDCG@10 0.58 against 0.50 on fashion).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.datasets.synthetic.oracle import Oracle
from lookbook.datasets.synthetic.vocab import COLOURS, VOCABS
from lookbook.datasets.world import load_world
from lookbook.encoders.content import item_texts
from lookbook.encoders.text import TextEncoder, item_text
from lookbook.errors import LookbookError
from lookbook.index.base import SearchResult
from lookbook.index.filters import ITEM_PAYLOAD
from lookbook.index.hybrid import HybridConfig, HybridTextSearch, RetrieverResults, fuse
from lookbook.index.numpy_backend import NumpyIndex
from lookbook.metrics import ndcg_at_k, recall_at_k
from lookbook.schema import Domain, IdMap

log = logging.getLogger(__name__)

__all__ = ["QUERY_KINDS", "QuerySet", "build_queries", "dense_texts", "evaluate_search", "format_table"]

#: Query kind -> the truth attributes it names, in the order they are written before the category.
QUERY_KINDS: Mapping[str, tuple[str, ...]] = {
    "colour_material": ("colour", "material"),
    "colour_pattern": ("colour", "pattern"),
    "pattern": ("pattern",),
    "shape_colour": ("shape", "colour"),
    "style": ("style",),
}
_ATTRIBUTES = ("colour", "pattern", "material", "shape", "style")
#: The rankings reported, in table order: one retriever alone, or both fused.
MODES = ("sparse", "dense", "hybrid_rrf", "hybrid_weighted")
#: Weights of the dense side tried for weighted fusion on the validation queries.
WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 11))


@dataclass(frozen=True)
class QuerySet:
    """Search queries with their truth, row-aligned.

    Attributes
    ----------
    texts
        ``q`` query strings.
    kinds
        ``q`` query kinds (keys of ``QUERY_KINDS``).
    grades
        ``(q, n_items)`` int8 relevance grade (0, 1, 2) of every item for every query, items in the
        catalog's order.
    """

    texts: list[str]
    kinds: npt.NDArray[np.str_]
    grades: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: npt.NDArray[np.int64]) -> QuerySet:
        return QuerySet([self.texts[i] for i in rows], self.kinds[rows], self.grades[rows])

    @staticmethod
    def concat(parts: Sequence[QuerySet]) -> QuerySet:
        """One query set of several over the same catalog, in order."""
        return QuerySet(
            [t for p in parts for t in p.texts],
            np.concatenate([p.kinds for p in parts]),
            np.concatenate([p.grades for p in parts]),
        )


def _names(oracle: Oracle) -> dict[str, list[str]]:
    """Canonical names of each attribute's codes (the vocabulary's, as in ``items.parquet``)."""
    vocab = VOCABS[Domain(oracle.model["domain"])]
    return {
        "colour": [c.name for c in COLOURS],
        "pattern": list(vocab.patterns),
        "material": list(vocab.materials),
        "shape": list(vocab.shapes),
        "style": [s.replace("_", "-") for s in oracle.style_names],  # "mid_century" -> "mid-century"
    }


def build_queries(
    oracle: Oracle,
    item_ids: Sequence[str],
    categories: Sequence[str],
    slots: Sequence[str],
    n: int,
    *,
    seed: int,
    vocabulary: str = "canonical",
) -> QuerySet:
    """``n`` distinct queries (as equal a share per kind as the vocabulary allows) with their grades.

    Each query describes a random item of the catalog from its truth: the kind's attributes, then
    its category. ``vocabulary="canonical"`` writes every attribute in the vocabulary's own name;
    ``"synonyms"`` builds only the kinds that name a colour and writes the colour as one of its other
    words, chosen at random ("tangerine" or "rust" for orange), as shoppers do. Grading is
    vectorised: one ``(q, n_items, attributes)`` comparison of the queries' codes against the
    items' truth codes; it does not depend on the words.
    """
    if vocabulary not in ("canonical", "synonyms"):
        raise LookbookError(
            f"build_queries vocabulary: expected 'canonical' or 'synonyms', got {vocabulary!r}"
        )
    kinds_used = {
        kind: attrs for kind, attrs in QUERY_KINDS.items() if vocabulary == "canonical" or "colour" in attrs
    }
    if isinstance(n, bool) or not isinstance(n, int) or n < len(kinds_used):
        raise LookbookError(f"build_queries n: expected an int >= {len(kinds_used)}, got {n!r}")
    rows = oracle.item_ids.lookup(list(item_ids))
    truth = oracle.items
    codes = np.stack(
        [
            truth.colour[rows],
            truth.pattern[rows],
            truth.material[rows],
            truth.shape[rows],
            truth.dominant_style[rows],
        ],
        axis=1,
    ).astype(np.int64)  # (n_items, 5)
    category_names, category = np.unique(np.asarray(categories, dtype=str), return_inverse=True)
    _, slot = np.unique(np.asarray(slots, dtype=str), return_inverse=True)
    names = _names(oracle)
    rng = np.random.default_rng(seed)

    synonyms = np.asarray([c.words[1:] for c in COLOURS], dtype=str)  # (n_colours, 2): not the name

    per_kind = np.full(len(kinds_used), n // len(kinds_used))
    per_kind[: n % len(kinds_used)] += 1
    texts: list[str] = []
    kinds: list[str] = []
    seeds: list[int] = []
    named: list[npt.NDArray[np.int64]] = []
    for (kind, attrs), want in zip(kinds_used.items(), per_kind, strict=True):
        picks = rng.permutation(len(rows))  # every item is a possible seed; keep the first distinct texts
        cols = [_ATTRIBUTES.index(a) for a in attrs]
        words = category_names[category[picks]]
        for a, c in zip(reversed(attrs), reversed(cols), strict=True):  # "<attr> ... <category>"
            if a == "colour" and vocabulary == "synonyms":
                said = synonyms[codes[picks, c], rng.integers(0, synonyms.shape[1], picks.size)]
            else:
                said = np.asarray(names[a], dtype=str)[codes[picks, c]]
            words = np.char.add(np.char.add(said, " "), words)
        _, first = np.unique(words, return_index=True)
        keep = np.sort(first)[:want]
        mask = np.full(len(_ATTRIBUTES), False)
        mask[cols] = True
        for j in keep:
            texts.append(str(words[j]))
            kinds.append(kind)
            seeds.append(int(picks[j]))
            named.append(mask)
    seed_rows = np.asarray(seeds, dtype=np.int64)
    asked = np.where(np.stack(named), codes[seed_rows], -1)  # (q, 5), -1 = not named
    is_named = asked >= 0
    match = (codes[None, :, :] == asked[:, None, :]) & is_named[:, None, :]  # (q, n_items, 5)
    hits = match.sum(axis=2)
    every = hits == is_named.sum(axis=1)[:, None]
    same_category = category[None, :] == category[seed_rows][:, None]
    same_slot = slot[None, :] == slot[seed_rows][:, None]
    grades = np.where(
        same_category & every, 2, np.where((same_category & (hits > 0)) | (same_slot & every), 1, 0)
    )
    return QuerySet(texts, np.asarray(kinds, dtype=str), grades.astype(np.int8))


def _split(queries: QuerySet, n_validation: int, seed: int) -> tuple[QuerySet, QuerySet]:
    """(test, validation): disjoint query texts, the validation share taken evenly across kinds."""
    rng = np.random.default_rng(seed + 1)
    share = n_validation / len(queries)
    val: list[int] = []
    for kind in QUERY_KINDS:
        rows = rng.permutation(np.flatnonzero(queries.kinds == kind))
        val.extend(rows[: round(share * rows.size)].tolist())
    is_val = np.zeros(len(queries), dtype=bool)
    is_val[val] = True
    return queries.subset(np.flatnonzero(~is_val)), queries.subset(np.flatnonzero(is_val))


def dense_texts(items: pa.Table, which: str) -> list[str]:
    """The texts the dense side embeds: ``full`` is ``item_texts`` (title, description, facts), the
    same as BM25 indexes; ``title`` leaves the description out (title, then the category, slot,
    brand and attribute facts the title does not say). One sentence-vector has to summarise the
    whole text, and the demo descriptions repeat the title in other words and add fit and brand
    sentences, which blur the attributes a query names; BM25 is unaffected by them, so it keeps
    the full text."""
    if which == "full":
        return item_texts(items)
    if which != "title":
        raise LookbookError(f"dense_texts which: expected 'full' or 'title', got {which!r}")
    cols = [items.column(c).to_pylist() for c in ("title", "category", "slot", "brand", "attributes")]
    return [item_text(t, None, c, s, b, a) for t, c, s, b, a in zip(*cols, strict=True)]


def _item_payloads(items: pa.Table) -> list[dict[str, Any]]:
    """The ``ITEM_PAYLOAD`` fields of each item (``created_at`` as epoch seconds), for filters."""
    columns = {f: items.column(f).to_pylist() for f in ITEM_PAYLOAD if f in items.column_names}
    if "created_at" in columns:
        columns["created_at"] = [None if t is None else int(t.timestamp()) for t in columns["created_at"]]
    n = items.num_rows
    return [{f: values[i] for f, values in columns.items()} for i in range(n)]


class _MemoEncoder:
    """The text encoder as a ``QueryEncoder`` that remembers query vectors, so that the same queries
    searched in several modes are encoded once."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self._memo: dict[str, npt.NDArray[np.float32]] = {}

    def __call__(self, texts: list[str]) -> npt.NDArray[np.float32]:
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            vectors = self.encoder.encode(todo, show_progress=False)
            self._memo.update(zip(todo, vectors, strict=True))
        return (
            np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.encoder.dim), np.float32)
        )


def _ranked_rows(result: SearchResult, ids: IdMap) -> npt.NDArray[np.int64]:
    """``(q, k)`` catalog rows of a result's ids, ``-1`` for padding."""
    return ids.lookup(result.ids.reshape(-1), missing=-1).reshape(result.ids.shape)


def _rankings(
    candidates: RetrieverResults, width: int, base: HybridConfig, weighted: HybridConfig
) -> dict[str, SearchResult]:
    """The four reported rankings of one retrieval: each retriever cut to ``width``, and both fused."""
    return {
        "sparse": fuse(candidates, width, dataclasses.replace(base, mode="sparse")),
        "dense": fuse(candidates, width, dataclasses.replace(base, mode="dense")),
        "hybrid_rrf": fuse(candidates, width, dataclasses.replace(base, mode="hybrid", fusion="rrf")),
        "hybrid_weighted": fuse(candidates, width, weighted),
    }


def _tune_weighted(
    search: HybridTextSearch, queries: QuerySet, ids: IdMap, k: int, base: HybridConfig
) -> tuple[HybridConfig, dict[str, dict[str, float]]]:
    """The weighted-fusion config (weight, normalisation) with the best NDCG@k on ``queries``."""
    candidates = search.candidates(queries.texts, depth=base.depth)
    strict = queries.grades >= 2
    curve: dict[str, dict[str, float]] = {}
    best: tuple[float, HybridConfig] | None = None
    for normalise in ("minmax", "zscore"):
        curve[normalise] = {}
        for weight in WEIGHT_GRID:
            cfg = dataclasses.replace(
                base, mode="hybrid", fusion="weighted", weight=weight, normalise=normalise
            )
            score = ndcg_at_k(_ranked_rows(fuse(candidates, k, cfg), ids), strict, k)
            curve[normalise][f"{weight:.1f}"] = round(score, 4)
            if best is None or score > best[0] + 1e-12:
                best = (score, cfg)
    assert best is not None
    return best[1], curve


def evaluate_search(
    world_dir: Path | str,
    *,
    cache_dir: Path | None = None,
    queries: int = 300,
    validation_queries: int = 150,
    seed: int = 0,
    k: int = 10,
    recall_k: int = 50,
    config: HybridConfig | None = None,
    dense_text: str = "title",
    show_progress: bool = True,
) -> dict[str, Any]:
    """Score sparse, dense and hybrid text search on a demo world's truth.

    Parameters
    ----------
    world_dir
        A generated world (with ``truth/``).
    cache_dir
        Feature cache root for the item texts' MiniLM vectors (``None``: no disk cache). The texts
        are ``item_texts``, the ones content encoding uses, so a world already encoded costs nothing.
    queries, validation_queries
        Test queries (the figures) and validation queries (only to choose the weighted fusion).
    seed
        Seeds the queries; the same seed gives the same queries and figures.
    k, recall_k
        NDCG cut-off and recall cut-off.
    config
        Depth, RRF ``c`` and BM25 settings (weight and normalisation are tuned, not taken from here).
    dense_text
        What the dense side embeds per item (``dense_texts``): ``title`` (title and attribute
        facts, the default: measured better for every retriever that uses it) or ``full`` (the
        BM25 text, description included).

    Returns
    -------
    A JSON-able dict: ``queries``, ``ndcg{k}`` / ``ndcg{k}_lenient`` / ``recall{recall_k}`` per
    mode (``sparse``, ``dense``, ``hybrid_rrf``, ``hybrid_weighted``), ``by_kind``, the chosen
    ``fusion`` settings with the validation curve, and timings.
    """
    for name, value, lo in (
        ("queries", queries, 1),
        ("validation_queries", validation_queries, 1),
        ("k", k, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise LookbookError(f"evaluate_search {name}: expected an int >= {lo}, got {value!r}")
    if isinstance(recall_k, bool) or not isinstance(recall_k, int) or recall_k < k:
        raise LookbookError(f"evaluate_search recall_k: expected an int >= k ({k}), got {recall_k!r}")
    if dense_text not in ("title", "full"):
        raise LookbookError(f"evaluate_search dense_text: expected 'title' or 'full', got {dense_text!r}")
    started = time.perf_counter()
    world_dir = Path(world_dir)
    world = load_world(world_dir)
    oracle = Oracle.load(world_dir)
    items = world.items
    item_ids = items.column("item_id").to_pylist()
    ids = IdMap(item_ids, name="item_id")
    base = HybridConfig(mode="hybrid") if config is None else config

    n_colour_kinds = sum("colour" in attrs for attrs in QUERY_KINDS.values())
    query_sets: dict[str, tuple[QuerySet, QuerySet]] = {}
    for offset, (vocabulary, share) in enumerate(
        (("canonical", 1.0), ("synonyms", n_colour_kinds / len(QUERY_KINDS)))
    ):
        n_test, n_val = max(1, round(share * queries)), max(1, round(share * validation_queries))
        built = build_queries(
            oracle,
            item_ids,
            items.column("category").to_pylist(),
            items.column("slot").to_pylist(),
            max(n_test + n_val, len(QUERY_KINDS)),
            seed=seed + 1000 * offset,
            vocabulary=vocabulary,
        )
        query_sets[vocabulary] = _split(built, n_val, seed)
    validation = QuerySet.concat([val for _, val in query_sets.values()])
    log.info(
        "search evaluation: %s test and %d validation queries",
        " + ".join(f"{len(test)} {name}" for name, (test, _) in query_sets.items()),
        len(validation),
    )

    t0 = time.perf_counter()
    encoder = TextEncoder(cache_dir=cache_dir)
    texts = item_texts(items)
    vectors = encoder.encode(dense_texts(items, dense_text), show_progress=show_progress)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    search = HybridTextSearch(
        item_ids,
        texts,
        NumpyIndex(encoder.dim),
        payloads=_item_payloads(items),
        vectors=vectors,
        encoder=_MemoEncoder(encoder),
        config=dataclasses.replace(base, exact=True),
    )
    weighted, curve = _tune_weighted(search, validation, ids, k, base)
    log.info("search evaluation: weighted fusion tuned: weight %.1f, %s", weighted.weight, weighted.normalise)
    depth = max(base.depth, recall_k)
    scores: dict[str, dict[str, Any]] = {}
    for vocabulary, (test, _) in query_sets.items():
        candidates = search.candidates(test.texts, depth=depth)
        rankings = _rankings(candidates, recall_k, base, weighted)
        scores[vocabulary] = _score({m: _ranked_rows(r, ids) for m, r in rankings.items()}, test, k, recall_k)
    search_s = time.perf_counter() - t0

    return {
        "world": str(world_dir),
        "domain": oracle.model["domain"],
        "items": len(item_ids),
        **scores["canonical"],
        "synonyms": scores["synonyms"],
        "validation_queries": len(validation),
        "fusion": {
            "depth": depth,
            "rrf_c": base.rrf_c,
            "weight": weighted.weight,
            "normalise": weighted.normalise,
            f"validation_ndcg{k}": curve,
        },
        "encoder": encoder.name,
        "dense_text": dense_text,
        "seconds": {
            "encode_items": round(encode_s, 2),
            "search": round(search_s, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    }


def _score(
    rankings: Mapping[str, npt.NDArray[np.int64]], queries: QuerySet, k: int, recall_k: int
) -> dict[str, Any]:
    """Every figure of one query set: NDCG (grade 2 and grade >= 1), recall, and NDCG per kind."""
    strict, lenient = queries.grades >= 2, queries.grades >= 1
    out: dict[str, Any] = {
        "queries": len(queries),
        "k": k,
        f"ndcg{k}": {m: round(ndcg_at_k(r, strict, k), 4) for m, r in rankings.items()},
        f"ndcg{k}_lenient": {m: round(ndcg_at_k(r, lenient, k), 4) for m, r in rankings.items()},
        f"recall{recall_k}": {m: round(recall_at_k(r, strict, recall_k), 4) for m, r in rankings.items()},
        "relevant_per_query": {
            "grade2_mean": round(float(strict.sum(axis=1).mean()), 1),
            "grade1_or_2_mean": round(float(lenient.sum(axis=1).mean()), 1),
        },
        "by_kind": {},
    }
    for kind in QUERY_KINDS:
        rows = np.flatnonzero(queries.kinds == kind)
        if rows.size:
            out["by_kind"][kind] = {
                "queries": int(rows.size),
                "example": queries.texts[rows[0]],
                f"ndcg{k}": {m: round(ndcg_at_k(r[rows], strict[rows], k), 4) for m, r in rankings.items()},
            }
    return out


def format_table(result: Mapping[str, Any]) -> str:
    """NDCG, lenient NDCG and recall per mode, then NDCG per query kind, for the canonical queries
    and for the synonym queries: for people (``--json`` is for machines)."""
    lines: list[str] = []
    for title, block in (
        ("queries in the vocabulary's own words", result),
        ("the colour said in another word", result["synonyms"]),
    ):
        lines += [
            f"{block['queries']} {title} ({block['relevant_per_query']['grade2_mean']} grade-2 items each)"
        ]
        lines += [*_block_table(block), ""]
    fusion = result["fusion"]
    lines.append(
        f"weighted fusion chosen on {result['validation_queries']} other queries (both vocabularies): "
        f"dense weight {fusion['weight']:.1f}, {fusion['normalise']}; RRF c={fusion['rrf_c']:g}; "
        f"{fusion['depth']} candidates per retriever; dense side embeds the {result['dense_text']} "
        f"text; {result['items']} items"
    )
    return "\n".join(lines)


def _block_table(block: Mapping[str, Any]) -> list[str]:
    k = block["k"]
    recall_key = next(key for key in block if key.startswith("recall"))
    cols = [
        (f"ndcg{k}", f"ndcg@{k}"),
        (f"ndcg{k}_lenient", f"ndcg@{k} (>=1)"),
        (recall_key, recall_key.replace("recall", "recall@")),
    ]
    widths = [max(9, len(label)) for _, label in cols]
    name_w = max(len(m) for m in MODES)
    lines = [
        f"  {'mode':<{name_w}}  "
        + "  ".join(f"{label:>{w}}" for (_, label), w in zip(cols, widths, strict=True))
    ]
    for mode in MODES:
        cells = [f"{block[key][mode]:>{w}.4f}" for (key, _), w in zip(cols, widths, strict=True)]
        lines.append(f"  {mode:<{name_w}}  " + "  ".join(cells))
    kind_w = max(len(kind) for kind in block["by_kind"])
    lines.append(f"  {'ndcg@' + str(k) + ' by kind':<{kind_w + 5}}" + " ".join(f"{m:>15}" for m in MODES))
    for kind, row in block["by_kind"].items():
        cells = " ".join(f"{row[f'ndcg{k}'][m]:>15.4f}" for m in MODES)
        lines.append(f"  {kind:<{kind_w}} {row['queries']:>4}" + cells)
    return lines
