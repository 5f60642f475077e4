"""Compiled object files of cpp_standalone projects, shared between projects.

Brian2 compiles every project from scratch: about 30 files at about 1 s each, though
most of them (a code object of the same model, ``main.cpp``, ``run.cpp``) are the
same text in every project that shares a model, a task or a variant. Before ``make``
runs, :func:`restore` puts in place each object file compiled earlier from the same
inputs; :func:`store` keeps the new ones. An object file's key is the hash of
everything it is compiled from: the compiler's version (and, under
``-march=native``, the target it resolves to), the makefile's compiler lines and
make's extra arguments, the source, and every header it includes from the project
or another ``-I`` folder, recursively. Headers found in none of those are the
compiler's, whose version is in the key.

:func:`restore` also removes every object file of the project it has no entry for,
so each object linked is the cache's or compiled by this ``make``: Brian2's
``make.deps`` names code objects without their folder, so ``make`` alone would keep
a code object compiled against an older ``objects.h``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile

from brian2 import prefs

__all__ = ["ROOT", "CACHE", "keys", "restore", "store"]

#: The cpp_standalone project folders (:func:`brianrflo.assembly.standalone_folder`).
ROOT = os.path.join(tempfile.gettempdir(), "brianrflo_standalone")
#: Where the object files are kept (one file per key), beside the projects.
CACHE = os.path.join(ROOT, "objects")

_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)
_FLAGS = re.compile(r"^(OPTIMISATIONS|CXXFLAGS)\s*=.*$", re.MULTILINE)
_INCLUDE_DIR = re.compile(r'-I\s*"([^"]+)"|-I\s*(\S+)')


@functools.cache
def _compiler(cxx: str, native: bool) -> str:
    """The version text of the C++ compiler ``cxx``; with ``native``, the target
    ``-march=native`` means on this machine."""
    queries = [["--version"]] + ([["-march=native", "-Q", "--help=target"]] if native else [])
    text = [cxx]
    for args in queries:
        try:
            text.append(subprocess.run(shlex.split(cxx) + args, capture_output=True, text=True,
                                       check=False).stdout)
        except OSError:
            pass
    return "\n".join(text)


def keys(project: str) -> dict[str, str]:
    """Each object file of ``project``'s C++ sources (relative path) with its key."""
    with open(os.path.join(project, "makefile")) as f:
        makefile = f.read()
    flags = "\n".join(m.group(0) for m in _FLAGS.finditer(makefile))
    cxx = os.environ.get("CXX", "g++")  # GNU make's default
    context = "\n".join([_compiler(cxx, "-march=native" in flags), flags,
                         os.environ.get("MAKEFLAGS", ""),
                         " ".join(prefs.devices.cpp_standalone.extra_make_args_unix)])
    dirs = [a or b for a, b in _INCLUDE_DIR.findall(flags)]
    sources = re.search(r"^SRCS\s*=(.*)$", makefile, re.MULTILINE)
    return {src[:-len(".cpp")] + ".o": _key(project, src, context, dirs)
            for src in (sources.group(1).split() if sources else []) if src.endswith(".cpp")}


def _key(project: str, source: str, context: str, dirs: list[str]) -> str:
    """The hash of ``source``, the headers it includes and ``context``."""
    digest = hashlib.sha256(context.encode())
    seen, todo = set(), [source]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        with open(os.path.join(project, name), "rb") as f:
            text = f.read()
        digest.update(f"\0{name}\0{len(text)}\0".encode() + text)
        for quote, include in _INCLUDE.findall(text.decode(errors="replace")):
            # as the compiler looks: beside the includer ("x.h" only), then the -I folders
            here = [os.path.dirname(name)] if quote == '"' else []
            for folder in [*here, *dirs]:
                candidate = os.path.normpath(os.path.join(folder, include))
                if os.path.isfile(os.path.join(project, candidate)):
                    todo.append(candidate)
                    break
            else:
                digest.update(f"\0<{include}>".encode())
    return digest.hexdigest()[:32]


def restore(project: str, keys: dict[str, str]) -> int:
    """Put each object file of ``project`` compiled earlier in place (newer than its
    inputs, so ``make`` skips it) and remove the others; returns how many it put.

    ``keys``: :func:`keys` of ``project``.
    """
    restored = 0
    for obj, key in keys.items():
        cached, target = os.path.join(CACHE, key + ".o"), os.path.join(project, obj)
        if not os.path.exists(cached):
            if os.path.exists(target):
                os.remove(target)
            continue
        if not (os.path.exists(target) and _same(cached, target)):
            shutil.copyfile(cached, target)
        restored += 1
    return restored


def _same(a: str, b: str) -> bool:
    with open(a, "rb") as f, open(b, "rb") as g:
        return f.read() == g.read()


def store(project: str, keys: dict[str, str]) -> None:
    """Keep the object files of ``project`` (:func:`keys` ``keys``) that the cache does
    not hold yet."""
    os.makedirs(CACHE, exist_ok=True)
    for obj, key in keys.items():
        cached, built = os.path.join(CACHE, key + ".o"), os.path.join(project, obj)
        if os.path.exists(built) and not os.path.exists(cached):
            partial = f"{cached}.{os.getpid()}"
            shutil.copyfile(built, partial)
            os.replace(partial, cached)  # another process may store the same key
