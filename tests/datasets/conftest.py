"""Fixtures for the dataset loaders: where the shared real data lives, skipping cleanly without it.

The real slices (H&M, Polyvore Outfits) sit beside the repository in ``../shared/data`` and are
never copied into it (their licences allow research use only), so a checkout without them must
still pass: every test that needs them skips with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` from the repository root; skips the test when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared real data absent: {SHARED_DATA} does not exist")
    return SHARED_DATA


def _subfolder(shared: Path, name: str, marker_file: str) -> Path:
    folder = shared / name
    if not (folder / marker_file).is_file():
        pytest.skip(f"shared real data absent: {folder / marker_file} does not exist")
    return folder


@pytest.fixture(scope="session")
def hm_root(shared_data: Path) -> Path:
    """The H&M slice folder; skips when it (or its articles.csv) is missing."""
    return _subfolder(shared_data, "hm", "articles.csv")


@pytest.fixture(scope="session")
def polyvore_root(shared_data: Path) -> Path:
    """The Polyvore Outfits slice folder; skips when it (or its valid.json) is missing."""
    return _subfolder(shared_data, "polyvore_outfits", "valid.json")
