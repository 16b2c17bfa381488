"""The catalog as row-aligned columns: what every ranking stage reads about an item, in arrays.

A request ranks a few hundred candidate rows; each stage needs a handful of item fields (slot,
category, brand, price, sizes, stock, age, popularity) for exactly those rows. Reading them from
the store or from records per request would cost a Python loop per item, so ``CatalogArrays``
keeps each field as one numpy column over catalog rows and a stage gathers ``column[rows]``.
Strings become integer codes into a vocabulary (``brand == 12`` is an integer compare), and the
sizes an item is offered in become a bitmask over the size vocabulary, so "is the user's size
available" is one ``&`` per candidate.

Rows never move. Item changes arrive in real time (a price change, a sell-out, a new drop, a
deletion), so ``upsert`` and ``remove`` return a *new* ``CatalogArrays`` (copy on write): a request
that holds the old snapshot keeps a consistent view while the next request sees the new one, and
swapping one reference is atomic. Updates of existing items copy the columns (well under a
millisecond at 100k items); new items also rebuild the id map (a few milliseconds at 100k).
Removed items keep their row with ``alive`` false, so arrays aligned to catalog rows elsewhere (item
vectors, popularity) stay valid; a removed item that is upserted again comes back on its old row.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.errors import SchemaError
from lookbook.schema import IdMap, Slot

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SIZE_KEYS",
    "MISSING_TIME",
    "SLOT_VOCAB",
    "CatalogArrays",
    "SizeKeys",
]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
B = npt.NDArray[np.bool_]

#: ``created_at`` of items whose creation time is unknown (their age is NaN, never a number).
MISSING_TIME = int(np.iinfo(np.int64).min)

#: Slot codes are fixed by the ``Slot`` enum (a closed set), so a code means the same slot in every
#: catalog snapshot, in a user's context and in a saved reranker.
SLOT_VOCAB: tuple[str, ...] = tuple(s.value for s in Slot)
_SLOT_INDEX = IdMap(SLOT_VOCAB, name="slot")
_OTHER = SLOT_VOCAB.index(Slot.OTHER.value)

_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@dataclass(frozen=True)
class SizeKeys:
    """Which slots each key of ``User.sizes`` applies to.

    Shoppers give a size per slot *group* ("top": M also fits dresses and outerwear), not per
    slot; a key that is itself a slot name always applies to that slot. The defaults follow the
    data model's fashion groups; home slots have no sizes.
    """

    groups: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("top", ("top", "dress", "outerwear")),
        ("bottom", ("bottom",)),
        ("shoes", ("shoes",)),
    )

    def __post_init__(self) -> None:
        for key, slots in self.groups:
            for s in slots:
                if s not in SLOT_VOCAB:
                    raise SchemaError(f"SizeKeys.groups {key!r}: unknown slot {s!r} (known: {SLOT_VOCAB})")

    def slots_of(self, key: str) -> tuple[str, ...]:
        """The slots a size under ``key`` applies to (``()`` for an unknown key)."""
        for k, slots in self.groups:
            if k == key:
                return slots
        return (key,) if key in SLOT_VOCAB else ()


#: The default size groups (a module-level instance: defaults are evaluated once).
DEFAULT_SIZE_KEYS = SizeKeys()


@dataclass(frozen=True, eq=False)
class CatalogArrays:
    """Row-aligned columns of the catalog; row ``r`` is item ``ids.ids[r]``.

    Attributes
    ----------
    ids:
        String id <-> row.
    slot:
        ``(n,)`` int16 codes into ``SLOT_VOCAB``.
    category, brand:
        ``(n,)`` int32 codes into ``category_vocab`` / ``brand_vocab``; -1 when unknown.
    price:
        ``(n,)`` float32, NaN when unknown.
    in_stock, alive:
        ``(n,)`` bool; ``alive`` is false for removed items (their row stays).
    sizes:
        ``(n, w)`` uint64 bitmask over ``size_vocab`` (bit ``c % 64`` of word ``c // 64``); an item
        with no bits lists no sizes (it fits anyone).
    one_size:
        Size labels that fit everyone ("ONE"): items offered in one of them pass the size check.
    created_at:
        ``(n,)`` int64 epoch seconds, ``MISSING_TIME`` when unknown.
    popularity:
        ``(n,)`` float32 >= 0, e.g. recent weighted engagement; the reranker takes its log.
    """

    ids: IdMap
    slot: npt.NDArray[np.int16]
    category: I32
    category_vocab: tuple[str, ...]
    brand: I32
    brand_vocab: tuple[str, ...]
    price: F32
    in_stock: B
    alive: B
    sizes: U64
    size_vocab: tuple[str, ...]
    created_at: I64
    popularity: F32
    one_size: tuple[str, ...] = ("ONE",)

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("slot", "category", "brand", "price", "in_stock", "alive", "created_at", "popularity"):
            shape = getattr(self, name).shape
            if shape != (n,):
                raise SchemaError(f"CatalogArrays {name}: expected shape ({n},), got {shape}")
        if self.sizes.ndim != 2 or self.sizes.shape[0] != n or self.sizes.dtype != np.uint64:
            raise SchemaError(
                f"CatalogArrays sizes: expected a ({n}, w) uint64 bitmask, got {self.sizes.shape}"
            )
        if 64 * self.sizes.shape[1] < len(self.size_vocab):
            raise SchemaError(
                f"CatalogArrays sizes: {self.sizes.shape[1]} words hold {64 * self.sizes.shape[1]} sizes, "
                f"the vocabulary has {len(self.size_vocab)}"
            )

    def __len__(self) -> int:
        return len(self.ids)

    # ---------------------------------------------------------------------------------- lookups
    @cached_property
    def one_size_bits(self) -> U64:
        """``(w,)`` bits of the sizes in ``one_size``."""
        return _bits([self.size_vocab.index(s) for s in self.one_size if s in self.size_vocab], self.n_words)

    @property
    def n_words(self) -> int:
        return int(self.sizes.shape[1])

    @cached_property
    def _brand_index(self) -> dict[str, int]:
        return {b: i for i, b in enumerate(self.brand_vocab)}

    @cached_property
    def _size_index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.size_vocab)}

    def brand_codes(self, names: Iterable[str]) -> I32:
        """Codes of brand names; brands the catalog does not carry are left out."""
        index = self._brand_index
        return np.asarray([index[b] for b in names if b in index], dtype=np.int32)

    def size_code(self, size: str) -> int:
        """Code of a size label; a size no item is offered in gets ``len(size_vocab)`` (matches none)."""
        return self._size_index.get(size, len(self.size_vocab))

    def slot_of(self, rows: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Slot names of ``rows`` (for display and tests)."""
        return np.asarray(SLOT_VOCAB)[self.slot[np.asarray(rows, dtype=np.int64)]]

    # ----------------------------------------------------------------------------- construction
    @classmethod
    def from_items(
        cls,
        items: pa.Table,
        popularity: npt.ArrayLike | None = None,
        *,
        one_size: Sequence[str] = ("ONE",),
    ) -> CatalogArrays:
        """Columns of an items table in the ``lookbook.tables.ITEMS_SCHEMA`` layout.

        Only ``item_id`` is required; a missing column takes its data-model default (slot
        ``other``, no brand, unknown price, in stock, no sizes, unknown creation time). Errors name
        the column and the row. ``popularity`` is ``(n,)`` in table order (default zeros).
        """
        n = items.num_rows
        parsed = _parse(items, category_vocab=(), brand_vocab=(), size_vocab=())
        ids = IdMap(parsed.ids, name="CatalogArrays item_id")
        cols = parsed.columns
        words = _n_words(len(parsed.size_vocab))
        catalog = cls(
            ids=ids,
            slot=cols.get("slot", np.full(n, _OTHER, np.int16)),
            category=cols.get("category", np.full(n, -1, np.int32)),
            category_vocab=parsed.category_vocab,
            brand=cols.get("brand", np.full(n, -1, np.int32)),
            brand_vocab=parsed.brand_vocab,
            price=cols.get("price", np.full(n, np.nan, np.float32)),
            in_stock=cols.get("in_stock", np.ones(n, bool)),
            alive=np.ones(n, bool),
            sizes=_widen(cols.get("sizes", np.zeros((n, 1), np.uint64)), words),
            size_vocab=parsed.size_vocab,
            created_at=cols.get("created_at", np.full(n, MISSING_TIME, np.int64)),
            popularity=np.zeros(n, np.float32),
            one_size=tuple(one_size),
        )
        return catalog if popularity is None else catalog.with_popularity(popularity)

    def with_popularity(self, popularity: npt.ArrayLike) -> CatalogArrays:
        """The same catalog with a new ``(n,)`` popularity column (finite, >= 0)."""
        pop = np.asarray(popularity, dtype=np.float32)
        if pop.shape != (len(self),):
            raise SchemaError(f"CatalogArrays popularity: expected shape ({len(self)},), got {pop.shape}")
        bad = ~np.isfinite(pop) | (pop < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise SchemaError(
                f"CatalogArrays popularity: row {row} (id {self.ids.ids[row]!r}) expected a finite "
                f"value >= 0, got {pop[row]!r}"
            )
        return dataclasses.replace(self, popularity=pop)

    def upsert(self, items: pa.Table, popularity: npt.ArrayLike | None = None) -> CatalogArrays:
        """A new snapshot with ``items`` added or updated (by ``item_id``).

        Only the columns present in ``items`` change for existing items, so a table of
        ``item_id, price`` updates prices and nothing else; new items take defaults for absent
        columns. ``popularity`` (one value per row of ``items``) is optional. Upserting a removed
        item brings it back on its old row.
        """
        parsed = _parse(
            items,
            category_vocab=self.category_vocab,
            brand_vocab=self.brand_vocab,
            size_vocab=self.size_vocab,
        )
        rows = self.ids.lookup(parsed.ids, missing=-1)
        new = rows < 0
        n_old, n_new = len(self), int(new.sum())
        rows[new] = n_old + np.arange(n_new)
        words = max(self.n_words, _n_words(len(parsed.size_vocab)))

        def grown(col: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
            out = np.empty((n_old + n_new, *col.shape[1:]), dtype=col.dtype)
            out[:n_old] = col
            out[n_old:] = fill
            return out

        fields: dict[str, Any] = {
            "slot": grown(self.slot, _OTHER),
            "category": grown(self.category, -1),
            "brand": grown(self.brand, -1),
            "price": grown(self.price, np.nan),
            "in_stock": grown(self.in_stock, True),
            "sizes": grown(_widen(self.sizes, words), 0),
            "created_at": grown(self.created_at, MISSING_TIME),
        }
        for name, values in parsed.columns.items():
            fields[name][rows] = _widen(values, words) if name == "sizes" else values
        alive = grown(self.alive, True)
        alive[rows] = True
        pop = grown(self.popularity, 0.0)
        if popularity is not None:
            values = np.asarray(popularity, dtype=np.float32)
            if values.shape != (len(rows),):
                raise SchemaError(
                    f"CatalogArrays.upsert popularity: expected shape ({len(rows)},), got {values.shape}"
                )
            pop[rows] = values
        ids = (
            IdMap(np.concatenate([self.ids.ids, parsed.ids[new]]), name=self.ids.name) if n_new else self.ids
        )
        log.debug("catalog upsert: %d updated, %d added", len(rows) - n_new, n_new)
        out = dataclasses.replace(
            self,
            ids=ids,
            category_vocab=parsed.category_vocab,
            brand_vocab=parsed.brand_vocab,
            size_vocab=parsed.size_vocab,
            alive=alive,
            popularity=self.popularity if popularity is None and not n_new else pop,
            **fields,
        )
        if popularity is not None:
            out = out.with_popularity(out.popularity)  # re-check the new values, naming the row
        return out

    def sold_out(self, ids: Sequence[str] | npt.NDArray[Any]) -> CatalogArrays:
        """A new snapshot where ``ids`` are out of stock (still in the catalog: an item page can
        say "sold out"; no list shows them). Unknown ids raise ``NotFound``."""
        rows = self.ids.lookup(np.asarray(ids), missing=None)
        in_stock = self.in_stock.copy()
        in_stock[rows] = False
        return dataclasses.replace(self, in_stock=in_stock)

    def remove(self, ids: Sequence[str] | npt.NDArray[Any], *, missing_ok: bool = False) -> CatalogArrays:
        """A new snapshot where ``ids`` are gone (``alive`` false; their rows stay).

        Unknown ids raise ``NotFound`` unless ``missing_ok``.
        """
        rows = self.ids.lookup(np.asarray(ids), missing=None if not missing_ok else -1)
        alive = self.alive.copy()
        alive[rows[rows >= 0]] = False
        return dataclasses.replace(self, alive=alive)


# --------------------------------------------------------------------------------------------------
# parsing an items table into columns
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    ids: npt.NDArray[np.str_]
    columns: Mapping[str, npt.NDArray[Any]]
    category_vocab: tuple[str, ...]
    brand_vocab: tuple[str, ...]
    size_vocab: tuple[str, ...]


def _column(table: pa.Table, name: str) -> pa.Array | None:
    if name not in table.column_names:
        return None
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _strings(col: pa.Array) -> npt.NDArray[np.str_]:
    return np.asarray(pc.fill_null(col.cast(pa.string()), "").to_numpy(zero_copy_only=False)).astype(str)


def _fail(field: str, ids: npt.NDArray[np.str_], bad: B, expected: str, got: Any) -> SchemaError:
    row = int(np.flatnonzero(bad)[0])
    value = got[row] if isinstance(got, np.ndarray) else got
    return SchemaError(f"items row {row} (id {ids[row]!r}) {field}: expected {expected}, got {value!r}")


def _parse(
    table: pa.Table,
    *,
    category_vocab: tuple[str, ...],
    brand_vocab: tuple[str, ...],
    size_vocab: tuple[str, ...],
) -> _Parsed:
    """Columns of ``table`` present in it, coded against (extended) vocabularies."""
    if not isinstance(table, pa.Table):
        raise SchemaError(f"items: expected a pyarrow Table, got {type(table).__name__}")
    id_col = _column(table, "item_id")
    if id_col is None:
        raise SchemaError("items item_id: required column is missing")
    ids = _strings(id_col)
    empty = ids == ""  # null or empty
    if empty.any():
        raise SchemaError(f"items row {int(np.flatnonzero(empty)[0])} item_id: is required")
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise SchemaError(f"items item_id: duplicate id {uniq[counts > 1][0]!r}")
    n = ids.size
    cols: dict[str, npt.NDArray[Any]] = {}

    if (col := _column(table, "slot")) is not None:
        names = _strings(col)
        names[names == ""] = Slot.OTHER.value
        codes = _SLOT_INDEX.lookup(names, missing=-1)
        if (codes < 0).any():
            raise _fail("slot", ids, codes < 0, f"one of {list(SLOT_VOCAB)}", names)
        cols["slot"] = codes.astype(np.int16)
    if (col := _column(table, "category")) is not None:
        cols["category"], category_vocab = _encode(_strings(col), category_vocab)
    if (col := _column(table, "brand")) is not None:
        cols["brand"], brand_vocab = _encode(_strings(col), brand_vocab)
    if (col := _column(table, "price")) is not None:
        price = np.asarray(pc.fill_null(col.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False))
        bad = np.isinf(price) | (price < 0)
        if bad.any():
            raise _fail("price", ids, bad, "a finite number >= 0", price)
        cols["price"] = price.astype(np.float32)
    if (col := _column(table, "in_stock")) is not None:
        cols["in_stock"] = np.asarray(pc.fill_null(col.cast(pa.bool_()), True).to_numpy(zero_copy_only=False))
    if (col := _column(table, "sizes")) is not None:
        if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
            raise SchemaError(f"items sizes: expected a list of strings per item, got {col.type}")
        flat = _strings(pc.list_flatten(col))
        parent = np.asarray(pc.list_parent_indices(col).to_numpy(zero_copy_only=False), dtype=np.int64)
        codes, size_vocab = _encode(flat, size_vocab)
        keep = codes >= 0
        bits = np.zeros((n, _n_words(len(size_vocab))), dtype=np.uint64)
        c = codes[keep].astype(np.uint64)
        np.bitwise_or.at(
            bits, (parent[keep], (c >> np.uint64(6)).astype(np.int64)), np.uint64(1) << (c & np.uint64(63))
        )
        cols["sizes"] = bits
    if (col := _column(table, "created_at")) is not None:
        cols["created_at"] = _epoch_seconds(col, ids)
    return _Parsed(ids, cols, category_vocab, brand_vocab, size_vocab)


def _encode(values: npt.NDArray[np.str_], vocab: tuple[str, ...]) -> tuple[I32, tuple[str, ...]]:
    """Codes of ``values`` in ``vocab``, which grows (in sorted order) by values it lacks; "" -> -1.

    Vocabularies only grow, so codes handed out earlier (in a user's context, in a saved model)
    keep their meaning in every later snapshot.
    """
    codes = np.full(values.size, -1, dtype=np.int32)
    present = values != ""
    if not present.any():
        return codes, vocab
    uniq, inverse = np.unique(values[present], return_inverse=True)
    code_of = np.full(uniq.size, -1, dtype=np.int64)
    if vocab:
        known = np.asarray(vocab).astype(str)
        order = np.argsort(known, kind="stable")
        pos = np.clip(np.searchsorted(known[order], uniq), 0, known.size - 1)
        found = known[order][pos] == uniq
        code_of[found] = order[pos[found]]
    missing = code_of < 0
    code_of[missing] = len(vocab) + np.arange(int(missing.sum()))
    codes[present] = code_of[inverse]
    return codes, vocab + tuple(uniq[missing].tolist())


def _epoch_seconds(col: pa.Array, ids: npt.NDArray[np.str_]) -> I64:
    """Epoch seconds of a timestamp column (or an integer column of seconds); nulls -> MISSING_TIME."""
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False))
    if pa.types.is_timestamp(col.type):
        raw = np.asarray(pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
        secs = np.floor_divide(raw, _PER_SECOND[col.type.unit]).astype(np.int64)
    elif pa.types.is_integer(col.type):
        secs = np.asarray(pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)).astype(
            np.int64
        )
    else:
        raise SchemaError(f"items created_at: expected a timestamp (or epoch seconds) column, got {col.type}")
    secs[~valid] = MISSING_TIME
    return secs


def _n_words(n_sizes: int) -> int:
    return max(1, -(-n_sizes // 64))


def _widen(bits: U64, words: int) -> U64:
    if bits.shape[1] >= words:
        return bits
    out = np.zeros((bits.shape[0], words), dtype=np.uint64)
    out[:, : bits.shape[1]] = bits
    return out


def _bits(codes: Sequence[int], words: int) -> U64:
    out = np.zeros(words, dtype=np.uint64)
    for c in codes:  # a handful of one-size labels
        out[c // 64] |= np.uint64(1) << np.uint64(c % 64)
    return out
