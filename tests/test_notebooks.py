"""Every notebook runs top to bottom in quick mode.

A notebook that asserts nothing runs its figures at tiny sizes: their code is the
same at every size (``helpers.tiny_figures``, which a first cell applies in the
notebook's kernel), what the quick figures show is judged by tests/test_figures.py,
and the notebooks' stored outputs are the quick runs (``python
tools/make_notebooks.py``). A notebook with ``assert`` lines checks its claims at the
quick sizes they were written for.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.claims, pytest.mark.slow]

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
TINY = f"""import sys, pytest
sys.path.insert(0, {str(Path(__file__).parent)!r})
import helpers
helpers.tiny_figures(pytest.MonkeyPatch())"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("BRIANRFLO_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    if not any("assert " in c.source for c in nb.cells if c.cell_type == "code"):
        nb.cells.insert(0, nbformat.v4.new_code_cell(TINY))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ must hold at least one notebook"
