"""Trainable models: compatibility (triplet, type-aware) and, later, collaborative preference."""
