"""What the compatibility model trains on, read off a catalog: class codes and sets as item rows.

Shared by the evaluation suite, ``lookbook train compatibility`` and the project build, so all
three code slots, colours and materials the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lookbook.datasets.world import World
from lookbook.models.compatibility import AttributeVocab
from lookbook.schema import IdMap

I64 = npt.NDArray[np.int64]


def string_codes(values: list[Any]) -> tuple[I64, tuple[str, ...]]:
    """Codes of a string column (empty / None -> -1) and the sorted names."""
    names = sorted({str(v) for v in values if v not in (None, "")})
    index = {n: i for i, n in enumerate(names)}
    codes = np.array([index.get(str(v), -1) if v not in (None, "") else -1 for v in values], np.int64)
    return codes, tuple(names)


def attribute_values(items: pa.Table, key: str) -> list[str | None]:
    """Each item's value of one attribute (``None`` where it has none)."""
    return [dict(a or []).get(key) for a in items.column("attributes").to_pylist()]


def item_labels(items: pa.Table) -> tuple[I64, I64, I64, AttributeVocab]:
    """Slot, colour and material codes of every item, and their vocabularies."""
    slots, slot_names = string_codes(items.column("slot").to_pylist())
    colours, colour_names = string_codes(attribute_values(items, "colour"))
    materials, material_names = string_codes(attribute_values(items, "material"))
    return slots, colours, materials, AttributeVocab(slot_names, colour_names, material_names)


def catalog_sets(world: World, ids: IdMap) -> tuple[list[str], list[I64]]:
    """Set ids and each set's items as catalog rows (items not in the catalog dropped)."""
    set_ids = world.sets.column("set_id").to_pylist()
    rows = [ids.lookup(s, missing=-1) for s in world.sets.column("item_ids").to_pylist()]
    return set_ids, [r[r >= 0] for r in rows]
