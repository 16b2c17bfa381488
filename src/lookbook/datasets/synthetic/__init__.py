"""Synthetic demo worlds: shops generated from a hidden taste model, with ground truth."""

from lookbook.datasets.synthetic.config import WorldConfig
from lookbook.datasets.synthetic.generate import GenerationReport, make_synthetic_world

__all__ = ["GenerationReport", "WorldConfig", "make_synthetic_world"]
