"""What ranking knows about the user of a request: sizes, exclusions and a few history summaries.

``UserContext`` is built once per request from the user's profile and recent events and then read
by the constraint stage (size per slot, disliked and bought rows) and by the reranker features
(price band, brand shares, the request time). Everything is coded against one ``CatalogArrays``
snapshot so the stages compare integers.

The history summaries are computed by ``user_profiles``, which works on many users at once: the
offline training data of the reranker calls it for every user of a log, the request path calls it
for one. One function for both is what keeps the features a model was trained on equal to the
features it is served.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lookbook.errors import SchemaError
from lookbook.ranking.catalog import DEFAULT_SIZE_KEYS, SLOT_VOCAB, CatalogArrays, SizeKeys
from lookbook.schema import EVENT_KIND_CODES, EventKind

__all__ = [
    "BRAND_KINDS",
    "PRICE_KINDS",
    "PRICE_SIGMA_FLOOR",
    "UserContext",
    "UserProfiles",
    "kind_codes",
    "user_profiles",
]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

#: Kinds whose items count towards a user's brand shares: every sign of interest, views included
#: (a view of a brand's item is weak evidence, but brand loyalty shows in browsing first).
BRAND_KINDS: tuple[EventKind, ...] = (
    EventKind.VIEW,
    EventKind.CLICK,
    EventKind.SAVE,
    EventKind.ADD_TO_BAG,
    EventKind.PURCHASE,
)
#: Kinds whose prices form a user's price band. Purchases alone would be the cleanest evidence of
#: what a user pays, but the median shopper has a handful, too few for a spread; clicks, saves and
#: bags are what they consider paying.
PRICE_KINDS: tuple[EventKind, ...] = (
    EventKind.CLICK,
    EventKind.SAVE,
    EventKind.ADD_TO_BAG,
    EventKind.PURCHASE,
)
#: Smallest spread of a price band in log price (a user with one purchase has spread 0; 0.15 is
#: about +-15 % around it), so the z-score of a price stays finite and meaningful.
PRICE_SIGMA_FLOOR = 0.15


def kind_codes(kinds: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """``EventKind`` storage codes of kind names (or codes, passed through after a range check)."""
    arr = np.asarray(kinds)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int8)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() >= len(EventKind):
            raise SchemaError(
                f"event kinds: codes must be in [0, {len(EventKind)}), got {arr.min()}..{arr.max()}"
            )
        return arr.astype(np.int8)
    names = np.asarray(arr).astype(str)
    table = np.asarray(list(EVENT_KIND_CODES))
    order = np.argsort(table)
    pos = np.clip(np.searchsorted(table[order], names), 0, table.size - 1)
    found = table[order][pos] == names
    if not found.all():
        raise SchemaError(f"event kinds: expected one of {list(EVENT_KIND_CODES)}, got {names[~found][0]!r}")
    return order[pos].astype(np.int8)


def _mask(codes: npt.NDArray[np.int8], kinds: tuple[EventKind, ...]) -> npt.NDArray[np.bool_]:
    return np.isin(codes, [EVENT_KIND_CODES[k.value] for k in kinds])


@dataclass(frozen=True, eq=False)
class UserProfiles:
    """History summaries of ``n_users`` users (rows), against one catalog's codes.

    ``price_mu`` / ``price_sigma`` are the mean and spread (floored) of the log prices of the
    items in ``PRICE_KINDS`` events, NaN without such events; ``brand_counts`` (n_users, n_brands)
    counts ``BRAND_KINDS`` events per brand, ``n_brand_events`` their total per user.
    """

    price_mu: F32
    price_sigma: F32
    brand_counts: sp.csr_matrix
    n_brand_events: F32

    def price_z(self, users: I64, price: F32) -> F32:
        """z-score of ``log(price)`` in each user's band (NaN when either is unknown)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((np.log(price) - self.price_mu[users]) / self.price_sigma[users]).astype(np.float32)

    def brand_share(self, users: I64, brands: I32) -> F32:
        """Share of each user's ``BRAND_KINDS`` events that were with ``brands`` (paired arrays).

        NaN for users without such events (nothing is known), 0 for an unknown brand (-1) or a
        brand newer than these profiles.
        """
        users = np.asarray(users, dtype=np.int64)
        brands = np.asarray(brands, dtype=np.int64)
        n_brands = self.brand_counts.shape[1]
        coo = self.brand_counts.tocoo()
        keys = coo.row.astype(np.int64) * n_brands + coo.col  # csr order: sorted by (row, col)
        known = (brands >= 0) & (brands < n_brands)
        query = users * n_brands + np.where(known, brands, 0)
        counts = np.zeros(users.size, dtype=np.float64)
        if keys.size:
            pos = np.clip(np.searchsorted(keys, query), 0, keys.size - 1)
            hit = known & (keys[pos] == query)
            counts[hit] = coo.data[pos[hit]]
        total = self.n_brand_events[users]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, counts / total, np.nan).astype(np.float32)


def user_profiles(
    catalog: CatalogArrays,
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    kinds: npt.ArrayLike,
    n_users: int,
) -> UserProfiles:
    """Price bands and brand counts of ``n_users`` users from their events (paired arrays).

    ``users`` are rows in ``[0, n_users)``, ``items`` catalog rows, ``kinds`` ``EventKind`` names
    or codes. Vectorised over events (bincounts and one sparse matrix), so a log of a million
    events takes well under a second.
    """
    u = np.asarray(users, dtype=np.int64)
    i = np.asarray(items, dtype=np.int64)
    k = kind_codes(kinds)
    if not (u.shape == i.shape == k.shape) or u.ndim != 1:
        raise SchemaError(
            "user_profiles: expected equal-length 1-D users, items, kinds, "
            f"got {u.shape}, {i.shape}, {k.shape}"
        )
    if u.size and (u.min() < 0 or u.max() >= n_users):
        raise SchemaError(f"user_profiles users: rows must be in [0, {n_users}), got {u.min()}..{u.max()}")
    if i.size and (i.min() < 0 or i.max() >= len(catalog)):
        raise SchemaError(
            f"user_profiles items: catalog rows must be in [0, {len(catalog)}), got {i.min()}..{i.max()}"
        )

    price = catalog.price[i]
    sel = _mask(k, PRICE_KINDS) & np.isfinite(price) & (price > 0)
    logp = np.log(price[sel]).astype(np.float64)
    n = np.bincount(u[sel], minlength=n_users).astype(np.float64)
    s1 = np.bincount(u[sel], weights=logp, minlength=n_users)
    s2 = np.bincount(u[sel], weights=logp * logp, minlength=n_users)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(n > 0, s1 / n, np.nan)
        var = np.where(n > 0, s2 / n - mu * mu, np.nan)
    sigma = np.where(n > 0, np.maximum(np.sqrt(np.maximum(var, 0.0)), PRICE_SIGMA_FLOOR), np.nan)

    brand = catalog.brand[i]
    sel = _mask(k, BRAND_KINDS)
    n_brand_events = np.bincount(u[sel], minlength=n_users).astype(np.float32)
    sel &= brand >= 0
    n_brands = max(len(catalog.brand_vocab), 1)
    counts = sp.csr_matrix(
        (np.ones(int(sel.sum()), np.float32), (u[sel], brand[sel])),
        shape=(n_users, n_brands),
        dtype=np.float32,
    )
    counts.sum_duplicates()
    counts.sort_indices()
    return UserProfiles(mu.astype(np.float32), sigma.astype(np.float32), counts, n_brand_events)


@dataclass(frozen=True, eq=False)
class UserContext:
    """One request's user, coded against one catalog snapshot.

    Attributes
    ----------
    size_by_slot:
        ``(len(SLOT_VOCAB),)`` the user's size code per slot, -1 where no size is known (no size
        constraint there).
    disliked, bought:
        Sorted unique catalog rows the user disliked / bought.
    profile:
        ``UserProfiles`` of this one user (row 0): price band and brand counts.
    now:
        Request time, epoch seconds (item ages are measured to it).
    """

    size_by_slot: I32
    disliked: I64
    bought: I64
    profile: UserProfiles
    now: int
    user_id: str = ""

    def __post_init__(self) -> None:
        if self.size_by_slot.shape != (len(SLOT_VOCAB),):
            raise SchemaError(
                f"UserContext size_by_slot: expected shape ({len(SLOT_VOCAB)},), "
                f"got {self.size_by_slot.shape}"
            )
        if self.profile.price_mu.shape != (1,):
            raise SchemaError("UserContext profile: expected the profile of exactly one user")

    @classmethod
    def build(
        cls,
        catalog: CatalogArrays,
        *,
        sizes: Mapping[str, str] | None = None,
        history_rows: npt.ArrayLike = (),
        history_kinds: npt.ArrayLike = (),
        now: int | None = None,
        size_keys: SizeKeys = DEFAULT_SIZE_KEYS,
        user_id: str = "",
    ) -> UserContext:
        """Context from a profile's sizes (``User.sizes``: size per slot group) and the user's
        events (catalog rows and their kinds, any order). ``now`` defaults to the clock."""
        size_by_slot = np.full(len(SLOT_VOCAB), -1, dtype=np.int32)
        for key, size in (sizes or {}).items():  # a handful of size keys per user
            for slot in size_keys.slots_of(str(key)):
                size_by_slot[SLOT_VOCAB.index(slot)] = catalog.size_code(str(size))
        rows = np.asarray(history_rows, dtype=np.int64).ravel()
        codes = kind_codes(np.asarray(history_kinds).ravel())
        if rows.shape != codes.shape:
            raise SchemaError(f"UserContext history: {rows.size} rows but {codes.size} kinds")
        if rows.size and (rows.min() < 0 or rows.max() >= len(catalog)):
            raise SchemaError(f"UserContext history_rows: catalog rows must be in [0, {len(catalog)})")
        disliked = np.unique(rows[codes == EVENT_KIND_CODES[EventKind.DISLIKE.value]])
        bought = np.unique(rows[codes == EVENT_KIND_CODES[EventKind.PURCHASE.value]])
        profile = user_profiles(catalog, np.zeros(rows.size, np.int64), rows, codes, 1)
        return cls(
            size_by_slot=size_by_slot,
            disliked=disliked,
            bought=bought,
            profile=profile,
            now=int(time.time()) if now is None else int(now),
            user_id=user_id,
        )

    def brand_share(self, brands: I32) -> F32:
        """Share of this user's interactions with each of ``brands`` (NaN without history)."""
        return self.profile.brand_share(np.zeros(len(brands), np.int64), brands)

    def price_z(self, price: F32) -> F32:
        """z-score of each ``log(price)`` in this user's band (NaN without history)."""
        return self.profile.price_z(np.zeros(len(price), np.int64), price)
