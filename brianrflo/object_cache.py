"""Compiled object files of cpp_standalone projects, shared between projects.

Brian2 compiles every project from scratch: about 30 files at about 1 s each, though
most of them (a code object of the same model, ``main.cpp``, ``run.cpp``) are the
same text in every project that shares a model, a task or a variant. Before ``make``
runs, :func:`restore` puts in place each object file compiled earlier from the same
inputs; :func:`store` keeps the new ones. An object file's key is the hash of
everything ``make`` would compile it from: the compiler and its flags (the
makefile's ``CXX``/``OPTIMISATIONS``/``CXXFLAGS`` lines), the source and every
project header it includes, recursively. System headers belong to the compiler,
whose version is part of the key.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

__all__ = ["CACHE", "restore", "store"]

#: Where the object files are kept (one file per key), beside the projects.
CACHE = os.path.join(tempfile.gettempdir(), "brianrflo_standalone", "objects")

_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
_FLAGS = re.compile(r"^(CXX|OPTIMISATIONS|CXXFLAGS)\s*[:?]?=.*$", re.MULTILINE)


@functools.cache
def _compiler() -> str:
    """The version text of the C++ compiler ``make`` calls."""
    cxx = os.environ.get("CXX", "g++")  # GNU make's default
    try:
        return cxx + subprocess.run([cxx, "--version"], capture_output=True, text=True,
                                    check=False).stdout
    except OSError:
        return cxx


def _sources(project: str) -> list[str]:
    """The makefile's ``SRCS``: the project's sources, relative to it."""
    with open(os.path.join(project, "makefile")) as f:
        for line in f:
            if line.startswith("SRCS ="):
                return line.split("=", 1)[1].split()
    return []


def _key(project: str, source: str, flags: str) -> str:
    """The hash of ``source``'s compiler, flags, text and project headers."""
    digest = hashlib.sha256(flags.encode())
    seen, todo = set(), [source]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        with open(os.path.join(project, name), "rb") as f:
            text = f.read()
        digest.update(f"\0{name}\0{len(text)}\0".encode() + text)
        for include in _INCLUDE.findall(text.decode(errors="replace")):
            # "x.h" is looked for beside the including file, then in the project (-I.)
            for candidate in (os.path.join(os.path.dirname(name), include), include):
                if os.path.isfile(os.path.join(project, candidate)):
                    todo.append(os.path.normpath(candidate))
                    break
            else:  # not the project's: a system header, part of the compiler
                digest.update(f"\0<{include}>".encode())
    return digest.hexdigest()[:32]


def _keys(project: str) -> dict[str, str]:
    """Each object file of ``project`` (relative path) with its key."""
    with open(os.path.join(project, "makefile")) as f:
        flags = _compiler() + "\n".join(m.group(0) for m in _FLAGS.finditer(f.read()))
    return {os.path.splitext(src)[0] + ".o": _key(project, src, flags)
            for src in _sources(project)}


def restore(project: str) -> int:
    """Put each object file of ``project`` compiled earlier in place, newer than its
    inputs (so ``make`` skips it); returns how many it put."""
    restored = 0
    for obj, key in _keys(project).items():
        cached = os.path.join(CACHE, key + ".o")
        if os.path.exists(cached):
            target = os.path.join(project, obj)
            shutil.copyfile(cached, target)
            os.utime(target)
            restored += 1
    return restored


def store(project: str) -> None:
    """Keep the object files of ``project`` that the cache does not hold yet."""
    os.makedirs(CACHE, exist_ok=True)
    for obj, key in _keys(project).items():
        cached, built = os.path.join(CACHE, key + ".o"), os.path.join(project, obj)
        if os.path.exists(built) and not os.path.exists(cached):
            partial = f"{cached}.{os.getpid()}"
            shutil.copyfile(built, partial)
            os.replace(partial, cached)  # another process may store the same key
