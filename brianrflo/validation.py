"""Checks of user-supplied settings that fail early with a message naming the parameter."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

__all__ = ["check_int", "check_real", "check_eta", "check_tau", "check_array",
           "check_choice", "ETA_MAX"]

#: The largest learning rate every engine takes (the paper's grids end at 0.3).
ETA_MAX = 10.0


def check_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``.

    Raises
    ------
    ValueError
        Naming ``name`` and the allowed range.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(
    name: str, value, minimum: float = -math.inf, maximum: float = math.inf
) -> float:
    """Return ``value`` as a finite ``float`` in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be in [{minimum}, {maximum}], got {value!r}")
    return value


def check_eta(name: str, value) -> float:
    """A learning rate: a finite number in ``[0, ETA_MAX]``, the bounds of every engine."""
    return check_real(name, value, 0.0, ETA_MAX)


def check_tau(tau, n_hidden: int) -> np.ndarray:
    """``tau`` in steps as an array of one value per unit, each >= 1."""
    if np.ndim(tau) == 0:
        return np.full(n_hidden, check_real("tau", tau, 1.0))
    arr = np.array(tau, dtype=np.float64)
    if arr.shape != (n_hidden,) or not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(
            f"tau must be a number >= 1 or {n_hidden} finite numbers >= 1 (one per unit), "
            f"got an array of shape {arr.shape}"
        )
    return arr


def check_choice(name: str, value, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``.

    Raises
    ------
    ValueError
        Naming ``name``, what was given and what is allowed.
    """
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def check_array(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """Return a finite float64 copy of ``value`` of exactly ``shape``.

    A copy, so the result never aliases memory a simulator goes on changing.
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of numbers: {err}") from None
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    return arr
