"""The triplet parts against their formulas: the masked distance and the slot-pair masks, the loss on
hand-worked triplets, and the same-slot miner against a loop that reads like its docstring."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lookbook.models.triplet import SameSlotHardMiner, SlotPairMasks, TripletLoss, masked_sq_distance


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------ reference loops
def loop_masked_sq_distance(a, b, m):
    """For each row: normalise a*m and b*m to unit length, then sum the squared differences."""
    out = []
    for ai, bi, mi in zip(a.tolist(), b.tolist(), m.tolist(), strict=True):
        za = [x * w for x, w in zip(ai, mi, strict=True)]
        zb = [x * w for x, w in zip(bi, mi, strict=True)]
        na = math.sqrt(sum(x * x for x in za))
        nb = math.sqrt(sum(x * x for x in zb))
        out.append(sum((x / na - y / nb) ** 2 for x, y in zip(za, zb, strict=True)))
    return np.array(out)


def loop_semi_hard(d_ap, d_an, margin):
    """FaceNet's semi-hard choice with the miner's two fallbacks, one row at a time."""
    chosen = []
    for ap, row in zip(d_ap.tolist(), d_an.tolist(), strict=True):
        semi = [(d, j) for j, d in enumerate(row) if ap < d < ap + margin]
        farther = [(d, j) for j, d in enumerate(row) if d > ap]
        if semi:
            chosen.append(min(semi)[1])
        elif farther:
            chosen.append(min(farther)[1])
        else:
            chosen.append(max((d, j) for j, d in enumerate(row))[1])
    return np.array(chosen)


# ------------------------------------------------------------------------------------ masked distance
def test_masked_sq_distance_matches_loop():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(50, 7, generator=g), torch.randn(50, 7, generator=g)
    m = torch.rand(50, 7, generator=g) + 0.05
    got = masked_sq_distance(a, b, m).numpy()
    np.testing.assert_allclose(got, loop_masked_sq_distance(a, b, m), rtol=1e-5, atol=1e-6)


def test_masked_sq_distance_broadcast_over_candidates_matches_loop():
    """The (n, 1, d) anchor against (n, R, d) candidates form used in training."""
    g = torch.Generator().manual_seed(1)
    n, r, d = 6, 5, 4
    a, c = torch.randn(n, d, generator=g), torch.randn(n, r, d, generator=g)
    m = torch.rand(n, d, generator=g) + 0.05
    got = masked_sq_distance(a[:, None, :], c, m[:, None, :]).numpy()
    for j in range(r):
        np.testing.assert_allclose(got[:, j], loop_masked_sq_distance(a, c[:, j], m), rtol=1e-5, atol=1e-6)


def test_masked_sq_distance_is_within_0_and_4():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(200, 3, generator=g)
    m = torch.rand(200, 3, generator=g) + 0.05
    d = masked_sq_distance(
        torch.cat([a, a, a]), torch.cat([a, -a, torch.randn(200, 3, generator=g)]), m.repeat(3, 1)
    )
    assert float(d.min()) >= 0.0 and float(d.max()) <= 4.0 + 1e-6
    np.testing.assert_allclose(d[:200].numpy(), 0.0, atol=1e-6)  # identical vectors
    np.testing.assert_allclose(d[200:400].numpy(), 4.0, atol=1e-5)  # opposite vectors


# ------------------------------------------------------------------------------------ slot-pair masks
def test_slot_pair_masks_start_as_all_ones():
    masks = SlotPairMasks(4, 6)
    u, v = (torch.tensor(x) for x in zip(*itertools.product(range(4), repeat=2), strict=True))
    np.testing.assert_allclose(masks(u, v).detach().numpy(), 1.0, atol=1e-4)


def test_slot_pair_masks_are_symmetric_in_u_and_v():
    masks = SlotPairMasks(4, 6)
    with torch.no_grad():
        masks.raw.copy_(torch.randn(masks.raw.shape, generator=torch.Generator().manual_seed(3)))
    u, v = (torch.tensor(x) for x in zip(*itertools.product(range(4), repeat=2), strict=True))
    torch.testing.assert_close(masks(u, v), masks(v, u))


def test_slot_pair_masks_give_each_unordered_pair_its_own_parameters():
    n_slots = 4
    masks = SlotPairMasks(n_slots, 6)
    rows_used = []
    for u, v in itertools.combinations_with_replacement(range(n_slots), 2):
        masks.zero_grad()
        masks(torch.tensor([u]), torch.tensor([v])).sum().backward()
        touched = torch.nonzero(masks.raw.grad.abs().sum(dim=1)).ravel().tolist()
        assert len(touched) == 1, (u, v, touched)
        rows_used.append(touched[0])
    assert sorted(rows_used) == list(range(n_slots * (n_slots + 1) // 2))


def test_slot_pair_masks_disabled_always_give_ones():
    masks = SlotPairMasks(3, 5, enabled=False)
    with torch.no_grad():
        masks.raw.copy_(torch.randn(masks.raw.shape, generator=torch.Generator().manual_seed(4)))
    out = masks(torch.tensor([0, 1, 2, 2]), torch.tensor([1, 2, 0, 2]))
    assert out.shape == (4, 5)
    assert torch.equal(out, torch.ones(4, 5))


# ------------------------------------------------------------------------------------ triplet loss
@pytest.mark.parametrize(
    ("d_ap", "d_an", "margin", "expected"),
    [
        ([0.6, 0.5], [0.4, 0.6], 0.2, (0.4 + 0.1) / 2),
        ([0.3], [0.3], 0.2, 0.2),  # a positive as far as the negative costs exactly the margin
        ([1.0, 0.0], [0.5, 1.5], 1.0, 1.5),  # second triplet is easy: relu(0 - 1.5 + 1) = 0
    ],
)
def test_triplet_loss_hand_worked_values(d_ap, d_an, margin, expected):
    loss = TripletLoss(margin)(torch.tensor(d_ap), torch.tensor(d_an))
    assert float(loss) == pytest.approx(expected, abs=1e-6)


def test_triplet_loss_averages_only_active_triplets():
    d_ap = torch.tensor([0.5, 0.1, 0.3, 0.0])
    d_an = torch.tensor([0.4, 0.9, 0.2, 2.0])
    # active: 0.5 - 0.4 + 0.2 = 0.3 and 0.3 - 0.2 + 0.2 = 0.3; the other two are easy
    assert float(TripletLoss(0.2)(d_ap, d_an)) == pytest.approx(0.3, abs=1e-6)


def test_triplet_loss_all_easy_batch_is_zero_and_keeps_graph():
    d_ap = torch.tensor([0.1, 0.2], requires_grad=True)
    d_an = torch.tensor([1.0, 1.5], requires_grad=True)
    loss = TripletLoss(0.2)(d_ap, d_an)
    assert float(loss.detach()) == 0.0
    assert loss.requires_grad
    loss.backward()
    assert torch.equal(d_ap.grad, torch.zeros(2)) and torch.equal(d_an.grad, torch.zeros(2))


# ------------------------------------------------------------------------------------ miner
def test_miner_semi_hard_picks_closest_within_margin():
    d_ap = torch.tensor([0.5])
    d_an = torch.tensor([[0.3, 0.9, 0.65, 0.6, 0.8]])  # (0.5, 0.7) holds 0.65 and 0.6
    assert SameSlotHardMiner("semi-hard", 0.2).mine(d_ap, d_an).tolist() == [3]


def test_miner_semi_hard_falls_back_to_closest_farther():
    d_ap = torch.tensor([0.5])
    d_an = torch.tensor([[0.3, 1.0, 0.8, 0.4]])  # nothing in (0.5, 0.7); 0.8 is the closest farther
    assert SameSlotHardMiner("semi-hard", 0.2).mine(d_ap, d_an).tolist() == [2]


def test_miner_semi_hard_falls_back_to_farthest():
    d_ap = torch.tensor([0.5])
    d_an = torch.tensor([[0.3, 0.1, 0.45, 0.5]])  # nothing farther than the positive (0.5 is a tie)
    assert SameSlotHardMiner("semi-hard", 0.2).mine(d_ap, d_an).tolist() == [3]


def test_miner_semi_hard_matches_loop():
    g = torch.Generator().manual_seed(5)
    d_ap = torch.rand(300, generator=g) * 2
    d_an = torch.rand(300, 8, generator=g) * 2
    got = SameSlotHardMiner("semi-hard", 0.2).mine(d_ap, d_an)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, loop_semi_hard(d_ap, d_an, 0.2))


def test_miner_batch_hard_picks_argmin():
    g = torch.Generator().manual_seed(6)
    d_ap, d_an = torch.rand(40, generator=g), torch.rand(40, 6, generator=g)
    expected = [min(range(6), key=row.__getitem__) for row in d_an.tolist()]
    assert SameSlotHardMiner("batch-hard").mine(d_ap, d_an).tolist() == expected


def test_miner_none_picks_column_zero():
    g = torch.Generator().manual_seed(7)
    got = SameSlotHardMiner("none").mine(torch.rand(10, generator=g), torch.rand(10, 6, generator=g))
    np.testing.assert_array_equal(got, np.zeros(10, dtype=np.int64))


def test_miner_single_candidate_is_always_chosen():
    got = SameSlotHardMiner("semi-hard").mine(torch.tensor([0.5, 0.1]), torch.tensor([[0.2], [3.0]]))
    assert got.tolist() == [0, 0]


def test_miner_invalid_mode_raises_naming_mode():
    with pytest.raises(ValueError, match=r"SameSlotHardMiner\.mode.*'hardest'"):
        SameSlotHardMiner("hardest")
