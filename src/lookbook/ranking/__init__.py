"""Ranking: the stages that turn a request's candidates into an ordered, explained page.

Stages are plain functions over arrays (DESIGN.md §6), composed per touchpoint by ``rank``:
merge/dedupe (``dedupe_min_distance``) -> hard constraints (``apply_constraints``) -> score
(``blend_scores``, then a learned ``Reranker`` when present) -> diversity (``diversify``) -> cut to
``k`` -> explanations (``explain``). ``CatalogArrays`` and ``UserContext`` hold what the stages
read about items and the user, coded as integers.

The reranker's training data from a world folder (which refits collaborative models and reads
files) lives in ``lookbook.pipeline.ranker_data``, above the serving layers, and the latency
benchmark ``lookbook.ranking.bench`` is left out of this namespace, so that a serving process
importing the stages pays for neither.
"""

from lookbook.ranking.candidates import Anchor, Candidates, Relation, concat, from_rows, from_search
from lookbook.ranking.catalog import MISSING_TIME, SLOT_VOCAB, CatalogArrays, SizeKeys
from lookbook.ranking.constraints import Constraints, apply_constraints, constraint_mask, size_available
from lookbook.ranking.context import UserContext, UserProfiles, user_profiles
from lookbook.ranking.diversity import DiversityConfig, diversify
from lookbook.ranking.explain import FALLBACK_REASON, TEMPLATES, anchor_reasons, explain
from lookbook.ranking.features import FEATURES, candidate_features, feature_matrix, item_popularity
from lookbook.ranking.logs import ImpressionLog, RankerTrainingData, impression_labels
from lookbook.ranking.pipeline import RankConfig, Ranked, rank
from lookbook.ranking.reranker import Debias, NDCGScores, RankerConfig, RankerReport, Reranker, fit_ranker
from lookbook.ranking.stages import blend_scores, dedupe_min_distance

__all__ = [
    "FALLBACK_REASON",
    "FEATURES",
    "MISSING_TIME",
    "SLOT_VOCAB",
    "TEMPLATES",
    "Anchor",
    "Candidates",
    "CatalogArrays",
    "Constraints",
    "Debias",
    "DiversityConfig",
    "ImpressionLog",
    "NDCGScores",
    "RankConfig",
    "Ranked",
    "RankerConfig",
    "RankerReport",
    "RankerTrainingData",
    "Relation",
    "Reranker",
    "SizeKeys",
    "UserContext",
    "UserProfiles",
    "anchor_reasons",
    "apply_constraints",
    "blend_scores",
    "candidate_features",
    "concat",
    "constraint_mask",
    "dedupe_min_distance",
    "diversify",
    "explain",
    "feature_matrix",
    "fit_ranker",
    "from_rows",
    "from_search",
    "impression_labels",
    "item_popularity",
    "rank",
    "size_available",
    "user_profiles",
]
