"""Polyvore Outfits (Vasileva et al., ECCV 2018) as a Lookbook ``World``.

The release is built around outfits that Polyvore users put together, and two tasks over them:

* ``<split>.json``: outfits, each ``{"set_id", "items": [{"item_id", "index"}]}``;
* ``fill_in_blank_<split>.json``: questions (an outfit with one item removed) and four candidate
  answers; the right one is the candidate from the question's own outfit;
* ``compatibility_<split>.txt``: one outfit per line, ``label ref ref ...`` with label 1 for a real
  outfit and 0 for one whose items were swapped for others of the same type;
* ``categories.csv`` (id, fine category, semantic type) and ``train_category.json``
  (item_id -> category id).

The task files name items as ``<set_id>_<index>`` (position in an outfit), not by item id; the
loader resolves them through the outfits file. ``load_polyvore`` reads the nondisjoint validation
split by default, the slice kept in ``../shared/data/polyvore_outfits``.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.datasets.world import World
from lookbook.errors import NotFound, SchemaError
from lookbook.schema import SetSource, Slot

log = logging.getLogger(__name__)

__all__ = ["POLYVORE_SLOTS", "load_polyvore"]

#: Slot of each semantic type in ``categories.csv`` (the full list of the release: tops, bottoms,
#: all-body, outerwear, shoes, bags, accessories, jewellery, hats, sunglasses, scarves, and an empty
#: type). ``all-body`` (dresses, gowns, jumpsuits, rompers, suits, swimsuits) is ``dress``: it fills
#: top and bottom at once. Jewellery, hats, sunglasses and scarves are ``accessory``: Lookbook has
#: one slot for everything worn besides garments, shoes and bags. The empty type (category 2
#: "undefined", lingerie, male boxers, "male sports shirt/track suit") and anything unknown is
#: ``other``, as are items without a category (about 20% of the validation items).
POLYVORE_SLOTS: dict[str, Slot] = {
    "tops": Slot.TOP,
    "bottoms": Slot.BOTTOM,
    "all-body": Slot.DRESS,
    "outerwear": Slot.OUTERWEAR,
    "shoes": Slot.SHOES,
    "bags": Slot.BAG,
    "accessories": Slot.ACCESSORY,
    "jewellery": Slot.ACCESSORY,
    "hats": Slot.ACCESSORY,
    "sunglasses": Slot.ACCESSORY,
    "scarves": Slot.ACCESSORY,
}

_UNKNOWN_CATEGORY = "unknown"


def load_polyvore(root: Path, *, split: str = "valid", shuffle_answers: bool = True, seed: int = 0) -> World:
    """Load one split of Polyvore Outfits as a fashion ``World`` of community outfits.

    Sets are the outfits (source ``community``), items in the outfit's ``index`` order. Three
    outfits of the validation split list the same item twice; the repeat is dropped, because a set
    holds each item once. Items are every item id in the outfits, in order of first appearance.

    The slice has no item text (the release's ``polyvore_item_metadata.json`` is not in it), so an
    item's ``title`` is built from its fine category ("Polyvore item 123: jeans", or "Polyvore item
    123" when the category is unknown) and ``description`` is null. ``category`` is the fine category
    name from ``train_category.json`` + ``categories.csv``, "unknown" when the item is not in
    ``train_category.json``; ``slot`` maps the semantic type through ``POLYVORE_SLOTS``;
    ``attributes`` hold ``semantic_category`` and ``category_id`` when known. ``image`` is
    ``images/<item_id>.jpg`` when that file exists.

    ``categories.csv`` is messy in the release: CRLF line ends, no header, trailing blanks in
    semantic types, and 34 ids listed several times with different names ("11" is sweater, shirt,
    sleeveless top and top). Each id takes its most frequent name and type, ties going to the
    first listed.

    ``extras["fitb"]`` has one row per fill-in-the-blank question: ``set_id`` (the question's
    outfit), ``question`` (item ids), ``answers`` (item ids), ``blank_position``, ``answer`` (the item
    id of the candidate from the question's outfit) and ``answer_index`` (its position in
    ``answers``; use it rather than comparing ids, because in 10 questions the right item also
    appears as a distractor). In the release the right answer is always the first candidate, so a
    scorer that breaks ties by position would look perfect; ``shuffle_answers`` (default on)
    permutes each question's candidates with ``seed``, so the order carries no signal.

    ``extras["compatibility"]`` has ``label`` (1 real outfit, 0 not) and ``item_ids``.
    ``extras["outfit_items"]`` maps ``set_id`` and ``index`` to ``item_id``, for other task files.
    References that resolve to no outfit item are counted and logged, never fatal: they are left
    out of a compatibility row (rows left with fewer than 2 items are dropped) and a FITB question
    that loses one is dropped.

    Parameters
    ----------
    root:
        The ``polyvore_outfits`` folder (or its ``nondisjoint`` / ``disjoint`` folder) holding the
        files above and ``images/``. It becomes ``World.root``.
    split:
        Which files to read: ``valid`` (the shared slice), ``test`` or ``train``.
    shuffle_answers:
        Permute the FITB candidates of each question (see above). ``False`` keeps the file's order.
    seed:
        Seed of that permutation, so the same seed gives the same questions.
    """
    root = Path(root)
    started = time.perf_counter()
    outfits_path = root / f"{split}.json"
    outfits = _read_json(outfits_path)
    refs = _outfit_items(outfits, outfits_path)
    categories = _read_categories(_find(root, "categories.csv"))
    item_categories = _read_json(_find(root, "train_category.json"))
    if not isinstance(item_categories, dict):
        raise SchemaError(
            f"{_find(root, 'train_category.json')}: expected an object of item_id -> category id"
        )

    items = _items(root, refs, categories, item_categories)
    sets = _sets(refs)
    fitb = _fitb(root / f"fill_in_blank_{split}.json", refs, shuffle_answers, seed)
    compatibility = _compatibility(root / f"compatibility_{split}.txt", refs)

    known = pc.sum(pc.not_equal(items.column("category"), _UNKNOWN_CATEGORY)).as_py() or 0
    meta: dict[str, Any] = {
        "source": "polyvore_outfits",
        "domain": "fashion",
        "split": split,
        "items": items.num_rows,
        "sets": sets.num_rows,
        "items_with_category": int(known),
        "items_with_image": int(pc.sum(pc.is_valid(items.column("image"))).as_py() or 0),
        "fitb_questions": fitb.num_rows,
        "compatibility_rows": compatibility.num_rows,
        "shuffle_answers": shuffle_answers,
        "seed": seed,
    }
    world = World(
        items=items,
        sets=sets,
        root=root,
        meta=meta,
        extras={"fitb": fitb, "compatibility": compatibility, "outfit_items": refs},
    )
    log.info(
        "loaded Polyvore %s from %s: %d outfits, %d items (%d with a category, %d with a photo), "
        "%d FITB questions, %d compatibility rows in %.2fs",
        split,
        root,
        meta["sets"],
        meta["items"],
        known,
        meta["items_with_image"],
        fitb.num_rows,
        compatibility.num_rows,
        time.perf_counter() - started,
    )
    return world


def _find(root: Path, name: str) -> Path:
    """``root/name``, or ``root/../name``: category files sit beside the split folders in the release."""
    for candidate in (root / name, root.parent / name):
        if candidate.is_file():
            return candidate
    raise NotFound(f"{root / name}: file not found (expected the Polyvore Outfits data set here)")


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise NotFound(f"{path}: file not found (expected the Polyvore Outfits data set here)")
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not valid JSON ({exc})") from None


def _outfit_items(outfits: Any, path: Path) -> pa.Table:
    """One row per (outfit, index): ``set_id``, ``index``, ``item_id`` and the ``ref`` the task files use."""
    if not isinstance(outfits, list):
        raise SchemaError(f"{path}: expected a list of outfits, got {type(outfits).__name__}")
    set_ids: list[str] = []
    indices: list[int] = []
    item_ids: list[str] = []
    for n, outfit in enumerate(outfits):
        try:
            set_id = str(outfit["set_id"])
            for entry in outfit["items"]:
                item_ids.append(str(entry["item_id"]))
                indices.append(int(entry["index"]))
                set_ids.append(set_id)
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(
                f"{path} outfit {n}: expected set_id and items of item_id/index ({exc!r})"
            ) from None
    set_col = pa.array(set_ids, pa.string())
    index_col = pa.array(indices, pa.int64())
    ref = pc.binary_join_element_wise(set_col, pc.cast(index_col, pa.string()), "_")
    table = pa.table(
        {"set_id": set_col, "index": index_col, "item_id": pa.array(item_ids, pa.string()), "ref": ref}
    )
    if pc.count_distinct(ref).as_py() != table.num_rows:
        raise SchemaError(f"{path}: an outfit lists the same index twice")
    return table


def _read_categories(path: Path) -> dict[str, tuple[str, str]]:
    """Category id -> (fine name, semantic type), resolving the file's repeated ids by majority."""
    names: dict[str, Counter[str]] = {}
    types: dict[str, Counter[str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise SchemaError(f"{path} line {line_no}: expected 'id,name,semantic type', got {row!r}")
            cid = row[0].strip()
            if not cid.isdigit():
                continue  # a header line, in releases that have one
            # Counter keeps insertion order, so most_common breaks ties in favour of the first listed.
            names.setdefault(cid, Counter())[row[1].strip()] += 1
            types.setdefault(cid, Counter())[row[2].strip().lower() if len(row) > 2 else ""] += 1
    repeated = sum(1 for c in names.values() if c.total() > 1)
    if repeated:
        log.debug("%s: %d category ids are listed more than once; taking the most frequent", path, repeated)
    return {cid: (names[cid].most_common(1)[0][0], types[cid].most_common(1)[0][0]) for cid in names}


def _items(
    root: Path, refs: pa.Table, categories: dict[str, tuple[str, str]], item_categories: dict[str, Any]
) -> pa.Table:
    item_id = pc.unique(refs.column("item_id"))
    n = len(item_id)
    # Category id of each item (null when train_category.json does not know it), then its row in
    # the categories table.
    known_items = pa.array(list(item_categories), pa.string())
    known_cats = pa.array([str(v) for v in item_categories.values()], pa.string())
    cat_id = pc.take(known_cats, pc.index_in(item_id, value_set=known_items))
    cat_keys = list(categories)
    cat_pos = pc.index_in(cat_id, value_set=pa.array(cat_keys, pa.string()))
    unlisted = pc.sum(pc.and_(pc.is_valid(cat_id), pc.is_null(cat_pos))).as_py() or 0
    if unlisted:
        log.warning(
            "Polyvore: %d items have a category id missing from categories.csv; read as unknown", unlisted
        )
    fine = pc.take(pa.array([categories[c][0] for c in cat_keys], pa.string()), cat_pos)
    semantic = pc.take(pa.array([categories[c][1] for c in cat_keys], pa.string()), cat_pos)
    slot_pos = pc.index_in(semantic, value_set=pa.array(list(POLYVORE_SLOTS), pa.string()))
    slot = pc.coalesce(
        pc.take(pa.array([s.value for s in POLYVORE_SLOTS.values()], pa.string()), slot_pos),
        pa.scalar(Slot.OTHER.value),
    )
    has_fine = pc.fill_null(pc.not_equal(fine, ""), False)
    category = pc.if_else(has_fine, fine, pa.scalar(_UNKNOWN_CATEGORY))
    prefix = pc.binary_join_element_wise(pa.scalar("Polyvore item"), item_id, " ")
    title = pc.if_else(has_fine, pc.binary_join_element_wise(prefix, fine, ": "), prefix)

    # Attributes: semantic_category and category_id where known (a map row per item).
    sem_ok = pc.fill_null(pc.not_equal(semantic, ""), False).to_numpy(zero_copy_only=False)
    id_ok = pc.is_valid(cat_pos).to_numpy(zero_copy_only=False)
    keys = np.empty((n, 2), dtype=object)
    keys[:, 0], keys[:, 1] = "semantic_category", "category_id"
    values = np.stack(
        [semantic.to_numpy(zero_copy_only=False), cat_id.to_numpy(zero_copy_only=False)], axis=1
    ).astype(object)
    mask = np.stack([sem_ok, id_ok], axis=1)
    offsets = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32)
    attributes = pa.MapArray.from_arrays(
        pa.array(offsets), pa.array(keys[mask], pa.string()), pa.array(values[mask], pa.string())
    )

    images = root / "images"
    on_disk = sorted(p.stem for p in images.glob("*.jpg")) if images.is_dir() else []
    image = pc.if_else(
        pc.is_in(item_id, value_set=pa.array(on_disk, pa.string())),
        pc.binary_join_element_wise(pa.scalar("images/"), item_id, pa.scalar(".jpg"), ""),
        pa.scalar(None, pa.string()),
    )
    return pa.table(
        {
            "item_id": item_id,
            "title": title,
            "category": category,
            "slot": slot,
            "in_stock": pa.array(np.ones(n, dtype=bool)),
            "attributes": attributes,
            "image": image,
        }
    )


def _sets(refs: pa.Table) -> pa.Table:
    set_col = refs.column("set_id").to_numpy(zero_copy_only=False)
    item_col = refs.column("item_id").to_numpy(zero_copy_only=False)
    # Rows are grouped by outfit in file order (the loop in _outfit_items appends outfit by outfit).
    starts = np.flatnonzero(np.r_[True, set_col[1:] != set_col[:-1]])
    ends = np.r_[starts[1:], len(set_col)]
    set_ids: list[str] = []
    members: list[list[str]] = []
    repeats = 0
    small = 0
    for start, end in zip(starts, ends, strict=True):
        ids = list(dict.fromkeys(item_col[start:end]))
        repeats += (end - start) - len(ids)
        if len(ids) < 2:
            small += 1
            continue
        set_ids.append(set_col[start])
        members.append(ids)
    if repeats:
        log.info("Polyvore: dropped %d repeated items inside outfits (a set holds each item once)", repeats)
    if small:
        log.warning("Polyvore: dropped %d outfits with fewer than 2 distinct items", small)
    return pa.table(
        {
            "set_id": pa.array(set_ids, pa.string()),
            "item_ids": pa.array(members, pa.list_(pa.string())),
            "source": pa.array([SetSource.COMMUNITY.value] * len(set_ids), pa.string()),
        }
    )


def _resolve(flat_refs: pa.Array, refs: pa.Table) -> pa.Array:
    """Item id of each ``<set_id>_<index>`` reference; null where it names no outfit item."""
    ids = refs.column("item_id").combine_chunks()
    return pc.take(ids, pc.index_in(flat_refs, value_set=refs.column("ref").combine_chunks()))


def _set_of(flat_refs: pa.Array) -> pa.Array:
    """The ``set_id`` part of each reference (everything before the last underscore)."""
    parts = pc.split_pattern(flat_refs, "_", max_splits=1, reverse=True)
    return pc.list_element(parts, 0)


def _fitb(path: Path, refs: pa.Table, shuffle_answers: bool, seed: int) -> pa.Table:
    raw = _read_json(path)
    if not isinstance(raw, list):
        raise SchemaError(f"{path}: expected a list of questions, got {type(raw).__name__}")
    try:
        questions = [[str(r) for r in q["question"]] for q in raw]
        answers = [[str(r) for r in q["answers"]] for q in raw]
        blanks = [int(q["blank_position"]) for q in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError(
            f"{path}: every question needs question, answers and blank_position ({exc!r})"
        ) from None
    n = len(raw)
    width = len(answers[0]) if n else 0
    for i, (question, candidates) in enumerate(zip(questions, answers, strict=True)):
        if len(candidates) != width or not question:
            raise SchemaError(
                f"{path} question {i}: expected a non-empty question and {width} answers like question 0, "
                f"got {len(question)} question items and {len(candidates)} answers"
            )

    q_lengths = np.array([len(q) for q in questions], dtype=np.int64)
    q_offsets = np.concatenate([[0], np.cumsum(q_lengths)]).astype(np.int32)
    q_refs = pa.array([r for q in questions for r in q], pa.string())
    a_refs = np.array(answers, dtype=object).reshape(n, width)
    if shuffle_answers and n:
        order = np.argsort(np.random.default_rng(seed).random((n, width)), axis=1)
        a_refs = np.take_along_axis(a_refs, order, axis=1)
    a_flat = pa.array(a_refs.ravel(), pa.string())

    q_items = _resolve(q_refs, refs)
    a_items = _resolve(a_flat, refs)
    # The question's outfit is the set of its first item; the answer is the candidate from it.
    q_set = pc.take(_set_of(q_refs), pa.array(q_offsets[:-1]))
    a_set = np.array(_set_of(a_flat).to_numpy(zero_copy_only=False), dtype=object).reshape(n, width)
    same = a_set == np.array(q_set.to_numpy(zero_copy_only=False), dtype=object)[:, None]
    n_right = same.sum(axis=1)
    answer_index = same.argmax(axis=1)

    q_missing = np.bincount(
        np.repeat(np.arange(n), q_lengths)[pc.is_null(q_items).to_numpy(zero_copy_only=False)], minlength=n
    )
    a_missing = pc.is_null(a_items).to_numpy(zero_copy_only=False).reshape(n, width).sum(axis=1)
    unresolved = (q_missing + a_missing) > 0
    keep = ~unresolved & (n_right == 1)
    if not keep.all():
        log.warning(
            "Polyvore %s: dropped %d of %d FITB questions (%d with references that resolve to no outfit "
            "item, %d without exactly one candidate from the question's outfit)",
            path.name, int((~keep).sum()), n, int(unresolved.sum()), int((n_right != 1).sum()),
        )  # fmt: skip
    a_matrix = np.array(a_items.to_numpy(zero_copy_only=False), dtype=object).reshape(n, width)
    answer = a_matrix[np.arange(n), answer_index]
    repeated = sum(len(set(row)) < width for row in a_matrix[keep])
    if repeated:
        log.info(
            "Polyvore %s: %d FITB questions list the right item again as a distractor", path.name, repeated
        )

    table = pa.table(
        {
            "set_id": q_set,
            "question": pa.ListArray.from_arrays(pa.array(q_offsets), q_items),
            "answers": pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * width), a_items),
            "blank_position": pa.array(blanks, pa.int64()),
            "answer": pa.array(answer, pa.string()),
            "answer_index": pa.array(answer_index, pa.int64()),
        }
    )
    return table.filter(pa.array(keep))


def _compatibility(path: Path, refs: pa.Table) -> pa.Table:
    if not path.is_file():
        raise NotFound(f"{path}: file not found (expected the Polyvore Outfits data set here)")
    lines = pa.array(path.read_text(encoding="utf-8").splitlines(), pa.string())
    line_no = (
        np.flatnonzero(pc.not_equal(pc.utf8_trim_whitespace(lines), "").to_numpy(zero_copy_only=False)) + 1
    )
    lines = pc.filter(lines, pc.not_equal(pc.utf8_trim_whitespace(lines), ""))
    parts = pc.split_pattern_regex(pc.utf8_trim_whitespace(lines), r"\s+")
    label = pc.list_element(parts, 0)
    label_ok = pc.is_in(label, value_set=pa.array(["0", "1"]))
    if not pc.all(label_ok).as_py():
        bad = int(np.flatnonzero(~label_ok.to_numpy(zero_copy_only=False))[0])
        raise SchemaError(f"{path} label: expected 0 or 1 on line {line_no[bad]}, got {label[bad].as_py()!r}")
    members = pc.list_slice(parts, 1)
    flat = pc.list_flatten(members)
    row = pc.list_parent_indices(members).to_numpy(zero_copy_only=False)
    items = _resolve(flat, refs)
    resolved = pc.is_valid(items).to_numpy(zero_copy_only=False)
    unresolved = int((~resolved).sum())
    counts = np.bincount(row[resolved], minlength=len(lines))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    table = pa.table(
        {
            "label": pc.cast(label, pa.int64()),
            "item_ids": pa.ListArray.from_arrays(pa.array(offsets), pc.filter(items, pa.array(resolved))),
        }
    )
    keep = counts >= 2
    if unresolved or not keep.all():
        log.warning(
            "Polyvore %s: %d references resolve to no outfit item and were left out; %d rows with fewer "
            "than 2 items dropped",
            path.name,
            unresolved,
            int((~keep).sum()),
        )
    return table.filter(pa.array(keep))
