"""Object files shared between cpp_standalone projects: keyed by all their inputs."""

import os

import numpy as np
import pytest

from brianrflo import object_cache
from brianrflo.network import BrianNetwork
from helpers import random_block

MAKEFILE = "SRCS = a.cpp sub/b.cpp main.cpp\nCXXFLAGS = -c -O3\nOPTIMISATIONS = -w\n"


def project(path, **files):
    files = {"makefile": MAKEFILE, "a.cpp": '#include "a.h"\nint a;\n',
             "a.h": '#include "common.h"\n#include <cmath>\n', "common.h": "//\n",
             "sub/b.cpp": '#include "b.h"\n#include "common.h"\n', "sub/b.h": "//\n",
             "main.cpp": "int main(){}\n", "other.h": "//\n"} | files
    for name, text in files.items():
        os.makedirs(os.path.dirname(path / name), exist_ok=True)
        (path / name).write_text(text)
    return object_cache._keys(str(path))


@pytest.mark.unit
def test_a_key_changes_with_the_source_its_headers_and_the_flags(tmp_path):
    keys = project(tmp_path / "p")
    assert set(keys) == {"a.o", "sub/b.o", "main.o"}
    assert project(tmp_path / "same") == keys  # the folder's name is not an input
    assert project(tmp_path / "q", **{"other.h": "// not included\n"}) == keys
    changed = project(tmp_path / "r", **{"common.h": "#define X 1\n"})  # included twice deep
    assert changed["a.o"] != keys["a.o"] and changed["sub/b.o"] != keys["sub/b.o"]
    assert changed["main.o"] == keys["main.o"]
    # "b.h" is found beside b.cpp; a project-level b.h would be another input
    assert project(tmp_path / "s", **{"b.h": "int shadow;\n"})["sub/b.o"] == keys["sub/b.o"]
    flags = project(tmp_path / "t", makefile=MAKEFILE.replace("-O3", "-O0"))
    assert set(flags.values()).isdisjoint(keys.values())


@pytest.mark.unit
def test_restore_puts_only_objects_of_the_same_inputs_newer_than_their_sources(
        tmp_path, monkeypatch):
    monkeypatch.setattr(object_cache, "CACHE", str(tmp_path / "cache"))
    first = tmp_path / "first"
    project(first)
    for obj in ("a.o", "sub/b.o", "main.o"):
        (first / obj).write_bytes(obj.encode())
    object_cache.store(str(first))
    second = tmp_path / "second"
    project(second, **{"main.cpp": "int main(){return 1;}\n"})
    assert object_cache.restore(str(second)) == 2
    assert (second / "sub/b.o").read_bytes() == b"sub/b.o" and not (second / "main.o").exists()
    assert os.path.getmtime(second / "a.o") >= os.path.getmtime(second / "makefile")


@pytest.mark.engines
@pytest.mark.standalone
def test_a_project_built_from_cached_objects_runs_its_own_code(weights, tmp_path,
                                                                 monkeypatch):
    """Two rules share most code; the second project compiles only what differs, and
    each trains as it does with nothing cached."""
    monkeypatch.setattr(object_cache, "CACHE", str(tmp_path / "cache"))
    restored = []
    real = object_cache.restore
    monkeypatch.setattr(object_cache, "restore", lambda p: restored.append(real(p)) or 0)
    block = random_block(0, 2, T=10)

    def learned(update, folder):
        net = BrianNetwork(weights, 10, block_trials=2, eta=(0.1, 0.1, 0.1), update=update,
                           target="cpp_standalone", directory=str(tmp_path / folder))
        net.run_block(block)
        return net.get_weights().w_rec

    online, trial = learned("online", "a"), learned("trial", "b")
    assert restored[0] == 0 and restored[1] > 0
    monkeypatch.setattr(object_cache, "CACHE", str(tmp_path / "empty"))
    assert np.array_equal(learned("trial", "c"), trial) and restored[2] == 0
    assert not np.array_equal(online, trial)
