"""Seeded evaluation protocols: which sets are held out, and the questions asked about them.

Every builder takes a ``seed`` and draws from its own ``np.random.default_rng(seed)``, so the same
inputs and seed give the same split and the same questions on every machine, and two models are
always measured on identical questions. Sets are integer item rows (``IdMap`` rows), one 1-D array
per set; ``slots`` gives each item row's slot (any labels: ``Slot`` strings or int codes).

Questions are built the way Polyvore Outfits built its own (Vasileva et al., 2018): a wrong
answer or a swapped-in item is a random item *of the same slot* that is not in the set, so a model
cannot pass by recognising that "a second pair of shoes" does not belong; it has to judge style.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import LookbookError
from lookbook.schema import IdMap

log = logging.getLogger(__name__)

__all__ = [
    "FitbQuestions",
    "co_set_items",
    "compatibility_from_table",
    "fitb_from_table",
    "fitb_questions",
    "split_sets",
    "swapped_sets",
]

I64 = npt.NDArray[np.int64]

#: How many rounds of redrawing clashing wrong answers before the few left are drawn one by one.
_MAX_REDRAW_ROUNDS = 64


@dataclass(frozen=True)
class FitbQuestions:
    """Fill-in-the-blank questions as parallel arrays (no list of question objects).

    Attributes
    ----------
    question_rows:
        ``(total,)`` item rows of every question's context (its set without the blank), question
        after question.
    question_offsets:
        ``(n + 1,)`` offsets: question ``i``'s context is
        ``question_rows[question_offsets[i] : question_offsets[i + 1]]`` (or ``question(i)``).
    candidates:
        ``(n, choices)`` item rows of the candidate answers.
    answer_index:
        ``(n,)`` column of the right candidate.
    blank_position:
        ``(n,)`` where the blank was in the original set.
    set_index:
        ``(n,)`` which input set each question came from (``-1`` when unknown, e.g. Polyvore's
        own questions).
    """

    question_rows: I64
    question_offsets: I64
    candidates: I64
    answer_index: I64
    blank_position: I64
    set_index: I64

    def __post_init__(self) -> None:
        owner = "FitbQuestions"
        for name in self.__dataclass_fields__:
            arr = np.asarray(getattr(self, name))
            if arr.size == 0:
                arr = arr.astype(np.int64)
            if not np.issubdtype(arr.dtype, np.integer):
                raise LookbookError(f"{owner}.{name}: expected integers, got dtype {arr.dtype}")
            object.__setattr__(self, name, arr.astype(np.int64, copy=False))
        cand = self.candidates
        if cand.ndim != 2 or cand.shape[1] < 2:
            raise LookbookError(f"{owner}.candidates: expected shape (n, choices >= 2), got {cand.shape}")
        n = cand.shape[0]
        off = self.question_offsets
        if off.shape != (n + 1,) or off[0] != 0 or off[-1] != self.question_rows.size:
            raise LookbookError(
                f"{owner}.question_offsets: expected {n + 1} offsets from 0 to {self.question_rows.size}, "
                f"got shape {off.shape}"
            )
        if (np.diff(off) < 1).any():
            raise LookbookError(
                f"{owner}.question_offsets: every question needs at least one context item, question "
                f"{int(np.flatnonzero(np.diff(off) < 1)[0])} has none"
            )
        for name in ("answer_index", "blank_position", "set_index"):
            if getattr(self, name).shape != (n,):
                raise LookbookError(f"{owner}.{name}: expected shape ({n},), got {getattr(self, name).shape}")
        if n and (self.answer_index.min() < 0 or self.answer_index.max() >= cand.shape[1]):
            raise LookbookError(f"{owner}.answer_index: expected columns in [0, {cand.shape[1]})")
        if (self.question_rows < 0).any() or (cand < 0).any():
            raise LookbookError(f"{owner}: item rows must be >= 0")

    def __len__(self) -> int:
        return int(self.candidates.shape[0])

    @property
    def n_choices(self) -> int:
        return int(self.candidates.shape[1])

    @property
    def answers(self) -> I64:
        """``(n,)`` item row of each right answer."""
        return self.candidates[np.arange(len(self)), self.answer_index]

    def question(self, i: int) -> I64:
        """The context item rows of question ``i``."""
        return self.question_rows[self.question_offsets[i] : self.question_offsets[i + 1]]

    @classmethod
    def from_lists(
        cls,
        questions: Sequence[npt.ArrayLike],
        candidates: npt.ArrayLike,
        answer_index: npt.ArrayLike,
        blank_position: npt.ArrayLike | None = None,
        set_index: npt.ArrayLike | None = None,
    ) -> FitbQuestions:
        """Build from one context array per question (e.g. questions made elsewhere)."""
        rows = [np.asarray(q, dtype=np.int64).ravel() for q in questions]
        n = len(rows)
        offsets = np.r_[0, np.cumsum([r.size for r in rows])].astype(np.int64)
        flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        missing = np.full(n, -1, dtype=np.int64)
        return cls(
            question_rows=flat,
            question_offsets=offsets,
            candidates=np.asarray(candidates, dtype=np.int64).reshape(n, -1),
            answer_index=np.asarray(answer_index, dtype=np.int64),
            blank_position=missing if blank_position is None else np.asarray(blank_position, np.int64),
            set_index=missing if set_index is None else np.asarray(set_index, np.int64),
        )


# --------------------------------------------------------------------------------------------------
# Checks and the flat form of a list of sets
# --------------------------------------------------------------------------------------------------


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise LookbookError(f"seed: expected an int >= 0, got {seed!r}")
    return int(seed)


def _flatten_sets(sets: Sequence[npt.ArrayLike], n_items: int) -> tuple[I64, I64]:
    """All sets as one array of item rows plus ``(n_sets + 1,)`` offsets, checked once."""
    if isinstance(sets, np.ndarray) and sets.dtype != object:
        sets = list(sets)
    arrays = [np.asarray(s) for s in sets]
    for i, arr in enumerate(arrays):
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise LookbookError(f"sets[{i}]: expected a 1-D array of int item rows, got {arr!r}")
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    flat = np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, dtype=np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= n_items):
        bad = int(np.flatnonzero((flat < 0) | (flat >= n_items))[0])
        owner = int(np.searchsorted(offsets, bad, side="right") - 1)
        raise LookbookError(
            f"sets[{owner}]: item rows must be in [0, {n_items}) (len(slots)), got {int(flat[bad])}"
        )
    if flat.size:
        set_of = np.repeat(np.arange(lengths.size), lengths)
        keys = np.sort(set_of * n_items + flat)
        dup = keys[1:] == keys[:-1]
        if dup.any():
            key = int(keys[1:][dup][0])
            raise LookbookError(f"sets[{key // n_items}]: item row {key % n_items} appears twice")
    return flat, offsets


def _slot_codes(slots: npt.ArrayLike) -> I64:
    arr = np.asarray(slots)
    if arr.ndim != 1 or arr.size == 0:
        raise LookbookError(f"slots: expected a 1-D array with one slot per item row, got shape {arr.shape}")
    return np.unique(arr, return_inverse=True)[1].astype(np.int64).ravel()


class _SlotPools:
    """Item rows grouped by slot, for drawing random items of a given slot in one call."""

    def __init__(self, codes: I64) -> None:
        self.codes = codes
        self.n_items = codes.size
        self.by_slot = np.argsort(codes, kind="stable")
        self.size = np.bincount(codes).astype(np.int64)
        self.start = np.r_[0, np.cumsum(self.size)[:-1]].astype(np.int64)

    def available(self, flat: I64, offsets: I64) -> I64:
        """Per set member: items of its slot that are not in its set (the pool wrong answers come from)."""
        lengths = np.diff(offsets)
        set_of = np.repeat(np.arange(lengths.size), lengths)
        code = self.codes[flat]
        n_slots = self.size.size
        _, inverse, counts = np.unique(set_of * n_slots + code, return_inverse=True, return_counts=True)
        return self.size[code] - counts[inverse.ravel()]

    def draw(self, rng: np.random.Generator, slot: I64, n_draw: int) -> I64:
        """``(len(slot), n_draw)`` random item rows of each given slot (with repeats; callers reject)."""
        pick = np.floor(rng.random((slot.size, n_draw)) * self.size[slot][:, None]).astype(np.int64)
        return self.by_slot[self.start[slot][:, None] + pick]

    def distinct_outside(
        self, rng: np.random.Generator, slot: I64, exclude_flat: I64, exclude_offsets: I64, n_draw: int
    ) -> I64:
        """``n_draw`` distinct items of ``slot[q]`` per row ``q``, none of them in its excluded set.

        Draws all rows at once, then redraws only the entries that clash (in the set, or a repeat
        within the row) until none do. Callers guarantee each pool is large enough.
        """
        n = slot.size
        excluded = np.repeat(np.arange(n), np.diff(exclude_offsets)) * self.n_items + exclude_flat
        excluded = np.unique(excluded)
        out = self.draw(rng, slot, n_draw)
        for _ in range(_MAX_REDRAW_ROUNDS):
            bad = self._clashes(out, excluded)
            if not bad.any():
                return out
            rows, cols = np.nonzero(bad)
            out[rows, cols] = self.draw(rng, slot[rows], 1)[:, 0]
        # Nearly exhausted pools (a rare slot): finish the few rows left exactly.
        for q in np.flatnonzero(self._clashes(out, excluded).any(axis=1)):
            pool = self.by_slot[self.start[slot[q]] : self.start[slot[q]] + self.size[slot[q]]]
            taken = exclude_flat[exclude_offsets[q] : exclude_offsets[q + 1]]
            out[q] = rng.choice(np.setdiff1d(pool, taken), size=n_draw, replace=False)
        return out

    def _clashes(self, out: I64, excluded: I64) -> npt.NDArray[np.bool_]:
        n = out.shape[0]
        in_set = np.isin(np.arange(n)[:, None] * self.n_items + out, excluded)
        order = np.argsort(out, axis=1, kind="stable")
        ordered = np.take_along_axis(out, order, axis=1)
        repeat_sorted = np.zeros_like(in_set)
        repeat_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        repeat = np.zeros_like(in_set)
        np.put_along_axis(repeat, order, repeat_sorted, axis=1)
        return in_set | repeat


def _pick_positions(
    rng: np.random.Generator, offsets: I64, eligible: npt.NDArray[np.bool_]
) -> tuple[I64, npt.NDArray[np.bool_]]:
    """One random eligible member per set: its flat index, and whether the set had one at all."""
    lengths = np.diff(offsets)
    set_of = np.repeat(np.arange(lengths.size), lengths)
    u = rng.random(eligible.size)
    u[~eligible] = 2.0
    order = np.lexsort((u, set_of))
    first = order[offsets[:-1][lengths > 0]]
    has = np.zeros(lengths.size, dtype=bool)
    has[lengths > 0] = u[first] < 2.0
    picked = np.full(lengths.size, -1, dtype=np.int64)
    picked[lengths > 0] = first
    return picked, has


# --------------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------------


def split_sets(
    set_ids: Sequence[str] | npt.ArrayLike, test_fraction: float = 0.2, seed: int = 0
) -> tuple[I64, I64]:
    """Hold out a random share of the sets for testing.

    Parameters
    ----------
    set_ids:
        ``(n,)`` the sets' ids (their order is the index space of the result).
    test_fraction:
        Share held out, in (0, 1); rounded to a whole number of sets, at least one on each side.
    seed:
        Seed of the permutation.

    Returns
    -------
    (train_idx, test_idx)
        Sorted, disjoint ``int64`` positions into ``set_ids`` that together cover all of them.
    """
    ids = np.asarray(set_ids)
    if ids.ndim != 1:
        raise LookbookError(f"set_ids: expected a 1-D sequence of ids, got shape {ids.shape}")
    if ids.size < 2:
        raise LookbookError(f"set_ids: expected at least 2 sets to split, got {ids.size}")
    if np.unique(ids).size != ids.size:
        raise LookbookError("set_ids: expected distinct ids, got repeats")
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, int | float)
        or not 0 < test_fraction < 1
    ):
        raise LookbookError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(_check_seed(seed))
    n_test = int(np.clip(round(ids.size * test_fraction), 1, ids.size - 1))
    perm = rng.permutation(ids.size)
    return np.sort(perm[n_test:]).astype(np.int64), np.sort(perm[:n_test]).astype(np.int64)


def fitb_questions(
    sets: Sequence[npt.ArrayLike], slots: npt.ArrayLike, n_choices: int = 4, seed: int = 0
) -> FitbQuestions:
    """One fill-in-the-blank question per set: blank a random item, offer it among same-slot decoys.

    For each set a random position is blanked; the ``n_choices - 1`` wrong answers are distinct
    random items of the blank's slot that are not in the set, and the right answer's column is
    shuffled. Only positions whose slot has enough such items can be blanked; a set with none is
    skipped (and counted in a warning), so ``set_index`` says which set each question came from.

    Parameters
    ----------
    sets:
        The held-out sets, each a 1-D array of item rows (at least 2, each once).
    slots:
        ``(n_items,)`` slot of every item row.
    n_choices:
        Candidates per question (Polyvore uses 4).
    seed:
        Seed of the blanks, the wrong answers and the shuffling.
    """
    if isinstance(n_choices, bool) or not isinstance(n_choices, int | np.integer) or n_choices < 2:
        raise LookbookError(f"n_choices: expected an int >= 2, got {n_choices!r}")
    rng = np.random.default_rng(_check_seed(seed))
    pools = _SlotPools(_slot_codes(slots))
    flat, offsets = _flatten_sets(sets, pools.n_items)
    lengths = np.diff(offsets)
    short = lengths < 2
    eligible = pools.available(flat, offsets) >= n_choices - 1
    eligible &= ~np.repeat(short, lengths)
    blank, has = _pick_positions(rng, offsets, eligible)
    _warn_skipped("fitb_questions", has, short, lengths.size)
    kept = np.flatnonzero(has)
    blank = blank[kept]

    answer = flat[blank]
    keep_member = np.repeat(has, lengths)
    keep_member[blank] = False
    context = flat[keep_member]
    context_offsets = np.r_[0, np.cumsum(lengths[kept] - 1)].astype(np.int64)

    kept_flat = flat[np.repeat(has, lengths)]
    kept_offsets = np.r_[0, np.cumsum(lengths[kept])].astype(np.int64)
    wrong = pools.distinct_outside(rng, pools.codes[answer], kept_flat, kept_offsets, n_choices - 1)
    choices = np.concatenate([answer[:, None], wrong], axis=1)
    order = np.argsort(rng.random(choices.shape), axis=1)
    candidates = np.take_along_axis(choices, order, axis=1)
    log.debug("fitb_questions: %d questions from %d sets, seed %d", kept.size, lengths.size, seed)
    return FitbQuestions(
        question_rows=context,
        question_offsets=context_offsets,
        candidates=candidates,
        answer_index=np.argmax(order == 0, axis=1).astype(np.int64),
        blank_position=(blank - offsets[kept]).astype(np.int64),
        set_index=kept.astype(np.int64),
    )


def swapped_sets(sets: Sequence[npt.ArrayLike], slots: npt.ArrayLike, seed: int = 0) -> tuple[list[I64], I64]:
    """Real sets and, for each, a copy with one item swapped for another of its slot (for AUC).

    The swapped-in item is a random item of the same slot that is not in the set, so the copy has
    the same shape as a real outfit and only its style can give it away. Sets where no position has
    such an item (or with fewer than 2 items) are left out entirely, keeping the classes balanced.

    Returns
    -------
    (sets, labels)
        ``2 * m`` sets, each real set (label 1) followed by its swapped copy (label 0).
    """
    rng = np.random.default_rng(_check_seed(seed))
    pools = _SlotPools(_slot_codes(slots))
    flat, offsets = _flatten_sets(sets, pools.n_items)
    lengths = np.diff(offsets)
    short = lengths < 2
    eligible = (pools.available(flat, offsets) >= 1) & ~np.repeat(short, lengths)
    swap, has = _pick_positions(rng, offsets, eligible)
    _warn_skipped("swapped_sets", has, short, lengths.size)
    kept = np.flatnonzero(has)
    swap = swap[kept]
    kept_flat = flat[np.repeat(has, lengths)]
    kept_offsets = np.r_[0, np.cumsum(lengths[kept])].astype(np.int64)
    new_item = pools.distinct_outside(rng, pools.codes[flat[swap]], kept_flat, kept_offsets, 1)[:, 0]
    fake_flat = flat.copy()
    fake_flat[swap] = new_item
    out: list[I64] = []
    for s in kept:
        out.append(flat[offsets[s] : offsets[s + 1]].copy())
        out.append(fake_flat[offsets[s] : offsets[s + 1]].copy())
    labels = np.tile(np.array([1, 0], dtype=np.int64), kept.size)
    return out, labels


def _warn_skipped(owner: str, has: npt.NDArray[np.bool_], short: npt.NDArray[np.bool_], n: int) -> None:
    skipped = int((~has).sum())
    if skipped:
        log.warning(
            "%s: skipped %d of %d sets (%d with fewer than 2 items, the rest with no slot that has "
            "enough items outside the set)",
            owner,
            skipped,
            n,
            int(short.sum()),
        )


def co_set_items(sets: Sequence[npt.ArrayLike], anchors: npt.ArrayLike, n_items: int) -> list[I64]:
    """For each anchor, the sorted item rows that share at least one set with it (itself excluded).

    This is "truly compatible" for a real data set, where no oracle exists: the items people
    actually put with the anchor (an outfit, a room, a basket).
    """
    flat, offsets = _flatten_sets(sets, n_items)
    anchor = np.asarray(anchors)
    if anchor.ndim != 1 or (anchor.size and not np.issubdtype(anchor.dtype, np.integer)):
        raise LookbookError(f"anchors: expected a 1-D array of int item rows, got shape {anchor.shape}")
    anchor = anchor.astype(np.int64)
    if anchor.size and (anchor.min() < 0 or anchor.max() >= n_items):
        raise LookbookError(
            f"anchors: item rows must be in [0, {n_items}), got {anchor.min()}..{anchor.max()}"
        )
    lengths = np.diff(offsets)
    set_of = np.repeat(np.arange(lengths.size), lengths)
    unique_anchor, position = np.unique(anchor, return_inverse=True)
    member = np.isin(flat, unique_anchor)
    # (anchor, set) pairs, then every member of each such set.
    pair_anchor = np.searchsorted(unique_anchor, flat[member])
    pair_set = set_of[member]
    size = lengths[pair_set]
    owner = np.repeat(pair_anchor, size)
    within = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    item = flat[np.repeat(offsets[pair_set], size) + within]
    keys = np.unique(owner * n_items + item)
    owner, item = keys // n_items, keys % n_items
    keep = item != unique_anchor[owner]
    owner, item = owner[keep], item[keep]
    bounds = np.searchsorted(owner, np.arange(unique_anchor.size + 1))
    per_unique = [item[bounds[i] : bounds[i + 1]] for i in range(unique_anchor.size)]
    return [per_unique[p].copy() for p in position.ravel()]


# --------------------------------------------------------------------------------------------------
# Questions a data set ships with (Polyvore's extras)
# --------------------------------------------------------------------------------------------------


def _list_column(table: Any, name: str, item_ids: IdMap) -> tuple[I64, I64]:
    """A list-of-item-id column as flat rows plus offsets (unknown ids raise ``NotFound``)."""
    import pyarrow.compute as pc

    if name not in table.column_names:
        raise LookbookError(f"table {name}: column missing (got {table.column_names})")
    column = table.column(name)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    return item_ids.lookup(values.astype(str)), np.r_[0, np.cumsum(lengths)].astype(np.int64)


def fitb_from_table(table: Any, item_ids: IdMap) -> FitbQuestions:
    """Questions from a table with ``question``, ``answers``, ``answer_index`` (and optionally
    ``blank_position``) columns of item ids, such as Polyvore's ``World.extras["fitb"]``.

    Use ``answer_index`` rather than comparing ids: in a few Polyvore questions the right item is
    also listed as a distractor.
    """
    question, q_offsets = _list_column(table, "question", item_ids)
    answers, a_offsets = _list_column(table, "answers", item_ids)
    n = table.num_rows
    widths = np.diff(a_offsets)
    if n and (widths != widths[0]).any():
        raise LookbookError(
            f"table answers: expected the same number of answers per question, got {set(widths.tolist())}"
        )
    blank = (
        np.asarray(table.column("blank_position").to_numpy(zero_copy_only=False), dtype=np.int64)
        if "blank_position" in table.column_names
        else np.full(n, -1, dtype=np.int64)
    )
    if "answer_index" not in table.column_names:
        raise LookbookError(f"table answer_index: column missing (got {table.column_names})")
    return FitbQuestions(
        question_rows=question,
        question_offsets=q_offsets,
        candidates=answers.reshape(n, -1) if n else np.zeros((0, 2), dtype=np.int64),
        answer_index=np.asarray(table.column("answer_index").to_numpy(zero_copy_only=False), dtype=np.int64),
        blank_position=blank,
        set_index=np.full(n, -1, dtype=np.int64),
    )


def compatibility_from_table(table: Any, item_ids: IdMap) -> tuple[list[I64], I64]:
    """``(sets, labels)`` from a table with ``item_ids`` and ``label`` columns, such as Polyvore's
    ``World.extras["compatibility"]``."""
    flat, offsets = _list_column(table, "item_ids", item_ids)
    if "label" not in table.column_names:
        raise LookbookError(f"table label: column missing (got {table.column_names})")
    labels = np.asarray(table.column("label").to_numpy(zero_copy_only=False), dtype=np.int64)
    return [flat[offsets[i] : offsets[i + 1]] for i in range(offsets.size - 1)], labels
