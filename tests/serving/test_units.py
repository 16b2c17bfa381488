"""Small pieces of the HTTP layer, without a server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lookbook.errors import LookbookError
from lookbook.serving import ServeConfig
from lookbook.serving.app import _jsonable
from lookbook.serving.convert import image_url, money, rec_item
from lookbook.serving.errors import field_name, validation_detail
from lookbook.serving.html import _look_title, href, item_href, label
from lookbook.serving.page import Cached
from lookbook.serving.server import warm_up
from lookbook.touchpoints.api import RecItem


@pytest.mark.parametrize(
    ("loc", "name"),
    [
        (("query", "k"), "query k"),
        (("body", "items", 0, "price"), "body items[0].price"),
        (("body", "items", 3, "attributes", "colour"), "body items[3].attributes.colour"),
        (("body", "items", 0, "attributes", "", "[key]"), "body items[0].attributes[''] (key)"),
        (("body", "events", 2, "attributes", "two words"), "body events[2].attributes['two words']"),
        (("body",), "body"),
        ((), "request"),
    ],
)
def test_validation_errors_name_the_field_the_way_a_person_reads_it(loc: tuple, name: str):
    assert field_name(loc) == name


def test_a_validation_detail_is_one_sentence_with_at_most_five_fields():
    errors = [{"loc": ("query", f"p{j}"), "msg": "bad"} for j in range(7)]
    detail, items = validation_detail(errors)
    assert detail.startswith("query p0: bad; query p1: bad") and detail.endswith("(and 2 more)")
    assert len(items) == 7 and items[6] == {"field": "query p6", "message": "bad"}
    detail, _ = validation_detail(
        [{"type": "json_invalid", "loc": ("body", 7), "msg": "x", "ctx": {"error": "Oops"}}]
    )
    assert detail == "body: not valid JSON at character 7 (Oops)"


def test_serve_config_refuses_a_short_key_and_bad_numbers():
    assert ServeConfig().api_key is None
    for bad in ({"api_key": "short"}, {"port": 70_000}, {"threads": 0}, {"max_body_bytes": 10}):
        with pytest.raises(LookbookError):
            ServeConfig(**bad)


def test_records_become_json_with_prices_to_the_cent_and_quoted_image_urls():
    rec = RecItem("a b/c", "T", "B", "cat", "top", 24.5699996948242, True, float("nan"), "why")
    out = rec_item(rec)
    assert out["price"] == 24.57 and out["score"] == 0.0 and out["image_url"] == "/images/a%20b%2Fc"
    assert money(float("inf")) == 0.0 and image_url("x") == "/images/x"


def test_shop_stats_become_plain_json():
    import numpy as np

    stats = {
        "n": np.int64(3),
        "f": np.float32(0.5),
        "bad": float("nan"),
        "nested": {"t": (1, "a")},
        "o": object,
    }
    out = _jsonable(stats)
    assert out["n"] == 3 and out["f"] == 0.5 and out["bad"] is None and out["nested"] == {"t": [1, "a"]}
    assert isinstance(out["o"], str)


def test_links_keep_the_user_and_quote_ids():
    assert href("/", None) == "/" and href("/", "u 1") == "/?user=u+1"
    assert href("/search", "u", q="red dress") == "/search?q=red+dress&user=u"
    assert item_href("a/b", None) == "/item/a%2Fb"
    assert label("crossbody bag") == "Crossbody bag"
    assert (
        _look_title("Complete the look: shoes") == "Shoes"
        and _look_title("Bags to go with it") == "Bags to go with it"
    )


def test_cached_values_are_recomputed_after_their_ttl(monkeypatch):
    # A fake clock, not a sleep: on a loaded machine the two first reads can be further apart than
    # any short real TTL, and the test is about the TTL rule, not the scheduler.
    now = [100.0]
    monkeypatch.setattr("lookbook.serving.page.time", SimpleNamespace(monotonic=lambda: now[0]))
    calls = []
    cached = Cached(lambda: calls.append(1) or len(calls), ttl=0.5)
    assert cached.get() == 1
    now[0] += 0.25
    assert cached.get() == 1
    now[0] += 0.5
    assert cached.get() == 2


class _HalfBroken:
    def home_feed(self, *a, **k):
        from lookbook.touchpoints.api import Carousel

        return [Carousel("popular", "Popular", (RecItem("i", "T", "B", "c", "top", 1.0, True, 1.0, "w"),))]

    def similar(self, *a, **k):
        raise RuntimeError("no compatibility model")

    def complete_the_look(self, *a, **k):
        return []

    def categories(self):
        return ["c"]

    def category(self, *a, **k):
        return []

    def search(self, *a, **k):
        raise LookbookError("no text index")


def test_warm_up_survives_a_shop_with_broken_touchpoints(caplog: pytest.LogCaptureFixture):
    assert warm_up(_HalfBroken(), background=False) >= 0  # type: ignore[arg-type]
    assert "warm-up: similar failed" in caplog.text and "warm-up: search failed" in caplog.text
