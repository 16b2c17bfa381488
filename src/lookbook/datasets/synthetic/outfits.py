"""Sampling outfits and room scenes from the compatibility truth.

A stylist picks a style, then fills the slots of a template one by one, each time choosing among
a sample of candidates of that slot with probability rising steeply with the candidate's true
compatibility with what is already chosen. The sets are therefore good but not perfect, as real
stylists' and customers' sets are.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from lookbook.datasets.synthetic.taste import ItemTruth, SlotPairWeights, pair_compatibility
from lookbook.datasets.synthetic.vocab import DomainVocab
from lookbook.schema import Domain, Slot

# (required slots, optional slots with their probabilities)
_FASHION_TEMPLATES = (
    (
        0.7,
        (Slot.TOP, Slot.BOTTOM, Slot.SHOES),
        ((Slot.OUTERWEAR, 0.4), (Slot.BAG, 0.5), (Slot.ACCESSORY, 0.3)),
    ),
    (0.3, (Slot.DRESS, Slot.SHOES), ((Slot.OUTERWEAR, 0.3), (Slot.BAG, 0.6), (Slot.ACCESSORY, 0.4))),
)
_HOME_TEMPLATES = (
    (
        1.0,
        (Slot.SOFA, Slot.COFFEE_TABLE, Slot.RUG),
        ((Slot.ARMCHAIR, 0.5), (Slot.LAMP, 0.7), (Slot.SHELF, 0.4), (Slot.SIDE_TABLE, 0.5)),
    ),
)
CANDIDATES_PER_STEP = 300
TEMPERATURE = 0.15


def sample_sets(
    vocab: DomainVocab,
    items: ItemTruth,
    harmony: npt.NDArray[np.float32],
    slot_matrix: npt.NDArray[np.float32],
    n_sets: int,
    rng: np.random.Generator,
    *,
    pair_weights: SlotPairWeights | None = None,
    show_progress: bool = True,
) -> tuple[list[list[int]], npt.NDArray[np.int32]]:
    """``n_sets`` sets of item rows and the style each was built around.

    A Python loop over sets (a few thousand) with numpy over each step's candidates.
    """
    templates = _FASHION_TEMPLATES if vocab.domain is Domain.FASHION else _HOME_TEMPLATES
    weights = np.array([t[0] for t in templates])
    slot_index = {s: k for k, s in enumerate(vocab.slots)}
    by_slot = {k: np.flatnonzero(items.slot == k) for k in range(len(vocab.slots))}
    by_slot_style = {
        (k, j): np.flatnonzero((items.slot == k) & (items.dominant_style == j))
        for k in range(len(vocab.slots))
        for j in range(items.style.shape[1])
    }
    sets: list[list[int]] = []
    set_styles: list[int] = []
    styles = rng.integers(0, items.style.shape[1], n_sets).astype(np.int32)
    for n in tqdm(range(n_sets), desc="styling sets", disable=not show_progress, unit="set"):
        _, required, optional = templates[rng.choice(len(templates), p=weights / weights.sum())]
        slots = [slot_index[s] for s in required] + [slot_index[s] for s, p in optional if rng.random() < p]
        chosen: list[int] = []
        for k in slots:
            pool = by_slot_style[(k, int(styles[n]))] if not chosen else by_slot[k]
            if pool.size == 0:
                pool = by_slot[k]
            if pool.size == 0:
                continue
            cand = (
                pool
                if pool.size <= CANDIDATES_PER_STEP
                else rng.choice(pool, CANDIDATES_PER_STEP, replace=False)
            )
            if chosen:
                score = np.zeros(cand.size, dtype=np.float32)
                for c in chosen:
                    score += pair_compatibility(
                        items, harmony, slot_matrix, cand, np.full(cand.size, c), weights=pair_weights
                    )
                score /= len(chosen)
                p = np.exp((score - score.max()) / TEMPERATURE)
                pick = int(rng.choice(cand, p=p / p.sum()))
            else:
                pick = int(cand[rng.integers(0, cand.size)])
            chosen.append(pick)
        if len(chosen) >= 2:
            sets.append(chosen)
            set_styles.append(int(styles[n]))
    return sets, np.asarray(set_styles, dtype=np.int32)
