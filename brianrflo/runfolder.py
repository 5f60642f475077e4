"""Output folders of commands, checked before any work so that a refused command costs
no run and leaves no file behind."""

from __future__ import annotations

import os
import tempfile

__all__ = ["check_out_dir"]


def check_out_dir(path: str, option: str = "--out") -> None:
    """Check that ``path`` is a folder this process can write, or can create.

    Creates nothing: a folder that does not exist yet is checked by writing (and
    removing) a temporary file in its nearest existing parent. A write test rather
    than :func:`os.access`, which says yes to root even on read-only file systems
    and immutable folders.

    Parameters
    ----------
    path
        The folder a command will write into.
    option
        The command-line option that gave ``path``, named in the error.

    Raises
    ------
    ValueError
        One line naming ``option``, ``path`` and what is wrong with it.
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
