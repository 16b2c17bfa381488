"""Lookbook's two-tower preference model: item vectors from content + id, user vectors from history.

Case studies 002 and 003: a user vector aggregates the items the user interacted with, an item
vector comes from the item's id and its content, and their dot product predicts interaction. Here:

* **item tower** ``v_i = normalize(MLP(content_i) + e_i)``: the content path gives every item a
  vector the moment it exists (cold start); the id embedding ``e_i`` adds what events say beyond
  content. Ids are hidden at random during training (``id_dropout``) so the content path alone
  must rank well, and items without training events are scored by content only.
* **user tower** ``u = normalize(A h_u)``, ``h_u`` the kind- and recency-weighted mean of the
  user's item vectors (minus the target's own contribution while training). Because ``u`` is a
  function of the user's items, a new user folds in from their first events and a known user's
  vector moves with every new event, with no retraining (``UserState``, well under 1 ms per event).
* **loss**: sampled softmax over in-batch items plus uniformly sampled items, with the log-Q
  correction for in-batch items (Yi et al., RecSys 2019) so popular items are not punished or
  favoured for being sampled often.

Users with no history get the popularity ranking (the ``score`` of such rows). Similar items are the
nearest item vectors (cosine: the vectors are unit length).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import torch
from torch import nn
from tqdm.auto import tqdm

from lookbook import weights as model_files
from lookbook.errors import DimensionMismatch, SchemaError
from lookbook.models.collaborative.base import Recommender
from lookbook.models.collaborative.data import InteractionData

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TwoTowerConfig:
    """Settings of ``TwoTowerRecommender``; validated on creation.

    ``temperature`` 0.05 suits unit vectors (logits span +-20). ``uniform_negatives`` items drawn
    uniformly per batch complement in-batch negatives, which are all popular items. ``history_cap``
    bounds how many of a user's most weighted items form the user vector (long tails add noise and
    cost). ``target_weight_power`` turns summed event weights into loss weights (0: every
    interaction alike, 1: a purchase counts as much as its weight says).
    """

    dim: int = 64
    hidden: int = 128
    epochs: int = 6
    batch_size: int = 2048
    lr: float = 3e-3
    weight_decay: float = 1e-6
    temperature: float = 0.05
    id_dropout: float = 0.3
    use_ids: bool = True
    use_content: bool = True
    uniform_negatives: int = 512
    logq_correction: bool = True
    impute_cold_ids: bool = True
    target_weight_power: float = 0.5
    random_state: int = 0

    def __post_init__(self) -> None:
        for name in ("dim", "hidden", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchemaError(f"TwoTowerConfig.{name}: expected an int >= 1, got {value!r}")
        if isinstance(self.uniform_negatives, bool) or self.uniform_negatives < 0:
            raise SchemaError(
                f"TwoTowerConfig.uniform_negatives: expected an int >= 0, got {self.uniform_negatives!r}"
            )
        for name in ("lr", "temperature"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
                raise SchemaError(f"TwoTowerConfig.{name}: expected a finite number > 0, got {value!r}")
        if not 0.0 <= self.id_dropout < 1.0:
            raise SchemaError(f"TwoTowerConfig.id_dropout: expected [0, 1), got {self.id_dropout!r}")
        if not (self.use_ids or self.use_content):
            raise SchemaError("TwoTowerConfig: use_ids and use_content cannot both be False")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TwoTowerConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class _Towers(nn.Module):
    def __init__(self, n_items: int, n_content: int, cfg: TwoTowerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.content = (
            nn.Sequential(nn.Linear(n_content, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.dim))
            if cfg.use_content and n_content > 0
            else None
        )
        self.ids = nn.Embedding(n_items, cfg.dim) if cfg.use_ids or self.content is None else None
        if self.ids is not None:
            nn.init.normal_(self.ids.weight, std=0.1)
        self.user = nn.Linear(cfg.dim, cfg.dim)
        # ridge map content -> id embedding, fitted after training on the items with events; it
        # gives items without events the id part their content neighbours have
        self.register_buffer("id_from_content", torch.zeros(max(n_content, 1), cfg.dim))
        with torch.no_grad():
            self.user.weight.copy_(torch.eye(cfg.dim))
            self.user.bias.zero_()

    def items(
        self, content: torch.Tensor | None, id_keep: torch.Tensor | None, *, impute: bool = False
    ) -> torch.Tensor:
        """Unit item vectors of the catalog; ``id_keep`` (n,) in {0, 1} hides ids (cold items,
        dropout); ``None`` means new items outside the catalog. ``impute`` gives items without an
        id part the one their content predicts (``id_from_content``)."""
        n = id_keep.shape[0] if id_keep is not None else content.shape[0]  # type: ignore[union-attr]
        parts = torch.zeros(n, self.cfg.dim)
        if self.content is not None and content is not None:
            parts = parts + self.content(content)
            if impute and self.ids is not None:
                missing = torch.ones(n) if id_keep is None else 1.0 - id_keep
                parts = parts + (content @ self.id_from_content) * missing[:, None]
        if self.ids is not None and id_keep is not None:
            parts = parts + self.ids.weight * id_keep[:, None]
        return nn.functional.normalize(parts, dim=-1)

    def users(self, history: torch.Tensor) -> torch.Tensor:
        """Unit user vectors from aggregated (weighted mean) item vectors."""
        return nn.functional.normalize(self.user(history), dim=-1)


class TwoTowerRecommender(Recommender):
    """``fit(InteractionData)`` -> ``score(users)``, ``item_vectors()``, ``user_vector(items, weights)``,
    and the rest of the ``Recommender`` contract."""

    name = "two_tower"

    def __init__(self, config: TwoTowerConfig | None = None) -> None:
        self.config = config or TwoTowerConfig()

    # ------------------------------------------------------------------------------------------ fit
    def fit(
        self,
        data: InteractionData,
        *,
        show_progress: bool = False,
        warm_start: TwoTowerRecommender | None = None,
    ) -> Self:
        """Train on ``data``. ``warm_start``: a model fitted on a subset of the same item rows (e.g.
        the validation fit) whose weights are the starting point, so a few epochs finish the job."""
        cfg = self.config
        content = None
        if cfg.use_content and data.item_features is not None:
            content = np.ascontiguousarray(data.item_features, dtype=np.float32)
            if not np.isfinite(content).all():
                raise SchemaError("TwoTowerRecommender.fit item_features: contain NaN or inf")
        matrix = data.matrix()
        if matrix.nnz == 0:
            raise SchemaError("TwoTowerRecommender.fit: no positive interactions to learn from")
        rng = np.random.default_rng(cfg.random_state)
        with torch.random.fork_rng():
            torch.manual_seed(cfg.random_state)
            self._fit(data, matrix, content, rng, show_progress, warm_start)
        self._record_fit(data)
        return self

    def _fit(
        self,
        data: InteractionData,
        matrix: sp.csr_matrix,
        content: F32 | None,
        rng: np.random.Generator,
        show_progress: bool,
        warm_start: TwoTowerRecommender | None = None,
    ) -> None:
        cfg = self.config
        n_items = data.n_items
        net = _Towers(n_items, 0 if content is None else content.shape[1], cfg)
        if warm_start is not None:
            warm_start._check_fitted()
            if warm_start.n_items_ != n_items or warm_start.n_content_ != (
                0 if content is None else content.shape[1]
            ):
                raise SchemaError("TwoTowerRecommender.fit warm_start: trained on other item rows or content")
            net.load_state_dict(warm_start.net_.state_dict())
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        xt = None if content is None else torch.from_numpy(content)
        history = _row_normalised(matrix)
        coo = matrix.tocoo()
        t_user, t_item = coo.row.astype(np.int64), coo.col.astype(np.int64)
        t_weight = np.power(coo.data.astype(np.float64), cfg.target_weight_power)
        t_weight = (t_weight / t_weight.mean()).astype(np.float32)
        counts = np.bincount(t_item, minlength=n_items).astype(np.float64)
        log_q = torch.from_numpy(np.log(np.maximum(counts, 1.0) / counts.sum()).astype(np.float32))
        has_events = counts > 0
        self_weight = np.asarray(history[t_user, t_item]).ravel().astype(np.float32)
        n = t_user.size
        steps = max(1, int(np.ceil(n / cfg.batch_size)))
        started = time.perf_counter()
        self.history_: list[float] = []
        bar = tqdm(range(cfg.epochs), desc="training two-tower", disable=not show_progress, unit="ep")
        for _ in bar:
            net.train()
            order = rng.permutation(n)
            total = 0.0
            for step in range(steps):
                idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                keep = torch.from_numpy(
                    (has_events & (rng.random(n_items) >= cfg.id_dropout)).astype(np.float32)
                )
                v = net.items(xt, keep)
                users = t_user[idx]
                h = _aggregate(history, users, v)
                # leave the target out of its own user's history
                h = h - torch.from_numpy(self_weight[idx])[:, None] * v[t_item[idx]]
                u = net.users(h)
                targets = torch.from_numpy(t_item[idx])
                cand = targets
                if cfg.uniform_negatives:
                    uniform = torch.from_numpy(rng.integers(0, n_items, cfg.uniform_negatives))
                    cand = torch.cat([targets, uniform])
                logits = (u @ v[cand].T) / cfg.temperature
                if cfg.logq_correction:
                    correction = torch.zeros(cand.shape[0])
                    correction[: targets.shape[0]] = log_q[targets]
                    logits = logits - correction[None, :]
                # an in-batch candidate that is the row's own target item (duplicates) is not a negative
                dup = targets[:, None] == cand[None, :]
                dup[torch.arange(targets.shape[0]), torch.arange(targets.shape[0])] = False
                logits = logits.masked_fill(dup, float("-inf"))
                labels = torch.arange(targets.shape[0])
                loss_rows = nn.functional.cross_entropy(logits, labels, reduction="none")
                loss = (loss_rows * torch.from_numpy(t_weight[idx])).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            self.history_.append(total / steps)
            bar.set_postfix(loss=f"{self.history_[-1]:.3f}")
        net.eval()
        self.net_ = net
        self.n_items_ = n_items
        self.n_content_ = 0 if content is None else content.shape[1]
        self.has_events_ = has_events
        self.popularity_ = counts.astype(np.float32)
        self.fit_seconds_ = time.perf_counter() - started
        self._content = xt
        self._history = history
        impute = self._impute(net, content, has_events)
        with torch.no_grad():
            keep = torch.from_numpy(has_events.astype(np.float32))
            self.item_vectors_ = net.items(xt, keep, impute=impute).numpy()
        log.info("two-tower trained on %d interactions in %.1f s", n, self.fit_seconds_)

    def _impute(self, net: _Towers, content: F32 | None, has_events: npt.NDArray[np.bool_]) -> bool:
        """Fit the ridge map content -> id embedding on items with events (closed form)."""
        if not (self.config.impute_cold_ids and net.ids is not None and content is not None):
            return False
        if has_events.sum() < 2:
            return False
        x = content[has_events].astype(np.float64)
        e = net.ids.weight.detach().numpy()[has_events].astype(np.float64)
        gram = x.T @ x
        lam = 0.1 * float(np.trace(gram)) / gram.shape[0] + 1e-6
        w = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), x.T @ e)
        with torch.no_grad():
            net.id_from_content.copy_(torch.from_numpy(w.astype(np.float32)))
        return True

    def _imputes(self) -> bool:
        return bool(
            self.config.impute_cold_ids and self.net_.ids is not None and self.net_.content is not None
        )

    # ------------------------------------------------------------------------------------ inference
    def item_vectors(self, content: npt.ArrayLike | None = None) -> F32:
        """Unit item vectors: of the training catalog (ids where they have events), or of new items
        from their ``content`` vectors alone (the cold-start path)."""
        self._check_fitted()
        if content is None:
            return self.item_vectors_
        if self.net_.content is None:
            raise SchemaError("TwoTowerRecommender: trained without content, so new items have no vector")
        x = np.ascontiguousarray(content, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_content_:
            raise DimensionMismatch(
                f"TwoTowerRecommender content: expected (n, {self.n_content_}), got {x.shape}"
            )
        with torch.no_grad():
            return self.net_.items(torch.from_numpy(x), None, impute=self._imputes()).numpy()

    def user_vector(self, items: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> F32:
        """A user's unit vector from the items they touched (rows) and each event's weight.

        This is the fold-in path: no training, so it works for users the model never saw.
        """
        self._check_fitted()
        rows = np.asarray(items, dtype=np.int64).reshape(-1)
        w = np.ones(rows.size, np.float32) if weights is None else np.asarray(weights, np.float32).reshape(-1)
        if w.size != rows.size:
            raise DimensionMismatch(f"TwoTowerRecommender.user_vector: {rows.size} items, {w.size} weights")
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_items_):
            raise SchemaError(f"TwoTowerRecommender.user_vector: item rows must be in [0, {self.n_items_})")
        return UserState(self).add(rows, w).vector()

    def user_vectors(self, users: npt.ArrayLike) -> F32:
        """Unit vectors of training users (rows), from their training history; zero rows for none."""
        rows = self._user_rows(users, "user_vectors")
        with torch.no_grad():
            h = _aggregate(self._history, rows, torch.from_numpy(self.item_vectors_))
            u = self.net_.users(h).numpy()
        empty = np.asarray(self._history[rows].sum(axis=1)).ravel() <= 0
        u[empty] = 0.0
        return u

    def score(self, users: npt.ArrayLike) -> F32:
        """(len(users), n_items) scores: user vector . item vector; users without history get
        log-popularity."""
        u = self.user_vectors(self._user_rows(users, "score"))
        scores = u @ self.item_vectors_.T
        empty = ~np.any(u != 0, axis=1)
        if empty.any():
            scores[empty] = np.log1p(self.popularity_)[None, :]
        return scores.astype(np.float32)

    def _similar_scores(self, items: I64) -> F32:
        return (self.item_vectors_[items] @ self.item_vectors_.T).astype(np.float32)

    # ---------------------------------------------------------------------------------- persistence
    def _save(self, folder: Path) -> None:
        """``weights.safetensors`` (the towers, plus the fitted item vectors, popularity, content and
        training history under ``_`` names) and ``model.json``: the layout of format version 1."""
        h = self._history.tocsr()
        arrays = {
            "item_vectors": self.item_vectors_,
            "popularity": self.popularity_,
            "history_indptr": h.indptr.astype(np.int64),
            "history_indices": h.indices.astype(np.int64),
            "history_data": h.data.astype(np.float32),
        }
        if self._content is not None:
            arrays["content"] = self._content.numpy()
        meta = {
            "class": type(self).__name__,
            "config": self.config.to_dict(),
            "n_items": self.n_items_,
            "n_users": h.shape[0],
            "n_content": self.n_content_,
            "fit_seconds": self.fit_seconds_,
            "history": self.history_,
        }
        model_files.save(folder, self.net_.state_dict(), meta, FORMAT_VERSION, arrays=arrays)

    @classmethod
    def _load(cls, folder: Path) -> Self:
        saved = model_files.load(folder, FORMAT_VERSION, owner=cls.__name__)
        meta, arrays = saved.meta, saved.arrays
        model = cls(TwoTowerConfig.from_dict(meta["config"]))
        net = _Towers(meta["n_items"], meta["n_content"], model.config)
        net.load_state_dict(saved.state_dict)
        net.eval()
        model.net_ = net
        model.n_items_ = meta["n_items"]
        model.n_content_ = meta["n_content"]
        model.fit_seconds_ = meta["fit_seconds"]
        model.history_ = meta["history"]
        model.item_vectors_ = arrays["item_vectors"]
        model.popularity_ = arrays["popularity"]
        model.has_events_ = model.popularity_ > 0
        model._content = torch.from_numpy(arrays["content"]) if "content" in arrays else None
        model._history = sp.csr_matrix(
            (arrays["history_data"], arrays["history_indices"], arrays["history_indptr"]),
            shape=(meta["n_users"], meta["n_items"]),
        )
        return model

    def _legacy_seen(self, folder: Path) -> sp.csr_matrix:
        """Folders saved before ``seen.npz``: the users' positive training items (the history's
        nonzeros); it misses only items whose events net to "no" (returned or disliked)."""
        log.info("TwoTowerRecommender %s: no seen-items file; using the training history", folder)
        return self._history.astype(bool)


class UserState:
    """A user's running aggregate: ``add`` events as they arrive, ``vector()`` at any time.

    Holds the weighted sum of item vectors and the weight total, so an event costs one vector add
    and a ``dim x dim`` matrix-vector product: microseconds, for any length of history.
    """

    def __init__(self, model: TwoTowerRecommender) -> None:
        model._check_fitted()
        self._items = model.item_vectors_
        self._weight = model.net_.user.weight.detach().numpy()
        self._bias = model.net_.user.bias.detach().numpy()
        self.sum = np.zeros(self._items.shape[1], dtype=np.float32)
        self.total = 0.0

    def add(self, items: npt.ArrayLike, weights: npt.ArrayLike | float = 1.0) -> UserState:
        rows = np.asarray(items, dtype=np.int64).reshape(-1)
        w = np.broadcast_to(np.asarray(weights, dtype=np.float32), rows.shape)
        self.sum += w @ self._items[rows]
        self.total += float(w.sum())
        return self

    def vector(self) -> F32:
        """Unit user vector (zeros while the user has no positive weight: use popularity then)."""
        if self.total <= 0:
            return np.zeros_like(self.sum)
        u = self._weight @ (self.sum / self.total) + self._bias
        norm = float(np.linalg.norm(u))
        return (u / norm if norm > 0 else u).astype(np.float32)


def _row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its sum: the weighted-mean operator over a user's items."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    inv = np.where(sums > 0, 1.0 / np.maximum(sums, 1e-12), 0.0).astype(np.float32)
    return sp.diags(inv) @ matrix


def _aggregate(matrix: sp.csr_matrix, rows: I64, vectors: torch.Tensor) -> torch.Tensor:
    """``matrix[rows] @ vectors`` as a weighted ``embedding_bag``: differentiable in ``vectors`` and
    several times faster on CPU than a torch sparse matmul's backward."""
    sub = matrix[np.asarray(rows, dtype=np.int64)].tocsr()
    return nn.functional.embedding_bag(
        torch.from_numpy(sub.indices.astype(np.int64)),
        vectors,
        torch.from_numpy(sub.indptr[:-1].astype(np.int64)),
        mode="sum",
        per_sample_weights=torch.from_numpy(sub.data.astype(np.float32)),
        include_last_offset=False,
    )
