"""``--out`` is checked before any work: a folder that cannot be written is one error
line, exit code 2, and no file left behind."""

import os
import shutil
import subprocess

import pytest

from brianrflo.cli import main
from brianrflo.runfolder import check_out_dir

pytestmark = pytest.mark.engines


def _writes(folder: str) -> bool:
    try:
        with open(os.path.join(folder, "probe"), "w"):
            pass
    except OSError:
        return False
    os.remove(os.path.join(folder, "probe"))
    return True


@pytest.fixture
def read_only(tmp_path):
    """A folder nobody can write: mode 0o555, or, as root (who ignores modes), immutable."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if _writes(str(folder)) and shutil.which("chattr"):
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        immutable = made.returncode == 0
    try:
        if _writes(str(folder)):
            pytest.skip("no way to make a read-only folder here")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def _files(root) -> list[str]:
    return sorted(str(p) for p in root.rglob("*"))


@pytest.fixture
def bad_outs(tmp_path, read_only):
    afile = tmp_path / "results.txt"
    afile.write_text("the user's file")
    return {
        "a file": (str(afile), "is a file, not a folder"),
        "under a file": (str(afile / "run"), "cannot be created.*is a file"),
        "read-only folder": (str(read_only), "is not writable"),
        "under a read-only folder": (str(read_only / "a" / "b"),
                                     "nearest existing parent.*not writable"),
        "under /proc": ("/proc/brianrflo-out", "is not writable"),
        "empty": ("", "must name a folder, got ''"),
        "blank": ("  ", "must name a folder"),
    }


CASES = ("a file", "under a file", "read-only folder", "under a read-only folder", "under /proc",
         "empty", "blank")


@pytest.mark.parametrize("case", CASES)
def test_unwritable_out_is_refused_naming_option_and_path(case, bad_outs):
    path, why = bad_outs[case]
    with pytest.raises(ValueError, match=rf"^--out .*{why}") as err:
        check_out_dir(path)
    assert repr(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("case", CASES)
def test_figure_with_unwritable_out_fails_in_one_line_and_writes_nothing(case, bad_outs,
                                                                         tmp_path, capsys):
    path, _ = bad_outs[case]
    before = _files(tmp_path)
    assert main(["figure", "fig2a", "--quick", "--out", path]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("brianrflo: error: --out ") and captured.err.count("\n") == 1
    assert captured.out == "" and _files(tmp_path) == before


def test_new_or_existing_writable_folder_passes_and_nothing_is_created(tmp_path):
    check_out_dir(str(tmp_path / "new" / "nested"))
    check_out_dir(str(tmp_path))
    check_out_dir("relative-folder-that-does-not-exist")
    assert _files(tmp_path) == [] and not os.path.exists("relative-folder-that-does-not-exist")


def test_option_name_is_the_callers():
    with pytest.raises(ValueError, match="^--sweep-out must name a folder"):
        check_out_dir("", option="--sweep-out")
