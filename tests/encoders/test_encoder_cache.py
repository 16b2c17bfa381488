"""The feature cache and the ``Encoder`` base: round trips, reopening, crash safety, no re-encoding."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from lookbook.encoders import Encoder, FeatureCache, content_digest, l2_normalize
from lookbook.errors import DimensionMismatch, LookbookError


def _keys(n: int, salt: str = "") -> list[bytes]:
    return [hashlib.sha256(f"{salt}{i}".encode()).digest() for i in range(n)]


def _unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return l2_normalize(np.random.default_rng(seed).standard_normal((n, dim)))


class CountingEncoder(Encoder):
    """A tiny encoder of strings: a seeded random vector per text; counts what it was asked."""

    def __init__(self, dim: int = 8, **kwargs) -> None:
        super().__init__(**kwargs)
        self._dim = dim
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return f"counting-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def batch_size(self) -> int:
        return 4

    def _key(self, item):
        return None if item == "" else item

    def _encode_batch(self, batch):
        self.calls.append(list(batch))
        out = []
        for text in batch:
            if text == "unreadable":
                out.append(np.zeros(self._dim))
            else:
                seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
                out.append(np.random.default_rng(seed).standard_normal(self._dim) * 5)
        return np.array(out)


# --------------------------------------------------------------------------------------------------
# FeatureCache
# --------------------------------------------------------------------------------------------------


def test_cache_round_trip_and_reopen(tmp_path: Path) -> None:
    keys, vecs = _keys(10), _unit(10, 16)
    with FeatureCache(tmp_path / "c", 16) as cache:
        cache.put(keys[:6], vecs[:6])
        found, got = cache.get(keys)  # pending rows are visible before any flush
        assert found.tolist() == [True] * 6 + [False] * 4
        cache.put(keys[6:], vecs[6:])
    reopened = FeatureCache(tmp_path / "c", 16)
    assert len(reopened) == 10
    found, got = reopened.get([*keys[::-1], _keys(1, "other")[0]])
    assert found.tolist() == [True] * 10 + [False]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[:10], vecs[::-1], atol=2e-3)  # float16 on disk
    assert not got[10].any()


def test_cache_rejects_another_width(tmp_path: Path) -> None:
    FeatureCache(tmp_path / "c", 16).put(_keys(1), _unit(1, 16))
    with pytest.raises(DimensionMismatch, match="dim"):
        FeatureCache(tmp_path / "c", 32)
    with pytest.raises(DimensionMismatch, match="vectors"):
        FeatureCache(tmp_path / "d", 16).put(_keys(2), _unit(2, 8))


def test_cache_flushes_shards_of_shard_rows(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "c", 4, shard_rows=5)
    keys, vecs = _keys(12), _unit(12, 4)
    cache.put(keys[:3], vecs[:3])
    assert not list((tmp_path / "c").glob("shard-*.npz"))  # buffered
    cache.put(keys[3:10], vecs[3:10])
    assert len(list((tmp_path / "c").glob("shard-*.npz"))) == 1  # 10 rows >= 5: one shard
    cache.put(keys[10:], vecs[10:])
    cache.flush()
    assert len(list((tmp_path / "c").glob("shard-*.npz"))) == 2
    cache.compact()
    assert len(list((tmp_path / "c").glob("shard-*.npz"))) == 1
    found, _ = FeatureCache(tmp_path / "c", 4).get(_keys(12))
    assert found.all()


def test_a_crash_while_writing_a_shard_leaves_the_cache_readable(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "c"
    cache = FeatureCache(folder, 8)
    cache.put(_keys(3), _unit(3, 8))
    cache.flush()

    # A writer killed mid-shard leaves at most a hidden temporary file: never a shard.
    (folder / ".shard-00000000000000000001-1-dead.npz.tmp").write_bytes(b"PK\x03\x04 half a zip")
    # And a crash inside the write itself (disk full, kill) must not leave anything named shard-*.
    cache.put(_keys(3, "new"), _unit(3, 8, seed=1))
    real_replace = Path.replace

    def boom(self, target):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        cache.flush()
    monkeypatch.setattr(Path, "replace", real_replace)
    assert len(list(folder.glob("shard-*.npz"))) == 1
    assert not [p for p in folder.iterdir() if p.name.startswith(".shard") and "dead" not in p.name]

    # A damaged shard (bit rot, a copy cut short) is skipped with a warning, not fatal.
    (folder / "shard-99999999999999999999-1-bad0.npz").write_bytes(b"not a zip")
    reopened = FeatureCache(folder, 8)
    found, _ = reopened.get(_keys(3) + _keys(3, "new"))
    assert found.tolist() == [True] * 3 + [False] * 3


def test_cache_holds_100k_entries(tmp_path: Path) -> None:
    n, dim = 100_000, 8
    keys = [hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(n)]
    vecs = _unit(n, dim)
    cache = FeatureCache(tmp_path / "c", dim, shard_rows=20_000)
    cache.put(keys, vecs)
    cache.flush()
    reopened = FeatureCache(tmp_path / "c", dim)
    assert len(reopened) == n
    found, got = reopened.get(keys[::997])
    assert found.all()
    np.testing.assert_allclose(got, vecs[::997], atol=2e-3)


def test_content_digest_forms() -> None:
    d = hashlib.sha256(b"x").digest()
    assert content_digest(d) == d
    assert content_digest(d.hex()) == d
    assert content_digest("some text") == hashlib.sha256(b"some text").digest()
    assert content_digest(None) is None
    with pytest.raises(LookbookError):
        content_digest(3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Encoder base
# --------------------------------------------------------------------------------------------------


def test_encode_returns_unit_float32_rows_in_input_order() -> None:
    enc = CountingEncoder()
    out = enc.encode(["b", "a", "c", "a"], show_progress=False)
    assert out.shape == (4, 8) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(out[1], out[3])
    assert sum(len(c) for c in enc.calls) == 3  # "a" encoded once
    np.testing.assert_allclose(out[0], enc.encode("b", show_progress=False)[0])


def test_cached_inputs_are_never_re_encoded(tmp_path: Path) -> None:
    texts = [f"text {i}" for i in range(10)]
    first = CountingEncoder(cache_dir=tmp_path)
    a = first.encode(texts, show_progress=False)
    assert [len(c) for c in first.calls] == [4, 4, 2]
    again = first.encode(texts, show_progress=False)
    assert len(first.calls) == 3
    assert first.last_stats.cached == 10 and first.last_stats.encoded == 0

    fresh = CountingEncoder(cache_dir=tmp_path)  # a new process: reads the cache from disk
    b = fresh.encode([*texts[:5], "new one"], show_progress=False)
    assert fresh.calls == [["new one"]]
    np.testing.assert_allclose(b[:5], a[:5], atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-6)  # cache hits are unit too
    np.testing.assert_allclose(again, a, atol=2e-3)
    assert (tmp_path / "counting-8").is_dir()


def test_missing_and_unreadable_inputs_stay_zero_and_warn(tmp_path: Path, caplog) -> None:
    enc = CountingEncoder(cache_dir=tmp_path)
    out = enc.encode(["a", "", "unreadable", "b"], show_progress=False)
    assert not out[1].any() and not out[2].any()
    np.testing.assert_allclose(np.linalg.norm(out[[0, 3]], axis=1), 1.0, atol=1e-6)
    assert "2 of 4 inputs have no content" in caplog.text
    assert enc.last_stats.missing == 2
    # The unreadable input was not cached: it is tried again next time.
    enc.encode(["unreadable"], show_progress=False)
    assert enc.calls[-1] == ["unreadable"]


def test_a_subclass_returning_the_wrong_shape_fails_loudly() -> None:
    class Wrong(CountingEncoder):
        def _encode_batch(self, batch):
            return np.ones((len(batch), self.dim + 1))

    with pytest.raises(DimensionMismatch, match=r"expected shape \(2, 8\), got \(2, 9\)"):
        Wrong().encode(["a", "b"], show_progress=False)

    class NaNs(CountingEncoder):
        def _encode_batch(self, batch):
            return np.full((len(batch), self.dim), np.nan)

    with pytest.raises(LookbookError, match="NaN"):
        NaNs().encode(["a"], show_progress=False)


def test_encode_checks_batch_size() -> None:
    with pytest.raises(LookbookError, match="batch_size"):
        CountingEncoder().encode(["a"], show_progress=False, batch_size=0)


def test_a_shard_damaged_after_opening_is_re_encoded_and_re_cached(tmp_path: Path) -> None:
    first = CountingEncoder(cache_dir=tmp_path)
    first.encode(["a", "b"], show_progress=False)
    reader = CountingEncoder(cache_dir=tmp_path)
    assert len(reader.cache) == 2  # the index is read now; the vectors only on lookup
    for shard in (tmp_path / "counting-8").glob("shard-*.npz"):
        shard.write_bytes(b"damaged")
    out = reader.encode(["a", "b"], show_progress=False)
    assert reader.calls == [["a", "b"]]
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    reader.encode(["a", "b"], show_progress=False)
    assert len(reader.calls) == 1  # cached again, in a new shard
