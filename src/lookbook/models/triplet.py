"""Triplet training parts: a type-conditioned distance, a triplet loss, a same-slot negative miner.

They snap together the way metric-learning libraries' parts do: the miner returns plain index
arrays, the loss takes distances, and the distance knows about slot pairs. Each is small enough to
test against a loop written from the formula (``tests/models/test_triplet.py``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

MiningMode = Literal["semi-hard", "batch-hard", "none"]


class SlotPairMasks(nn.Module):
    """Type-aware conditioning: one non-negative mask over the embedding per unordered slot pair.

    Compatibility of a sofa with a rug and of a sofa with a table weigh different things (case study
    001); following type-aware embeddings (Vasileva et al., ECCV 2018), each pair of slots ``(u, v)``
    gets a learned mask ``m_uv``, and two items are compared in the masked subspace. Masks start at
    1 (plain Euclidean) and are kept positive by a softplus. With ``enabled=False`` every pair uses
    the all-ones mask: the "triplet without type-awareness" ablation.
    """

    def __init__(self, n_slots: int, dim: int, *, enabled: bool = True) -> None:
        super().__init__()
        self.n_slots = n_slots
        self.enabled = enabled
        # softplus(0.5413) == 1.0: start as the identity mask
        self.raw = nn.Parameter(torch.full((n_slots * (n_slots + 1) // 2, dim), 0.5413))
        u, v = np.triu_indices(n_slots)
        index = np.zeros((n_slots, n_slots), dtype=np.int64)
        index[u, v] = np.arange(u.size)
        index[v, u] = np.arange(u.size)
        self.register_buffer("pair_index", torch.from_numpy(index), persistent=False)

    def forward(self, slot_a: torch.Tensor, slot_b: torch.Tensor) -> torch.Tensor:
        """Masks for each (slot_a, slot_b) pair: (n, dim)."""
        if not self.enabled:
            shape = torch.broadcast_shapes(slot_a.shape, slot_b.shape)
            return torch.ones(*shape, self.raw.shape[1], device=self.raw.device)
        return nn.functional.softplus(self.raw[self.pair_index[slot_a, slot_b]])


class AttributePairTerm(nn.Module):
    """A learned interaction between two items' attribute classes (colour, material), per slot pair.

    A metric space cannot say "red goes with black, green goes with black, red with green clashes":
    distances obey the triangle inequality, so two items both close to a third are close to each
    other. Colour harmony is exactly that kind of relation, and a model without it falls back on
    "same colour goes together" (the colour over-reliance case study 004 admits to). This term adds
    ``w_uv * p_a^T H p_b`` to the compatibility: ``p`` are the attribute head's class probabilities,
    ``H`` a learned symmetric class-by-class matrix (starting at 0, i.e. no effect) and ``w_uv`` a
    learned weight per unordered slot pair (a top-bottom match weighs colour more than bag-shoes).

    The term is bilinear in ``p``, so retrieval stays an inner product: the query side carries
    ``w_uv * H p_a`` and the item side ``p_b`` (``CompatibilityModel.query_vectors``).
    """

    def __init__(self, n_slots: int, n_classes: int, *, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self.raw = nn.Parameter(torch.zeros(n_classes, n_classes))
        self.weight = nn.Parameter(torch.ones(n_slots * (n_slots + 1) // 2))
        u, v = np.triu_indices(n_slots)
        index = np.zeros((n_slots, n_slots), dtype=np.int64)
        index[u, v] = np.arange(u.size)
        index[v, u] = np.arange(u.size)
        self.register_buffer("pair_index", torch.from_numpy(index), persistent=False)

    def harmony(self) -> torch.Tensor:
        """The symmetric (C, C) class interaction matrix."""
        return (self.raw + self.raw.T) / 2

    def query_side(self, p_a: torch.Tensor, slot_a: torch.Tensor, slot_b: torch.Tensor) -> torch.Tensor:
        """``w_uv * H p_a``: what an anchor contributes; a dot product with ``p_b`` completes the term."""
        if not self.enabled:
            return torch.zeros_like(p_a)
        w = self.weight[self.pair_index[slot_a, slot_b]]
        return w[..., None] * (p_a @ self.harmony())

    def forward(
        self, p_a: torch.Tensor, p_b: torch.Tensor, slot_a: torch.Tensor, slot_b: torch.Tensor
    ) -> torch.Tensor:
        """The term for each pair; shapes broadcast like the distances they are added to."""
        if not self.enabled:
            return torch.zeros(torch.broadcast_shapes(p_a.shape, p_b.shape)[:-1])
        return (self.query_side(p_a, slot_a, slot_b) * p_b).sum(dim=-1)


def masked_sq_distance(ea: torch.Tensor, eb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distance between the L2-normalised masked embeddings, in [0, 4].

    Normalising after masking keeps every slot pair's distances on one scale, so one margin fits all.
    """
    za = nn.functional.normalize(ea * mask, dim=-1)
    zb = nn.functional.normalize(eb * mask, dim=-1)
    return ((za - zb) ** 2).sum(dim=-1)


class TripletLoss(nn.Module):
    """``max(0, d(a, p) - d(a, n) + margin)`` on squared distances (case study 001), averaged over
    the triplets that still violate the margin (an all-easy batch gives a zero that keeps the graph).

    The default margin 0.2 is a tenth of the distance between orthogonal unit vectors (2.0): wide
    enough to separate, narrow enough that most sampled negatives stay informative for a while.
    """

    def __init__(self, margin: float = 0.2) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, d_ap: torch.Tensor, d_an: torch.Tensor) -> torch.Tensor:
        losses = torch.relu(d_ap - d_an + self.margin)
        active = losses > 0
        if not bool(active.any()):
            return losses.sum() * 0.0
        return losses[active].mean()


class SameSlotHardMiner:
    """Pick one negative per (anchor, positive) among ``R`` sampled same-slot candidates.

    Candidates are items of the positive's slot from other sets (sampled negatives); the miner then
    uses the current model's distances:

    * ``semi-hard``: the closest candidate that is still farther than the positive but within the
      margin (FaceNet's semi-hard negatives); if none, the closest candidate farther than the
      positive; if none, the farthest one (avoids collapsing on false negatives early on);
    * ``batch-hard``: the closest candidate, whatever it is;
    * ``none``: the first candidate (plain random negatives).

    Returns the index (0..R-1) of the chosen candidate per row.
    """

    def __init__(self, mode: MiningMode = "semi-hard", margin: float = 0.2) -> None:
        if mode not in ("semi-hard", "batch-hard", "none"):
            raise ValueError(
                f"SameSlotHardMiner.mode: expected 'semi-hard', 'batch-hard' or 'none', got {mode!r}"
            )
        self.mode = mode
        self.margin = margin

    @torch.no_grad()
    def mine(self, d_ap: torch.Tensor, d_an: torch.Tensor) -> npt.NDArray[np.int64]:
        """``d_ap``: (n,), ``d_an``: (n, R) -> chosen candidate per row (n,)."""
        n, r = d_an.shape
        if self.mode == "none" or r == 1:
            return np.zeros(n, dtype=np.int64)
        if self.mode == "batch-hard":
            return d_an.argmin(dim=1).numpy()
        inf = torch.tensor(float("inf"))
        farther = d_an > d_ap[:, None]
        semi = farther & (d_an < d_ap[:, None] + self.margin)
        pick_semi = torch.where(semi, d_an, inf).argmin(dim=1)
        pick_farther = torch.where(farther, d_an, inf).argmin(dim=1)
        pick_far = d_an.argmax(dim=1)
        chosen = torch.where(
            semi.any(dim=1), pick_semi, torch.where(farther.any(dim=1), pick_farther, pick_far)
        )
        return chosen.numpy()
