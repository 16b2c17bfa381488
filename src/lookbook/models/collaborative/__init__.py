"""Collaborative and hybrid preference models: user and item vectors learned from events."""

from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.data import EventWeights, InteractionData, event_weights

__all__ = ["EventWeights", "InteractionData", "Recommender", "event_weights"]
