"""Side-by-side evaluation of outfit-compatibility scorers: FITB, compatibility AUC, colour dominance.

Anything that can score pairs of item rows is a ``PairScorer``: the trained compatibility model,
a cosine over content vectors, the baselines below. The harness only ever calls
``scorer(a_rows, b_rows)`` on large flat batches, so any model can be measured and no model needs
to know about the protocols (the same idea as implicit's ``ranking_metrics_at_k``, which only calls
``recommend``).

Three numbers per scorer:

* **FITB accuracy**: each candidate's score is its mean pair score against the question's context
  items; the highest wins (ties count fractionally, see ``metrics.fitb_accuracy``). Scoring the
  candidate against the context only ranks candidates exactly as the whole-set mean would, because
  the pairs among context items are the same for every candidate.
* **AUC**: each set's score is the mean of its pair scores; real sets against swapped copies.
* **Colour dominance**: case study 004's failure ("the model over-relies on monochrome
  similarity"), measured. See ``metrics.colour_dominance``; 1.0 = no colour bias.

``compare`` returns ``{"models": {name: {"fitb": .., "auc": .., "colour_dominance": ..}}}``, the
shape ``lookbook evaluate compatibility`` writes as JSON (it adds ``"dataset"``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from lookbook import metrics
from lookbook.errors import DimensionMismatch, LookbookError
from lookbook.evaluation.protocols import FitbQuestions

log = logging.getLogger(__name__)

__all__ = [
    "CosineScorer",
    "PairScorer",
    "RandomScorer",
    "SameColourScorer",
    "colour_codes",
    "compare",
    "evaluate_scorer",
    "fitb_scores",
    "format_table",
    "set_scores",
    "top_k_partners",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: Pairs per scorer call when ranking the whole catalog for anchors (bounds memory: a scorer that
#: gathers 64-d float32 vectors for both sides uses about 0.5 GB at this size).
MAX_PAIRS_PER_CALL = 1 << 20


@runtime_checkable
class PairScorer(Protocol):
    """Scores how well each pair of items goes together.

    ``__call__(a_rows, b_rows)`` takes two ``(n,)`` int arrays of item rows and returns ``(n,)``
    floats, higher = goes better together. Where a scorer is asymmetric, ``a`` is the given item
    (the anchor, a FITB context item) and ``b`` the candidate. Calls come in large flat batches
    (all pairs of all sets at once), so a scorer should be vectorised and must be deterministic:
    the same pair gets the same score on every call.
    """

    def __call__(self, a_rows: npt.NDArray[np.int64], b_rows: npt.NDArray[np.int64]) -> npt.NDArray[Any]: ...


# --------------------------------------------------------------------------------------------------
# Baseline scorers
# --------------------------------------------------------------------------------------------------


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: a cheap, well-mixed 64-bit hash (uint64 arithmetic wraps by design)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _pair_hash(seed: int, a: npt.ArrayLike, b: npt.ArrayLike) -> F64:
    """A deterministic uniform number in [0, 1) for each unordered pair ``{a, b}`` and seed."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    lo = np.minimum(a, b).astype(np.uint64)
    hi = np.maximum(a, b).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(
            lo ^ _splitmix64(np.full(lo.shape, seed, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15))
        )
        h = _splitmix64(h ^ (hi * np.uint64(0xD1B54A32D192ED03)))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _pair_rows(
    a_rows: npt.ArrayLike, b_rows: npt.ArrayLike, n_items: int | None, owner: str
) -> tuple[I64, I64]:
    a = np.asarray(a_rows, dtype=np.int64)
    b = np.asarray(b_rows, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1:
        raise LookbookError(f"{owner} b_rows: expected the shape of a_rows {a.shape}, got {b.shape}")
    if n_items is not None and a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_items):
        raise LookbookError(f"{owner} a_rows/b_rows: item rows must be in [0, {n_items})")
    return a, b


class RandomScorer:
    """Chance: a deterministic hash of the (unordered) pair, uniform in [0, 1).

    A hash rather than a random draw, so the same pair always gets the same score within and across
    calls (a set scored twice agrees with itself) and nothing depends on call order.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def __call__(self, a_rows: npt.ArrayLike, b_rows: npt.ArrayLike) -> F64:
        a, b = _pair_rows(a_rows, b_rows, None, "RandomScorer")
        return _pair_hash(int(self.seed), a, b)


class SameColourScorer:
    """Monochrome styling: 1 when both items have the same known colour, else 0.

    A tiny deterministic tie-break (a pair hash times 1e-3, below the gap between 0 and 1) orders
    the many tied pairs without favouring low item rows. Its colour dominance is the ceiling a
    colour-obsessed model would reach. Unknown colours (``-1``) never match.
    """

    def __init__(self, colours: npt.ArrayLike, seed: int = 0) -> None:
        self.colours = np.asarray(colours, dtype=np.int64)
        self.seed = seed

    def __call__(self, a_rows: npt.ArrayLike, b_rows: npt.ArrayLike) -> F64:
        a, b = _pair_rows(a_rows, b_rows, self.colours.size, "SameColourScorer")
        ca, cb = self.colours[a], self.colours[b]
        same = (ca == cb) & (ca >= 0)
        return same.astype(np.float64) + 1e-3 * _pair_hash(int(self.seed), a, b)


class CosineScorer:
    """Cosine similarity of given vectors: the "content-cosine (no training)" baseline.

    With content vectors this asks "do compatible items look alike?". They often do (a navy
    blazer and navy trousers), which is why it is the baseline a trained model must beat, and why
    its colour dominance is worth reading. Rows are L2-normalised once here; an all-zero row scores 0.
    """

    def __init__(self, vectors: npt.ArrayLike, chunk: int = 1 << 18) -> None:
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2:
            raise DimensionMismatch(
                f"CosineScorer vectors: expected an (n_items, dim) array, got shape {v.shape}"
            )
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        self.vectors = np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)
        self.chunk = chunk

    def __call__(self, a_rows: npt.ArrayLike, b_rows: npt.ArrayLike) -> F64:
        a, b = _pair_rows(a_rows, b_rows, self.vectors.shape[0], "CosineScorer")
        out = np.empty(a.size, dtype=np.float64)
        for s in range(0, a.size, self.chunk):
            va = self.vectors[a[s : s + self.chunk]]
            vb = self.vectors[b[s : s + self.chunk]]
            out[s : s + self.chunk] = np.einsum("ij,ij->i", va, vb)
        return out


def colour_codes(values: Sequence[Any] | npt.ArrayLike) -> I64:
    """Colour names (or any labels) per item row as int codes; empty, None and NaN become ``-1``.

    For ``SameColourScorer`` and colour dominance, e.g. from an items table's ``colour`` attribute.
    """
    raw = np.asarray(values, dtype=object)
    known = np.array(
        [
            v is not None and not (isinstance(v, float) and math.isnan(v)) and str(v).strip() != ""
            for v in raw
        ],
        dtype=bool,
    )
    codes = np.full(raw.size, -1, dtype=np.int64)
    if known.any():
        codes[known] = np.unique(raw[known].astype(str), return_inverse=True)[1].ravel()
    return codes


# --------------------------------------------------------------------------------------------------
# Scoring sets, questions and anchors
# --------------------------------------------------------------------------------------------------


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise LookbookError(f"k: expected an int >= 1, got {k!r}")
    return int(k)


def _call(scorer: PairScorer, a: I64, b: I64) -> F64:
    """One scorer call, with its output checked (the error names the scorer)."""
    out = np.asarray(scorer(a, b), dtype=np.float64)
    if out.shape != a.shape:
        raise DimensionMismatch(
            f"scorer {type(scorer).__name__}: expected {a.shape[0]} scores (one per pair), "
            f"got shape {out.shape}"
        )
    if not np.isfinite(out).all():
        raise LookbookError(f"scorer {type(scorer).__name__}: returned NaN or inf scores")
    return out


def set_scores(scorer: PairScorer, sets: Sequence[npt.ArrayLike]) -> F64:
    """Mean pair score of each set, from one scorer call over all pairs of all sets.

    Pairs are built per set size (``triu_indices`` over a stacked block of all sets that size),
    so the Python loop runs over the handful of distinct sizes, never over sets.

    Returns
    -------
    ``(len(sets),)`` float64.
    """
    arrays = [np.asarray(s, dtype=np.int64).ravel() for s in sets]
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    if lengths.size == 0:
        return np.zeros(0, dtype=np.float64)
    if (lengths < 2).any():
        raise LookbookError(f"sets[{int(np.flatnonzero(lengths < 2)[0])}]: expected at least 2 items")
    flat = np.concatenate(arrays)
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    a_parts, b_parts, owner_parts = [], [], []
    for size in np.unique(lengths):
        idx = np.flatnonzero(lengths == size)
        block = flat[offsets[idx][:, None] + np.arange(size)]
        i, j = np.triu_indices(int(size), k=1)
        a_parts.append(block[:, i].ravel())
        b_parts.append(block[:, j].ravel())
        owner_parts.append(np.repeat(idx, i.size))
    owner = np.concatenate(owner_parts)
    scores = _call(scorer, np.concatenate(a_parts), np.concatenate(b_parts))
    return np.bincount(owner, weights=scores, minlength=lengths.size) / np.bincount(
        owner, minlength=lengths.size
    )


def fitb_scores(scorer: PairScorer, questions: FitbQuestions) -> F64:
    """``(n, choices)`` score of each candidate: its mean pair score against the question's context.

    One scorer call with ``a`` = context item, ``b`` = candidate, for every (question, context
    item, candidate) triple.
    """
    context_len = np.diff(questions.question_offsets)
    choices = questions.n_choices
    b = np.repeat(questions.candidates, context_len, axis=0)  # (total, choices)
    a = np.repeat(questions.question_rows, choices)
    pair = _call(scorer, a, b.ravel()).reshape(-1, choices)
    if pair.shape[0] == 0:
        return np.zeros((0, choices), dtype=np.float64)
    return np.add.reduceat(pair, questions.question_offsets[:-1], axis=0) / context_len[:, None]


def top_k_partners(scorer: PairScorer, anchors: npt.ArrayLike, slots: npt.ArrayLike, k: int = 10) -> I64:
    """``(n, k)`` each anchor's ``k`` best-scored items among the items of the *other* slots, best first.

    Each anchor is scored against the whole catalog (anchors batched so one call stays under
    ``MAX_PAIRS_PER_CALL`` pairs), same-slot items are masked, and ``argpartition`` picks the top k.
    Rows are padded with ``-1`` when fewer than ``k`` items are in other slots.
    """
    k = _check_k(k)
    slot = np.unique(np.asarray(slots), return_inverse=True)[1].ravel()
    n_items = slot.size
    anchor = np.asarray(anchors, dtype=np.int64)
    out = np.full((anchor.size, k), -1, dtype=np.int64)
    width = min(k, n_items)
    per_call = max(1, MAX_PAIRS_PER_CALL // max(n_items, 1))
    items = np.arange(n_items, dtype=np.int64)
    for s in range(0, anchor.size, per_call):
        chunk = anchor[s : s + per_call]
        a = np.repeat(chunk, n_items)
        b = np.tile(items, chunk.size)
        score = _call(scorer, a, b).reshape(chunk.size, n_items)
        other = slot[None, :] != slot[chunk][:, None]
        score[~other] = -np.inf
        part = np.argpartition(-score, width - 1, axis=1)[:, :width]
        part_score = np.take_along_axis(score, part, axis=1)
        order = np.argsort(-part_score, axis=1, kind="stable")
        best = np.take_along_axis(part, order, axis=1)
        best[~np.isfinite(np.take_along_axis(part_score, order, axis=1))] = -1
        out[s : s + chunk.size, :width] = best
    return out


# --------------------------------------------------------------------------------------------------
# The harness
# --------------------------------------------------------------------------------------------------


def _check_inputs(
    questions: FitbQuestions | None,
    auc_sets: Sequence[npt.ArrayLike] | None,
    auc_labels: npt.ArrayLike | None,
    colours: npt.ArrayLike | None,
    slots: npt.ArrayLike,
    anchors: npt.ArrayLike | None,
    truly_compatible: Sequence[npt.ArrayLike] | None,
    k: int,
) -> int:
    _check_k(k)
    slot = np.asarray(slots)
    if slot.ndim != 1 or slot.size == 0:
        raise LookbookError(f"slots: expected a 1-D array with one slot per item row, got shape {slot.shape}")
    n_items = slot.size
    if questions is not None:
        if not isinstance(questions, FitbQuestions):
            raise LookbookError(f"questions: expected FitbQuestions, got {type(questions).__name__}")
        for name in ("question_rows", "candidates"):
            rows = getattr(questions, name)
            if rows.size and rows.max() >= n_items:
                raise LookbookError(
                    f"questions.{name}: item rows must be < {n_items} (len(slots)), got {rows.max()}"
                )
    if (auc_sets is None) != (auc_labels is None):
        raise LookbookError("auc_labels: give auc_sets and auc_labels together, or neither")
    if auc_sets is not None and len(auc_sets) != len(np.asarray(auc_labels)):
        raise LookbookError(
            f"auc_labels: expected {len(auc_sets)} labels (one per set), got {len(np.asarray(auc_labels))}"
        )
    if colours is not None and np.asarray(colours).shape != (n_items,):
        raise LookbookError(
            f"colours: expected shape ({n_items},) like slots, got {np.asarray(colours).shape}"
        )
    if truly_compatible is not None:
        if anchors is None:
            raise LookbookError("anchors: required when truly_compatible is given")
        if len(truly_compatible) != len(np.asarray(anchors)):
            raise LookbookError(
                f"truly_compatible: expected {len(np.asarray(anchors))} entries (one per anchor), "
                f"got {len(truly_compatible)}"
            )
    if anchors is not None:
        anchor = np.asarray(anchors)
        if anchor.ndim != 1 or (anchor.size and not np.issubdtype(anchor.dtype, np.integer)):
            raise LookbookError(f"anchors: expected a 1-D array of int item rows, got shape {anchor.shape}")
        if anchor.size and (anchor.min() < 0 or anchor.max() >= n_items):
            raise LookbookError(
                f"anchors: item rows must be in [0, {n_items}), got {anchor.min()}..{anchor.max()}"
            )
    return n_items


def _pad(rows: Sequence[npt.ArrayLike], n_items: int) -> I64:
    """Ragged 1-D arrays of item rows as one ``(n, width)`` array padded with ``-1``, checked."""
    arrays = [np.asarray(r, dtype=np.int64).ravel() for r in rows]
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    out = np.full((len(arrays), int(lengths.max(initial=0))), -1, dtype=np.int64)
    if out.size:
        flat = np.concatenate(arrays)
        if flat.size and (flat.min() < 0 or flat.max() >= n_items):
            raise LookbookError(
                f"truly_compatible: item rows must be in [0, {n_items}), got {flat.min()}..{flat.max()}"
            )
        out[np.arange(out.shape[1])[None, :] < lengths[:, None]] = flat
    return out


def _colour_dominance(
    scorer: PairScorer,
    colours: npt.ArrayLike | None,
    slots: npt.ArrayLike,
    anchors: npt.ArrayLike | None,
    truly_compatible: Sequence[npt.ArrayLike] | None,
    k: int,
) -> float | None:
    if colours is None or anchors is None or truly_compatible is None:
        return None
    colour = np.asarray(colours, dtype=np.int64)
    anchor = np.asarray(anchors, dtype=np.int64)
    known = colour[anchor] >= 0
    if not known.any():
        return None
    anchor = anchor[known]
    slot = np.unique(np.asarray(slots), return_inverse=True)[1].ravel()
    # The truth, like the model, is restricted to the other slots: a second accessory in the same
    # outfit is not a "partner" the model was asked to find.
    truth = _pad([t for t, ok in zip(truly_compatible, known, strict=True) if ok], colour.size)
    truth[(truth >= 0) & (slot[np.maximum(truth, 0)] == slot[anchor][:, None])] = -1
    top = top_k_partners(scorer, anchor, slots, k)
    return metrics.colour_dominance(colour, anchor, top, truth)


def evaluate_scorer(
    scorer: PairScorer,
    questions: FitbQuestions | None,
    auc_sets: Sequence[npt.ArrayLike] | None,
    auc_labels: npt.ArrayLike | None,
    *,
    colours: npt.ArrayLike | None,
    slots: npt.ArrayLike,
    anchors: npt.ArrayLike | None,
    truly_compatible: Sequence[npt.ArrayLike] | None,
    k: int = 10,
) -> dict[str, float | None]:
    """FITB accuracy, compatibility AUC and colour dominance of one scorer.

    Parameters
    ----------
    scorer:
        Any ``PairScorer``.
    questions:
        FITB questions (``protocols.fitb_questions`` or ``protocols.fitb_from_table``); None skips FITB.
    auc_sets, auc_labels:
        Sets (1-D arrays of item rows) and their 0/1 labels (``protocols.swapped_sets`` or
        ``protocols.compatibility_from_table``); None skips AUC.
    colours:
        ``(n_items,)`` int colour code per item row (``-1`` unknown; ``colour_codes`` makes them
        from names), or None when the data set has no colours.
    slots:
        ``(n_items,)`` slot of every item row; it also fixes the catalog size.
    anchors:
        ``(n,)`` item rows whose top-k partners are checked for colour dominance.
    truly_compatible:
        For each anchor, the item rows that truly go with it: the oracle's ``compatible_items``
        for a demo world, ``protocols.co_set_items`` for a real data set. Items of the anchor's own
        slot are ignored, as the model's top-k excludes them too.
    k:
        How many partners per anchor.

    Returns
    -------
    ``{"fitb": float | None, "auc": float | None, "colour_dominance": float | None}``; None where
    the input for that number was not given (or, for colour dominance, colours are unknown).
    """
    _check_inputs(questions, auc_sets, auc_labels, colours, slots, anchors, truly_compatible, k)
    result: dict[str, float | None] = {"fitb": None, "auc": None, "colour_dominance": None}
    started = time.perf_counter()
    if questions is not None and len(questions):
        result["fitb"] = metrics.fitb_accuracy(fitb_scores(scorer, questions), questions.answer_index)
    if auc_sets is not None and len(auc_sets):
        result["auc"] = metrics.auc(set_scores(scorer, auc_sets), np.asarray(auc_labels))
    result["colour_dominance"] = _colour_dominance(scorer, colours, slots, anchors, truly_compatible, k)
    log.debug("evaluated %s in %.2fs: %s", type(scorer).__name__, time.perf_counter() - started, result)
    return result


def compare(
    scorers: Mapping[str, PairScorer],
    questions: FitbQuestions | None,
    auc_sets: Sequence[npt.ArrayLike] | None,
    auc_labels: npt.ArrayLike | None,
    *,
    colours: npt.ArrayLike | None,
    slots: npt.ArrayLike,
    anchors: npt.ArrayLike | None,
    truly_compatible: Sequence[npt.ArrayLike] | None,
    k: int = 10,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Evaluate several scorers on identical questions, sets and anchors.

    Arguments are those of ``evaluate_scorer``, checked once. Returns
    ``{"models": {name: {"fitb": .., "auc": .., "colour_dominance": ..}}}`` in the order of
    ``scorers``; ready for ``json.dumps`` (plain floats and None) and ``format_table``.
    """
    if not isinstance(scorers, Mapping) or not scorers:
        raise LookbookError(f"scorers: expected a non-empty mapping of name -> PairScorer, got {scorers!r}")
    for name, scorer in scorers.items():
        if not callable(scorer):
            raise LookbookError(
                f"scorers[{name!r}]: expected a PairScorer (callable), got {type(scorer).__name__}"
            )
    _check_inputs(questions, auc_sets, auc_labels, colours, slots, anchors, truly_compatible, k)
    models: dict[str, dict[str, float | None]] = {}
    for name, scorer in tqdm(scorers.items(), desc="scorers", disable=not show_progress):
        started = time.perf_counter()
        models[name] = evaluate_scorer(
            scorer,
            questions,
            auc_sets,
            auc_labels,
            colours=colours,
            slots=slots,
            anchors=anchors,
            truly_compatible=truly_compatible,
            k=k,
        )
        log.info("compatibility %s: %s (%.1fs)", name, models[name], time.perf_counter() - started)
    return {"models": models}


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, fmt)


def format_table(result: Mapping[str, Any]) -> str:
    """A fixed-width table of ``compare``'s result (plus ``"dataset"`` when present) for the terminal."""
    if "models" not in result:
        raise LookbookError("result models: expected the output of compare(), got no 'models' key")
    models: Mapping[str, Mapping[str, Any]] = result["models"]
    name_width = max([len("model"), *(len(str(n)) for n in models)])
    header = f"{'model':<{name_width}}  {'FITB':>6}  {'AUC':>6}  {'colour dom.':>11}"
    lines = []
    if result.get("dataset") is not None:
        lines.append(f"dataset: {result['dataset']}")
    lines += [header, "-" * len(header)]
    for name, row in models.items():
        lines.append(
            f"{name!s:<{name_width}}  {_cell(row.get('fitb'), '.3f'):>6}  {_cell(row.get('auc'), '.3f'):>6}  "
            f"{_cell(row.get('colour_dominance'), '.2f'):>11}"
        )
    lines.append(
        "colour dom.: same-colour share of top-k partners / that share in true pairs (1.00 = no bias)"
    )
    return "\n".join(lines)
