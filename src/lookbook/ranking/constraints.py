"""Hard constraints: what must never be shown, whatever its score.

The index pre-filters what it can express as payload filters (stock, slot, price), but some
constraints depend on the user (their size for the item's slot, what they disliked or bought) and
an index may lag a real-time change by a moment, so every page checks them again here, for all
candidates at once: gathers and boolean algebra over catalog columns, one ``isin`` per exclusion
list. Each touchpoint chooses its set (a "buy it again" row would not exclude bought items).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError
from lookbook.ranking.candidates import Candidates
from lookbook.ranking.catalog import CatalogArrays
from lookbook.ranking.context import UserContext

log = logging.getLogger(__name__)

__all__ = ["Constraints", "apply_constraints", "constraint_mask", "size_available"]

B = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Constraints:
    """Which hard constraints a touchpoint applies. Removed items are always excluded.

    ``exclude_brands`` and the price band (``price_min`` / ``price_max``, inclusive) are business
    rules; an item with an unknown price fails a price band.
    """

    in_stock: bool = True
    size_available: bool = True
    exclude_disliked: bool = True
    exclude_bought: bool = True
    exclude_brands: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.exclude_brands, str):
            raise SchemaError(
                f"Constraints.exclude_brands: expected a tuple of brands, got {self.exclude_brands!r}"
            )
        object.__setattr__(self, "exclude_brands", tuple(str(b) for b in self.exclude_brands))
        for name in ("price_min", "price_max"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not np.isfinite(value)
                or value < 0
            ):
                raise SchemaError(f"Constraints.{name}: expected a finite number >= 0 or None, got {value!r}")
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise SchemaError(f"Constraints: price_min {self.price_min} is above price_max {self.price_max}")


def size_available(catalog: CatalogArrays, rows: I64, size_by_slot: npt.NDArray[np.int32]) -> B:
    """Whether each item is offered in the user's size for its slot.

    True where the user has no size for the slot, where the item lists no sizes, or where it is
    one-size; otherwise the bit of the user's size must be set in the item's size mask.
    """
    need = size_by_slot[catalog.slot[rows]].astype(np.int64)
    bits = catalog.sizes[rows]
    unsized = ~bits.any(axis=1)
    one_size = (bits & catalog.one_size_bits).any(axis=1)
    known = (need >= 0) & (need < 64 * catalog.n_words)
    word = np.where(known, need >> 6, 0)
    shift = np.where(known, need & 63, 0).astype(np.uint64)
    has = known & (((bits[np.arange(rows.size), word] >> shift) & np.uint64(1)) == 1)
    return (need < 0) | unsized | one_size | has


def constraint_mask(c: Candidates, catalog: CatalogArrays, constraints: Constraints, user: UserContext) -> B:
    """``(n,)`` True for candidates that pass every constraint in ``constraints``."""
    rows = c.rows
    ok = catalog.alive[rows].copy()
    if constraints.in_stock:
        ok &= catalog.in_stock[rows]
    if constraints.size_available:
        ok &= size_available(catalog, rows, user.size_by_slot)
    if constraints.exclude_disliked and user.disliked.size:
        ok &= ~np.isin(rows, user.disliked)
    if constraints.exclude_bought and user.bought.size:
        ok &= ~np.isin(rows, user.bought)
    if constraints.exclude_brands:
        codes = catalog.brand_codes(constraints.exclude_brands)
        if codes.size:
            ok &= ~np.isin(catalog.brand[rows], codes)
    if constraints.price_min is not None or constraints.price_max is not None:
        price = catalog.price[rows]
        lo = -np.inf if constraints.price_min is None else constraints.price_min
        hi = np.inf if constraints.price_max is None else constraints.price_max
        with np.errstate(invalid="ignore"):
            ok &= (price >= lo) & (price <= hi)
    return ok


def apply_constraints(
    c: Candidates, catalog: CatalogArrays, constraints: Constraints, user: UserContext
) -> Candidates:
    """The candidates that pass ``constraints`` (order kept)."""
    mask = constraint_mask(c, catalog, constraints, user)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("constraints: %d of %d candidates pass", int(mask.sum()), mask.size)
    return c.take(mask)
