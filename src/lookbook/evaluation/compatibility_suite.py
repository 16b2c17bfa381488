"""``lookbook evaluate compatibility``: every compatibility model side by side, on one set of questions.

The suite prepares one data set (a demo world with its oracle, the H&M co-purchase baskets, or the
Polyvore slice with its own questions), holds out a fifth of the sets, trains each model variant
on the rest, and scores all of them on the same fill-in-the-blank questions, swapped-item sets and
colour-dominance anchors:

* ``random``, ``same_colour``: floors; ``content_cosine``: the content vectors with no training;
* ``triplet_plain``: the triplet model without type-awareness;
* ``full``: type-aware, semi-hard mining, auxiliary heads, popularity-balanced pairs;
* ``full_minus_slot`` / ``_colour`` / ``_material``: one auxiliary head switched off;
* ``full_no_balance``: popularity balance off (its effect is also reported as the popularity of
  the items each model recommends).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.datasets.world import World
from lookbook.evaluation.compatibility import (
    CosineScorer,
    RandomScorer,
    SameColourScorer,
    compare,
    top_k_partners,
)
from lookbook.evaluation.protocols import (
    FitbQuestions,
    co_set_items,
    compatibility_from_table,
    fitb_from_table,
    fitb_questions,
    split_sets,
    swapped_sets,
)
from lookbook.models.compatibility import AttributeVocab, CompatibilityConfig, CompatibilityModel
from lookbook.models.compatibility_labels import catalog_sets as _sets
from lookbook.models.compatibility_labels import item_labels as _labels
from lookbook.schema import IdMap

log = logging.getLogger(__name__)

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

ALL_VARIANTS = (
    "random",
    "same_colour",
    "content_cosine",
    "triplet_plain",
    "full",
    "full_minus_slot",
    "full_minus_colour",
    "full_minus_material",
    "full_no_balance",
    "full_no_pairs",
)
_ABLATIONS: dict[str, dict[str, Any]] = {
    "triplet_plain": {"type_aware": False, "attribute_pairs": False},
    "full": {},
    "full_minus_slot": {"aux_slot": 0.0},
    "full_minus_colour": {"aux_colour": 0.0},
    "full_minus_material": {"aux_material": 0.0},
    "full_no_balance": {"popularity_balance": False},
    "full_no_pairs": {"attribute_pairs": False},
}


@dataclass(frozen=True)
class SuiteConfig:
    """How the suite splits and asks.

    ``rounds`` of questions are asked of every held-out set (each round blanks a random position
    with fresh decoys, and swaps a random item for the AUC pairs): 200 held-out outfits give 600
    FITB questions instead of 200, which halves the noise of the figure (one round's standard
    error is about 0.03). ``n_anchors`` items anchor the colour-dominance measure.
    """

    test_fraction: float = 0.2
    rounds: int = 3
    n_anchors: int = 300
    k: int = 10
    seed: int = 0
    model: CompatibilityConfig = field(default_factory=CompatibilityConfig)
    variants: tuple[str, ...] = ALL_VARIANTS


@dataclass
class CompatibilityData:
    """One data set, ready for the suite: content vectors, labels, training sets and questions."""

    name: str
    item_ids: IdMap
    features: F32
    slots: I64
    vocab: AttributeVocab
    colours: I64
    materials: I64
    train_sets: list[I64]
    questions: FitbQuestions
    auc_sets: list[I64]
    auc_labels: I64
    anchors: I64
    truly_compatible: list[I64]
    style_labels: npt.NDArray[np.str_] | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def _anchors(test_sets: list[I64], colours: I64, n: int, seed: int) -> I64:
    pool = np.unique(np.concatenate(test_sets)) if test_sets else np.zeros(0, np.int64)
    pool = pool[colours[pool] >= 0] if pool.size and (colours >= 0).any() else pool
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool, size=min(n, pool.size), replace=False)) if pool.size else pool


def _ask(test: list[I64], slots: I64, cfg: SuiteConfig) -> tuple[FitbQuestions, list[I64], I64]:
    """``cfg.rounds`` rounds of FITB questions and swapped-set pairs over the held-out sets."""
    rounds = [fitb_questions(test, slots, n_choices=4, seed=cfg.seed + r) for r in range(cfg.rounds)]
    swaps = [swapped_sets(test, slots, seed=cfg.seed + r) for r in range(cfg.rounds)]
    shift = np.cumsum([0] + [q.question_rows.size for q in rounds[:-1]])
    questions = FitbQuestions(
        question_rows=np.concatenate([q.question_rows for q in rounds]),
        question_offsets=np.concatenate(
            [[0]] + [q.question_offsets[1:] + s for q, s in zip(rounds, shift, strict=True)]
        ).astype(np.int64),
        candidates=np.concatenate([q.candidates for q in rounds]),
        answer_index=np.concatenate([q.answer_index for q in rounds]),
        blank_position=np.concatenate([q.blank_position for q in rounds]),
        set_index=np.concatenate([q.set_index for q in rounds]),
    )
    auc_sets = [s for sets, _ in swaps for s in sets]
    auc_labels = np.concatenate([labels for _, labels in swaps]).astype(np.int64)
    return questions, auc_sets, auc_labels


def prepare_world(world: World, features: F32, *, oracle: Any | None, cfg: SuiteConfig) -> CompatibilityData:
    """A demo world (truth from its oracle) or any world whose sets are the positives (H&M baskets)."""
    ids = IdMap(world.items.column("item_id").to_pylist(), name="item_id")
    slots, colours, materials, vocab = _labels(world.items)
    set_ids, sets = _sets(world, ids)
    train_idx, test_idx = split_sets(set_ids, cfg.test_fraction, cfg.seed)
    train = [sets[i] for i in train_idx]
    test = [s for s in (sets[i] for i in test_idx) if s.size >= 2]
    # Decoys come from the items that take part in sets at all: in a real catalog most items never
    # sell (10,300 of H&M's 11,800 here, and only sold ones have photos), and a decoy drawn from
    # those would be told apart by "has a photo", not by style.
    in_sets = np.zeros(len(ids), dtype=bool)
    in_sets[np.concatenate(sets)] = True
    ask_slots = slots if oracle is not None else np.where(in_sets, slots, -1)
    questions, auc_sets, auc_labels = _ask(test, ask_slots, cfg)
    anchors = _anchors(test, colours, cfg.n_anchors, cfg.seed)
    style = None
    if oracle is not None:
        truly = [ids.lookup(oracle.compatible_items(a, k=cfg.k)) for a in ids.to_ids(anchors)]
        style = np.asarray(oracle.style_names)[oracle.item_style(ids.ids)]
    else:
        truly = co_set_items(sets, anchors, len(ids))
    return CompatibilityData(
        name=str(world.meta.get("source", "world")) + f":{world.meta.get('domain', '')}",
        item_ids=ids,
        features=features,
        slots=slots,
        vocab=vocab,
        colours=colours,
        materials=materials,
        train_sets=train,
        questions=questions,
        auc_sets=auc_sets,
        auc_labels=auc_labels,
        anchors=anchors,
        truly_compatible=truly,
        style_labels=style,
        notes={
            "train_sets": len(train),
            "test_sets": len(test),
            "fitb_questions": len(questions),
            "truth": "oracle" if oracle is not None else "co-occurrence in sets",
        },
    )


def prepare_polyvore(world: World, features: F32, *, cfg: SuiteConfig) -> CompatibilityData:
    """Polyvore Outfits: its own FITB questions and compatibility rows, restricted to held-out outfits.

    The slice is the nondisjoint validation split: its questions are built from the same outfits
    we train on, so a fifth of the outfits is held out and only their questions (and the positive
    compatibility rows made of them; all negative rows) are scored.
    """
    ids = IdMap(world.items.column("item_id").to_pylist(), name="item_id")
    slots, colours, materials, vocab = _labels(world.items)
    set_ids, sets = _sets(world, ids)
    train_idx, test_idx = split_sets(set_ids, cfg.test_fraction, cfg.seed)
    held = {set_ids[i] for i in test_idx}
    fitb = world.extras["fitb"]
    keep = np.array([s in held for s in fitb.column("set_id").to_pylist()])
    questions = fitb_from_table(fitb.filter(pa.array(keep)), ids)
    rows, labels = compatibility_from_table(world.extras["compatibility"], ids)
    held_items = np.zeros(len(ids), bool)
    for i in test_idx:
        held_items[sets[i]] = True
    keep_rows = [lab == 0 or bool(held_items[r].all()) for r, lab in zip(rows, labels, strict=True)]
    auc_sets = [r for r, k in zip(rows, keep_rows, strict=True) if k]
    auc_labels = labels[np.asarray(keep_rows)]
    test = [sets[i] for i in test_idx]
    anchors = _anchors(test, colours, cfg.n_anchors, cfg.seed)
    return CompatibilityData(
        name="polyvore",
        item_ids=ids,
        features=features,
        slots=slots,
        vocab=vocab,
        colours=colours,
        materials=materials,
        train_sets=[sets[i] for i in train_idx],
        questions=questions,
        auc_sets=auc_sets,
        auc_labels=auc_labels,
        anchors=anchors,
        truly_compatible=co_set_items(sets, anchors, len(ids)),
        notes={
            "train_sets": len(train_idx),
            "test_sets": len(test_idx),
            "fitb_questions": len(questions),
            "compatibility_rows": len(auc_sets),
            "truth": "Polyvore's questions and outfits",
        },
    )


def train_variant(
    data: CompatibilityData, name: str, base: CompatibilityConfig, *, show_progress: bool
) -> CompatibilityModel:
    """Train one model variant of ``_ABLATIONS`` on the data's training sets."""
    config = dataclasses.replace(base, **_ABLATIONS[name])
    return CompatibilityModel(config).fit(
        data.train_sets,
        data.features,
        data.slots,
        data.vocab,
        colours=data.colours,
        materials=data.materials,
        show_progress=show_progress,
    )


def _popularity_of_recommendations(data: CompatibilityData, scorer: Any, k: int) -> float:
    """Mean number of training sets the items in each anchor's top-k partners appear in, relative to
    the catalog mean (1.0 = as popular as an average item)."""
    freq = np.bincount(np.concatenate(data.train_sets), minlength=len(data.item_ids)).astype(np.float64)
    top = top_k_partners(scorer, data.anchors, data.slots, k=k)
    picked = top[top >= 0]
    return float(freq[picked].mean() / max(freq.mean(), 1e-9)) if picked.size else float("nan")


def run_suite(
    data: CompatibilityData,
    cfg: SuiteConfig = SuiteConfig(),
    *,
    show_progress: bool = True,
    plot: Path | None = None,
) -> tuple[dict[str, Any], dict[str, CompatibilityModel]]:
    """Train every requested variant, compare all, and return (result JSON, trained models)."""
    unknown = sorted(set(cfg.variants) - set(ALL_VARIANTS))
    if unknown:
        from lookbook.errors import LookbookError

        raise LookbookError(f"variants: unknown {unknown}; expected some of {list(ALL_VARIANTS)}")
    scorers: dict[str, Any] = {}
    models: dict[str, CompatibilityModel] = {}
    seconds: dict[str, float] = {}
    for name in cfg.variants:
        started = time.perf_counter()
        if name == "random":
            scorers[name] = RandomScorer(cfg.seed)
        elif name == "same_colour":
            scorers[name] = SameColourScorer(data.colours, cfg.seed)
        elif name == "content_cosine":
            scorers[name] = CosineScorer(data.features)
        else:
            models[name] = train_variant(data, name, cfg.model, show_progress=show_progress)
            scorers[name] = models[name].scorer(data.features, data.slots)
        seconds[name] = round(time.perf_counter() - started, 2)
    result = compare(
        scorers,
        data.questions,
        data.auc_sets,
        data.auc_labels,
        colours=data.colours if (data.colours >= 0).any() else None,
        slots=data.slots,
        anchors=data.anchors,
        truly_compatible=data.truly_compatible,
        k=cfg.k,
        show_progress=show_progress,
    )
    for name, scorer in scorers.items():
        result["models"][name]["train_s"] = seconds[name]
        result["models"][name]["popularity"] = round(_popularity_of_recommendations(data, scorer, cfg.k), 3)
    result = {"dataset": data.name, **result, "protocol": data.notes}
    if plot is not None and "full" in models:
        from lookbook.evaluation.plots import style_space_plot

        vectors = models["full"].embed(data.features)
        slot_names = np.asarray(data.vocab.slot)[data.slots]
        if data.style_labels is not None:
            labels, label_name = data.style_labels, "hidden style"
        else:
            colour_names = np.asarray((*data.vocab.colour, "unknown"))
            labels, label_name = (
                colour_names[np.where(data.colours >= 0, data.colours, len(data.vocab.colour))],
                "colour",
            )
        style_space_plot(
            vectors, slot_names, labels, plot, f"Lookbook style space: {data.name}", style_name=label_name
        )
        result["plot"] = str(plot)
    return result, models
