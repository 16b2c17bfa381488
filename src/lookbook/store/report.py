"""What an ingest tells its caller: how many rows loaded, and exactly which rows did not and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["IngestReport", "RowError"]


@dataclass
class RowError:
    """One rejected value: where it is (file, line or row), which field, and what is wrong with it.

    ``line`` counts the way a person opening the file would: in a CSV the header is line 1, so the
    first record is line 2; in JSON Lines the first object is line 1; Parquet and in-memory tables
    count rows from 1 (``unit`` says which). ``value`` is the offending raw value, or ``None`` when
    the problem is that a value is missing.
    """

    line: int
    field: str
    message: str
    value: str | None = None
    source: str = ""
    unit: str = "line"

    def __str__(self) -> str:
        where = f"{self.source} {self.unit} {self.line}" if self.source else f"{self.unit} {self.line}"
        got = "" if self.value is None else f", got {self.value!r}"
        return f"{where}, field {self.field}: {self.message}{got}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``lookbook ingest --json`` prints)."""
        return {**asdict(self), "text": str(self)}


@dataclass
class IngestReport:
    """The outcome of one ingest (a file, or a batch of records / an Arrow table).

    ``loaded`` rows passed validation and are now in the store: each was ``inserted`` (new id or
    new event), ``updated`` (an existing id whose stored values changed) or ``unchanged`` (already
    stored exactly so, e.g. when a file is ingested twice). ``rejected`` counts rows with at least
    one error; ``errors`` lists them in file order, capped at the ingest's ``max_errors`` while
    ``error_count`` is the full number. ``committed`` is false when ``strict`` rejected the whole
    input: then nothing was written and ``loaded`` is 0. ``vectors`` counts the item vectors
    written with the items (one per item and space).
    """

    source: str
    table: str
    loaded: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    seconds: float = 0.0
    unchanged: int = 0
    rows: int = 0
    error_count: int = 0
    committed: bool = True
    strict: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    users_created: int = 0
    vectors: int = 0

    @property
    def ok(self) -> bool:
        """True when the input was accepted (always, unless ``strict`` found a bad row)."""
        return self.committed

    @property
    def rows_per_second(self) -> float:
        """Rows read per second of wall time (the throughput figure the benchmark reports)."""
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> str:
        """One line for a person: what happened, and how fast."""
        if not self.committed:
            return (
                f"{self.source}: nothing loaded into {self.table}: --strict is on and {self.rejected} of "
                f"{self.rows} rows were rejected"
            )
        extra = f", {self.users_created} new users" if self.users_created else ""
        return (
            f"{self.source} -> {self.table}: {self.loaded} loaded, {self.rejected} rejected "
            f"({self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged{extra}) "
            f"in {self.seconds:.2f} s ({self.rows_per_second:,.0f} rows/s)"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with every count and every kept error."""
        out = {k: v for k, v in asdict(self).items() if k != "errors"}
        out["rows_per_second"] = self.rows_per_second if self.seconds > 0 else None
        out["errors"] = [e.to_dict() for e in self.errors]
        return out
