"""The one error family every Lookbook layer raises.

All of them derive from ``ValueError`` so that a caller who only knows "this input was wrong" can
catch that, while the CLI and the HTTP layer can map each subclass to an exit code or a status.
Messages follow ``owner field: expected ..., got ...`` so that the failing field is always named.
"""

from __future__ import annotations


class LookbookError(ValueError):
    """Base class: something the caller gave Lookbook is wrong or missing."""


class SchemaError(LookbookError):
    """A record or a table column breaks the data model (``Item 'sku-1': price must be >= 0``)."""


class NotFound(LookbookError):
    """An id, a file or a project that was asked for does not exist."""


class NotFittedError(LookbookError):
    """A model was used before ``fit`` (or ``load``)."""


class DimensionMismatch(LookbookError):
    """Vectors of one width were given where another width is expected."""


class IngestError(LookbookError):
    """A whole file cannot be ingested (unreadable, a required column is missing, or ``--strict`` failed)."""
