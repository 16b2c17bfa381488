"""Why each item is on the page, in words a shopper reads.

An explanation is the provenance of the candidate that survived deduplication: the relation of
the anchor that found it and the anchor's label ("similar to the jacket you saved", "goes with
your jeans", "popular in your size"). A request has a handful of anchors, so the sentences are
written once per anchor and each item's explanation is an array lookup by its anchor index,
with no per-item string formatting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from lookbook.ranking.candidates import Anchor, Candidates, Relation

__all__ = ["FALLBACK_REASON", "TEMPLATES", "anchor_reasons", "explain"]

#: Sentence per relation; ``{label}`` is the anchor's label.
TEMPLATES: Mapping[Relation, str] = MappingProxyType(
    {
        Relation.SIMILAR: "similar to {label}",
        Relation.GOES_WITH: "goes with {label}",
        Relation.FOR_YOU: "picked for your taste",
        Relation.POPULAR_IN_SIZE: "popular in your size",
        Relation.TRENDING: "trending now",
        Relation.NEW_IN: "new in",
    }
)
#: The explanation of a candidate without an anchor (index -1).
FALLBACK_REASON = "recommended for you"


def anchor_reasons(anchors: Sequence[Anchor]) -> npt.NDArray[np.object_]:
    """One sentence per anchor, plus ``FALLBACK_REASON`` last, so that index -1 (no anchor)
    reads the fallback."""
    sentences = [TEMPLATES[a.relation].format(label=a.label) for a in anchors]  # a handful per request
    return np.asarray([*sentences, FALLBACK_REASON], dtype=object)


def explain(c: Candidates, index: npt.ArrayLike | None = None) -> npt.NDArray[np.object_]:
    """The explanation of each candidate (or of ``c.take(index)``), as an array of strings."""
    anchor = c.anchor if index is None else c.anchor[np.asarray(index)]
    return anchor_reasons(c.anchors)[anchor]
