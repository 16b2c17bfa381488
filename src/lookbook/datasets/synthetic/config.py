"""Configuration of a synthetic demo world."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from lookbook.errors import SchemaError
from lookbook.schema import Domain


@dataclass(frozen=True)
class WorldConfig:
    """Everything that shapes a generated shop; the same config and seed give the same world.

    Defaults give the demo world of about 5,000 items, 2,000 users and 200,000 events. Counts that
    are ``None`` scale with the catalog (``n_sets`` = items / 5, ``n_photos`` = items * 0.06), so a
    100k-item world keeps the same proportions.

    ``weeks`` of simulated activity: the catalog at week 0 holds ``1 - new_item_share`` of the
    items, the rest arrive in weekly drops (the cold-start items of later evaluations).
    ``events_per_user`` is a mean: activity follows a power law (``activity_alpha``), so a few
    users generate much of the traffic, as in real shops. ``drifting_users`` is the share of users
    whose taste moves towards a second style over the weeks (``drift`` = how far by the end).
    """

    domain: Domain = Domain.FASHION
    n_items: int = 5_000
    n_users: int = 2_000
    seed: int = 0
    weeks: int = 12
    events_per_user: float = 100.0
    n_sets: int | None = None
    n_photos: int | None = None
    new_item_share: float = 0.35
    sold_out_share: float = 0.05
    activity_alpha: float = 1.6
    drifting_users: float = 0.3
    drift: float = 0.5
    slate_size: int = 8
    image_size: int = 128
    photo_test_share: float = 0.4
    start_date: str = "2026-01-05"

    def __post_init__(self) -> None:
        object.__setattr__(self, "domain", Domain(self.domain))
        for name, low in (
            ("n_items", 50),
            ("n_users", 10),
            ("weeks", 2),
            ("slate_size", 1),
            ("image_size", 64),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SchemaError(f"WorldConfig.{name}: expected an int >= {low}, got {value!r}")
        for name in ("n_sets", "n_photos"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise SchemaError(f"WorldConfig.{name}: expected an int >= 0 or None, got {value!r}")
        for name in ("new_item_share", "sold_out_share", "drifting_users", "drift", "photo_test_share"):
            value = getattr(self, name)
            if not 0.0 <= float(value) < 1.0:
                raise SchemaError(f"WorldConfig.{name}: expected a number in [0, 1), got {value!r}")
        if self.events_per_user <= 0:
            raise SchemaError(f"WorldConfig.events_per_user: expected > 0, got {self.events_per_user!r}")
        if self.activity_alpha <= 1.0:
            raise SchemaError(
                f"WorldConfig.activity_alpha: expected > 1 (finite mean), got {self.activity_alpha!r}"
            )

    @property
    def sets(self) -> int:
        return self.n_sets if self.n_sets is not None else max(20, self.n_items // 5)

    @property
    def photos(self) -> int:
        return self.n_photos if self.n_photos is not None else max(10, round(self.n_items * 0.06))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["domain"] = self.domain.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SchemaError(f"WorldConfig: unknown fields {unknown}")
        return cls(**data)
