"""The compatibility model: which items go together, learned from outfits, rooms and baskets.

A Siamese network over content vectors (case study 001 uses a pretrained CNN; here the input is the
fused image + text + attribute content vector, so a brand-new item gets a style vector the moment
it is added). Training is triplet learning on sets: anchor and positive from one set, the negative
an item of the positive's slot from elsewhere, mined with the current model (semi-hard by default)
among sampled candidates. Compatibility is type-aware: each slot pair compares items under its own
learned mask. Auxiliary cross-entropy heads on slot, colour and material keep those attributes
recoverable from the style space and answer attribute-conditioned queries ("with this top, in
red"). Pairs are sampled with weights that damp popular items (follow-up 1 of case study 001).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from tqdm.auto import tqdm

from lookbook import weights as model_files
from lookbook.errors import DimensionMismatch, NotFittedError, SchemaError
from lookbook.models.triplet import (
    AttributePairTerm,
    MiningMode,
    SameSlotHardMiner,
    SlotPairMasks,
    TripletLoss,
    masked_sq_distance,
)

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
FORMAT_VERSION = 2
ATTRIBUTE_HEADS = ("slot", "colour", "material")
PAIR_HEADS = ("colour", "material")
_REDRAW_ROUNDS = 8


@dataclass(frozen=True)
class CompatibilityConfig:
    """Settings of ``CompatibilityModel``; every field has a default, validated on creation.

    ``dim`` 64: style needs far fewer dimensions than content; ``negatives`` 16 sampled same-slot
    candidates per triplet give the miner room to find semi-hard ones without scoring the whole
    slot. ``aux_*`` weigh the auxiliary heads against the triplet loss (0 switches a head off, the
    ablations of the evaluation). ``popularity_balance`` samples set pairs with weights
    ``1 / sqrt(freq(a) * freq(p))`` so that items in many sets do not dominate the triplets.
    ``colour_negatives`` is the share of each triplet's candidate negatives drawn from the items of
    the positive's slot *in the anchor's colour*. Positives share their anchor's colour more often
    than random items do (sets are built around palettes: 16% against 8% in the demo world), so with
    uniform negatives "same colour" alone separates positives from negatives and a content-based
    model learns that it means "goes together" (the colour over-reliance case study 004 admits to).
    ``"auto"`` (the default) draws just enough same-colour negatives that negatives share the
    anchor's colour as often as positives do: colour identity is then no evidence either way, and
    what colour does say is left to the attribute-pair terms. A fixed share in [0, 1] overrides it.
    ``attribute_pairs`` adds a learned colour-by-colour and material-by-material interaction per
    slot pair (``triplet.AttributePairTerm``): harmony and clashes a metric space cannot hold.
    """

    dim: int = 64
    hidden: int = 256
    type_aware: bool = True
    margin: float = 0.2
    mining: MiningMode = "semi-hard"
    negatives: int = 16
    aux_slot: float = 0.1
    aux_colour: float = 0.1
    aux_material: float = 0.1
    popularity_balance: bool = True
    colour_negatives: float | Literal["auto"] = "auto"
    attribute_pairs: bool = True
    epochs: int = 15
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    random_state: int = 0

    def __post_init__(self) -> None:
        for name in ("dim", "hidden", "negatives", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchemaError(f"CompatibilityConfig.{name}: expected an int >= 1, got {value!r}")
        if self.colour_negatives != "auto" and (
            isinstance(self.colour_negatives, bool)
            or not isinstance(self.colour_negatives, int | float)
            or not 0.0 <= self.colour_negatives <= 1.0
        ):
            raise SchemaError(
                "CompatibilityConfig.colour_negatives: expected 'auto' or a share in [0, 1], "
                f"got {self.colour_negatives!r}"
            )
        for name in ("margin", "aux_slot", "aux_colour", "aux_material", "weight_decay", "dropout", "lr"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not np.isfinite(value)
                or value < 0
            ):
                raise SchemaError(f"CompatibilityConfig.{name}: expected a finite number >= 0, got {value!r}")
        if self.lr == 0:
            raise SchemaError(f"CompatibilityConfig.lr: expected > 0, got {self.lr!r}")
        if self.dropout >= 1:
            raise SchemaError(
                f"CompatibilityConfig.dropout: expected a probability in [0, 1), got {self.dropout!r}"
            )
        if self.mining not in ("semi-hard", "batch-hard", "none"):
            raise SchemaError(
                f"CompatibilityConfig.mining: expected semi-hard, batch-hard or none, got {self.mining!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompatibilityConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class _Net(nn.Module):
    """Trunk (content -> general style embedding), slot-pair masks and attribute heads."""

    def __init__(
        self, n_in: int, cfg: CompatibilityConfig, n_slots: int, n_colours: int, n_materials: int
    ) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(n_in, cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, cfg.dim)
        )
        self.masks = SlotPairMasks(n_slots, cfg.dim, enabled=cfg.type_aware)
        n_classes = {"slot": max(n_slots, 1), "colour": max(n_colours, 1), "material": max(n_materials, 1)}
        self.heads = nn.ModuleDict({h: nn.Linear(cfg.dim, n_classes[h]) for h in ATTRIBUTE_HEADS})
        self.pairs = nn.ModuleDict(
            {h: AttributePairTerm(n_slots, n_classes[h], enabled=cfg.attribute_pairs) for h in PAIR_HEADS}
        )
        # Attribute predictors straight from the content vector: colour is plain in the pixels and
        # the text, while the 64-d style space keeps only what compatibility needs of it (a colour
        # head on the style vector is right for about a third of the items).
        self.content_heads = nn.ModuleDict({h: nn.Linear(n_in, n_classes[h]) for h in PAIR_HEADS})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.trunk(x), dim=-1)

    def content_proba(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Class probabilities of each pair attribute, predicted from the content vectors."""
        return {h: torch.softmax(self.content_heads[h](x), dim=-1) for h in PAIR_HEADS}

    def distance(
        self,
        ea: torch.Tensor,
        eb: torch.Tensor,
        slot_a: torch.Tensor,
        slot_b: torch.Tensor,
        pa: dict[str, torch.Tensor],
        pb: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """Compatibility distance of each pair (lower = goes together); shapes broadcast.

        The type-aware squared distance minus the learned attribute-pair terms over the attribute
        probabilities ``pa`` / ``pb`` (``content_proba``).
        """
        d = masked_sq_distance(ea, eb, self.masks(slot_a, slot_b))
        for head, term in self.pairs.items():
            if term.enabled:
                d = d - term(pa[head], pb[head], slot_a, slot_b)
        return d


@dataclass(frozen=True)
class AttributeVocab:
    """Names of the classes of each auxiliary head (slot names, colour names, material names)."""

    slot: tuple[str, ...]
    colour: tuple[str, ...]
    material: tuple[str, ...]


class CompatibilityModel:
    """Type-aware triplet model over content vectors. ``fit`` -> ``embed`` / ``pair_score`` / ``compatible``.

    Item arguments are always the content vectors (n, D) plus slot indices (n,) into
    ``vocab_.slot``: the model keeps no catalog, so it scores items it never saw.
    """

    def __init__(self, config: CompatibilityConfig | None = None) -> None:
        self.config = config or CompatibilityConfig()

    # ------------------------------------------------------------------------------------------ fit
    def fit(
        self,
        sets: Sequence[npt.ArrayLike],
        features: F32,
        slots: npt.ArrayLike,
        vocab: AttributeVocab,
        *,
        colours: npt.ArrayLike | None = None,
        materials: npt.ArrayLike | None = None,
        show_progress: bool = True,
        callback: Callable[[int, float, dict[str, float]], None] | None = None,
    ) -> Self:
        """Learn from ``sets`` (arrays of rows into ``features``).

        Parameters
        ----------
        sets: item rows of each training set (outfit, room, basket); sets of one item are ignored.
        features: (n, D) content vectors of every item that can appear (negatives come from here).
        slots: (n,) slot index of each item into ``vocab.slot``.
        colours, materials: (n,) class index into ``vocab.colour`` / ``vocab.material``, -1 unknown.
        """
        cfg = self.config
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 2 or not np.isfinite(x).all():
            raise SchemaError(
                f"CompatibilityModel.fit features: expected a finite (n, D) array, got shape {x.shape}"
            )
        n = x.shape[0]
        slot = self._labels("slots", slots, n, len(vocab.slot), allow_unknown=False)
        colour = self._labels("colours", colours, n, len(vocab.colour))
        material = self._labels("materials", materials, n, len(vocab.material))
        anchors, positives = _set_pairs(sets, n)
        if anchors.size == 0:
            raise SchemaError("CompatibilityModel.fit sets: need at least one set with two items")

        rng = np.random.default_rng(cfg.random_state)
        with torch.random.fork_rng():  # seed this fit without touching the caller's global RNG
            torch.manual_seed(cfg.random_state)
            return self._fit(
                cfg, x, slot, colour, material, anchors, positives, vocab, rng, show_progress, callback
            )

    def _fit(
        self,
        cfg: CompatibilityConfig,
        x: F32,
        slot: I64,
        colour: I64,
        material: I64,
        anchors: I64,
        positives: I64,
        vocab: AttributeVocab,
        rng: np.random.Generator,
        show_progress: bool,
        callback: Callable[[int, float, dict[str, float]], None] | None,
    ) -> Self:
        n = x.shape[0]
        net = _Net(x.shape[1], cfg, len(vocab.slot), len(vocab.colour), len(vocab.material))
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        loss_fn = TripletLoss(cfg.margin)
        miner = SameSlotHardMiner(cfg.mining, cfg.margin)
        xt = torch.from_numpy(x)
        slot_t = torch.from_numpy(slot)
        targets = {"slot": slot_t, "colour": torch.from_numpy(colour), "material": torch.from_numpy(material)}
        weights = {"slot": cfg.aux_slot, "colour": cfg.aux_colour, "material": cfg.aux_material}

        pair_p = _pair_weights(anchors, positives, n) if cfg.popularity_balance else None
        pools = _NegativePools(slot, colour, len(vocab.slot), len(vocab.colour))
        share = (
            _matching_colour_share(anchors, positives, slot, colour, len(vocab.slot), len(vocab.colour))
            if cfg.colour_negatives == "auto"
            else float(cfg.colour_negatives)
        )
        self.colour_negative_share_ = share
        log.info("compatibility: %.3f of candidate negatives in the anchor's colour", share)
        positive_keys = np.unique(anchors.astype(np.int64) * n + positives)
        n_pairs = anchors.size
        steps = max(1, int(np.ceil(n_pairs / cfg.batch_size)))
        history: list[dict[str, float]] = []
        started = time.perf_counter()
        bar = tqdm(range(cfg.epochs), desc="training compatibility", disable=not show_progress, unit="ep")
        for epoch in bar:
            net.train()
            order = rng.choice(n_pairs, size=n_pairs, replace=True, p=pair_p)
            totals = {"triplet": 0.0, "aux": 0.0, "active": 0.0}
            for step in range(steps):
                idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                a, p = anchors[idx], positives[idx]
                # stochastic rounding keeps the expected number of same-colour candidates exact
                n_colour = int(np.floor(share * cfg.negatives + rng.random()))
                cand = pools.sample(a, p, positive_keys, cfg.negatives, n_colour, rng)
                rows = np.unique(np.concatenate([a, p, cand.ravel()]))
                local = np.searchsorted(rows, np.concatenate([a, p, cand.ravel()]))
                emb = net(xt[rows])
                probs = net.content_proba(xt[rows])
                ia, ip = local[: a.size], local[a.size : 2 * a.size]
                ic = local[2 * a.size :]
                ea, ep = emb[ia], emb[ip]
                ec = emb[ic].view(a.size, cfg.negatives, -1)
                pa = {h: q[ia] for h, q in probs.items()}
                pp = {h: q[ip] for h, q in probs.items()}
                pc = {h: q[ic].view(a.size, cfg.negatives, -1) for h, q in probs.items()}
                sa, sp = slot_t[a], slot_t[p]
                d_ap = net.distance(ea, ep, sa, sp, pa, pp)
                d_an_all = net.distance(
                    ea[:, None, :],
                    ec,
                    sa[:, None],
                    sp[:, None],
                    {h: q[:, None, :] for h, q in pa.items()},
                    pc,
                )
                chosen = torch.from_numpy(miner.mine(d_ap.detach(), d_an_all.detach()))
                d_an = d_an_all.gather(1, chosen[:, None]).squeeze(1)
                triplet = loss_fn(d_ap, d_an)
                aux = torch.zeros(())
                for head, w in weights.items():
                    if w <= 0:
                        continue
                    y = targets[head][torch.from_numpy(rows)]
                    known = y >= 0
                    if bool(known.any()):
                        logits = net.heads[head](emb[known])
                        aux = aux + w * nn.functional.cross_entropy(logits, y[known])
                for head in PAIR_HEADS:  # the content-side attribute predictors learn where labels exist
                    y = targets[head][torch.from_numpy(rows)]
                    known = y >= 0
                    if bool(known.any()):
                        logits = net.content_heads[head](xt[rows][known])
                        aux = aux + nn.functional.cross_entropy(logits, y[known])
                loss = triplet + aux
                opt.zero_grad()
                loss.backward()
                opt.step()
                totals["triplet"] += float(triplet.detach())
                totals["aux"] += float(aux.detach())
                totals["active"] += float((d_ap - d_an + cfg.margin > 0).float().mean().detach())
            metrics = {k: v / steps for k, v in totals.items()}
            history.append(metrics)
            bar.set_postfix(loss=f"{metrics['triplet']:.3f}", active=f"{metrics['active']:.2f}")
            if callback is not None:
                callback(epoch, time.perf_counter() - started, metrics)
        net.eval()
        self.net_ = net
        self.vocab_ = vocab
        self.n_features_in_ = x.shape[1]
        self.history_ = history
        self.fit_seconds_ = time.perf_counter() - started
        log.info("compatibility model trained on %d pairs in %.1f s", n_pairs, self.fit_seconds_)
        return self

    @staticmethod
    def _labels(
        name: str, values: npt.ArrayLike | None, n: int, n_classes: int, *, allow_unknown: bool = True
    ) -> I64:
        if values is None:
            return np.full(n, -1, dtype=np.int64)
        arr = np.asarray(values, dtype=np.int64)
        if arr.shape != (n,):
            raise SchemaError(f"CompatibilityModel.fit {name}: expected shape ({n},), got {arr.shape}")
        low = -1 if allow_unknown else 0
        if arr.size and (arr.min() < low or arr.max() >= n_classes):
            raise SchemaError(
                f"CompatibilityModel.fit {name}: expected values in [{low}, {n_classes}), "
                f"got [{arr.min()}, {arr.max()}]"
            )
        return arr

    # -------------------------------------------------------------------------------------- inference
    def _check(self, features: npt.ArrayLike) -> torch.Tensor:
        if not hasattr(self, "net_"):
            raise NotFittedError("CompatibilityModel: call fit() or load() first")
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features_in_:
            raise DimensionMismatch(
                f"CompatibilityModel features: expected (n, {self.n_features_in_}) content vectors, "
                f"got {x.shape}"
            )
        return torch.from_numpy(x)

    def _check_slots(self, slots: npt.ArrayLike, n: int, name: str = "slots") -> torch.Tensor:
        s = np.asarray(slots, dtype=np.int64).reshape(-1)
        if s.size != n:
            raise DimensionMismatch(
                f"CompatibilityModel {name}: expected {n} slot indices (one per item), got {s.size}"
            )
        k = len(self.vocab_.slot)
        if s.size and (s.min() < 0 or s.max() >= k):
            raise SchemaError(
                f"CompatibilityModel {name}: expected slot indices in [0, {k}), got [{s.min()}, {s.max()}]"
            )
        return torch.from_numpy(s)

    @torch.no_grad()
    def embed(self, features: npt.ArrayLike) -> F32:
        """General style vectors (n, dim), L2-normalised: the "style" space of the index."""
        x = self._check(features)
        return self.net_(x).numpy()

    def _pair_sides(
        self, features: npt.ArrayLike, slots: npt.ArrayLike, other_slot: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        x = self._check(features)
        s = self._check_slots(slots, x.shape[0])
        t = self._check_slots([other_slot], 1, "other_slot").expand_as(s)
        e = self.net_(x)
        z = nn.functional.normalize(e * self.net_.masks(s, t), dim=-1)
        p = self.net_.content_proba(x)
        probs = [p[h] for h, term in self.net_.pairs.items() if term.enabled]
        return s, t, z, probs

    @torch.no_grad()
    def query_vectors(self, features: npt.ArrayLike, slots: npt.ArrayLike, target_slot: int) -> F32:
        """Anchor-side retrieval vectors for candidates of ``target_slot``.

        With ``item_vectors(candidates, target_slot_of_them, anchor_slot)`` on the other side, the dot
        product is ``pair_score + 2`` exactly: squared distance of unit vectors is ``2 - 2 za.zb`` and
        the attribute-pair terms are bilinear, so an inner-product index ranks like the model.
        """
        s, t, z, probs = self._pair_sides(features, slots, target_slot)
        sides = [term.query_side(p, s, t) for term, p in zip(self._enabled_terms(), probs, strict=True)]
        return torch.cat([2 * z, *sides], dim=-1).numpy()

    @torch.no_grad()
    def item_vectors(self, features: npt.ArrayLike, slots: npt.ArrayLike, anchor_slot: int) -> F32:
        """Candidate-side retrieval vectors of items seen from anchors of ``anchor_slot``."""
        _, _, z, probs = self._pair_sides(features, slots, anchor_slot)
        return torch.cat([z, *probs], dim=-1).numpy()

    def _enabled_terms(self) -> list[AttributePairTerm]:
        return [term for term in self.net_.pairs.values() if term.enabled]  # type: ignore[misc]

    @torch.no_grad()
    def pair_score(
        self,
        features_a: npt.ArrayLike,
        slots_a: npt.ArrayLike,
        features_b: npt.ArrayLike,
        slots_b: npt.ArrayLike,
    ) -> F32:
        """Compatibility of each (a, b) pair: minus the type-aware squared distance (higher = better)."""
        xa, xb = self._check(features_a), self._check(features_b)
        if xa.shape[0] != xb.shape[0]:
            raise DimensionMismatch(
                f"CompatibilityModel.pair_score: {xa.shape[0]} a items but {xb.shape[0]} b items"
            )
        sa, sb = (
            self._check_slots(slots_a, xa.shape[0], "slots_a"),
            self._check_slots(slots_b, xb.shape[0], "slots_b"),
        )
        ea, eb = self.net_(xa), self.net_(xb)
        pa, pb = self.net_.content_proba(xa), self.net_.content_proba(xb)
        return (-self.net_.distance(ea, eb, sa, sb, pa, pb)).numpy()

    def scorer(self, features: F32, slots: npt.ArrayLike) -> Callable[[I64, I64], F32]:
        """A pair scorer over a fixed catalog: embeds every item once, then scores rows vectorised."""
        x = self._check(features)
        slot_t = self._check_slots(slots, x.shape[0])
        with torch.no_grad():
            emb = self.net_(x)
            probs = self.net_.content_proba(x)

        def score(a_rows: I64, b_rows: I64) -> F32:
            a = torch.as_tensor(np.asarray(a_rows, dtype=np.int64))
            b = torch.as_tensor(np.asarray(b_rows, dtype=np.int64))
            with torch.no_grad():
                pa = {h: q[a] for h, q in probs.items()}
                pb = {h: q[b] for h, q in probs.items()}
                return (-self.net_.distance(emb[a], emb[b], slot_t[a], slot_t[b], pa, pb)).numpy()

        return score

    @torch.no_grad()
    def attribute_proba(self, features: npt.ArrayLike, head: Literal["slot", "colour", "material"]) -> F32:
        """Predicted class probabilities of an attribute: (n, n_classes of ``vocab_.<head>``).

        Colour and material come from the content-side predictors (the ones the attribute-pair
        terms use, and far more accurate than a head on the 64-d style vector); slot comes from the
        style space's auxiliary head.
        """
        if head not in ATTRIBUTE_HEADS:
            raise SchemaError(
                f"CompatibilityModel.attribute_proba head: expected one of {ATTRIBUTE_HEADS}, got {head!r}"
            )
        x = self._check(features)
        if head in PAIR_HEADS:
            return self.net_.content_proba(x)[head].numpy()
        return torch.softmax(self.net_.heads[head](self.net_(x)), dim=-1).numpy()

    def compatible(
        self,
        anchor_features: npt.ArrayLike,
        anchor_slot: int,
        candidate_features: F32,
        candidate_slots: npt.ArrayLike,
        *,
        attribute: Literal["colour", "material"] | None = None,
        value: str | None = None,
        mode: Literal["reweight", "filter"] = "reweight",
        weight: float = 1.0,
        k: int = 10,
    ) -> tuple[I64, F32]:
        """Top-``k`` candidates that go with one anchor, optionally "in leather" / "in red".

        ``reweight`` adds ``weight * log P(attribute = value)`` from the auxiliary head to the
        compatibility score; ``filter`` keeps only candidates whose most likely class is ``value``
        (and returns fewer than ``k`` when fewer match). Returns candidate positions and scores.
        """
        if mode not in ("reweight", "filter"):
            raise SchemaError(
                f"CompatibilityModel.compatible mode: expected 'reweight' or 'filter', got {mode!r}"
            )
        if attribute is not None and attribute not in ("colour", "material"):
            raise SchemaError(
                f"CompatibilityModel.compatible attribute: expected 'colour' or 'material', got {attribute!r}"
            )
        cand = np.asarray(candidate_features, dtype=np.float32)
        m = cand.shape[0]
        anchor = np.asarray(anchor_features, dtype=np.float32).reshape(1, -1).repeat(m, axis=0)
        scores = self.pair_score(anchor, np.full(m, anchor_slot), cand, candidate_slots)
        if attribute is not None:
            names = getattr(self.vocab_, attribute)
            if value not in names:
                raise SchemaError(
                    f"CompatibilityModel.compatible value: expected one of {list(names)}, got {value!r}"
                )
            proba = self.attribute_proba(cand, attribute)
            col = names.index(value)
            if mode == "filter":
                scores = np.where(proba.argmax(axis=1) == col, scores, -np.inf)
            else:
                scores = scores + weight * np.log(proba[:, col] + 1e-9)
        order = np.argsort(-scores, kind="stable")[:k]
        order = order[np.isfinite(scores[order])]
        return order.astype(np.int64), scores[order].astype(np.float32)

    # ------------------------------------------------------------------------------------- persistence
    def save(self, path: Path | str) -> Path:
        """Weights as safetensors, config and vocabularies as JSON, in the folder ``path``
        (``lookbook.weights``: format version checked on load)."""
        if not hasattr(self, "net_"):
            raise NotFittedError("CompatibilityModel: nothing to save before fit()")
        meta = {
            "config": self.config.to_dict(),
            "vocab": {k: list(getattr(self.vocab_, k)) for k in ATTRIBUTE_HEADS},
            "n_features_in": self.n_features_in_,
            "history": self.history_,
            "fit_seconds": self.fit_seconds_,
            "colour_negative_share": self.colour_negative_share_,
        }
        return model_files.save(path, self.net_.state_dict(), meta, FORMAT_VERSION)

    @classmethod
    def load(cls, path: Path | str) -> CompatibilityModel:
        """A fitted model from a folder written by ``save``."""
        saved = model_files.load(path, FORMAT_VERSION, owner="CompatibilityModel")
        meta = saved.meta
        model = cls(CompatibilityConfig.from_dict(meta["config"]))
        vocab = AttributeVocab(**{k: tuple(v) for k, v in meta["vocab"].items()})
        net = _Net(
            meta["n_features_in"], model.config, len(vocab.slot), len(vocab.colour), len(vocab.material)
        )
        net.load_state_dict(saved.state_dict)
        net.eval()
        model.net_ = net
        model.vocab_ = vocab
        model.n_features_in_ = meta["n_features_in"]
        model.history_ = meta["history"]
        model.fit_seconds_ = meta["fit_seconds"]
        model.colour_negative_share_ = meta["colour_negative_share"]
        return model


def _set_pairs(sets: Sequence[npt.ArrayLike], n: int) -> tuple[I64, I64]:
    """Every ordered (anchor, positive) pair of distinct items within each set."""
    a_parts, p_parts = [], []
    for s in sets:
        rows = np.unique(np.asarray(s, dtype=np.int64))
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise SchemaError(
                f"CompatibilityModel.fit sets: item rows must be in [0, {n}), got {rows.tolist()}"
            )
        if rows.size < 2:
            continue
        i, j = np.meshgrid(rows, rows, indexing="ij")
        off = i != j
        a_parts.append(i[off])
        p_parts.append(j[off])
    if not a_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(a_parts), np.concatenate(p_parts)


def _matching_colour_share(
    anchors: I64, positives: I64, slot: I64, colour: I64, n_slots: int, n_colours: int
) -> float:
    """Share ``f`` of same-colour negatives that makes ``P(negative in the anchor's colour)`` equal
    ``P(positive in the anchor's colour)``: ``f + (1 - f) * s_random = s_positive``.

    ``s_random`` is the chance that a uniform item of the positive's slot has the anchor's colour.
    0 when colours are unknown or positives share colours no more than random items do.
    """
    known = (colour[anchors] >= 0) & (colour[positives] >= 0)
    if not known.any() or n_colours < 1:
        return 0.0
    a, p = anchors[known], positives[known]
    s_positive = float((colour[a] == colour[p]).mean())
    has = colour >= 0
    counts = np.zeros((n_slots, n_colours), dtype=np.float64)
    np.add.at(counts, (slot[has], colour[has]), 1.0)
    per_slot = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    s_random = float(per_slot[slot[p], colour[a]].mean())
    if s_random >= 1.0:
        return 0.0
    return float(np.clip((s_positive - s_random) / (1.0 - s_random), 0.0, 1.0))


def _pair_weights(anchors: I64, positives: I64, n: int) -> npt.NDArray[np.float64]:
    """Sampling weights ``1 / sqrt(freq(a) * freq(p))``: popular items stop dominating the triplets."""
    freq = np.bincount(np.concatenate([anchors, positives]), minlength=n).astype(np.float64)
    w = 1.0 / np.sqrt(freq[anchors] * freq[positives])
    return w / w.sum()


class _NegativePools:
    """Candidate negatives: items of the positive's slot, some of them in the anchor's colour.

    Items are grouped by slot and by (slot, colour) once; each draw is then an offset into a flat
    array, so a batch of thousands of candidates costs a few numpy operations.
    """

    def __init__(self, slot: I64, colour: I64, n_slots: int, n_colours: int) -> None:
        self.slot = slot
        self.colour = colour
        self.n_colours = max(n_colours, 1)
        self.by_slot = _Groups(slot, n_slots)
        known = colour >= 0
        key = np.where(known, slot * self.n_colours + np.maximum(colour, 0), -1)
        self.by_slot_colour = _Groups(key, n_slots * self.n_colours)

    def sample(
        self, a: I64, p: I64, positive_keys: I64, r: int, r_colour: int, rng: np.random.Generator
    ) -> I64:
        """``r`` candidates per (a, p) row, the first ``r_colour`` in the anchor's colour where any exist."""
        n = self.slot.size
        cand = self.by_slot.draw(self.slot[p], r, rng)
        if r_colour > 0:
            key = np.where(
                self.colour[a] >= 0, self.slot[p] * self.n_colours + np.maximum(self.colour[a], 0), -1
            )
            same = self.by_slot_colour.draw(key, r_colour, rng)
            cand[:, :r_colour] = np.where(same >= 0, same, cand[:, :r_colour])
        # a candidate that is a known positive of the anchor (or the anchor itself) is re-drawn from
        # the slot; after a few rounds a leftover false negative (a slot holding almost only the
        # anchor's partners) is harmless noise
        for _ in range(_REDRAW_ROUNDS):
            bad = np.isin(a[:, None] * n + cand, positive_keys) | (cand == a[:, None])
            if not bad.any():
                break
            rows = np.nonzero(bad)[0]
            cand[bad] = self.by_slot.draw(self.slot[p][rows], 1, rng)[:, 0]
        return cand


class _Groups:
    """Rows grouped by an integer key (< 0 = in no group), for vectorised uniform draws per key."""

    def __init__(self, key: I64, n_keys: int) -> None:
        valid = key >= 0
        order = np.argsort(np.where(valid, key, n_keys), kind="stable")
        self.items = order[: int(valid.sum())]
        self.size = np.bincount(key[valid], minlength=n_keys)
        self.start = np.concatenate([[0], np.cumsum(self.size)[:-1]])

    def draw(self, keys: I64, r: int, rng: np.random.Generator) -> I64:
        """(len(keys), r) uniform draws from each key's group; -1 where the key is empty or < 0."""
        if self.items.size == 0:
            return np.full((keys.size, r), -1, dtype=np.int64)
        ok = keys >= 0
        safe = np.where(ok, keys, 0)
        size = np.where(ok, self.size[safe], 0)
        pick = (rng.random((keys.size, r)) * np.maximum(size, 1)[:, None]).astype(np.int64)
        out = self.items[np.minimum(self.start[safe][:, None] + pick, max(self.items.size - 1, 0))]
        return np.where((size > 0)[:, None], out, -1)
