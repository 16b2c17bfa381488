"""Evaluate a ``Filter`` to a boolean mask over a fixed list of item payloads, column-wise in numpy.

Why this exists beside ``NumpyIndex.mask``: that method answers for the rows of a vector index it
owns, while a retriever without vectors (BM25 in ``TextIndex``) needs the same answer for its own
rows, in its own order. ``PayloadTable`` turns the payloads into one array per field once (when the
retriever is (re)built) and then answers each filter with array comparisons, so a filtered search
costs a few vector operations, not a pass over Python dicts.

The semantics are the reference ones (``NumpyIndex``), so every retriever agrees on which items a
filter keeps: a missing field matches no ``Eq``, ``In`` or ``Range`` (and so matches their ``Not``),
a ``keywords`` field (sizes) matches when its list contains the value, ``Range`` bounds are
inclusive for ``gte``/``lte`` and strict for ``gt``/``lt``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import SchemaError
from lookbook.index.filters import And, Eq, Filter, In, Not, Or, PayloadSchema, Range, Scalar

__all__ = ["PayloadTable", "payload_mask"]

B = npt.NDArray[np.bool_]


class _KeywordColumn:
    """A ``keyword`` field as integer codes (``-1`` = missing) plus the value -> code table."""

    def __init__(self, values: list[Any]) -> None:
        present = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
        names = np.asarray([str(v) for v in values if v is not None], dtype=str)
        self.vocab, inverse = np.unique(names, return_inverse=True)
        self.codes = np.full(len(values), -1, dtype=np.int64)
        self.codes[present] = inverse
        self._code = {str(v): c for c, v in enumerate(self.vocab)}

    def isin(self, values: Sequence[Scalar]) -> B:
        wanted = [self._code[str(v)] for v in values if str(v) in self._code]
        return np.isin(self.codes, wanted)


class _KeywordsColumn:
    """A ``keywords`` field (a list per row) as (owner row, member code) pairs, CSR-like."""

    def __init__(self, values: list[Any]) -> None:
        self.n = len(values)
        lists = [[] if v is None else [str(m) for m in v] for v in values]
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=self.n)
        self.owner = np.repeat(np.arange(self.n), lengths)
        members = np.asarray([m for x in lists for m in x], dtype=str)
        self.vocab, self.member = np.unique(members, return_inverse=True)
        self._code = {str(v): c for c, v in enumerate(self.vocab)}

    def isin(self, values: Sequence[Scalar]) -> B:
        wanted = [self._code[str(v)] for v in values if str(v) in self._code]
        out = np.zeros(self.n, dtype=bool)
        out[self.owner[np.isin(self.member, wanted)]] = True
        return out


class _NumberColumn:
    """A ``float``, ``int`` or ``bool`` field as float64 (``NaN`` = missing; booleans as 0/1)."""

    def __init__(self, values: list[Any]) -> None:
        self.values = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)

    def isin(self, values: Sequence[Scalar]) -> B:
        return np.isin(self.values, np.asarray([float(v) for v in values], dtype=np.float64))

    def within(self, f: Range) -> B:
        return f.matches(self.values)


_Column = _KeywordColumn | _KeywordsColumn | _NumberColumn


class PayloadTable:
    """The payloads of ``n`` rows as one column per schema field, for filter masks.

    Parameters
    ----------
    payloads
        One mapping per row (field -> value; missing fields and ``None`` mean "absent"). Checked
        against ``schema`` on entry, so a bad payload fails here, naming its row and field.
    schema
        The fields and their kinds; filters are validated against it too.
    """

    def __init__(self, payloads: Sequence[Mapping[str, Any]], schema: PayloadSchema) -> None:
        for row, payload in enumerate(payloads):
            schema.check_payload(payload, row=row)
        self.schema = schema
        self.n = len(payloads)
        self._columns: dict[str, _Column] = {}
        for field, kind in schema.fields.items():
            values = [p.get(field) for p in payloads]
            if kind == "keyword":
                self._columns[field] = _KeywordColumn(values)
            elif kind == "keywords":
                self._columns[field] = _KeywordsColumn(values)
            else:
                self._columns[field] = _NumberColumn(values)

    def __len__(self) -> int:
        return self.n

    def mask(self, filter: Filter | None) -> B:
        """``(n,)`` bool: the rows ``filter`` keeps (every row for ``None``)."""
        if filter is None:
            return np.ones(self.n, dtype=bool)
        if not isinstance(filter, Filter):
            raise SchemaError(
                f"PayloadTable.mask filter: expected a lookbook.index.filters expression, got {filter!r}"
            )
        filter.validate(self.schema)
        return self._eval(filter)

    def _eval(self, f: Filter) -> B:
        if isinstance(f, Eq):
            return self._columns[f.field].isin((f.value,))
        if isinstance(f, In):
            return self._columns[f.field].isin(f.values)
        if isinstance(f, Range):
            column = self._columns[f.field]
            assert isinstance(column, _NumberColumn)  # validate() allows Range on numeric fields only
            return column.within(f)
        if isinstance(f, And):
            return np.logical_and.reduce([self._eval(p) for p in f.parts])
        if isinstance(f, Or):
            return np.logical_or.reduce([self._eval(p) for p in f.parts])
        if isinstance(f, Not):
            return ~self._eval(f.part)
        raise TypeError(f"unknown filter node {f!r}")


def payload_mask(filter: Filter | None, payloads: Sequence[Mapping[str, Any]], schema: PayloadSchema) -> B:
    """``(len(payloads),)`` bool: which payloads ``filter`` keeps. Builds a ``PayloadTable`` once; keep
    the table instead when the same payloads are filtered many times."""
    return PayloadTable(payloads, schema).mask(filter)
