"""The one contract every collaborative recommender keeps, so any model can be ranked, tuned,
evaluated, saved and tested the same way (implicit's ``RecommenderBase``).

A subclass writes what differs between models: ``fit`` (ending with ``self._record_fit(data)``),
``score`` (full score rows: the blend and the evaluation read them), ``_similar_scores`` (its
natural item-item similarity) and the persistence hooks ``_save`` / ``_load``. The base does the
chores once: input checks with named errors, the vectorised top-k with seen items masked and
rows padded, the scalar/batch rule, the seen-items file, and the docstrings (a subclass method
without one inherits the base's).

Why the base remembers the training data's seen items (``seen_``) instead of taking a
``user_items`` matrix on every call as implicit does: in Lookbook a model is always asked about the
data it was fitted on (the evaluation harness, the tuning loops, a built project), and keeping the
mask with the model means a saved model recommends exactly as it did before saving.
"""

from __future__ import annotations

import abc
import logging
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lookbook.errors import LookbookError, NotFittedError, NotFound, SchemaError
from lookbook.models.collaborative.data import InteractionData
from lookbook.models.collaborative.topk import ranked_by, seen_matrix
from lookbook.weights import META_FILE, load_arrays, load_json, save_arrays, save_json

log = logging.getLogger(__name__)

__all__ = ["ARRAYS_FILE", "SEEN_FILE", "Recommender"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: The seen-items mask of a saved recommender (``indptr``, ``indices``, ``shape``), beside the
#: model's own files.
SEEN_FILE = "seen.npz"
SEEN_FORMAT_VERSION = 1
#: The arrays file of the numpy recommenders.
ARRAYS_FILE = "arrays.npz"

#: Methods whose docstring a subclass inherits when it writes none (implicit's ``__doc__`` reuse).
_DOCUMENTED = (
    "fit",
    "score",
    "recommend",
    "similar_items",
    "save",
    "load",
    "_similar_scores",
    "_save",
    "_load",
)


class Recommender(abc.ABC):
    """A model that learns from ``InteractionData`` and ranks items for the users of that data.

    Users and items are integer rows of the data the model was fitted on (``data.user_ids`` /
    ``data.item_ids``); string ids stay at the edges. Batches first: every method takes an array
    of rows (or one row, for convenience) and returns parallel ``(ids, scores)`` arrays padded to
    a fixed width, never ragged lists.

    Misuse fails at the call: any method before ``fit`` (or ``load``) raises ``NotFittedError``;
    rows outside the fitted data raise ``NotFound`` naming the argument (``users`` / ``items``).
    """

    #: Short name in reports and logs.
    name: ClassVar[str] = "recommender"

    #: Fitted state kept by the base (set by ``_record_fit`` or ``load``).
    n_users_: int
    n_items_: int
    seen_: sp.csr_matrix

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in _DOCUMENTED:
            own = cls.__dict__.get(method)
            func = own.__func__ if isinstance(own, classmethod | staticmethod) else own
            if func is None or func.__doc__:
                continue
            for parent in cls.__mro__[1:]:
                inherited = parent.__dict__.get(method)
                if inherited is None:
                    continue
                inherited = (
                    inherited.__func__ if isinstance(inherited, classmethod | staticmethod) else inherited
                )
                if inherited.__doc__:
                    func.__doc__ = inherited.__doc__
                    break

    # ------------------------------------------------------------------------------- the contract
    @abc.abstractmethod
    def fit(self, data: InteractionData, *, show_progress: bool = False) -> Self:
        """Learn from ``data`` (training events only) and return ``self``.

        Every call starts fresh: nothing learned from an earlier ``fit`` survives (except where a
        subclass documents a warm start). The items each user has any event with are remembered
        (``seen_``) so that ``recommend`` can leave them out.

        Parameters
        ----------
        data:
            Events over fixed user and item rows; kind and recency weights already applied
            (``data.matrix()`` is the positive-weight matrix most models learn from).
        show_progress:
            Show a progress bar for long fits (tests and the tuning loops pass ``False``).

        Returns
        -------
        self, fitted.
        """

    @abc.abstractmethod
    def score(self, users: npt.ArrayLike) -> F32:
        """Scores of every item for the given users: higher means more likely to be wanted.

        Full rows, seen items included (nothing is masked): the blend standardises and mixes two
        models' rows, and the top-k of ``recommend`` reads them.

        Parameters
        ----------
        users:
            ``(n,)`` user rows of the fitted data.

        Returns
        -------
        ``(n, n_items)`` float32 scores.
        """

    def recommend(
        self,
        users: int | npt.ArrayLike,
        k: int = 10,
        *,
        filter_seen: bool = True,
        items: npt.ArrayLike | None = None,
    ) -> tuple[I64, F32]:
        """The top ``k`` items of each user, best first, with their scores.

        One vectorised top-k over ``score`` rows, ``topk.BATCH_SIZE`` users at a time. Ties go to the
        lower item row, so a ranking is reproducible; NaN scores count as ``-inf`` and ``-inf``
        items are never returned.

        Parameters
        ----------
        users:
            One user row, or ``(n,)`` user rows of the fitted data.
        k:
            How many items per user (>= 1). Rows with fewer rankable items are padded.
        filter_seen:
            Leave out the items each user has any training event with (views and returns
            included), as the evaluation does.
        items:
            Item rows to rank among (the others are never returned); ``None``: all items.

        Returns
        -------
        ``(ids, scores)``: int64 item rows and float32 scores, ``(n, k)`` for an array of users and
        ``(k,)`` for one user; padding is ``-1`` with score ``-inf``.
        """
        rows, scalar = self._rows(users, "recommend", "users")
        k = _check_k(k, f"{type(self).__name__}.recommend")
        candidates = None
        if items is not None:
            candidates = np.unique(self._rows(items, "recommend", "items")[0])
        ids, scores = ranked_by(
            self.score,
            rows,
            k,
            exclude=self.seen_ if filter_seen else None,
            candidates=candidates,
            n_items=self.n_items_,
            owner=f"{type(self).__name__}.score",
        )
        return (ids[0], scores[0]) if scalar else (ids, scores)

    def similar_items(self, items: int | npt.ArrayLike, k: int = 10) -> tuple[I64, F32]:
        """The ``k`` items most similar to each given item, best first, with their similarities.

        Each model uses its natural item-item similarity (cosine of factors or vectors, item-item
        weights; popularity answers with the most popular items). The query item itself is never
        returned. Same shapes, padding and tie rule as ``recommend``.

        Parameters
        ----------
        items:
            One item row, or ``(n,)`` item rows of the fitted data.
        k:
            How many similar items per query item (>= 1).

        Returns
        -------
        ``(ids, scores)``: ``(n, k)`` int64 item rows and float32 similarities (``(k,)`` for one
        item), padded with ``-1`` / ``-inf``.
        """
        rows, scalar = self._rows(items, "similar_items", "items")
        k = _check_k(k, f"{type(self).__name__}.similar_items")
        itself = sp.identity(self.n_items_, dtype=bool, format="csr")
        ids, scores = ranked_by(
            self._similar_scores,
            rows,
            k,
            exclude=itself,
            owner=f"{type(self).__name__}._similar_scores",
        )
        return (ids[0], scores[0]) if scalar else (ids, scores)

    def save(self, path: Path | str) -> Path:
        """Save the fitted model to the folder ``path`` (created if needed) and return it.

        Settings go to JSON, arrays to ``.npz`` (read back with ``allow_pickle=False``), torch
        weights to safetensors; each file carries a format version that ``load`` checks. The
        seen-items mask goes to ``seen.npz``, so a loaded model recommends exactly as this one.
        """
        self._check_fitted()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self._save(out)
        seen = self.seen_.tocsr()
        save_arrays(
            out / SEEN_FILE,
            {
                "indptr": seen.indptr.astype(np.int64),
                "indices": seen.indices.astype(np.int64),
                "shape": np.asarray(seen.shape, dtype=np.int64),
            },
            SEEN_FORMAT_VERSION,
        )
        return out

    @classmethod
    def load(cls, path: Path | str) -> Self:
        """A fitted model from a folder written by ``save``; it scores and recommends as before.

        Raises ``NotFound`` naming a missing file and ``SchemaError`` naming the file and both
        versions when a file's format version is not one this code reads.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise NotFound(f"{cls.__name__}.load path: {folder} is not a folder")
        model = cls._load(folder)
        if (folder / SEEN_FILE).is_file():
            parts = load_arrays(folder / SEEN_FILE, SEEN_FORMAT_VERSION, owner=cls.__name__)
            n_users, n_items = (int(v) for v in parts["shape"])
            seen = sp.csr_matrix(
                (np.ones(parts["indices"].size, dtype=bool), parts["indices"], parts["indptr"]),
                shape=(n_users, n_items),
            )
        else:
            seen = model._legacy_seen(folder)
        model._set_seen(seen)
        return model

    # --------------------------------------------------------------------------- subclass hooks
    @abc.abstractmethod
    def _similar_scores(self, items: I64) -> F32:
        """``(len(items), n_items)`` similarity of each given item to every item (higher = closer);
        the base masks the item itself and takes the top k. ``items`` are checked rows."""

    @abc.abstractmethod
    def _save(self, folder: Path) -> None:
        """Write the model's own files into ``folder`` (which exists); the base adds ``seen.npz``."""

    @classmethod
    @abc.abstractmethod
    def _load(cls, folder: Path) -> Self:
        """The model read from ``folder``'s own files; the base then restores ``seen_``."""

    def _legacy_seen(self, folder: Path) -> sp.csr_matrix:
        """The seen-items mask of a folder saved before ``seen.npz`` existed (none by default)."""
        raise NotFound(f"{type(self).__name__} {folder / SEEN_FILE}: no such file; save the model again")

    # ------------------------------------------------------------------------------------ chores
    def _record_fit(self, data: InteractionData) -> None:
        """Remember the fitted data's shape and seen items; every ``fit`` ends with this."""
        self._set_seen(seen_matrix(data))

    def _set_seen(self, seen: sp.csr_matrix) -> None:
        self.seen_ = sp.csr_matrix(seen, dtype=bool)
        self.n_users_, self.n_items_ = (int(v) for v in self.seen_.shape)

    def _check_fitted(self) -> None:
        if not hasattr(self, "seen_"):
            raise NotFittedError(f"{type(self).__name__}: call fit() or load() first")

    def _user_rows(self, users: npt.ArrayLike, method: str) -> I64:
        """Checked ``(n,)`` user rows (for ``score`` and friends): fitted, integer, in range."""
        return self._rows(users, method, "users")[0]

    def _rows(self, values: int | npt.ArrayLike, method: str, argument: str) -> tuple[I64, bool]:
        """``values`` as int64 rows of the fitted users or items, and whether one was given alone."""
        self._check_fitted()
        arr = np.asarray(values)
        owner = f"{type(self).__name__}.{method} {argument}"
        if arr.ndim > 1:
            raise LookbookError(f"{owner}: expected one row or a 1-D array of rows, got shape {arr.shape}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise LookbookError(f"{owner}: expected integer rows, got dtype {arr.dtype}")
        rows = arr.astype(np.int64).reshape(-1)
        n = self.n_users_ if argument == "users" else self.n_items_
        bad = (rows < 0) | (rows >= n)
        if bad.any():
            raise NotFound(
                f"{owner}: expected rows in [0, {n}) of the fitted data, got {rows[bad][:5].tolist()}"
            )
        return rows, arr.ndim == 0

    # ---------------------------------------------------------------- the numpy models' files
    def _write_meta(self, folder: Path, format_version: int, **fields: Any) -> None:
        """``model.json``: the format version, the class (checked on load) and ``fields``."""
        save_json(folder / META_FILE, {"class": type(self).__name__, **fields}, format_version)

    @classmethod
    def _read_meta(cls, folder: Path, format_version: int) -> dict[str, Any]:
        meta = load_json(folder / META_FILE, format_version, owner=cls.__name__)
        saved = meta.get("class")
        if saved is not None and saved != cls.__name__:
            raise SchemaError(
                f"{cls.__name__}.load {folder / META_FILE}: holds a {saved}, not a {cls.__name__}"
            )
        return meta


def _check_k(k: Any, owner: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise LookbookError(f"{owner} k: expected an int >= 1, got {k!r}")
    return int(k)
