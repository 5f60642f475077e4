"""The weights of one network as named numpy arrays (paper notation)."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, fields

import numpy as np

from .validation import check_array, check_int, check_real

__all__ = ["Weights", "dale_signs", "dale_clip"]


def dale_signs(n_hidden: int) -> np.ndarray:
    """Sign of each unit's outgoing weights under Dale's law: first half +1, rest -1."""
    return np.where(np.arange(n_hidden) < n_hidden // 2, 1.0, -1.0)


def dale_clip(w_rec: np.ndarray) -> np.ndarray:
    """``w_rec`` with every weight of the wrong sign for its presynaptic unit set to 0."""
    s = dale_signs(w_rec.shape[0])
    return s * np.maximum(s * w_rec, 0.0)


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
        h0_scale: float = 0.1,
        dale: bool = False,
    ) -> Weights:
        """Draw weights as in the paper's Materials and methods.

        ``W ~ Normal(0, g^2/N)``, ``W_in ~ Uniform[-1, 1]``,
        ``W_out ~ Uniform[-1/sqrt(N), 1/sqrt(N)]``, ``B ~ Normal(0, 1)``.
        The paper does not give ``h(0)``; we draw it once per network from
        ``Normal(0, h0_scale^2)``. With ``dale``, ``W_ab <- s_b |W_ab|`` with
        :func:`dale_signs` (paper Fig. 2 supp. 1).
        """
        n = check_int("n_hidden", n_hidden, 1)
        m = check_int("n_in", n_in, 0)
        k = check_int("n_out", n_out, 1)
        g = check_real("g", g, 0.0)
        h0_scale = check_real("h0_scale", h0_scale, 0.0)
        rng = np.random.default_rng(seed)
        w_rec = rng.normal(0.0, g / np.sqrt(n), size=(n, n))
        return cls(
            w_rec=dale_signs(n) * np.abs(w_rec) if dale else w_rec,
            w_in=rng.uniform(-1.0, 1.0, size=(n, m)),
            w_out=rng.uniform(-1.0 / np.sqrt(n), 1.0 / np.sqrt(n), size=(k, n)),
            b=rng.normal(0.0, 1.0, size=(n, k)),
            h0=rng.normal(0.0, h0_scale, size=n),
        )

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
        """Write an ``.npz`` file atomically (temporary file, then rename)."""
        path = os.fspath(path)
        tmp = path + ".tmp.npz"
        np.savez(tmp, **self.as_dict())
        os.replace(tmp, path)

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
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            raise ValueError(f"cannot read weights file {path!r}: {err}") from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"weights file {path!r} is not an .npz archive of named arrays")
        try:
            with data:
                missing = [n for n in cls.NAMES if n not in data.files]
                if missing:
                    raise ValueError(f"weights file {path!r} lacks arrays {missing}")
                arrays = {n: data[n] for n in cls.NAMES}
        except (OSError, zipfile.BadZipFile, EOFError) as err:
            raise ValueError(f"cannot read weights file {path!r}: {err}") from None
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
