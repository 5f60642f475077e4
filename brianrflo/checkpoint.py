"""Checkpoints: everything needed to resume a run, in one atomically written file."""

from __future__ import annotations

import json
import os

import numpy as np

from .runfolder import atomic_write
from .weights import Weights, read_npz

__all__ = ["FILE", "write", "read", "saved_settings"]

#: Name of the checkpoint inside an output folder.
FILE = "checkpoint.npz"


def write(out: str | os.PathLike, weights: Weights, state: dict) -> None:
    """Write weights and the JSON-able ``state`` as ``out/checkpoint.npz``.

    One file, written to a temporary name and renamed, so a run killed at any
    moment leaves either the previous checkpoint or the new one, never a mix.
    """
    arrays = {"state": np.array(json.dumps(state)), **weights.as_dict()}
    atomic_write(os.path.join(out, FILE), lambda f: np.savez(f, **arrays))


def read(out: str | os.PathLike) -> tuple[Weights, dict]:
    """Read ``out/checkpoint.npz``.

    Raises
    ------
    ValueError
        If there is no checkpoint, or it is truncated or corrupt.
    """
    path = os.path.join(out, FILE)
    if not os.path.exists(path):
        raise ValueError(f"no checkpoint to resume from: {path!r} does not exist")
    arrays = read_npz(path, "checkpoint", (*Weights.NAMES, "state"))
    try:
        state = json.loads(str(arrays.pop("state")))
    except ValueError as err:
        raise ValueError(f"checkpoint {path!r} is corrupt: {err}") from None
    if not isinstance(state, dict) or "trials_done" not in state:
        raise ValueError(f"checkpoint {path!r} has no training state")
    try:
        return Weights(**arrays), state
    except ValueError as err:
        raise ValueError(f"checkpoint {path!r}: {err}") from None


def saved_settings(out: str | os.PathLike) -> dict | None:
    """The settings record of the checkpoint in ``out``, or ``None`` if there is none."""
    if not os.path.exists(os.path.join(out, FILE)):
        return None
    return read(out)[1].get("settings")
