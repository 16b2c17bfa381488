"""A real data set becomes a world folder that the store ingests without a column mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookbook.cli import main
from lookbook.datasets import import_dataset, load_dataset
from lookbook.errors import LookbookError
from lookbook.store import ingest_file, open_store


@pytest.mark.realdata
def test_hm_imports_and_ingests_with_images_and_purchases(hm_root: Path, tmp_path: Path) -> None:
    world = import_dataset("hm", hm_root, tmp_path / "hm")
    with open_store(tmp_path / "project") as store:
        reports = {
            table: ingest_file(store, table, tmp_path / "hm" / f"{table}.parquet", show_progress=False)
            for table in ("items", "users", "events", "sets")
        }
        counts = store.counts()
        item = store.get_item("0237347055")  # leading zero kept end to end
        image = store.image_path("0237347055")
    assert all(r.rejected == 0 for r in reports.values()), {t: r.errors[:3] for t, r in reports.items()}
    assert counts["items"] == world.items.num_rows == 11_800
    assert counts["events"] == 6_763 and counts["users"] == 955
    assert item.slot.value == "top"
    assert image is not None and image.is_file()


@pytest.mark.realdata
def test_world_import_cli_on_polyvore(polyvore_root: Path, tmp_path: Path) -> None:
    assert (
        main(
            [
                "--no-progress",
                "-q",
                "world",
                "import",
                "polyvore",
                str(polyvore_root),
                "--out",
                str(tmp_path / "pv"),
            ]
        )
        == 0
    )
    world = load_dataset("polyvore", polyvore_root)
    assert (tmp_path / "pv" / "sets.parquet").exists() and world.sets.num_rows == 5_000
    assert (tmp_path / "pv" / "extras" / "fitb.parquet").exists()


def test_unknown_dataset_is_named(tmp_path: Path) -> None:
    with pytest.raises(LookbookError, match="dataset: expected one of"):
        load_dataset("movielens-99", tmp_path)
