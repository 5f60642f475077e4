"""Object files shared between cpp_standalone projects: keyed by all their inputs."""

import os

import pytest

from brianrflo import object_cache
from brianrflo.network import BrianNetwork
from helpers import assert_matches_reference, random_block, reference_blocks

ETA = (0.1, 0.2, 0.3)

MAKEFILE = ('SRCS = a.cpp sub/b.cpp main.cpp rk.c\nCXXFLAGS = -c -O3 $(OPTIMISATIONS) -I.\n'
            'OPTIMISATIONS = -w -I"{inc}"\n')


def project(path, inc, **files):
    """A project's files; returns the keys of its object files."""
    files = {"makefile": MAKEFILE.format(inc=inc), "a.cpp": '#include "a.h"\nint a;\n',
             "a.h": '#include "common.h"\n#include <cmath>\n#include <sub/b.h>\n',
             "common.h": "//\n", "sub/b.cpp": '#include "b.h"\n#include "common.h"\n',
             "sub/b.h": "//\n", "main.cpp": '#include "extra.h"\n', "rk.c": "",
             "other.h": "//\n"} | files
    for name, text in files.items():
        os.makedirs(os.path.dirname(path / name), exist_ok=True)
        (path / name).write_text(text)
    return object_cache.keys(str(path))


@pytest.fixture
def inc(tmp_path):
    """An include folder outside the projects (-I), holding extra.h."""
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "extra.h").write_text("//\n")
    return tmp_path / "inc"


@pytest.mark.unit
def test_a_key_changes_with_the_source_its_headers_and_the_flags(tmp_path, inc):
    keys = project(tmp_path / "p", inc)
    assert set(keys) == {"a.o", "sub/b.o", "main.o"}  # make compiles rk.c with $(CC)
    assert project(tmp_path / "same", inc) == keys  # the folder's name is not an input
    assert project(tmp_path / "q", inc, **{"other.h": "// not included\n"}) == keys
    changed = project(tmp_path / "r", inc, **{"common.h": "#define X 1\n"})  # two deep
    assert changed["a.o"] != keys["a.o"] and changed["sub/b.o"] != keys["sub/b.o"]
    assert changed["main.o"] == keys["main.o"]
    # "b.h" is found beside b.cpp, <sub/b.h> in the project (-I.)
    assert project(tmp_path / "s", inc, **{"b.h": "int shadow;\n"}) == keys
    changed = project(tmp_path / "t", inc, **{"sub/b.h": "int b;\n"})
    assert changed["a.o"] != keys["a.o"] and changed["sub/b.o"] != keys["sub/b.o"]
    (inc / "extra.h").write_text("int extra;\n")
    assert project(tmp_path / "u", inc)["main.o"] != keys["main.o"]
    flags = project(tmp_path / "v", inc, makefile=MAKEFILE.format(inc=inc).replace("O3", "O0"))
    assert set(flags.values()).isdisjoint(keys.values())


@pytest.mark.unit
def test_restore_puts_objects_of_the_same_inputs_and_removes_the_others(
        tmp_path, inc, monkeypatch):
    monkeypatch.setattr(object_cache, "CACHE", str(tmp_path / "cache"))
    first = tmp_path / "first"
    project(first, inc)
    for obj in ("a.o", "sub/b.o", "main.o"):
        (first / obj).write_bytes(obj.encode())
    object_cache.store(str(first), object_cache.keys(str(first)))
    second = tmp_path / "second"
    project(second, inc, **{"main.cpp": "int main(){return 1;}\n",
                            "main.o": "compiled from an older main.cpp"})
    assert object_cache.restore(str(second), object_cache.keys(str(second))) == 2
    assert (second / "sub/b.o").read_bytes() == b"sub/b.o"
    assert not (second / "main.o").exists()  # make compiles it


@pytest.mark.engines
@pytest.mark.standalone
def test_a_project_built_from_cached_objects_runs_its_own_code(weights, tmp_path, monkeypatch):
    """Two rules share most code: the second project compiles only what differs (the
    cache is the one every test shares), and each equals the reference of its own rule."""
    restored = []
    real = object_cache.restore
    monkeypatch.setattr(object_cache, "restore", lambda p, k: restored.append(real(p, k)) or 0)
    blocks = [random_block(0, 2, T=10)]
    for update in ("online", "trial"):
        net = BrianNetwork(weights, 10, block_trials=2, eta=ETA, update=update,
                           target="cpp_standalone", directory=str(tmp_path / update), record=True)
        assert_matches_reference(net, weights, blocks,
                                 reference_blocks(weights, blocks, update, ETA))
    assert restored[1] > 0
