"""The weights of one network as named numpy arrays (paper notation)."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, fields

import numpy as np

from .runfolder import atomic_write
from .validation import check_array, check_choice, check_int, check_real

__all__ = ["INITS", "Weights", "dale_signs", "dale_clip", "read_npz"]

#: Initialisations: the paper's Materials and methods, or the authors' example
#: notebook (github.com/murray-lab/rflo-learning, RFLO_Example.ipynb).
INITS = ("paper", "notebook")
#: The notebook draws ``W_out`` this many times smaller than the paper's text.
NOTEBOOK_W_OUT = 0.1
#: The notebook starts every unit at this ``h(0)``.
NOTEBOOK_H0 = 0.1


def dale_signs(n_hidden: int) -> np.ndarray:
    """Sign of each unit's outgoing weights under Dale's law: first half +1, rest -1."""
    return np.where(np.arange(n_hidden) < n_hidden // 2, 1.0, -1.0)


def dale_clip(w_rec: np.ndarray) -> np.ndarray:
    """``w_rec`` ``(..., N, N)`` with every weight of the wrong sign for its presynaptic unit 0."""
    s = dale_signs(w_rec.shape[-1])
    return s * np.maximum(s * w_rec, 0.0)


#: The first bytes of a zip archive, which an ``.npz`` file is.
_ZIP_MAGIC = b"PK\x03\x04"


def read_npz(path: str, what: str, names: tuple[str, ...],
             optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays ``names`` (and those of ``optional`` it holds) of the ``.npz`` file ``path``.

    Read without pickles.

    Raises
    ------
    ValueError
        Naming ``what`` and ``path`` when the file is missing, is not an ``.npz``
        archive, is truncated or lacks one of ``names``.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise ValueError(f"cannot read {what} {path!r}: {err.strerror or err}") from None
    if head != _ZIP_MAGIC:  # numpy would suggest allow_pickle, which is never the fix
        raise ValueError(f"{what} {path!r} is not an .npz archive (the format brianrflo "
                         "writes with numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [n for n in names if n not in data.files]
            if missing:
                raise ValueError(f"{what} {path!r} lacks arrays {missing}")
            return {n: data[n] for n in (*names, *optional) if n in data.files}
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"cannot read {what} {path!r}, truncated or corrupt: {err}") from None
    except ValueError as err:
        if str(err).startswith(what):
            raise
        raise ValueError(f"cannot read {what} {path!r}: {err}") from None


@dataclass
class Weights:
    """Weights and initial state of a rate RNN.

    Attributes
    ----------
    w_in : ndarray, shape (N, M)
        Input weights ``W_in``.
    w_rec : ndarray, shape (N, N)
        Recurrent weights ``W``; ``w_rec[a, b]`` is the synapse ``b -> a``.
    w_out : ndarray, shape (K, N)
        Readout weights ``W_out``.
    b : ndarray, shape (N, K)
        Fixed random error-feedback weights ``B``.
    h0 : ndarray, shape (N,)
        Initial state ``h(0)``, the same at every trial start.
    """

    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    b: np.ndarray
    h0: np.ndarray

    NAMES = ("w_in", "w_rec", "w_out", "b", "h0")

    def __post_init__(self):
        w_rec = np.asarray(self.w_rec, dtype=np.float64)
        if w_rec.ndim != 2 or w_rec.shape[0] != w_rec.shape[1] or w_rec.shape[0] < 1:
            raise ValueError(f"w_rec must be a square (N, N) array, got {w_rec.shape}")
        n = w_rec.shape[0]
        w_in = np.asarray(self.w_in, dtype=np.float64)
        w_out = np.asarray(self.w_out, dtype=np.float64)
        if w_in.ndim != 2 or w_out.ndim != 2 or w_out.shape[0] < 1:
            raise ValueError(
                f"w_in must be (N, M) and w_out (K, N) with K >= 1, "
                f"got {w_in.shape} and {w_out.shape}"
            )
        m, k = w_in.shape[1], w_out.shape[0]
        b_shape = np.shape(self.b)
        if len(b_shape) == 2 and b_shape[0] == n and b_shape[1] != k:
            raise ValueError(
                f"w_out has K = {k} outputs (shape {w_out.shape}) but b has {b_shape[1]} "
                f"(shape {b_shape}): w_out must be (K, N) and b (N, K)"
            )
        self.w_rec = check_array("w_rec", w_rec, (n, n))
        self.w_in = check_array("w_in", w_in, (n, m))
        self.w_out = check_array("w_out", w_out, (k, n))
        self.b = check_array("b", self.b, (n, k))
        self.h0 = check_array("h0", self.h0, (n,))

    @property
    def n_hidden(self) -> int:
        """Number of hidden units ``N``."""
        return self.w_rec.shape[0]

    @property
    def n_in(self) -> int:
        """Number of inputs ``M``."""
        return self.w_in.shape[1]

    @property
    def n_out(self) -> int:
        """Number of outputs ``K``."""
        return self.w_out.shape[0]

    @classmethod
    def init(
        cls,
        n_hidden: int,
        n_in: int,
        n_out: int,
        seed: int | None = None,
        g: float = 1.5,
        dale: bool = False,
        init: str = "paper",
    ) -> Weights:
        """Draw weights as in the paper's Materials and methods, or as the authors' notebook.

        ``init='paper'``: ``W ~ Normal(0, g^2/N)``, ``W_in ~ Uniform[-1, 1]``,
        ``W_out ~ Uniform[-1/sqrt(N), 1/sqrt(N)]``, ``B ~ Normal(0, 1)``.
        The paper does not give ``h(0)``; we draw it once per network from
        ``Normal(0, 0.1^2)``. With ``dale``, ``W_ab <- s_b |W_ab|`` with
        :func:`dale_signs` (paper Fig. 2 supp. 1).

        ``init='notebook'``: as the authors' example notebook, ``W_out`` 10x smaller,
        ``Uniform[-0.1/sqrt(N), 0.1/sqrt(N)]``, and every unit starting at
        ``h(0) = 0.1``. The same ``seed`` draws the same ``W``, ``W_in`` and ``B`` as
        ``'paper'`` (and ``W_out`` scaled by exactly 0.1), so the two differ only where
        the notebook does. The notebook's other differences are not taken: its
        ``W_in ~ Uniform[-0.1, 0]`` meets a zero input there, and its
        ``B ~ Normal(0, 1/K)`` equals the paper's for its one output.
        """
        n = check_int("n_hidden", n_hidden, 1)
        m = check_int("n_in", n_in, 0)
        k = check_int("n_out", n_out, 1)
        g = check_real("g", g, 0.0)
        init = check_choice("init", init, INITS)
        rng = np.random.default_rng(seed)
        w_rec = rng.normal(0.0, g / np.sqrt(n), size=(n, n))
        weights = cls(
            w_rec=dale_signs(n) * np.abs(w_rec) if dale else w_rec,
            w_in=rng.uniform(-1.0, 1.0, size=(n, m)),
            w_out=rng.uniform(-1.0 / np.sqrt(n), 1.0 / np.sqrt(n), size=(k, n)),
            b=rng.normal(0.0, 1.0, size=(n, k)),
            h0=rng.normal(0.0, 0.1, size=n),
        )
        if init == "notebook":
            weights.w_out *= NOTEBOOK_W_OUT
            weights.h0 = np.full(n, NOTEBOOK_H0)
        return weights

    def copy(self) -> Weights:
        """Deep copy."""
        return Weights(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def symmetric(self) -> Weights:
        """A copy whose feedback is the readout's transpose, ``B = W_out^T``."""
        w = self.copy()
        w.b = w.w_out.T.copy()
        return w

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def allclose(self, other: Weights, atol: float = 0.0) -> bool:
        """Whether every array equals ``other``'s to ``atol`` (absolute)."""
        return all(
            a.shape == b.shape and np.allclose(a, b, rtol=0.0, atol=atol)
            for a, b in zip(self.as_dict().values(), other.as_dict().values(), strict=True)
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` file atomically (temporary file, then rename).

        Raises
        ------
        WriteError
            If the file cannot be written; nothing is left behind.
        """
        arrays = self.as_dict()
        atomic_write(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike, shape: tuple[int, int, int] | None = None):
        """Read weights written by :meth:`save`.

        Parameters
        ----------
        path
            The ``.npz`` file.
        shape
            If given, the expected ``(N, M, K)``; a mismatch raises ``ValueError``.
        """
        path = os.fspath(path)
        arrays = read_npz(path, "weights file", cls.NAMES)
        try:
            weights = cls(**arrays)
        except ValueError as err:
            raise ValueError(f"weights file {path!r}: {err}") from None
        if shape is not None:
            got = (weights.n_hidden, weights.n_in, weights.n_out)
            if got != tuple(shape):
                raise ValueError(
                    f"weights file {path!r} has (n_hidden, n_in, n_out) = {got}, "
                    f"expected {tuple(shape)}"
                )
        return weights
