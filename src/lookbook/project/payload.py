"""What a project's index stores beside each vector: the payload schema and the payload of an item.

One definition for the build, which fills every vector space, and for the serving writer, which
upserts items added while the shop runs: if the two wrote payloads differently, a filter would
match a built item and miss a live one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lookbook.index.filters import ITEM_PAYLOAD, PayloadSchema
from lookbook.models.collaborative.loading import seconds

__all__ = ["ATTRIBUTE_FIELDS", "PROJECT_PAYLOAD", "item_payloads"]

#: The item attributes a shopper filters on ("complete the look in leather"), kept in the payload.
ATTRIBUTE_FIELDS = ("colour", "material", "pattern")

#: The project's payload: the item fields of DESIGN.md §5 plus ``ATTRIBUTE_FIELDS``.
PROJECT_PAYLOAD = PayloadSchema({**ITEM_PAYLOAD, **dict.fromkeys(ATTRIBUTE_FIELDS, "keyword")})


def item_payloads(items: pa.Table) -> list[dict[str, Any]]:
    """Index payloads of an items table (one dict per row; missing values left out)."""
    cols = {name: items.column(name).to_pylist() for name in ("slot", "category", "brand", "price")}
    sizes = items.column("sizes").to_pylist()
    stock = items.column("in_stock").to_pylist()
    col = items.column("created_at")
    missing = col.is_null().to_numpy(zero_copy_only=False)
    filled = pc.fill_null(col, pa.scalar(0, col.type)) if missing.any() else col
    created = np.where(missing, -1, seconds(filled)).tolist()
    attributes = items.column("attributes").to_pylist()
    out = []
    for i in range(items.num_rows):  # one dict per item is the index clients' input format
        p: dict[str, Any] = {k: v[i] for k, v in cols.items() if v[i] is not None}
        p["sizes"] = [str(s) for s in sizes[i] or []]
        if stock[i] is not None:
            p["in_stock"] = bool(stock[i])
        if created[i] >= 0:
            p["created_at"] = int(created[i])
        for key, value in attributes[i] or []:
            if key in ATTRIBUTE_FIELDS and value:
                p[key] = str(value)
        out.append(p)
    return out
