"""Lookbook: a multimodal recommendation engine for fashion and home e-commerce."""

__version__ = "0.1.0"
