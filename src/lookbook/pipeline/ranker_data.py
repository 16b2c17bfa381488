"""Training data for the reranker from a world folder: logged impressions with leak-free features.

Every feature of an impression must be computable with what the shop knew when it showed the
slate, or the ranker learns from the future and disappoints in production. So time is cut into
snapshots (every ``snapshot_days`` after an initial history period): at each snapshot the
feature models are refitted on the events before it, and they featurise the impressions up to
the next snapshot, as a shop that retrains every two weeks would. The features:

- ``a``: EASE (binary, ``ease_l2``) scores of the user for the item, divided by the user's best
  score over the catalog, so they sit in (-inf, 1] like a cosine; NaN for users or items without
  events before the snapshot (a cold item has no collaborative signal);
- ``d``: cosine distance, in the ALS item-factor space, between the item and the nearest of the
  user's ``recent_items`` latest positively engaged items: the distance the candidate would have
  had if the user's recent items had been the retrieval anchors (the minimum over anchors, as
  ``dedupe_min_distance`` keeps); NaN when either side is unknown;
- ``style``: NaN (a world's logs carry no compatibility model's view; the column is there for
  touchpoints that pass one);
- popularity, price band, brand affinity, age and slot as ``features`` defines them, from the
  same events.

The world's ``truth/`` is never read (``load_world`` does not open it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from lookbook.datasets.world import World, load_world
from lookbook.errors import LookbookError, SchemaError
from lookbook.models.collaborative.baselines import ALSConfig, ALSRecommender, EASEConfig, EASERecommender
from lookbook.models.collaborative.data import InteractionData, event_weights
from lookbook.models.collaborative.loading import DEFAULT_WEIGHTS, seconds, unique_in_order
from lookbook.ranking.catalog import CatalogArrays
from lookbook.ranking.context import kind_codes, user_profiles
from lookbook.ranking.features import FEATURES, RECENT_KINDS, feature_matrix, item_popularity
from lookbook.ranking.logs import ImpressionLog, RankerTrainingData, impression_labels
from lookbook.schema import EVENT_KIND_CODES, IdMap
from lookbook.tables import EventArrays

log = logging.getLogger(__name__)

__all__ = [
    "WorldRankerConfig",
    "ranker_training_data",
    "ranker_training_data_from_world",
    "store_impressions",
]

#: Events that count as a click on the shown item when they name its slate (``request_id``).
ENGAGED_KINDS = ("click", "save", "add_to_bag", "purchase")


def store_impressions(impressions: pa.Table, events: pa.Table) -> pa.Table:
    """A store's served slates (``tables.IMPRESSIONS_SCHEMA``) as logged impressions the ranker
    learns from (``WORLD_IMPRESSIONS_SCHEMA``): one slate is one ``session_id``, and an item shown
    in it is ``clicked`` when an engaging event names that slate's ``request_id`` and that item (the
    attribution the serving API asks clients to send back). Anonymous slates are left out: their
    features need the shopper's history. A page of several carousels (the home feed) logs each
    under the request's id with its own touchpoint: each is a slate here."""
    from lookbook.tables import WORLD_IMPRESSIONS_SCHEMA

    im = impressions.filter(pc.is_valid(impressions.column("user_id")))
    slate = pc.binary_join_element_wise(im.column("request_id"), im.column("touchpoint"), "\x1f")
    _, session = np.unique(_strings(slate), return_inverse=True)  # a home page's carousels: a slate each
    engaged = events.filter(
        pc.and_(
            pc.is_valid(events.column("request_id")), pc.is_in(events.column("kind"), pa.array(ENGAGED_KINDS))
        )
    )

    def pair(table: pa.Table) -> pa.Array:
        return pc.binary_join_element_wise(
            pc.cast(table.column("request_id"), pa.string()), table.column("item_id"), "\x1f"
        )

    clicked = (
        pc.is_in(pair(im), value_set=pc.unique(pair(engaged)))
        if engaged.num_rows
        else pa.array(np.zeros(im.num_rows, bool))
    )
    return pa.table(
        {
            "user_id": im.column("user_id"),
            "item_id": im.column("item_id"),
            "timestamp": im.column("timestamp"),
            "session_id": pa.array(session.astype(np.int64)),
            "touchpoint": im.column("touchpoint"),
            "position": im.column("position"),
            "clicked": clicked,
        },
        schema=WORLD_IMPRESSIONS_SCHEMA,
    )


F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

DAY = 86_400
#: Impressions without a session id are grouped into slates by user and this time bucket.
SESSION_BUCKET_S = 1_800


@dataclass(frozen=True)
class WorldRankerConfig:
    """How ``ranker_training_data_from_world`` cuts time and fits its feature models.

    The first ``history_fraction`` of the impression period only feeds features (no slate there
    has enough history before it); the last ``valid_fraction`` is validation. ``ease_l2`` 200 and
    32 ALS factors are the collaborative defaults that suit worlds of a few thousand items.
    """

    history_fraction: float = 0.25
    valid_fraction: float = 0.25
    snapshot_days: float = 14.0
    recent_items: int = 10
    ease_l2: float = 200.0
    als_factors: int = 32
    als_iterations: int = 10
    purchase_window_s: int = 86_400
    user_batch: int = 512
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("history_fraction", "valid_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise SchemaError(f"WorldRankerConfig.{name}: expected a number in (0, 1), got {value!r}")
        if self.history_fraction + self.valid_fraction >= 1.0:
            raise SchemaError(
                "WorldRankerConfig: history_fraction + valid_fraction must leave a training period"
            )
        for name in ("recent_items", "als_factors", "als_iterations", "user_batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchemaError(f"WorldRankerConfig.{name}: expected an int >= 1, got {value!r}")
        if not self.snapshot_days > 0 or not self.ease_l2 > 0:
            raise SchemaError("WorldRankerConfig: snapshot_days and ease_l2 must be > 0")


@dataclass(frozen=True)
class _Log:
    user: I64
    item: I64
    kind: npt.NDArray[np.int8]
    time: I64


def ranker_training_data_from_world(
    world_dir: Path | str, config: WorldRankerConfig = WorldRankerConfig(), *, show_progress: bool = False
) -> RankerTrainingData:
    """Features and labels of a world folder's logged impressions (``impressions.parquet``)."""
    return ranker_training_data(load_world(Path(world_dir)), config, show_progress=show_progress)


def ranker_training_data(
    world: World, config: WorldRankerConfig = WorldRankerConfig(), *, show_progress: bool = False
) -> RankerTrainingData:
    """Features and labels of ``world.impressions`` (a world's logged ones, or a store's own through
    ``store_impressions``).

    Returns the training data with ``valid_from`` at the start of the last ``valid_fraction``;
    ``meta`` records the user ids (row order of ``impressions.user``), the snapshots and sizes.
    """
    started = time.perf_counter()
    world_dir = world.root
    if world.impressions.num_rows == 0:
        raise LookbookError(f"world {world_dir}: no logged impressions to learn a ranker from")
    catalog = CatalogArrays.from_items(world.items)
    ev, im = world.events, world.impressions
    users = IdMap(
        unique_in_order(
            np.concatenate(
                [
                    _strings(world.users.column("user_id")),
                    _strings(ev.column("user_id")),
                    _strings(im.column("user_id")),
                ]
            )
        ),
        name="user_id",
    )

    ev_item = catalog.ids.lookup(_strings(ev.column("item_id")), missing=-1)
    known = ev_item >= 0
    if not known.all():
        log.warning(
            "ranker data: %d events of items missing from the catalog are ignored", int((~known).sum())
        )
    events = _Log(
        users.lookup(_strings(ev.column("user_id")))[known],
        ev_item[known],
        kind_codes(_strings(ev.column("kind")))[known],
        seconds(ev.column("timestamp"))[known],
    )

    im_item = catalog.ids.lookup(_strings(im.column("item_id")), missing=-1)
    keep = im_item >= 0
    im_user = users.lookup(_strings(im.column("user_id")))
    im_time = seconds(im.column("timestamp"))
    position = np.asarray(
        pc.fill_null(im.column("position"), 0).to_numpy(zero_copy_only=False), dtype=np.int32
    )
    clicked = np.asarray(pc.fill_null(im.column("clicked"), False).to_numpy(zero_copy_only=False), dtype=bool)
    group = _groups(im.column("session_id"), im_user, im_time)

    t_lo, t_hi = int(im_time.min()), int(im_time.max()) + 1
    span = t_hi - t_lo
    first = t_lo + int(config.history_fraction * span)
    valid_from = t_hi - int(config.valid_fraction * span)
    cuts = np.unique(np.append(np.arange(first, t_hi, int(config.snapshot_days * DAY)), valid_from))
    bounds = np.append(cuts, t_hi)
    keep &= im_time >= first
    idx = np.flatnonzero(keep)
    features = np.full((idx.size, len(FEATURES)), np.nan, dtype=np.float32)
    window = np.searchsorted(cuts, im_time[idx], side="right") - 1
    for j in tqdm(range(cuts.size), desc="ranker snapshots", disable=not show_progress):  # a few snapshots
        sel = np.flatnonzero(window == j)
        if sel.size == 0:
            continue
        at = idx[sel]
        before = events.time < bounds[j]
        hist = _Log(events.user[before], events.item[before], events.kind[before], events.time[before])
        features[sel] = _snapshot_features(
            catalog, users, hist, im_user[at], im_item[at], im_time[at], int(bounds[j]), config
        )
        log.debug("ranker snapshot %d: %d impressions, %d events before it", j, sel.size, hist.user.size)

    impressions = ImpressionLog(
        group[idx], im_user[idx], im_item[idx], position[idx], im_time[idx], clicked[idx]
    )
    labels = impression_labels(
        impressions,
        EventArrays(
            user_rows=events.user,
            item_rows=events.item,
            kind=events.kind,
            timestamp=events.time,
            position=np.full(events.user.size, -1, np.int32),  # labels do not read positions
            users=users,
            items=catalog.ids,
        ),
        window_s=config.purchase_window_s,
    )
    log.info(
        "ranker data: %d impressions in %d snapshots (%.1f s)",
        idx.size,
        cuts.size,
        time.perf_counter() - started,
    )
    return RankerTrainingData(
        features,
        impressions,
        labels,
        int(valid_from),
        meta={
            "world": str(world_dir),
            "user_ids": users.ids,
            "item_ids": catalog.ids.ids,
            "snapshots": cuts.tolist(),
            "first": int(first),
            "n_impressions": int(idx.size),
        },
    )


def _strings(col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.str_]:
    return np.asarray(pc.fill_null(col, "").to_numpy(zero_copy_only=False)).astype(str)


def _groups(session: pa.ChunkedArray, user: I64, ts: I64) -> I64:
    """Slate ids: the session id, or (user, half-hour bucket) where it is missing."""
    valid = np.asarray(pc.is_valid(session).to_numpy(zero_copy_only=False))
    if valid.all():
        return np.asarray(session.to_numpy(), dtype=np.int64)
    raw = np.asarray(pc.fill_null(session, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    fallback = np.stack([user, ts // SESSION_BUCKET_S], axis=1)
    _, code = np.unique(fallback[~valid], axis=0, return_inverse=True)
    out = raw.copy()
    out[~valid] = int(raw[valid].max(initial=-1)) + 1 + code.ravel()
    return out


def _snapshot_features(
    catalog: CatalogArrays,
    users: IdMap,
    hist: _Log,
    imp_user: I64,
    imp_item: I64,
    imp_time: I64,
    cutoff: int,
    cfg: WorldRankerConfig,
) -> F32:
    """Features of impressions from models fitted on ``hist`` (events before ``cutoff``)."""
    n_users, n_items = len(users), len(catalog)
    data = InteractionData(
        users,
        catalog.ids,
        hist.user,
        hist.item,
        hist.time,
        event_weights(hist.kind, hist.time, DEFAULT_WEIGHTS, now=cutoff),
        hist.kind,
    )
    matrix = data.matrix()
    item_known = np.diff(matrix.tocsc().indptr) > 0
    a = (
        _ease_affinity(data, imp_user, imp_item, cfg)
        if matrix.nnz
        else np.full(imp_user.size, np.nan, np.float32)
    )
    a[~item_known[imp_item]] = np.nan
    d = (
        _recent_distance(data, hist, imp_user, imp_item, item_known, cfg)
        if matrix.nnz
        else np.full(imp_user.size, np.nan, np.float32)
    )

    popularity = item_popularity(n_items, hist.item, hist.kind, hist.time, now=cutoff)
    profiles = user_profiles(catalog, hist.user, hist.item, hist.kind, n_users)
    return feature_matrix(
        d=d,
        a=a,
        style=np.full(imp_user.size, np.nan, np.float32),
        popularity=popularity[imp_item],
        price_z=profiles.price_z(imp_user, catalog.price[imp_item]),
        brand_affinity=profiles.brand_share(imp_user, catalog.brand[imp_item]),
        created_at=catalog.created_at[imp_item],
        now=imp_time,
        slot=catalog.slot[imp_item],
    )


def _ease_affinity(data: InteractionData, imp_user: I64, imp_item: I64, cfg: WorldRankerConfig) -> F32:
    """EASE score of each (user, item) pair over the user's best score (NaN without history)."""
    ease = EASERecommender(EASEConfig(l2=cfg.ease_l2)).fit(data)
    uniq, inverse = np.unique(imp_user, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(0, uniq.size + cfg.user_batch, cfg.user_batch))
    out = np.full(imp_user.size, np.nan, dtype=np.float32)
    for b in range(0, uniq.size, cfg.user_batch):  # batches of users, each one matrix product
        scores = ease.score(uniq[b : b + cfg.user_batch])
        best = scores.max(axis=1)
        at = order[bounds[b // cfg.user_batch] : bounds[b // cfg.user_batch + 1]]
        local = inverse[at] - b
        with np.errstate(divide="ignore", invalid="ignore"):
            out[at] = np.where(best[local] > 0, scores[local, imp_item[at]] / best[local], np.nan)
    return out


def _recent_distance(
    data: InteractionData,
    hist: _Log,
    imp_user: I64,
    imp_item: I64,
    item_known: npt.NDArray[np.bool_],
    cfg: WorldRankerConfig,
) -> F32:
    """``1 - max cos`` between each item and the user's latest engaged items, in ALS item space."""
    als = ALSRecommender(
        ALSConfig(factors=cfg.als_factors, iterations=cfg.als_iterations, random_state=cfg.seed)
    ).fit(data)
    assert als.item_factors is not None
    f = als.item_factors / np.maximum(np.linalg.norm(als.item_factors, axis=1, keepdims=True), 1e-12)
    f[~item_known] = 0.0

    pos = np.isin(hist.kind, [EVENT_KIND_CODES[k.value] for k in RECENT_KINDS])
    u, i, t = hist.user[pos], hist.item[pos], hist.time[pos]
    o = np.lexsort((-t, u))  # by user, newest first
    u, i = u[o], i[o]
    _, first = np.unique(u * len(data.item_ids) + i, return_index=True)  # latest event per (user, item)
    first.sort()
    u, i = u[first], i[first]
    rank = np.arange(u.size) - np.searchsorted(u, u, side="left")
    top = rank < cfg.recent_items
    recent = np.full((len(data.user_ids), cfg.recent_items), -1, dtype=np.int64)
    recent[u[top], rank[top]] = i[top]

    out = np.full(imp_user.size, np.nan, dtype=np.float32)
    chunk = 50_000
    for s in range(0, imp_user.size, chunk):  # chunks bound the (chunk, recent, factors) block
        anchors = recent[imp_user[s : s + chunk]]
        valid = (anchors >= 0) & item_known[np.maximum(anchors, 0)]
        sims = np.einsum("mrf,mf->mr", f[np.maximum(anchors, 0)], f[imp_item[s : s + chunk]])
        sims = np.where(valid, sims, -np.inf)
        best = sims.max(axis=1)
        ok = np.isfinite(best) & item_known[imp_item[s : s + chunk]]
        out[s : s + chunk] = np.where(ok, 1.0 - best, np.nan)
    return out
