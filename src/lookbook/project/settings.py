"""The project's settings file: every touchpoint setting in one TOML file, checked key by key.

``<project>/settings.toml`` holds what a shop owner tunes without touching code: each touchpoint's
blend (``alpha``, ``beta``), its diversity caps and MMR lambda, whether the learned reranker ranks
it, whether its vector queries are exact or approximate, which home carousels show, the response
cache, and the shop's clock. Every key is optional: a missing key (or a missing file) keeps its
default, and the defaults are the ones the touchpoints had before the file existed
(``lookbook.touchpoints.config.TouchpointConfig``; a test keeps the two equal).

Why a checker of its own rather than trusting the dataclasses below it: a settings file is edited
by hand and re-read by a running server, so a typo must fail loudly and say where. Every error names
the file, the dotted key and the bad value (``settings.toml: home.for_you.alpha: expected a number
in [0, 1], got 2``), and an unknown key is an error too (with the closest known key as a hint):
``mmr_lamda = 0.5`` silently doing nothing is the worst outcome a settings file can have.

Why plain data here and ``TouchpointConfig`` in ``lookbook.touchpoints.config``: the touchpoints rank
with ``lookbook.ranking``'s ``RankConfig`` / ``DiversityConfig`` / ``Constraints``, and ``project``
sits on the ranking layer, so it may not import them. The classes below mirror those configs field
for field (same names, so ``home.for_you.alpha`` in the file is ``TouchpointConfig.home.for_you.alpha``
in code), and ``TouchpointConfig.from_settings`` converts. The one difference: ranking's ``k`` is not
a setting, because every touchpoint takes its page size from the request.

A switch that is "off" in the code's dataclasses (``None``: no brand cap, no price floor) is written
``false`` in the file (TOML has no null): ``max_per_brand = false``.

``ShopSettings.version`` is a short hash of the effective settings (defaults filled in), so two
files that differ only in comments or in spelling out a default share a version; impressions carry
it as ``config_version``, which is what ties a logged slate to the settings that ranked it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import logging
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lookbook.errors import NotFound, SchemaError

log = logging.getLogger(__name__)

__all__ = [
    "CAROUSELS",
    "CLOCKS",
    "DETECTORS",
    "SETTINGS_FILE",
    "BrowseSettings",
    "ConstraintSettings",
    "DiversitySettings",
    "HomeSettings",
    "LookSettings",
    "RankSettings",
    "SettingError",
    "ShopSettings",
    "ShopTheLookSettings",
    "SimilarSettings",
    "load_settings",
    "parse_settings",
    "settings_path",
]

#: The file's name inside a project folder.
SETTINGS_FILE = "settings.toml"
#: ``"wall"``: the machine's clock (a live shop). ``"replay"``: the time of the events being
#: replayed, for the demo worlds whose weeks lie in the past.
CLOCKS = ("wall", "replay")
#: The home feed's carousels, by the id each one carries in a response.
CAROUSELS = ("for_you", "popular", "new_in", "trending")
#: Shop the look's garment detectors (``auto``: the project's trained box detector when its build
#: made one, else the pose detector).
DETECTORS = ("auto", "box", "pose")

#: Hex digits of ``ShopSettings.version``: 48 bits, no collision in any plausible settings history.
VERSION_CHARS = 12


# --------------------------------------------------------------------------------------------------
# Rules: what each key accepts, written down once as data (scikit-learn's parameter constraints)
# --------------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value breaks its rule; ``str`` is the reason (``expected ..., got ...``)."""


class SettingError(SchemaError):
    """One field of a settings table is wrong: ``key`` is the field (relative to the table)."""

    def __init__(self, owner: str, key: str, reason: str) -> None:
        super().__init__(f"{owner}.{key}: {reason}")
        self.key = key
        self.reason = reason


def _show(value: Any) -> str:
    """A value as the file spells it, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "a table"
    return repr(value)


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


@dataclass(frozen=True)
class _Rule:
    """What one key accepts. ``kind``: ``flag`` (true/false), ``int``, ``number`` (finite; an integer
    is taken as the float), ``choice`` (one of ``options``) or ``names`` (a list of distinct strings,
    from ``options`` when given). ``lo`` / ``hi`` bound numbers (``lo_open``: strictly above ``lo``).
    ``optional``: ``false`` in the file (``None`` in code) switches the rule off."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    optional: bool = False
    options: tuple[str, ...] | None = None

    def expected(self) -> str:
        if self.kind == "flag":
            return "true or false"
        if self.kind == "choice":
            assert self.options is not None
            return "one of " + ", ".join(json.dumps(o) for o in self.options)
        if self.kind == "names":
            if self.options is None:
                return "a list of distinct non-empty strings"
            return "a list of distinct names from " + ", ".join(json.dumps(o) for o in self.options)
        noun = "an integer" if self.kind == "int" else "a number"
        if self.lo is not None and self.hi is not None:
            text = f"{noun} in [{_bound(self.lo)}, {_bound(self.hi)}]"
        elif self.lo is not None:
            text = f"{noun} {'>' if self.lo_open else '>='} {_bound(self.lo)}"
        else:
            text = f"a finite {noun.split()[-1]}"
        return text + (", or false (off)" if self.optional else "")

    def check(self, value: Any) -> Any:
        """The value normalised (ints as floats for numbers, lists as tuples), or ``_Invalid``."""
        if self.optional and (value is None or value is False):
            return None
        fail = _Invalid(f"expected {self.expected()}, got {_show(value)}")
        if self.kind == "flag":
            if not isinstance(value, bool):
                raise fail
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in (self.options or ()):
                raise fail
            return value
        if self.kind == "names":
            if not isinstance(value, list | tuple) or not all(
                isinstance(v, str) and v.strip() for v in value
            ):
                raise fail
            if len(set(value)) != len(value) or (
                self.options is not None and not set(value) <= set(self.options)
            ):
                raise fail
            return tuple(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail
        if self.kind == "int" and not isinstance(value, int):
            raise fail
        if not math.isfinite(value):
            raise fail
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            raise fail
        if self.hi is not None and value > self.hi:
            raise fail
        return int(value) if self.kind == "int" else float(value)


def _key(default: Any, rule: _Rule, doc: str) -> Any:
    return field(default=default, metadata={"rule": rule, "doc": doc})


def _flag(default: bool, doc: str) -> Any:
    return _key(default, _Rule("flag"), doc)


def _count(default: int | None, doc: str, *, off: bool = False) -> Any:
    return _key(default, _Rule("int", lo=1, optional=off), doc)


def _share(default: float, doc: str) -> Any:
    return _key(default, _Rule("number", lo=0.0, hi=1.0), doc)


def _number(
    default: float | None, doc: str, *, lo: float | None = None, lo_open: bool = False, optional: bool = False
) -> Any:
    return _key(default, _Rule("number", lo=lo, lo_open=lo_open, optional=optional), doc)


def _choice(default: str, options: tuple[str, ...], doc: str) -> Any:
    return _key(default, _Rule("choice", options=options), doc)


def _names(default: tuple[str, ...], doc: str, options: tuple[str, ...] | None = None) -> Any:
    return _key(default, _Rule("names", options=options), doc)


def _doc(text: str) -> dict[str, str]:
    """A sub-table's field metadata: ``field(default=Table(...), metadata=_doc("..."))``."""
    return {"doc": text}


def _sub_table(f: dataclasses.Field[Any]) -> type[_Table] | None:
    """The table type of a field that holds a sub-table (its default is one), else None."""
    return type(f.default) if isinstance(f.default, _Table) else None


class _Table:
    """Base of every settings table: each field is checked against its rule on construction, so a
    table built in code (or by ``dataclasses.replace``) is held to the same rules as the file."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            table = _sub_table(f)
            if table is not None:
                if not isinstance(value, table):
                    raise SettingError(owner, f.name, f"expected a {table.__name__}, got {_show(value)}")
                continue
            try:
                object.__setattr__(self, f.name, f.metadata["rule"].check(value))
            except _Invalid as exc:
                raise SettingError(owner, f.name, str(exc)) from None
        self._check()

    def _check(self) -> None:
        """Rules across fields; a table that has some overrides this."""

    def to_dict(self) -> dict[str, Any]:
        """Plain nested values (tuples as lists, ``None`` for off), JSON-ready."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, _Table):
                value = value.to_dict()
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


# --------------------------------------------------------------------------------------------------
# The tables (each mirrors one config the touchpoints rank with)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConstraintSettings(_Table):
    """What a touchpoint must never show (``lookbook.ranking.Constraints``); removed items never are."""

    in_stock: bool = _flag(True, "only items in stock")
    size_available: bool = _flag(True, "only items offered in the shopper's size")
    exclude_disliked: bool = _flag(True, "leave out items the shopper disliked")
    exclude_bought: bool = _flag(True, "leave out items the shopper bought")
    exclude_brands: tuple[str, ...] = _names((), "brands never shown")
    price_min: float | None = _number(None, "lowest price shown (false: none)", lo=0.0, optional=True)
    price_max: float | None = _number(None, "highest price shown (false: none)", lo=0.0, optional=True)

    def _check(self) -> None:
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise SettingError(
                type(self).__name__,
                "price_min",
                f"expected at most price_max ({_bound(self.price_max)}), got {_show(self.price_min)}",
            )


@dataclass(frozen=True)
class DiversitySettings(_Table):
    """The last ranking stage (``lookbook.ranking.DiversityConfig``): caps, runs and MMR."""

    max_per_category: int | None = _count(None, "items of one category per page (false: no cap)", off=True)
    max_per_brand: int | None = _count(None, "items of one brand per page (false: no cap)", off=True)
    max_run: int | None = _count(None, "items of one category in a row (false: no limit)", off=True)
    mmr_lambda: float = _share(1.0, "MMR trade-off: 1 = by score only, lower = more varied")
    pool: int = _count(200, "top-scored candidates the diversity pass considers")
    relax_when_short: bool = _flag(True, "break the caps rather than return a short page")


@dataclass(frozen=True)
class RankSettings(_Table):
    """How one touchpoint ranks (``lookbook.ranking.RankConfig`` without ``k``: the request sets it)."""

    alpha: float = _share(0.5, "score = alpha * closeness to the anchor + (1 - alpha) * affinity")
    use_reranker: bool = _flag(True, "rank with the learned reranker (if the top-level switch is on too)")
    rerank_depth: int | None = _count(None, "rerank only this many top candidates (false: all)", off=True)
    missing_distance: float = _number(1.0, "distance assumed where a candidate has none")
    missing_affinity: float = _number(0.0, "affinity assumed where a candidate has none")
    constraints: ConstraintSettings = field(default=ConstraintSettings(), metadata=_doc("hard constraints"))
    diversity: DiversitySettings = field(default=DiversitySettings(), metadata=_doc("caps and MMR"))


_FEED_DIVERSITY = DiversitySettings(max_per_category=3, max_per_brand=3, max_run=2, mmr_lambda=0.8)
# the secondary carousels keep the caps but skip MMR: their candidate sets are already spread
# (recent arrivals, rising items), and MMR is the costliest stage of a page
_CAPS_ONLY = DiversitySettings(max_per_category=3, max_per_brand=3, max_run=2)
_NOT_BOUGHT = ConstraintSettings(exclude_bought=False)
_EXACT = "exact (brute-force) vector queries instead of approximate ones"


@dataclass(frozen=True)
class HomeSettings(_Table):
    """The home feed: "Picked for you" (or "Popular right now" for a visitor without events),
    "New in" and "Trending now"."""

    carousels: tuple[str, ...] = _names(CAROUSELS, "carousels shown (by id)", CAROUSELS)
    exact: bool = _flag(False, _EXACT)
    for_you_candidates: int = _count(300, "candidates from the shopper's preference vector")
    anchors: int = _count(3, "recent items the shopper engaged with that seed 'similar to' candidates")
    per_anchor: int = _count(40, "candidates per anchor")
    ease_candidates: int = _count(200, "candidates from the collaborative (EASE) scores")
    new_days: float = _number(14.0, "what counts as new in, in days", lo=0.0, lo_open=True)
    trending_days: float = _number(7.0, "the trending window, in days", lo=0.0, lo_open=True)
    trending_pool: int = _count(200, "rising items considered for trending")
    explore: float = _share(0.2, "share of a cold visitor's feed drawn from new items")
    for_you: RankSettings = field(
        default=RankSettings(alpha=0.25, diversity=_FEED_DIVERSITY), metadata=_doc("'Picked for you'")
    )
    new_in: RankSettings = field(
        default=RankSettings(alpha=0.0, use_reranker=False, diversity=_CAPS_ONLY), metadata=_doc("'New in'")
    )
    trending: RankSettings = field(
        default=RankSettings(alpha=0.5, use_reranker=False, diversity=_CAPS_ONLY),
        metadata=_doc("'Trending now' (and, with alpha 0.5, 'Popular right now')"),
    )


@dataclass(frozen=True)
class SimilarSettings(_Table):
    """Similar items: the hero's content neighbours, plus the hero moved ``beta`` towards the user."""

    candidates: int = _count(100, "candidates per query")
    beta: float = _share(0.3, "the shopper's share of the hero-and-shopper query")
    exact: bool = _flag(False, _EXACT)
    rank: RankSettings = field(
        default=RankSettings(
            alpha=0.7,
            use_reranker=False,
            constraints=_NOT_BOUGHT,
            diversity=DiversitySettings(max_per_brand=4),
        ),
        metadata=_doc("ranking"),
    )


@dataclass(frozen=True)
class LookSettings(_Table):
    """Complete the look: compatible items of other slots from the style spaces."""

    candidates: int = _count(60, "candidates per slot")
    max_slots: int = _count(4, "slots (carousels) at most")
    exact: bool = _flag(False, _EXACT)
    rank: RankSettings = field(
        default=RankSettings(
            alpha=0.8, use_reranker=False, diversity=DiversitySettings(max_per_brand=2, max_per_category=2)
        ),
        metadata=_doc("ranking"),
    )


@dataclass(frozen=True)
class BrowseSettings(_Table):
    """Search and category pages: relevance (text match or category) blended with the user."""

    search_candidates: int = _count(100, "search matches ranked")
    category_candidates: int = _count(300, "category items ranked")
    search_exact: bool = _flag(False, "exact dense text queries in search instead of approximate ones")
    category_exact: bool = _flag(False, "exact vector queries on category pages instead of approximate ones")
    search: RankSettings = field(
        default=RankSettings(alpha=0.7, use_reranker=False, constraints=_NOT_BOUGHT), metadata=_doc("search")
    )
    category: RankSettings = field(
        default=RankSettings(alpha=0.3, diversity=DiversitySettings(max_per_brand=4)),
        metadata=_doc("category pages"),
    )


@dataclass(frozen=True)
class ShopTheLookSettings(_Table):
    """Shop the look: a photo's garments, each garment's nearest catalog items as anchors, the
    anchors' neighbours ranked for the shopper (``alpha``: the photo against the shopper)."""

    anchors: int = _count(5, "catalog items anchoring each garment")
    per_anchor: int = _count(30, "candidates per anchor")
    min_confidence: float = _share(0.3, "garments the detector is less sure of are skipped")
    detector: str = _choice("auto", DETECTORS, "garment detector")
    exact: bool = _flag(False, _EXACT)
    rank: RankSettings = field(
        default=RankSettings(alpha=0.6, use_reranker=False, diversity=DiversitySettings(max_per_category=4)),
        metadata=_doc("ranking"),
    )


@dataclass(frozen=True)
class ShopSettings(_Table):
    """Every touchpoint setting of one project: ``load_settings(project)`` reads it from
    ``<project>/settings.toml``; ``TouchpointConfig.from_settings`` turns it into what the
    touchpoints run on. Build variants in code with ``dataclasses.replace`` (checked again)."""

    use_reranker: bool = _flag(
        False, "the reranker's master switch: a touchpoint reranks when this and its own switch are on"
    )
    clock: str = _choice("replay", CLOCKS, "the shop's time: wall (a live shop) or replay (a demo world)")
    response_cache_seconds: float = _number(
        30.0, "reuse an unchanged home feed or similar page this long (0: off)", lo=0.0
    )
    response_cache_size: int = _count(20_000, "cached responses at most")
    home: HomeSettings = field(default=HomeSettings(), metadata=_doc("the home feed"))
    similar: SimilarSettings = field(default=SimilarSettings(), metadata=_doc("similar items"))
    look: LookSettings = field(default=LookSettings(), metadata=_doc("complete the look"))
    browse: BrowseSettings = field(default=BrowseSettings(), metadata=_doc("search and category pages"))
    shop_the_look: ShopTheLookSettings = field(
        default=ShopTheLookSettings(), metadata=_doc("shop the look (photo in, items out)")
    )

    @functools.cached_property
    def version(self) -> str:
        """A short hash of the effective settings: equal settings, equal version, whatever the file
        looked like; any change of an effective value, a new one."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:VERSION_CHARS]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = SETTINGS_FILE) -> ShopSettings:
        """Settings from nested tables (a parsed TOML file, or ``to_dict``'s output): missing keys
        keep their defaults, every given key is checked, an unknown key is an error. Errors name
        ``source``, the dotted key and the value."""
        settings = _bind(cls(), data, "", source)
        assert isinstance(settings, cls)
        return settings

    def to_toml(self, *, comments: bool = True) -> str:
        """The effective settings as a TOML file (``parse_settings`` reads it back to equal settings);
        with ``comments``, each key says what it does and, where it differs, its default."""
        lines: list[str] = []
        _emit(self, type(self)(), "", lines, comments)
        return "\n".join(lines).strip() + "\n"


# --------------------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bind(default: _Table, data: Mapping[str, Any], path: str, source: str) -> _Table:
    """``default`` with the values of ``data``: sub-tables first (each keeps its own defaults for
    the keys it does not give), then this table's keys, checked by the table itself."""
    fields = {f.name: f for f in dataclasses.fields(default)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean {_join(path, close[0])!r}?" if close else f" (known: {', '.join(fields)})"
            raise SchemaError(f"{source}: {_join(path, str(key))}: unknown key{hint}")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if _sub_table(fields[key]) is not None:
            if not isinstance(value, Mapping):
                where = _join(path, key)
                raise SchemaError(f"{source}: {where}: expected a table ([{where}]), got {_show(value)}")
            changes[key] = _bind(getattr(default, key), value, _join(path, key), source)
        else:
            changes[key] = value
    try:
        return dataclasses.replace(default, **changes)  # type: ignore[type-var]
    except SettingError as exc:
        raise SchemaError(f"{source}: {_join(path, exc.key)}: {exc.reason}") from None


def _toml_value(value: Any) -> str:
    if value is None:
        return "false"
    if isinstance(value, bool | str | list | tuple):
        return _show(value)
    if isinstance(value, float):
        return repr(value)  # always with a '.' or an exponent: read back as a float
    return str(value)


def _emit(table: _Table, default: _Table, path: str, lines: list[str], comments: bool) -> None:
    fields = dataclasses.fields(table)  # type: ignore[arg-type]
    scalars = [f for f in fields if _sub_table(f) is None]
    if path and scalars:
        lines += ["", f"[{path}]"]
    for f in scalars:
        value, was = getattr(table, f.name), getattr(default, f.name)
        line = f"{f.name} = {_toml_value(value)}"
        if comments:
            line += f"  # {f.metadata['doc']}"
            if value != was:
                line += f" (default {_toml_value(was)})"
        lines.append(line)
    for f in fields:
        if _sub_table(f) is not None:
            _emit(getattr(table, f.name), getattr(default, f.name), _join(path, f.name), lines, comments)


def settings_path(project: str | os.PathLike[str]) -> Path:
    """Where a project's settings file lives (it need not exist)."""
    return Path(project) / SETTINGS_FILE


def parse_settings(text: str, source: str = SETTINGS_FILE) -> ShopSettings:
    """Settings from the text of a settings file; errors name ``source`` (the file)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{source}: not valid TOML: {exc}") from None
    return ShopSettings.from_dict(data, source)


def load_settings(project: str | os.PathLike[str]) -> ShopSettings:
    """The effective settings of a project: its ``settings.toml`` checked and merged over the
    defaults, or the defaults when it has none. The project folder itself must exist (a mistyped
    project should not quietly run on defaults)."""
    root = Path(project)
    if not root.is_dir():
        raise NotFound(f"project: no project folder at {root}")
    path = settings_path(root)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        log.debug("no %s in %s: default settings", SETTINGS_FILE, root)
        return ShopSettings()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    settings = parse_settings(text, str(path))
    log.debug("settings %s from %s", settings.version, path)
    return settings
