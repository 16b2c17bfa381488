"""Worlds: synthetic demo shops with ground truth, and loaders for real data sets.

Every loader returns a ``World`` (Arrow tables in the data-model layouts), so ingest, training and
evaluation read one shape whatever the source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from lookbook.datasets.hm import load_hm
from lookbook.datasets.interactions import load_interactions
from lookbook.datasets.polyvore import load_polyvore
from lookbook.datasets.world import World, load_world, save_world
from lookbook.errors import LookbookError

__all__ = [
    "LOADERS",
    "World",
    "import_dataset",
    "load_dataset",
    "load_hm",
    "load_interactions",
    "load_polyvore",
    "load_world",
    "save_world",
]

#: The real-data loaders by the name the CLI uses.
LOADERS: dict[str, Callable[[Path], World]] = {
    "hm": load_hm,
    "polyvore": load_polyvore,
    "interactions": load_interactions,
}


def load_dataset(name: str, path: Path) -> World:
    """Load a real data set by its CLI name (``hm``, ``polyvore``, ``interactions``)."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise LookbookError(f"dataset: expected one of {sorted(LOADERS)}, got {name!r}") from None
    return loader(Path(path))


def import_dataset(name: str, path: Path, out: Path) -> World:
    """Load a real data set and write it as a world folder that ``lookbook ingest`` reads directly.

    Image paths become absolute, because the images stay where the data set keeps them (their
    licences do not allow copying them around) while the tables move to ``out``.
    """
    world = load_dataset(name, path)
    if world.root is not None and world.items.num_rows:
        root = str(Path(world.root).resolve())
        images = world.items.column("image")
        absolute = pc.if_else(pc.is_null(images), images, pc.binary_join_element_wise(root, images, "/"))
        world.items = world.items.set_column(
            world.items.schema.get_field_index("image"), "image", absolute.cast(pa.string())
        )
    world.root = Path(out)
    save_world(world, Path(out))
    return world
