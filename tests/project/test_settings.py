"""The project settings file: defaults equal to the touchpoints' config, a checked key for every
value, unknown keys refused, and a version that moves exactly when the effective settings do."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lookbook.errors import NotFound, SchemaError
from lookbook.project.settings import (
    CAROUSELS,
    SETTINGS_FILE,
    RankSettings,
    ShopSettings,
    load_settings,
    parse_settings,
)
from lookbook.ranking import Constraints, DiversityConfig, RankConfig
from lookbook.touchpoints.config import (
    BrowseConfig,
    HomeConfig,
    LookConfig,
    PhotoConfig,
    SimilarConfig,
    TouchpointConfig,
)

# The touchpoints' settings as they were before the settings file existed, spelled out value by
# value (not through any default), so that a default changed on either side fails here.
_FEED = DiversityConfig(max_per_category=3, max_per_brand=3, max_run=2, mmr_lambda=0.8)
_CAPS = DiversityConfig(max_per_category=3, max_per_brand=3, max_run=2, mmr_lambda=1.0)
TODAY = TouchpointConfig(
    use_reranker=False,
    response_cache_seconds=30.0,
    response_cache_size=20_000,
    home=HomeConfig(
        for_you=RankConfig(k=12, alpha=0.25, diversity=_FEED, use_reranker=True),
        new_in=RankConfig(k=12, alpha=0.0, diversity=_CAPS, use_reranker=False),
        trending=RankConfig(k=12, alpha=0.5, diversity=_CAPS, use_reranker=False),
        for_you_candidates=300,
        anchors=3,
        per_anchor=40,
        ease_candidates=200,
        new_days=14.0,
        trending_days=7.0,
        trending_pool=200,
        explore=0.2,
    ),
    similar=SimilarConfig(
        rank=RankConfig(
            k=12,
            alpha=0.7,
            use_reranker=False,
            constraints=Constraints(exclude_bought=False),
            diversity=DiversityConfig(max_per_brand=4),
        ),
        candidates=100,
        beta=0.3,
    ),
    look=LookConfig(
        rank=RankConfig(
            k=3, alpha=0.8, use_reranker=False, diversity=DiversityConfig(max_per_brand=2, max_per_category=2)
        ),
        candidates=60,
        max_slots=4,
    ),
    browse=BrowseConfig(
        search=RankConfig(k=24, alpha=0.7, use_reranker=False, constraints=Constraints(exclude_bought=False)),
        category=RankConfig(k=24, alpha=0.3, diversity=DiversityConfig(max_per_brand=4)),
        search_candidates=100,
        category_candidates=300,
    ),
    # shop the look's ranking, as touchpoints/shop_the_look.py builds it inline with its defaults
    shop_the_look=PhotoConfig(
        rank=RankConfig(
            k=20,
            alpha=0.6,
            use_reranker=False,
            constraints=Constraints(exclude_bought=True),
            diversity=DiversityConfig(max_per_category=4),
        ),
        anchors=5,
        per_anchor=30,
        min_confidence=0.3,
        detector="auto",
    ),
)


def _leaves(table: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (dotted key, value) of a settings table, depth first."""
    out = []
    for f in dataclasses.fields(table):
        value = getattr(table, f.name)
        key = f"{path}.{f.name}" if path else f.name
        out += _leaves(value, key) if dataclasses.is_dataclass(value) else [(key, value)]
    return out


def _nested(key: str, value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for ``"a.b"``."""
    head, _, rest = key.partition(".")
    return {head: _nested(rest, value) if rest else value}


LEAVES = [key for key, _ in _leaves(ShopSettings())]


# ----------------------------------------------------------------------------------------- defaults
def test_the_defaults_are_the_touchpoints_config_of_before() -> None:
    assert TouchpointConfig() == TODAY
    assert TouchpointConfig.from_settings(ShopSettings()) == TODAY
    assert TODAY.to_settings() == ShopSettings()


def test_every_config_field_has_a_setting_except_the_requests_page_size() -> None:
    """The conversion is by field name: a config field without a setting would be unsettable."""

    def names(obj: Any, path: str = "") -> set[str]:
        out = set()
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            key = f"{path}.{f.name}" if path else f.name
            out |= names(value, key) if dataclasses.is_dataclass(value) else {key}
        return out

    config = names(TouchpointConfig())
    settings = set(LEAVES)
    assert settings <= config
    assert {key.rpartition(".")[2] for key in config - settings} == {"k"}


def test_a_project_without_a_settings_file_runs_on_the_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == ShopSettings()


def test_a_missing_project_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="project"):
        load_settings(tmp_path / "nope")


# ------------------------------------------------------------------------------------- round trips
def test_the_toml_round_trip_gives_equal_settings(tmp_path: Path) -> None:
    changed = parse_settings(
        """
        clock = "wall"
        use_reranker = true
        [home]
        carousels = ["for_you", "trending"]
        [home.for_you.diversity]
        mmr_lambda = 0.6
        max_per_brand = false
        [browse.category.constraints]
        exclude_brands = ["acme"]
        price_max = 120
        """
    )
    for settings in (ShopSettings(), changed):
        text = settings.to_toml()
        assert parse_settings(text) == settings
        assert parse_settings(settings.to_toml(comments=False)) == settings
        assert ShopSettings.from_dict(settings.to_dict()) == settings
        (tmp_path / SETTINGS_FILE).write_text(text)
        assert load_settings(tmp_path) == settings
        assert load_settings(tmp_path).version == settings.version


def test_a_partial_table_keeps_the_defaults_of_its_other_keys() -> None:
    settings = parse_settings("[home.for_you]\nalpha = 0.4\n")
    assert settings.home.for_you.alpha == 0.4
    assert settings.home.for_you.diversity == ShopSettings().home.for_you.diversity
    assert settings.home.for_you.diversity.mmr_lambda == 0.8
    assert settings.home.new_in == ShopSettings().home.new_in


def test_settings_reach_the_touchpoints_config() -> None:
    settings = parse_settings(
        """
        clock = "wall"
        response_cache_seconds = 0
        [home]
        carousels = ["popular", "new_in"]
        exact = true
        [home.for_you.diversity]
        mmr_lambda = 0.5
        max_per_brand = false
        [similar]
        beta = 0.5
        [browse]
        search_exact = true
        [browse.search]
        use_reranker = true
        [browse.search.constraints]
        exclude_brands = ["acme", "zed"]
        price_min = 10
        [shop_the_look]
        detector = "pose"
        [shop_the_look.rank]
        alpha = 0.9
        """
    )
    config = TouchpointConfig.from_settings(settings)
    assert config.clock == "wall" and config.response_cache_seconds == 0.0
    assert config.home.carousels == ("popular", "new_in") and config.home.exact
    assert config.home.for_you.diversity.mmr_lambda == 0.5
    assert config.home.for_you.diversity.max_per_brand is None
    assert config.home.for_you.k == 12  # the page size is not a setting
    assert config.similar.beta == 0.5
    assert config.browse.search_exact and config.browse.search.use_reranker
    assert config.browse.search.constraints.exclude_brands == ("acme", "zed")
    assert config.browse.search.constraints.price_min == 10.0
    assert config.shop_the_look.detector == "pose" and config.shop_the_look.rank.alpha == 0.9
    assert config.to_settings() == settings


# ------------------------------------------------------------------------------------------ errors
def test_the_error_names_the_file_the_key_and_the_value() -> None:
    with pytest.raises(SchemaError) as exc:
        parse_settings("[home.for_you]\nalpha = 2\n", source="settings.toml")
    assert str(exc.value) == "settings.toml: home.for_you.alpha: expected a number in [0, 1], got 2"


@pytest.mark.parametrize("key", LEAVES)
def test_every_key_names_itself_when_its_value_is_wrong(key: str) -> None:
    """A list of tables fits no key's rule: flags, numbers, names and choices all refuse it."""
    with pytest.raises(SchemaError) as exc:
        ShopSettings.from_dict(_nested(key, [{"x": 1}]), source="P/settings.toml")
    assert str(exc.value).startswith(f"P/settings.toml: {key}: expected ")


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("use_reranker = 1", "use_reranker", "expected true or false, got 1"),
        ('clock = "sundial"', "clock", 'expected one of "wall", "replay", got "sundial"'),
        ("response_cache_seconds = -1", "response_cache_seconds", "expected a number >= 0, got -1"),
        ("response_cache_size = 0", "response_cache_size", "expected an integer >= 1, got 0"),
        ("[home]\nanchors = 2.5", "home.anchors", "expected an integer >= 1, got 2.5"),
        ("[home]\nnew_days = 0", "home.new_days", "expected a number > 0, got 0"),
        ("[home]\nexplore = nan", "home.explore", "expected a number in [0, 1], got nan"),
        ('[home]\ncarousels = ["for_you", "sale"]', "home.carousels", 'got ["for_you", "sale"]'),
        ('[home]\ncarousels = ["new_in", "new_in"]', "home.carousels", "distinct"),
        ("[home.trending]\nrerank_depth = true", "home.trending.rerank_depth", "or false (off), got true"),
        ("[similar.rank]\nmissing_distance = inf", "similar.rank.missing_distance", "a finite number"),
        ("[look.rank.diversity]\nmax_run = 0", "look.rank.diversity.max_run", "integer >= 1, or false"),
        ('[browse.search.constraints]\nexclude_brands = "acme"', "browse.search.constraints.exclude_brands",
         'got "acme"'),
        ("[browse.category.constraints]\nprice_min = 50\nprice_max = 20",
         "browse.category.constraints.price_min", "expected at most price_max (20)"),
        ('[shop_the_look]\ndetector = "yolo"', "shop_the_look.detector", 'got "yolo"'),
        ("home = 3", "home", "expected a table ([home]), got 3"),
        ("[home.anchors]\nx = 1", "home.anchors", "got a table"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_with_their_key(text: str, key: str, expected: str) -> None:
    with pytest.raises(SchemaError) as exc:
        parse_settings(text, source="settings.toml")
    message = str(exc.value)
    assert message.startswith(f"settings.toml: {key}: "), message
    assert expected in message


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("mmr_lambda = 0.5", "mmr_lambda", "known: use_reranker"),
        ("[home]\nanchor = 3", "home.anchor", "did you mean 'home.anchors'"),
        ("[home.for_you.diversity]\nmmr_lamda = 0.5", "home.for_you.diversity.mmr_lamda", "mmr_lambda"),
        ("[home.for_you]\nk = 10", "home.for_you.k", "unknown key"),
        ("[checkout]\nalpha = 1", "checkout", "unknown key"),
    ],
)
def test_unknown_keys_are_errors(text: str, key: str, hint: str) -> None:
    with pytest.raises(SchemaError) as exc:
        parse_settings(text, source="settings.toml")
    message = str(exc.value)
    assert message.startswith(f"settings.toml: {key}: unknown key"), message
    assert hint in message


def test_a_broken_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / SETTINGS_FILE
    path.write_text("[home\nalpha = 1\n")
    with pytest.raises(SchemaError, match=f"{path}: not valid TOML"):
        load_settings(tmp_path)
    path.write_bytes(b"clock = '\xff'\n")
    with pytest.raises(SchemaError, match=f"{path}: not UTF-8"):
        load_settings(tmp_path)


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(SchemaError, match=r"ShopSettings\.clock: expected one of"):
        dataclasses.replace(ShopSettings(), clock="sundial")
    with pytest.raises(SchemaError, match=r"RankSettings\.alpha: expected a number in \[0, 1\], got -0.1"):
        RankSettings(alpha=-0.1)


# ----------------------------------------------------------------------------------------- version
def test_the_version_is_a_short_stable_hash() -> None:
    version = ShopSettings().version
    assert len(version) == 12 and int(version, 16) >= 0
    assert ShopSettings().version == version


def test_the_version_ignores_how_the_file_spells_the_settings() -> None:
    base = ShopSettings().version
    spelled = """
        # every value here is a default
        clock = "replay"
        [home]
        carousels = ["for_you", "popular", "new_in", "trending"]
        [home.for_you]
        alpha = 0.25      # an int or a float: the same number
        [home.for_you.diversity]
        pool = 200
        [similar.rank.diversity]
        max_per_category = false
    """
    assert parse_settings(spelled).version == base
    assert parse_settings("[similar.rank]\nmissing_distance = 1").version == base
    assert parse_settings(ShopSettings().to_toml()).version == base


def _other(value: Any, key: str) -> Any:
    """A valid value different from ``value`` for ``key``."""
    if isinstance(value, bool):
        return not value
    if key.endswith("carousels"):
        return value[:-1]
    if key == "clock":
        return "wall"
    if key.endswith("detector"):
        return "pose"
    if key.endswith("exclude_brands"):
        return ["acme"]
    if value is None:
        return 5
    if isinstance(value, int):
        return value + 1
    return value / 2 if value else 0.5


@pytest.mark.parametrize("key", LEAVES)
def test_every_effective_change_changes_the_version(key: str) -> None:
    value = dict(_leaves(ShopSettings()))[key]
    changed = ShopSettings.from_dict(_nested(key, _other(value, key)))
    assert changed != ShopSettings()
    assert changed.version != ShopSettings().version


def test_show_marks_the_values_that_differ_from_the_defaults() -> None:
    text = parse_settings("[home.for_you]\nalpha = 0.4\n").to_toml()
    lines = [line for line in text.splitlines() if line.startswith("alpha = 0.4")]
    assert len(lines) == 1 and "(default 0.25)" in lines[0]
    assert "(default" not in ShopSettings().to_toml()
    assert tomllib.loads(text)["home"]["carousels"] == list(CAROUSELS)
