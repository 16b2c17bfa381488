"""``lookbook.weights``: one versioned folder layout for every torch model, plus JSON and ``.npz``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lookbook import weights
from lookbook.errors import NotFound, SchemaError


def _state() -> dict[str, torch.Tensor]:
    net = torch.nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3))
        net.bias.fill_(0.5)
    return net.state_dict()


def test_save_load_round_trips_state_meta_and_arrays(tmp_path: Path) -> None:
    arrays = {"vectors": np.eye(3, dtype=np.float32), "rows": np.arange(4, dtype=np.int64)}
    folder = weights.save(tmp_path / "m", _state(), {"config": {"dim": 2}}, 3, arrays=arrays)
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "weights.safetensors"]
    saved = weights.load(folder, 3, owner="Toy")
    assert saved.format_version == 3 and saved.meta["config"] == {"dim": 2}
    assert set(saved.state_dict) == {"weight", "bias"}
    torch.testing.assert_close(saved.state_dict["weight"], _state()["weight"])
    np.testing.assert_array_equal(saved.arrays["vectors"], arrays["vectors"])
    assert saved.arrays["rows"].dtype == np.int64


def test_a_version_mismatch_names_the_file_and_both_versions(tmp_path: Path) -> None:
    folder = weights.save(tmp_path / "m", _state(), {}, 1)
    with pytest.raises(SchemaError, match=r"Toy .*model\.json: format_version 1 is not 2; retrain it"):
        weights.load(folder, 2, owner="Toy")
    assert weights.load(folder, 2, owner="Toy", readable=(1,)).format_version == 1


def test_a_model_json_without_a_version_is_read_as_version_1(tmp_path: Path) -> None:
    """Folders written before versions were checked everywhere have the same layout."""
    folder = weights.save(tmp_path / "m", _state(), {"config": {}}, 1)
    meta = json.loads((folder / "model.json").read_text())
    del meta["format_version"]
    (folder / "model.json").write_text(json.dumps(meta))
    assert weights.load(folder, 1, owner="Toy").format_version == 1
    with pytest.raises(SchemaError, match=r"format_version 1 \(no format_version: read as 1\) is not 2"):
        weights.load(folder, 2, owner="Toy")


def test_missing_files_raise_not_found_naming_them(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"model\.json"):
        weights.load(tmp_path, 1, owner="Toy")
    weights.save_json(tmp_path / "model.json", {}, 1)
    with pytest.raises(NotFound, match=r"weights\.safetensors"):
        weights.load(tmp_path, 1, owner="Toy")


def test_arrays_files_carry_a_version_and_refuse_objects(tmp_path: Path) -> None:
    path = weights.save_arrays(tmp_path / "a.npz", {"x": np.arange(3)}, 2)
    assert list(weights.load_arrays(path, 2, owner="Toy")) == ["x"]
    with pytest.raises(SchemaError, match=r"a\.npz: format_version 2 is not 1"):
        weights.load_arrays(path, 1, owner="Toy")
    with pytest.raises(SchemaError, match="object"):
        weights.save_arrays(tmp_path / "b.npz", {"x": np.array([{}], dtype=object)}, 1)
