"""Versioned model files: torch weights as safetensors, settings as JSON, plain arrays as ``.npz``.

Every trainable model writes the same folder: ``weights.safetensors`` (the network's state dict,
plus any non-parameter arrays under a ``_`` prefix) beside ``model.json`` (``format_version`` and
whatever the model needs to rebuild its network: config, vocabularies, shapes). Written once here
so that the two-tower, the compatibility model and the box detector all check versions, write
atomically and fail with the same message; it sits on the layer of ``tables`` and ``metrics``
because both ``models`` and ``vision`` use it and may not import each other.

Why these formats: safetensors and ``.npz`` read with ``allow_pickle=False`` cannot run code on
load, and JSON stays readable by people. Why a version in every file: a folder outlives the code
that wrote it (a built project is served by the next release), and a clear "format_version 1 is
not 2; retrain it" beats a ``KeyError`` three frames down.

Folders written before this module have the same layout and a ``format_version`` in ``model.json``,
so they load unchanged. A ``model.json`` without the field is read as version 1 (the first layout);
a model at a later version then rejects it with the usual message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import NotFound, SchemaError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

__all__ = [
    "ARRAY_PREFIX",
    "META_FILE",
    "WEIGHTS_FILE",
    "Saved",
    "load",
    "load_arrays",
    "load_json",
    "save",
    "save_arrays",
    "save_json",
]

#: The two files of a saved torch model, inside its folder.
WEIGHTS_FILE = "weights.safetensors"
META_FILE = "model.json"
#: Arrays saved beside the state dict carry this prefix in the safetensors file, so they can never
#: collide with a parameter name (torch parameter names never start with ``_``).
ARRAY_PREFIX = "_"
#: What a file without a ``format_version`` is taken to be: the first layout.
MISSING_VERSION = 1


def _accepted(format_version: int, readable: Collection[int]) -> set[int]:
    return {int(format_version), *(int(v) for v in readable)}


def _check_version(found: Any, accepted: set[int], owner: str, path: Path) -> int:
    version = MISSING_VERSION if found is None else found
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if version not in accepted:
        expected = " or ".join(str(v) for v in sorted(accepted))
        note = " (no format_version: read as 1)" if found is None else ""
        raise SchemaError(f"{owner} {path}: format_version {version}{note} is not {expected}; retrain it")
    return int(version)


def _replace(tmp: Path, final: Path) -> None:
    """Move a finished temporary file into place, so a reader never sees half a file."""
    tmp.replace(final)


# --------------------------------------------------------------------------------------------------
# JSON and .npz
# --------------------------------------------------------------------------------------------------


def save_json(path: Path | str, data: Mapping[str, Any], format_version: int) -> Path:
    """Write ``{"format_version": format_version, **data}`` to ``path`` (indented, atomically)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps({"format_version": int(format_version), **data}, indent=1))
    _replace(tmp, out)
    return out


def load_json(
    path: Path | str, format_version: int, *, owner: str, readable: Collection[int] = ()
) -> dict[str, Any]:
    """The JSON object at ``path``, after checking its ``format_version``.

    ``readable`` lists older versions the caller still knows how to read; the returned dict always
    holds the version found under ``"format_version"`` (1 where the file had none). Raises
    ``NotFound`` naming the file when it is missing and ``SchemaError`` naming the file and both
    versions when the version is not accepted.
    """
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"{owner} {file}: no such file; fit and save the model first")
    data = json.loads(file.read_text())
    if not isinstance(data, dict):
        raise SchemaError(f"{owner} {file}: expected a JSON object, got {type(data).__name__}")
    accepted = _accepted(format_version, readable)
    data["format_version"] = _check_version(data.get("format_version"), accepted, owner, file)
    return data


def save_arrays(path: Path | str, arrays: Mapping[str, npt.ArrayLike], format_version: int) -> Path:
    """Write numeric arrays as an uncompressed ``.npz`` with a ``format_version`` entry (atomically).

    Object arrays are refused: they would need pickle to read back.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    plain = {name: np.asarray(value) for name, value in arrays.items()}
    for name, value in plain.items():
        if value.dtype == object:
            raise SchemaError(f"save_arrays {name}: object arrays need pickle; got dtype object")
    if "format_version" in plain:
        raise SchemaError("save_arrays: 'format_version' is reserved for the file's version")
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("wb") as fh:
        np.savez(fh, format_version=np.int64(format_version), **plain)
    _replace(tmp, out)
    return out


def load_arrays(
    path: Path | str, format_version: int, *, owner: str, readable: Collection[int] = ()
) -> dict[str, npt.NDArray[Any]]:
    """The arrays of a ``save_arrays`` file (read with ``allow_pickle=False``), version checked.

    The returned dict does not include ``format_version``.
    """
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"{owner} {file}: no such file; fit and save the model first")
    with np.load(file, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    found = arrays.pop("format_version", None)
    _check_version(None if found is None else int(found), _accepted(format_version, readable), owner, file)
    return arrays


# --------------------------------------------------------------------------------------------------
# Torch models
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """What ``load`` read: ``meta`` (``model.json``, ``format_version`` included), the network's
    ``state_dict`` and the extra ``arrays`` (numpy, prefix removed)."""

    meta: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    arrays: dict[str, npt.NDArray[Any]]

    @property
    def format_version(self) -> int:
        return int(self.meta["format_version"])


def save(
    path: Path | str,
    state_dict: Mapping[str, torch.Tensor],
    meta: Mapping[str, Any],
    format_version: int,
    *,
    arrays: Mapping[str, npt.ArrayLike] | None = None,
) -> Path:
    """Save a torch model to the folder ``path``: ``weights.safetensors`` and ``model.json``.

    Parameters
    ----------
    path:
        The folder (created if needed).
    state_dict:
        The network's ``state_dict()``; tensors are made contiguous.
    meta:
        JSON-serialisable settings the loader needs (config, vocabularies, shapes, history);
        written as ``{"format_version": format_version, **meta}``.
    format_version:
        The layout version; ``load`` checks it. Bump it whenever a file changes meaning.
    arrays:
        Extra numeric arrays (fitted vectors, sparse matrix parts) stored in the same safetensors
        file under ``_name``.

    Returns
    -------
    The folder.
    """
    import torch
    from safetensors.torch import save_file

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().contiguous() for name, t in state_dict.items()}
    for name, value in (arrays or {}).items():
        key = ARRAY_PREFIX + name
        if key in tensors:
            raise SchemaError(f"weights.save arrays: {name!r} collides with a state-dict entry")
        tensors[key] = torch.from_numpy(np.ascontiguousarray(value))
    tmp = out / (WEIGHTS_FILE + ".tmp")
    save_file(tensors, str(tmp), metadata={"format_version": str(int(format_version))})
    _replace(tmp, out / WEIGHTS_FILE)
    save_json(out / META_FILE, meta, format_version)
    return out


def load(path: Path | str, format_version: int, *, owner: str, readable: Collection[int] = ()) -> Saved:
    """Read a folder written by ``save``, checking ``format_version`` in ``model.json`` (and in the
    safetensors header when it has one; older files do not).

    ``owner`` names the model in errors ("TwoTowerRecommender /path/model.json: format_version 1
    is not 2; retrain it"). ``readable`` lists older versions the caller can still read.
    """
    from safetensors import safe_open

    folder = Path(path)
    meta = load_json(folder / META_FILE, format_version, owner=owner, readable=readable)
    file = folder / WEIGHTS_FILE
    if not file.is_file():
        raise NotFound(f"{owner} {file}: no such file; fit and save the model first")
    state: dict[str, torch.Tensor] = {}
    arrays: dict[str, npt.NDArray[Any]] = {}
    with safe_open(str(file), framework="pt") as fh:
        header = (fh.metadata() or {}).get("format_version")
        if header is not None and str(header) != str(meta["format_version"]):
            raise SchemaError(
                f"{owner} {file}: format_version {header} does not match {META_FILE}'s "
                f"{meta['format_version']}; the folder mixes two saves"
            )
        for name in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
            tensor = fh.get_tensor(name)
            if name.startswith(ARRAY_PREFIX):
                arrays[name[len(ARRAY_PREFIX) :]] = tensor.numpy()
            else:
                state[name] = tensor
    log.debug("loaded %s from %s (format_version %s)", owner, folder, meta["format_version"])
    return Saved(meta, state, arrays)
