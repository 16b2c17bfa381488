"""Fixtures shared across test folders: one small built project (world -> build) per session.

The fast lane (``pytest -m "not slow"``, a few minutes on two cores) leaves out every test marked
``slow``. A session fixture is paid by the first test that asks for it, so a test that needs an
expensive one below is marked ``slow`` here, at collection, whether it asks for the fixture directly
or through another fixture: the fast lane never builds a project.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

#: Session fixtures too expensive for the fast lane: every test that needs one is ``slow``.
SLOW_FIXTURES = frozenset({"built_project"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test whose fixture closure holds a ``SLOW_FIXTURES`` fixture (before
    ``-m`` deselects, hence ``tryfirst``)."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def project_copy() -> Callable[[Path, Path], Path]:
    """``project_copy(src, dst)``: a private, disk-cheap (sparse) copy of a built project for tests
    that write; plain copies cost 2 GB each (see ``copy_project``) and CI disks are small."""
    from lookbook.project.layout import copy_project

    return copy_project


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fashion world built into a project: every stage of ``lookbook build`` ran for real
    (encoders, compatibility, preference, index); ~1 minute on two cores, once per session."""
    from lookbook.datasets.synthetic import WorldConfig, make_synthetic_world
    from lookbook.pipeline.build import BuildConfig, build_project

    root = tmp_path_factory.mktemp("project")
    cfg = WorldConfig(n_items=300, n_users=120, seed=11, n_photos=0, image_size=64)
    world = make_synthetic_world(cfg, root / "world", show_progress=False, workers=1).world
    build = BuildConfig(cache_dir=root / "cache", resolution=64)
    build_project(world, root / "project", build, show_progress=False)
    return root / "project"
