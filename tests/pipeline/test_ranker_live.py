"""The reranker learns from the shop's own traffic: served slates joined to the clicks that name
them (``request_id``), then a retrain that trains the trees on them once there are enough."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lookbook.pipeline.ranker_data import store_impressions
from lookbook.tables import IMPRESSIONS_SCHEMA, WORLD_IMPRESSIONS_SCHEMA

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _impressions(rows: list[tuple[str, str | None, str, str, int]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "request_id": r,
                "user_id": u,
                "touchpoint": t,
                "config_version": "c1",
                "item_id": i,
                "position": p,
                "score": 1.0,
                "timestamp": T0,
            }
            for r, u, t, i, p in rows
        ],
        schema=IMPRESSIONS_SCHEMA,
    )


def test_a_slate_item_is_clicked_when_an_engaging_event_names_its_request():
    im = _impressions([
        ("r1", "u1", "home/for_you", "a", 0), ("r1", "u1", "home/for_you", "b", 1),
        ("r1", "u1", "home/new_in", "b", 0), ("r2", "u2", "similar", "a", 0),
        ("r3", None, "home/popular", "a", 0),
    ])  # fmt: skip
    events = pa.table({
        "user_id": ["u1", "u2", "u2", "u1"], "item_id": ["b", "a", "a", "a"],
        "kind": ["click", "view", "dislike", "purchase"], "request_id": ["r1", "r2", None, None],
    })  # fmt: skip
    out = store_impressions(im, events)
    assert out.schema.equals(WORLD_IMPRESSIONS_SCHEMA)
    rows = out.to_pylist()
    assert len(rows) == 4, "anonymous slates are left out"
    assert [r["clicked"] for r in rows] == [False, True, True, False]  # a view is not a click
    sessions = [r["session_id"] for r in rows]
    assert sessions[0] == sessions[1] != sessions[2] != sessions[3], "one slate per request and touchpoint"


def test_no_events_means_no_clicks():
    im = _impressions([("r1", "u1", "search", "a", 0)])
    empty = pa.array([], pa.string())
    events = pa.table({"user_id": empty, "item_id": empty, "kind": empty, "request_id": empty})
    assert store_impressions(im, events).column("clicked").to_pylist() == [False]


@pytest.mark.slow
def test_a_retrain_learns_the_ranker_from_the_stores_own_slates(
    built_project: Path, project_copy: Callable[[Path, Path], Path], tmp_path: Path
):
    import numpy as np

    from lookbook.pipeline.retrain import RetrainConfig, retrain
    from lookbook.store import open_store
    from lookbook.touchpoints.clock import ManualClock
    from lookbook.touchpoints.factory import open_shop

    project = project_copy(built_project, tmp_path / "project")
    rng = np.random.default_rng(0)
    with open_store(project, create=False) as store:
        last = int(store.event_arrays().timestamp.max())
    clock = ManualClock(last + 60)  # five days of traffic after the build, an hour apart
    with open_shop(project, clock=clock) as shop:
        users = shop.demo_users(60)
        for j in range(130):  # served feeds, an item clicked with the slate's id
            user = users[j % len(users)]
            slate = shop.home_feed(user, k=10)[0]
            ids = [it.item_id for it in slate.items]
            shop.log_impressions(f"req-{j}", user, f"home/{slate.key}", ids, [it.score for it in slate.items])
            pick = ids[min(int(rng.geometric(0.4)) - 1, len(ids) - 1)]
            clock.advance(30)
            shop.add_events([{"user_id": user, "item_id": pick, "kind": "click", "request_id": f"req-{j}"}])
            clock.advance(3_600)
    report = retrain(project, stages=["preference", "ranker"], force=True, show_progress=False,
                     config=RetrainConfig(min_live_slates=100))  # fmt: skip
    ranker = report["stages"]["ranker"]
    assert ranker["trained"] and ranker["impressions"] == "the store's", ranker
    assert ranker["clicked_slates"] >= 100
