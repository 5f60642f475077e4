"""Weights: initialisation, validation and file round-trip; the periodic task and Block."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from brianrflo import tasks
from brianrflo.weights import Weights

pytestmark = pytest.mark.unit

Block, Periodic = tasks.Block, tasks.Periodic

# --- Weights.init -------------------------------------------------------------------


def test_init_shapes():
    w = Weights.init(7, 3, 2, seed=0)
    assert w.w_rec.shape == (7, 7)
    assert w.w_in.shape == (7, 3)
    assert w.w_out.shape == (2, 7)
    assert w.b.shape == (7, 2)
    assert w.h0.shape == (7,)
    assert (w.n_hidden, w.n_in, w.n_out) == (7, 3, 2)
    for arr in w.as_dict().values():
        assert arr.dtype == np.float64


def test_init_no_inputs():
    w = Weights.init(5, 0, 1, seed=0)
    assert w.w_in.shape == (5, 0)
    assert w.n_in == 0


def test_init_distributions():
    n = 200
    w = Weights.init(n, 4, 3, seed=1)
    assert np.all(np.abs(w.w_in) <= 1.0)
    assert w.w_in.min() < -0.9 and w.w_in.max() > 0.9
    bound = 1.0 / np.sqrt(n)
    assert np.all(np.abs(w.w_out) <= bound)
    assert w.w_out.min() < -0.8 * bound and w.w_out.max() > 0.8 * bound
    assert w.w_rec.std() == pytest.approx(1.5 / np.sqrt(n), rel=0.1)
    assert abs(w.w_rec.mean()) < 0.1 * 1.5 / np.sqrt(n)
    assert w.b.std() == pytest.approx(1.0, rel=0.3)


def test_init_gain():
    n = 200
    w = Weights.init(n, 1, 1, seed=2, g=0.5)
    assert w.w_rec.std() == pytest.approx(0.5 / np.sqrt(n), rel=0.1)


def test_init_same_seed_identical_different_seed_differs():
    a = Weights.init(10, 2, 2, seed=42)
    b = Weights.init(10, 2, 2, seed=42)
    c = Weights.init(10, 2, 2, seed=43)
    for name, arr in a.as_dict().items():
        assert np.array_equal(arr, getattr(b, name)), name
        assert not np.array_equal(arr, getattr(c, name)), name


@pytest.mark.parametrize(
    "args", [(0, 1, 1), (5, -1, 1), (5, 1, 0), (5.0, 1, 1), (True, 1, 1)]
)
def test_init_rejects_bad_sizes(args):
    with pytest.raises(ValueError):
        Weights.init(*args, seed=0)


@pytest.mark.parametrize("dale", [False, True])
def test_paper_init_is_the_methods_draw_bit_for_bit(dale):
    """The paper's draw, written out from the Methods in the order Weights.init draws it;
    the default and init='paper' must both be it exactly."""
    n, m, k, seed = 9, 3, 2, 11
    rng = np.random.default_rng(seed)
    w_rec = rng.normal(0.0, 1.5 / np.sqrt(n), size=(n, n))
    if dale:
        w_rec = np.where(np.arange(n) < n // 2, 1.0, -1.0) * np.abs(w_rec)
    want = Weights(w_rec=w_rec, w_in=rng.uniform(-1.0, 1.0, size=(n, m)),
                   w_out=rng.uniform(-1 / np.sqrt(n), 1 / np.sqrt(n), size=(k, n)),
                   b=rng.normal(0.0, 1.0, size=(n, k)), h0=rng.normal(0.0, 0.1, size=n))
    assert Weights.init(n, m, k, seed=seed, dale=dale).allclose(want, atol=0.0)
    assert Weights.init(n, m, k, seed=seed, dale=dale, init="paper").allclose(want, atol=0.0)


def test_notebook_init_has_a_10x_smaller_readout_and_h0_of_0_1():
    n, seed = 400, 2
    paper = Weights.init(n, 4, 2, seed=seed)
    book = Weights.init(n, 4, 2, seed=seed, init="notebook")
    np.testing.assert_array_equal(book.h0, np.full(n, 0.1))
    # Uniform[-a, a] has standard deviation a / sqrt(3); 800 draws give it to ~3%.
    for w, a in ((paper, 1 / np.sqrt(n)), (book, 0.1 / np.sqrt(n))):
        assert np.std(w.w_out) == pytest.approx(a / np.sqrt(3), rel=0.1)
        assert np.max(np.abs(w.w_out)) <= a
    # Only the readout and the start differ: the same seed, the same W, W_in and B.
    for name in ("w_rec", "w_in", "b"):
        np.testing.assert_array_equal(getattr(book, name), getattr(paper, name))
    np.testing.assert_array_equal(book.w_out, 0.1 * paper.w_out)


@pytest.mark.parametrize("init", ["Notebook", "text", None, 1])
def test_init_rejects_unknown_initialisation(init):
    with pytest.raises(ValueError, match=r"^init must be one of paper, notebook, got "):
        Weights.init(4, 0, 1, seed=0, init=init)


def test_copy_is_deep():
    a = Weights.init(5, 2, 2, seed=0)
    b = a.copy()
    assert a.allclose(b)
    b.w_rec[0, 0] += 1.0
    assert a.w_rec[0, 0] != b.w_rec[0, 0]
    assert not a.allclose(b)
    assert a.allclose(b, atol=1.0 + 1e-12)


# --- Weights validation -------------------------------------------------------------


@pytest.mark.parametrize("name", Weights.NAMES)
def test_weights_reject_nan(name):
    arrays = Weights.init(5, 2, 2, seed=0).as_dict()
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = np.nan
    with pytest.raises(ValueError, match=name):
        Weights(**arrays)


def test_weights_reject_inf():
    arrays = Weights.init(5, 2, 2, seed=0).as_dict()
    arrays["w_rec"] = arrays["w_rec"].copy()
    arrays["w_rec"][1, 1] = np.inf
    with pytest.raises(ValueError):
        Weights(**arrays)


@pytest.mark.parametrize(
    "name, shape",
    [("w_rec", (5, 4)), ("w_in", (4, 2)), ("w_out", (2, 4)), ("b", (5, 3)), ("h0", (4,))],
)
def test_weights_reject_inconsistent_shapes(name, shape):
    arrays = Weights.init(5, 2, 2, seed=0).as_dict()
    arrays[name] = np.zeros(shape)
    with pytest.raises(ValueError):
        Weights(**arrays)


# --- save / load --------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    w = Weights.init(6, 3, 2, seed=5)
    path = tmp_path / "w.npz"
    w.save(path)
    v = Weights.load(path)
    for name, arr in w.as_dict().items():
        assert np.array_equal(arr, getattr(v, name)), name
        assert getattr(v, name).dtype == arr.dtype
    # with the right expected shape, and with a str path
    v2 = Weights.load(str(path), shape=(6, 3, 2))
    assert v2.allclose(w, atol=0.0)
    # the temporary file is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


def test_save_overwrites(tmp_path):
    path = tmp_path / "w.npz"
    Weights.init(4, 1, 1, seed=0).save(path)
    w = Weights.init(6, 2, 1, seed=1)
    w.save(path)
    assert Weights.load(path).allclose(w, atol=0.0)


def test_load_wrong_shape(tmp_path):
    path = tmp_path / "w.npz"
    Weights.init(6, 3, 2, seed=5).save(path)
    with pytest.raises(ValueError, match=r"\(6, 3, 2\)") as info:
        Weights.load(path, shape=(8, 3, 2))
    assert "(8, 3, 2)" in str(info.value)


def _corrupt_files(tmp_path):
    good = tmp_path / "good.npz"
    Weights.init(6, 3, 2, seed=5).save(good)
    data = good.read_bytes()
    files = {
        "truncated_half": data[: len(data) // 2],
        "truncated_tail": data[:-30],
        "empty": b"",
        "garbage": b"this is not an npz file at all\n" * 10,
        "zip_magic_garbage": b"PK\x03\x04" + b"\x00" * 200,
    }
    # flip bytes inside the stored array data (central directory intact)
    mid = bytearray(data)
    for i in range(200, 260):
        mid[i] ^= 0xFF
    files["corrupt_middle"] = bytes(mid)
    paths = {}
    for key, content in files.items():
        p = tmp_path / f"{key}.npz"
        p.write_bytes(content)
        paths[key] = p
    return paths


@pytest.mark.parametrize(
    "key",
    ["truncated_half", "truncated_tail", "empty", "garbage", "zip_magic_garbage",
     "corrupt_middle"],
)
def test_load_garbage_raises_valueerror(tmp_path, key):
    path = _corrupt_files(tmp_path)[key]
    with pytest.raises(ValueError) as info:
        Weights.load(path)
    assert not isinstance(info.value, zipfile.BadZipFile)


def test_load_missing_file_raises_valueerror(tmp_path):
    with pytest.raises(ValueError, match="nothere"):
        Weights.load(tmp_path / "nothere.npz")


@pytest.mark.parametrize("missing", ["w_rec", "h0", "b"])
def test_load_missing_array(tmp_path, missing):
    arrays = Weights.init(5, 2, 2, seed=0).as_dict()
    del arrays[missing]
    path = tmp_path / "partial.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=missing):
        Weights.load(path)


def test_load_nan_in_file(tmp_path):
    arrays = Weights.init(5, 2, 2, seed=0).as_dict()
    arrays["w_out"] = arrays["w_out"].copy()
    arrays["w_out"][0, 0] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="w_out"):
        Weights.load(path)


def test_load_inconsistent_arrays_in_file(tmp_path):
    arrays = Weights.init(5, 2, 2, seed=0).as_dict()
    arrays["b"] = np.zeros((4, 2))
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="b must have shape"):
        Weights.load(path)


# BUG (brianrflo/weights.py, Weights.load, the line `with np.load(path, ...) as data:`):
# for a file holding a single .npy array np.load returns an ndarray, not an NpzFile, so
# the `with` statement raises "TypeError: 'numpy.ndarray' object does not support the
# context manager protocol" instead of a ValueError. This test fails until that is fixed
# (e.g. check `isinstance(data, np.lib.npyio.NpzFile)` or catch TypeError).
def test_load_npy_instead_of_npz(tmp_path):
    """A plain .npy file (one array, not an archive) is not a weights file."""
    path = tmp_path / "single.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError):
        Weights.load(path)


# --- Periodic task ------------------------------------------------------------------


@pytest.mark.parametrize("period", [1, 0, -5, 1.5, True, "200", None])
def test_periodic_rejects_bad_period(period):
    with pytest.raises(ValueError, match="period"):
        Periodic(period)


def test_periodic_accepts_numpy_int():
    assert Periodic(np.int64(50)).T == 50


@pytest.mark.parametrize("T", [2, 7, 200])
def test_periodic_target_formula(T):
    task = Periodic(T)
    y = task.target()
    assert y.shape == (T, 1)
    t = np.arange(1, T + 1)
    expected = (
        np.sin(2 * np.pi * t / T)
        + 0.5 * np.sin(4 * np.pi * t / T)
        + 0.25 * np.sin(8 * np.pi * t / T)
    )
    np.testing.assert_allclose(y[:, 0], expected, rtol=0, atol=1e-12)
    # t = T closes the period: the last target is (numerically) 0
    assert abs(y[-1, 0]) < 1e-12


def test_periodic_block_shapes():
    T, n = 40, 3
    task = Periodic(T)
    blk = task.block(n)
    assert isinstance(blk, Block)
    assert blk.x.shape == (n, T, 0)
    assert blk.target.shape == (n, T, 1)
    assert blk.mask.shape == (n, T, 1)
    assert np.all(blk.mask == 1)
    assert blk.n_trials == n
    for k in range(n):
        x, target, mask = blk.trial(k)
        np.testing.assert_array_equal(target, task.target())
        assert x.shape == (T, 0) and mask.shape == (T, 1)
    # the block owns its arrays (not a read-only broadcast view)
    blk.target[0, 0, 0] = 99.0
    assert blk.target[1, 0, 0] != 99.0
    assert task.n_in == 0 and task.n_out == 1
    assert task.settings() == {"task": "periodic", "period": T}


@pytest.mark.parametrize("n", [0, -1, 1.0])
def test_periodic_block_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n"):
        Periodic(10).block(n)


# --- Block --------------------------------------------------------------------------


def test_block_rejects_non_binary_mask():
    x = np.zeros((2, 5, 1))
    target = np.zeros((2, 5, 1))
    mask = np.ones((2, 5, 1))
    mask[0, 2, 0] = 0.5
    with pytest.raises(ValueError, match="mask"):
        Block(x=x, target=target, mask=mask)


def test_block_accepts_binary_mask():
    mask = np.ones((2, 5, 1))
    mask[1, :2] = 0
    blk = Block(x=np.zeros((2, 5, 1)), target=np.zeros((2, 5, 1)), mask=mask)
    assert blk.n_trials == 2


@pytest.mark.parametrize(
    "x_shape, t_shape, m_shape",
    [((2, 5), (2, 5, 1), (2, 5, 1)),
     ((2, 5, 1), (2, 5, 1), (2, 5, 2)),
     ((3, 5, 1), (2, 5, 1), (2, 5, 1)),
     ((2, 4, 1), (2, 5, 1), (2, 5, 1))],
)
def test_block_rejects_bad_shapes(x_shape, t_shape, m_shape):
    with pytest.raises(ValueError):
        Block(x=np.zeros(x_shape), target=np.zeros(t_shape), mask=np.ones(m_shape))
