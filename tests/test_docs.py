"""The documentation site builds without a single warning, its API reference covers the
public API, and every public function and class has a docstring.

The build renders the notebooks' saved outputs (no execution), so it takes seconds.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docs, pytest.mark.xdist_group("docs")]  # one build of the site

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PACKAGES = ("brianrflo", "brianrflo.models", "brianrflo.tasks", "brianrflo.rules",
            "brianrflo.figures")


def public_modules() -> list[str]:
    """The packages and every module in them whose name has no leading underscore."""
    names = []
    for package in PACKAGES:
        names.append(package)
        pkg = importlib.import_module(package)
        names += [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                  if not m.ispkg and not m.name.startswith("_")]
    return names


def public_objects(module) -> dict[str, object]:
    """The module's public functions and classes: those in its ``__all__`` or, without
    one, those it defines under names with no leading underscore."""
    if hasattr(module, "__all__"):
        items = {name: getattr(module, name) for name in module.__all__}
    else:
        items = {name: obj for name, obj in vars(module).items() if not name.startswith("_")
                 and getattr(obj, "__module__", None) == module.__name__}
    return {name: obj for name, obj in items.items()
            if inspect.isclass(obj) or inspect.isfunction(obj)}


def own_docstring(obj) -> str | None:
    """``obj``'s docstring, not counting the signature a dataclass makes up for itself."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    if inspect.isclass(obj) and doc and doc.startswith(f"{obj.__name__}("):
        return None
    return doc


def method_docstring(cls, name: str) -> str | None:
    """The docstring of ``cls.name`` or, if it has none, of the method it overrides (what
    the API reference shows)."""
    for klass in cls.__mro__:
        member = vars(klass).get(name)
        if member is not None:
            member = member.fget if isinstance(member, property) else member
            member = getattr(member, "__func__", member)
            if getattr(member, "__doc__", None):
                return member.__doc__
    return None


def undocumented(module_name: str) -> list[str]:
    """Public functions, classes and public methods of ``module_name`` with no docstring."""
    module = importlib.import_module(module_name)
    missing = [] if inspect.getdoc(module) else [f"{module_name} (module)"]
    for name, obj in public_objects(module).items():
        if not own_docstring(obj):
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                routine = member.fget if isinstance(member, property) else member
                routine = getattr(routine, "__func__", routine)
                if (not attr.startswith("_") and inspect.isfunction(routine)
                        and not method_docstring(obj, attr)):
                    missing.append(f"{module_name}.{name}.{attr}")
    return missing


@pytest.mark.parametrize("module_name", public_modules())
def test_public_functions_and_classes_have_docstrings(module_name):
    missing = undocumented(module_name)
    assert not missing, "no docstring: " + ", ".join(missing)


def test_the_docstring_check_sees_a_missing_docstring():
    """The check itself: a module with an undocumented public function fails it."""
    module = type(sys)("fake_public_module", "A module.")
    exec("def documented():\n    'Yes.'\n\ndef bare():\n    pass\n\n"
         "class Bare:\n    def method(self):\n        pass\n", module.__dict__)
    module.__all__ = ["documented", "bare", "Bare"]
    sys.modules[module.__name__] = module
    try:
        assert undocumented(module.__name__) == [
            "fake_public_module.bare", "fake_public_module.Bare",
            "fake_public_module.Bare.method"]
    finally:
        del sys.modules[module.__name__]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built with warnings as errors (one process, no notebook execution)."""
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-j", "1", "-q", "-b", "html",
         "-d", str(out / ".doctrees"), str(DOCS), str(out / "html")],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0 and "WARNING" not in run.stderr and "ERROR" not in run.stderr, (
        f"sphinx-build exited with {run.returncode}:\n{run.stderr[-5000:]}")
    return out / "html"


def test_docs_build_without_warnings(site):
    assert (site / "index.html").is_file()


def test_docs_have_every_page(site):
    pages = ["installation", "tutorials/index", "howto/edit_model", "howto/add_task",
             "howto/neurogym", "howto/sweep", "howto/resume", "howto/dask", "architecture",
             "engine", "results", "performance", "api"]
    pages += [f"tutorials/{nb.stem}" for nb in NOTEBOOKS]
    missing = [p for p in pages if not (site / f"{p}.html").is_file()]
    assert not missing, f"pages not built: {missing}"
    # the tutorials show the notebooks' saved figures; the paper pages their figures
    for nb in NOTEBOOKS:
        if '"image/png"' in nb.read_text():
            assert "<img" in (site / f"tutorials/{nb.stem}.html").read_text(), nb.name
    for page in ("results", "performance"):
        shown = (site / f"{page}.html").read_text().count("<img")
        assert shown == (DOCS / f"{page}.md").read_text().count("!["), page


def test_api_reference_describes_every_public_function_and_class(site):
    from sphinx.util.inventory import InventoryFile

    with open(site / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    described = {name for kind, objects in inventory.items() if kind.startswith("py:")
                 for name in objects}
    missing = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name, obj in public_objects(module).items():
            # described once, where it is defined (brianrflo.Weights: brianrflo.weights.Weights)
            if f"{obj.__module__}.{obj.__qualname__}" not in described:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"not in the API reference: {missing}"


def test_performance_tables_are_the_benchmark_runs():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "performance_tables", DOCS.parent / "tools" / "performance_tables.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rows = json.loads(tool.RESULTS.read_text())
    page = tool.PAGE.read_text()
    assert tool.read_section(page, "bench") == tool.bench_section(rows), \
        "docs/performance.md is stale: python tools/performance_tables.py"
    assert tool.read_section(page, "targets") == tool.targets_section(rows)
    dask = json.loads(tool.DASK.read_text())
    assert tool.read_section(page, "dask") == tool.dask_section(dask), \
        "docs/performance.md is stale: python tools/performance_tables.py"
