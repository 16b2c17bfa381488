"""H&M Personalized Fashion Recommendations (Kaggle, 2022) as a Lookbook ``World``.

The competition ships three CSV files and a folder of product photos:

* ``articles.csv``: one row per article (25 columns of product metadata),
* ``customers.csv``: one row per customer (age, club status, newsletter frequency, hashed postcode),
* ``transactions.csv``: one row per purchased piece (``t_dat, customer_id, article_id, price,
  sales_channel_id``); identical rows are real repeat purchases of the same article that day,
* ``images/<first 3 digits of article_id>/<article_id>.jpg``.

``load_hm`` maps them onto the data model: articles become items, customers users, transactions
``purchase`` events, and same-day baskets ``co_purchase`` sets. The heavy lifting (medians, basket
grouping, occurrence numbers) is SQL in an in-memory DuckDB over Arrow tables, so the full data set
(31M transactions) loads the same way as the slice in ``../shared/data/hm``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.datasets.world import World
from lookbook.errors import LookbookError, NotFound, SchemaError
from lookbook.schema import EventKind, SetSource, Slot

log = logging.getLogger(__name__)

__all__ = ["HM_CHANNELS", "HM_GROUP_SLOTS", "HM_TYPE_SLOTS", "hm_slots", "load_hm"]

#: Slot of each ``product_group_name``; the default when the product type has no entry in
#: ``HM_TYPE_SLOTS``. Everything that never completes a look (underwear, socks and tights, nightwear,
#: swimwear, cosmetics, stationery, "Unknown") is ``other``: it can be recommended, but an outfit
#: model must not learn that a bra "goes with" a skirt from co-purchases. Full-body garments
#: (dresses, jumpsuits, playsuits, dungarees, garment sets) are ``dress``: each one fills the top and
#: bottom slots at once, which is the role ``dress`` plays in compatibility. Groups missing from this
#: table (new ones in a newer release) also fall back to ``other``, with a warning.
HM_GROUP_SLOTS: dict[str, Slot] = {
    "Garment Upper body": Slot.TOP,
    "Garment Lower body": Slot.BOTTOM,
    "Garment Full body": Slot.DRESS,
    "Shoes": Slot.SHOES,
    "Bags": Slot.BAG,
    "Accessories": Slot.ACCESSORY,
    "Socks & Tights": Slot.OTHER,
    "Underwear": Slot.OTHER,
    "Underwear/nightwear": Slot.OTHER,
    "Nightwear": Slot.OTHER,
    "Swimwear": Slot.OTHER,
    "Items": Slot.OTHER,
    "Cosmetic": Slot.OTHER,
    "Furniture": Slot.OTHER,
    "Garment and Shoe care": Slot.OTHER,
    "Stationery": Slot.OTHER,
    "Fun": Slot.OTHER,
    "Interior textile": Slot.OTHER,
    "Unknown": Slot.OTHER,
}

#: ``product_type_name`` overrides, checked before the group. They exist because a product group is
#: coarser than a slot in three places:
#:
#: * outer layers sit in "Garment Upper body": jackets, coats, blazers, outdoor waistcoats and
#:   cardigans are ``outerwear`` (a look is top + outerwear + bottom; Polyvore also files cardigans
#:   under outerwear, so the two data sets agree). Tailored waistcoats stay ``top``: they are worn
#:   as the top of a suit, not over one.
#: * bags sit in "Accessories" ("Bag") as well as in "Bags": every bag type is ``bag``. A wallet
#:   is not a bag, so it stays ``accessory``.
#: * a few "Accessories" and "Garment Full body" rows are not worn by the shopper or not part of an
#:   outfit (dog wear, baby bibs, water bottles, costumes, children's outdoor overalls): ``other``.
#:   Umbrellas are ``accessory`` wherever H&M files them (Polyvore calls them accessories too).
HM_TYPE_SLOTS: dict[str, Slot] = {
    "Jacket": Slot.OUTERWEAR,
    "Coat": Slot.OUTERWEAR,
    "Blazer": Slot.OUTERWEAR,
    "Outdoor Waistcoat": Slot.OUTERWEAR,
    "Cardigan": Slot.OUTERWEAR,
    "Bag": Slot.BAG,
    "Cross-body bag": Slot.BAG,
    "Backpack": Slot.BAG,
    "Weekend/Gym bag": Slot.BAG,
    "Tote bag": Slot.BAG,
    "Shoulder bag": Slot.BAG,
    "Bumbag": Slot.BAG,
    "Umbrella": Slot.ACCESSORY,
    "Dog Wear": Slot.OTHER,
    "Dog wear": Slot.OTHER,
    "Baby Bib": Slot.OTHER,
    "Waterbottle": Slot.OTHER,
    "Costumes": Slot.OTHER,
    "Outdoor overall": Slot.OTHER,
}

#: ``sales_channel_id`` -> ``Event.device``. H&M never documented the codes; the reading used across
#: the competition is 1 = physical store, 2 = online, and it fits the data (2 is about 70% of rows in
#: the slice, matching H&M's online share in 2020). The channel is stored as the event's ``device``
#: (how the purchase was made) rather than its ``touchpoint``, which in Lookbook names a page of the
#: shop (home feed, similar items, ...) and is unknown for these purchases.
HM_CHANNELS: dict[str, str] = {"1": "store", "2": "online"}

#: The attribute keys of an item and the ``articles.csv`` column each one comes from.
_ATTRIBUTE_COLUMNS: dict[str, str] = {
    "colour": "colour_group_name",
    "perceived_colour": "perceived_colour_master_name",
    "pattern": "graphical_appearance_name",
    "department": "department_name",
    "index_group": "index_group_name",
    "section": "section_name",
    "garment_group": "garment_group_name",
    "product_group": "product_group_name",
}

_ARTICLE_COLUMNS = ("article_id", "prod_name", "product_type_name", "product_group_name", "detail_desc")
_TRANSACTION_COLUMNS = ("t_dat", "customer_id", "article_id", "price", "sales_channel_id")
_CUSTOMER_COLUMNS = ("customer_id",)


def load_hm(root: Path, *, min_basket: int = 2) -> World:
    """Load the H&M data (the full Kaggle release or a slice of it) as a fashion ``World``.

    Items are articles. ``item_id`` is the ``article_id`` as written, a 10-digit string with its
    leading zero: every file is read with all columns as strings, because parsing the id as an
    integer drops the zero and breaks the join with the image paths. ``title`` is ``prod_name``,
    ``description`` ``detail_desc``, ``category`` ``product_type_name`` and ``slot`` comes from
    ``HM_TYPE_SLOTS`` / ``HM_GROUP_SLOTS`` (see their comments). ``brand`` is "H&M" for every item:
    the brand is the maker, and using ``index_group_name`` (Ladieswear, Divided, ...) there would turn
    a per-brand diversity cap into a per-section one; the index group is kept as an attribute
    instead. ``price`` is the median transaction price of the article, in H&M's normalised units
    (a fraction, kept as given), null for articles never sold. ``image`` is the photo's path
    relative to ``root`` when the file exists, else null.

    Users are customers, with ``age``, ``club_member_status`` and ``fashion_news_frequency`` as
    string attributes (empty values left out). ``region`` stays null: the postcode is a hash.

    Events are every transaction row, as ``purchase`` at UTC midnight of ``t_dat``; duplicate rows
    are kept because they are repeat purchases. ``event_id`` is
    ``"{customer_id}-{article_id}-{t_dat}-{k}"`` with ``k`` = 1, 2, ... numbering the identical
    purchases of that day (ordered by price and channel), so it is stable across loads and file
    orders. ``device`` is the sales channel (``HM_CHANNELS``).

    Sets are same-day baskets: one per customer and day with at least ``min_basket`` distinct
    articles, source ``co_purchase``, ids sorted, ``set_id`` = ``"{customer_id[:12]}-{t_dat}"`` (the
    full customer id is used if 12 characters ever collide).

    Parameters
    ----------
    root:
        The folder holding ``articles.csv``, ``customers.csv``, ``transactions.csv`` and ``images/``.
        It becomes ``World.root``, so ``image`` paths resolve against it.
    min_basket:
        Fewest distinct articles a same-day basket needs to become a set (at least 2, the smallest
        set the data model allows). Raising it keeps only the larger, more outfit-like baskets.

    Returns
    -------
    World
        With ``meta`` = source, domain, counts and parameters, and ``extras["articles"]`` = the raw
        ``articles.csv`` (all columns as strings) for evaluation code that groups by H&M's own
        columns.
    """
    import duckdb

    if isinstance(min_basket, bool) or not isinstance(min_basket, int) or min_basket < 2:
        raise LookbookError(f"load_hm min_basket: expected an int >= 2, got {min_basket!r}")
    root = Path(root)
    started = time.perf_counter()
    articles = _read_strings(root / "articles.csv", _ARTICLE_COLUMNS + tuple(_ATTRIBUTE_COLUMNS.values()))
    transactions = _read_strings(root / "transactions.csv", _TRANSACTION_COLUMNS)
    customers = _read_strings(root / "customers.csv", _CUSTOMER_COLUMNS)
    log.debug("read H&M CSVs from %s in %.2fs", root, time.perf_counter() - started)

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("articles", _with_row(articles))
    con.register("customers", _with_row(customers))
    con.register("transactions", _with_row(transactions))
    con.register("images", pa.table({"image": pa.array(_image_paths(root), pa.string())}))

    _check_articles(con, root / "articles.csv")
    _check_transactions(con, root / "transactions.csv")
    items = _items(con, articles)
    users = _users(con, customers)
    events = _events(con)
    sets = _sets(con, min_basket)
    con.close()

    meta: dict[str, Any] = {
        "source": "hm",
        "domain": "fashion",
        "items": items.num_rows,
        "users": users.num_rows,
        "events": events.num_rows,
        "sets": sets.num_rows,
        "items_sold": int(pc.sum(pc.is_valid(items.column("price"))).as_py() or 0),
        "items_with_image": int(pc.sum(pc.is_valid(items.column("image"))).as_py() or 0),
        "min_basket": min_basket,
        "sales_channels": dict(HM_CHANNELS),
    }
    if events.num_rows:
        meta["first_event"] = str(pc.min(events.column("timestamp")).as_py())
        meta["last_event"] = str(pc.max(events.column("timestamp")).as_py())
    world = World(
        items=items,
        users=users,
        events=events,
        sets=sets,
        root=root,
        meta=meta,
        extras={"articles": articles},
    )
    log.info(
        "loaded H&M from %s: %d items (%d sold, %d with a photo), %d users, %d purchases, "
        "%d baskets in %.2fs",
        root,
        meta["items"],
        meta["items_sold"],
        meta["items_with_image"],
        meta["users"],
        meta["events"],
        meta["sets"],
        time.perf_counter() - started,
    )
    return world


def hm_slots(product_group: pa.Array | pa.ChunkedArray, product_type: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Slot of each article from its ``product_group_name`` and ``product_type_name`` (vectorised).

    The product type is looked up first in ``HM_TYPE_SLOTS``, then the group in ``HM_GROUP_SLOTS``;
    anything in neither is ``other``. Kept public so that evaluation code slicing H&M by slot uses
    the same rule as the loader.
    """
    type_slot = _lookup(product_type, HM_TYPE_SLOTS)
    group_slot = _lookup(product_group, HM_GROUP_SLOTS)
    unmapped = pc.and_(pc.is_null(group_slot), pc.is_valid(product_group))
    if pc.any(unmapped).as_py():
        groups = pc.unique(pc.filter(product_group, unmapped)).to_pylist()
        log.warning("H&M product groups without a slot, read as 'other': %s", sorted(groups))
    return pc.coalesce(type_slot, group_slot, pa.scalar(Slot.OTHER.value))


def _lookup(keys: pa.Array | pa.ChunkedArray, table: dict[str, Slot]) -> pa.Array:
    """``table[key]`` for every key, null where the key is null or absent."""
    positions = pc.index_in(keys, value_set=pa.array(list(table), pa.string()))
    values = pa.array([slot.value for slot in table.values()], pa.string())
    return pc.take(values, positions)


def _read_strings(path: Path, required: tuple[str, ...]) -> pa.Table:
    """Read a CSV with every column as a string (so ids keep their leading zeros); empty cells are null.

    Raises ``NotFound`` naming the file when it is absent and ``SchemaError`` naming the file and
    the column when a column the loader needs is missing.
    """
    import pyarrow.csv as pa_csv

    if not path.is_file():
        raise NotFound(f"{path}: file not found (expected the H&M data set here)")
    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8-sig").strip()
    names = [name.strip().strip('"') for name in header.split(",")]
    missing = [name for name in required if name not in names]
    if missing:
        raise SchemaError(f"{path} {missing[0]}: required column is missing (header: {names})")
    try:
        table = pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise SchemaError(f"{path}: cannot be read as CSV: {exc}") from None
    return table


def _with_row(table: pa.Table) -> pa.Table:
    """Add ``_row`` (the file order), so SQL results can be put back in file order."""
    return table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _image_paths(root: Path) -> list[str]:
    """Relative paths of the photos under ``root/images``, listed once instead of one ``stat`` per item."""
    images = root / "images"
    if not images.is_dir():
        log.warning("H&M: no images/ folder in %s; every item's image is null", root)
        return []
    return sorted(p.relative_to(root).as_posix() for p in images.glob("*/*.jpg"))


def _check_articles(con: Any, path: Path) -> None:
    """Fail on missing or repeated article ids: an item id must name exactly one article."""
    missing = con.sql("SELECT _row FROM articles WHERE article_id IS NULL ORDER BY _row LIMIT 1").fetchall()
    if missing:
        raise SchemaError(f"{path} article_id: empty on line {missing[0][0] + 2}")
    dup = con.sql(
        "SELECT article_id FROM articles GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
    ).fetchall()
    if dup:
        raise SchemaError(f"{path} article_id: {dup[0][0]!r} appears more than once")


def _check_transactions(con: Any, path: Path) -> None:
    """Fail on unreadable dates or prices, naming the file, the column and the line."""
    for column, expr in (
        ("t_dat", "try_strptime(t_dat, '%Y-%m-%d')"),
        ("price", "try_cast(price AS DOUBLE)"),
    ):
        query = f"SELECT _row, {column} FROM transactions WHERE {expr} IS NULL ORDER BY _row LIMIT 1"
        bad = con.sql(query).fetchall()
        if bad:
            row, value = bad[0]
            raise SchemaError(f"{path} {column}: cannot read {value!r} on line {row + 2}")


def _attributes_sql(entries: dict[str, str]) -> str:
    """A DuckDB expression building a ``MAP(VARCHAR, VARCHAR)`` of ``key -> SQL expression``.

    Null and blank values are left out, so an item's map holds only what is known about it.
    """
    pairs = ", ".join(f"{{'key': '{key}', 'value': {expr}}}" for key, expr in entries.items())
    return f"map_from_entries(list_filter([{pairs}], lambda e: e.value IS NOT NULL AND trim(e.value) <> ''))"


def _items(con: Any, articles: pa.Table) -> pa.Table:
    attributes = _attributes_sql({key: f"a.{col}" for key, col in _ATTRIBUTE_COLUMNS.items()})
    items = con.sql(
        f"""
        WITH prices AS (
            SELECT article_id, median(CAST(price AS DOUBLE)) AS price FROM transactions GROUP BY article_id
        )
        SELECT a.article_id AS item_id,
               coalesce(a.prod_name, a.article_id) AS title,
               a.detail_desc AS description,
               a.product_type_name AS category,
               'H&M' AS brand,
               p.price AS price,
               TRUE AS in_stock,
               {attributes} AS attributes,
               i.image AS image
        FROM articles a
        LEFT JOIN prices p ON p.article_id = a.article_id
        LEFT JOIN images i ON i.image = 'images/' || a.article_id[1:3] || '/' || a.article_id || '.jpg'
        ORDER BY a._row
        """
    ).to_arrow_table()
    slots = hm_slots(articles.column("product_group_name"), articles.column("product_type_name"))
    return items.append_column("slot", slots)


def _users(con: Any, customers: pa.Table) -> pa.Table:
    # Age is written as a float ("33.0"); the attribute is the whole number of years.
    entries = {
        "age": "coalesce(CAST(CAST(try_cast(c.age AS DOUBLE) AS BIGINT) AS VARCHAR), c.age)",
        "club_member_status": "c.club_member_status",
        "fashion_news_frequency": "c.fashion_news_frequency",
    }
    attributes = _attributes_sql({k: v for k, v in entries.items() if k in customers.column_names})
    users = con.sql(
        f"""
        SELECT c.customer_id AS user_id, {attributes} AS attributes
        FROM customers c WHERE c.customer_id IS NOT NULL ORDER BY c._row
        """
    ).to_arrow_table()
    # Buyers absent from customers.csv still need a user row, or their events point nowhere.
    extra = con.sql(
        """
        SELECT DISTINCT t.customer_id AS user_id FROM transactions t
        WHERE t.customer_id NOT IN (SELECT customer_id FROM customers WHERE customer_id IS NOT NULL)
        ORDER BY 1
        """
    ).to_arrow_table()
    if extra.num_rows:
        log.warning("H&M: %d buyers are missing from customers.csv; added without attributes", extra.num_rows)
        extra = extra.append_column(
            "attributes", pa.nulls(extra.num_rows, users.schema.field("attributes").type)
        )
        users = pa.concat_tables([users, extra.select(users.column_names)])
    return users


def _events(con: Any) -> pa.Table:
    unknown = con.sql(
        "SELECT count(*) FROM transactions WHERE article_id NOT IN (SELECT article_id FROM articles)"
    ).fetchall()[0][0]
    if unknown:
        log.warning("H&M: dropping %d transactions of articles missing from articles.csv", unknown)
    channels = " ".join(f"WHEN '{code}' THEN '{name}'" for code, name in HM_CHANNELS.items())
    events = con.sql(
        f"""
        SELECT t.customer_id AS user_id,
               t.article_id AS item_id,
               '{EventKind.PURCHASE.value}' AS kind,
               CAST(strptime(t.t_dat, '%Y-%m-%d') AS TIMESTAMP) AS timestamp,
               t.customer_id || '-' || t.article_id || '-' || t.t_dat || '-' || CAST(row_number() OVER (
                   PARTITION BY t.customer_id, t.article_id, t.t_dat
                   ORDER BY CAST(t.price AS DOUBLE), t.sales_channel_id, t._row
               ) AS VARCHAR) AS event_id,
               CASE t.sales_channel_id {channels} END AS device
        FROM transactions t
        WHERE t.article_id IN (SELECT article_id FROM articles)
        ORDER BY timestamp, t._row
        """
    ).to_arrow_table()
    unread = pc.sum(pc.is_null(events.column("device"))).as_py() or 0
    if unread:
        log.warning(
            "H&M: %d transactions have a sales_channel_id outside %s; device left null",
            unread,
            sorted(HM_CHANNELS),
        )
    return events


def _sets(con: Any, min_basket: int) -> pa.Table:
    baskets = con.sql(
        f"""
        SELECT customer_id, t_dat, list_sort(list_distinct(list(article_id))) AS item_ids
        FROM transactions
        WHERE article_id IN (SELECT article_id FROM articles)
        GROUP BY customer_id, t_dat
        HAVING count(DISTINCT article_id) >= {int(min_basket)}
        ORDER BY t_dat, customer_id
        """
    ).to_arrow_table()
    customer = baskets.column("customer_id")
    day = baskets.column("t_dat")
    set_id = pc.binary_join_element_wise(pc.utf8_slice_codeunits(customer, 0, 12), day, "-")
    if pc.count_distinct(set_id).as_py() != baskets.num_rows:
        log.warning("H&M: 12-character customer prefixes collide; set ids use the full customer id")
        set_id = pc.binary_join_element_wise(customer, day, "-")
    source = pa.array(np.full(baskets.num_rows, SetSource.CO_PURCHASE.value, dtype=object), pa.string())
    return pa.table({"set_id": set_id, "item_ids": baskets.column("item_ids"), "source": source})
