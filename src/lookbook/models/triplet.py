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
            return torch.ones(slot_a.shape[0], self.raw.shape[1], device=self.raw.device)
        return nn.functional.softplus(self.raw[self.pair_index[slot_a, slot_b]])


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
