"""A run's output folder: what it holds, how it is replaced, and atomic writes.

A refused or failed command must cost the user nothing they already had, so
every file is written to a temporary name beside its final one and renamed (a
kill or a full disk leaves the old file or the new one, never half of one, and
no temporary file), and ``--overwrite`` writes the new run beside the old one in
``DIR/.new`` and replaces the old files only once the new run has its first
checkpoint (or its final results).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO

__all__ = ["OUTPUTS", "RunFolder", "WriteError", "atomic_write", "check_out_dir"]

#: Files a training run writes into its output folder.
OUTPUTS = ("config.json", "checkpoint.npz", "weights.npz", "metrics.json", "metrics.csv",
           "training.png")
#: Where ``--overwrite`` writes the new run until it replaces the old one.
STAGING = ".new"


def interrupt_at_startup(signum, frame) -> None:
    """Ctrl-C before a run has started writing: leave at once, in one line.

    Start-up (importing Brian2, parsing equations with sympy, compiling) is not
    safe to unwind with KeyboardInterrupt: half-initialised parsers turn it into
    unrelated errors. Nothing has been written yet, so there is nothing to save.
    Every file brianrflo writes is written whole, so leaving is safe later too.
    """
    sys.stderr.write("brianrflo: interrupted; every file already written is complete "
                     "(a checkpointed run or sweep continues with --resume)\n")
    sys.stderr.flush()
    os._exit(130)


class WriteError(OSError):
    """A file could not be written (disk full, read-only folder, ...): one line to show."""


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it to ``path``.

    Raises
    ------
    WriteError
        If anything fails; the temporary file is removed and ``path`` is unchanged.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise WriteError(f"cannot write {path!r}: it is a folder; give a file name")
    folder = os.path.dirname(path) or "."
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                   dir=folder)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise WriteError(f"cannot write {path!r}: {err.strerror or err}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: str | os.PathLike, value, default=None) -> None:
    """Write ``value`` as indented JSON, atomically."""
    text = json.dumps(value, indent=1, default=default).encode()
    atomic_write(path, lambda f: f.write(text))


def json_default(value):
    """``json.dumps``'s ``default``: numpy scalars and arrays as numbers and lists."""
    # Not at the top: brianrflo imports this module before it handles Ctrl-C at start-up.
    import numpy as np

    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value)} to JSON")


def read_json(path: str | os.PathLike, what: str) -> dict:
    """The JSON object in ``path``; refused in one line naming ``what`` and ``path``."""
    path = os.fspath(path)
    try:
        with open(path) as f:
            value = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read {what} {path!r}: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} {path!r} must hold a JSON object")
    return value


def check_out_dir(path: str, option: str = "--out") -> None:
    """Refuse (``ValueError``, one line naming ``option``) a ``path`` this process
    cannot write or create as a folder.

    Creates nothing: it writes (and removes) a file in the nearest existing parent,
    as :func:`os.access` says yes to root even on read-only file systems.
    """
    if not isinstance(path, str) or not path.strip() or "\0" in path:
        raise ValueError(f"{option} must name a folder, got {path!r}")
    full = os.path.abspath(path)
    existing = full
    while not os.path.lexists(existing):  # lexists: a dangling link is not a folder
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        if existing == full:
            raise ValueError(f"{option} {path!r} is a file, not a folder")
        raise ValueError(f"{option} {path!r} cannot be created: {existing!r} is a file")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".brianrflo-write-test-")
    except OSError as err:
        where = "" if existing == full else f" (its nearest existing parent {existing!r})"
        raise ValueError(f"{option} {path!r}{where} is not writable: {err.strerror}") from None
    os.close(fd)
    os.remove(probe)


class RunFolder:
    """The output folder ``path`` of one training run, saving ``config`` at the start.

    A folder holding a run is refused unless the new run continues it (``resume``)
    or replaces it once it has its first checkpoint (``overwrite``).
    """

    def __init__(self, path: str | os.PathLike, resume: bool = False, overwrite: bool = False,
                 config: dict | None = None):
        self.path = os.fspath(path)
        check_out_dir(self.path)
        self.resume = resume
        self.config = config
        held = self.held()
        if held and not (resume or overwrite):
            raise ValueError(
                f"--out {self.path!r} already holds a run ({', '.join(held)}); pass --overwrite "
                "to replace it, or --resume to continue it"
            )
        # Replaced only once the new run has results of its own.
        self._replacing = bool(held) and not resume
        self._created = not os.path.exists(self.path)
        self.dir = self.path
        self.started = False
        #: Whether this run has written results (a checkpoint or its final files).
        self.has_results = resume

    @property
    def replacing(self) -> bool:
        """Whether this run writes apart, to replace the older run in the folder later."""
        return self._replacing

    def held(self) -> list[str]:
        """The run files in the folder."""
        return [f for f in OUTPUTS if os.path.exists(os.path.join(self.path, f))]

    def file(self, name: str) -> str:
        """Where the run's file ``name`` is written now."""
        return os.path.join(self.dir, name)

    def start(self) -> None:
        """Create the folder (or the staging folder) and write ``config.json``.

        Called once the run's settings, model, task and network are known to be good.
        From here on Ctrl-C raises KeyboardInterrupt, so the run can say what it saved.
        """
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is interrupt_at_startup):
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if self._replacing:
            self.dir = os.path.join(self.path, STAGING)
            shutil.rmtree(self.dir, ignore_errors=True)  # left by a killed --overwrite
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError as err:
            raise WriteError(f"cannot create {self.dir!r}: {err.strerror or err}") from None
        self.started = True
        if self.config is not None:
            path = self.file("config.json")
            text = json.dumps(self.config, indent=1)
            if os.path.exists(path):
                with open(path) as f:
                    if f.read() == text:  # resuming as saved: leave the file untouched
                        return
            atomic_write(path, lambda f: f.write(text.encode()))

    def written(self) -> None:
        """The new run has results: it replaces the old run now (``--overwrite``)."""
        self.has_results = True
        if not self._replacing:
            return
        new = set(os.listdir(self.dir))
        for name in OUTPUTS:  # old files the new run has not written yet go first
            if name not in new and os.path.exists(os.path.join(self.path, name)):
                os.remove(os.path.join(self.path, name))
        for name in sorted(new, key=lambda n: n == "config.json"):
            os.replace(os.path.join(self.dir, name), os.path.join(self.path, name))
        os.rmdir(self.dir)
        self.dir = self.path
        self._replacing = False

    def abandon(self) -> None:
        """The run failed before it replaced the old one: remove what it wrote."""
        if self._replacing and self.dir != self.path:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = self.path
        elif not self.resume and self.started and not os.path.exists(
                self.file("checkpoint.npz")) and not os.path.exists(self.file("metrics.json")):
            # A fresh run that failed before any result leaves no config of a run.
            config = self.file("config.json")
            if os.path.exists(config):
                os.remove(config)
            if self._created and os.path.isdir(self.path) and not os.listdir(self.path):
                os.rmdir(self.path)
