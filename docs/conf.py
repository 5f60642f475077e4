"""Sphinx configuration: ``make docs`` builds the site into ``docs/_build/html``.

The tutorials are the executed notebooks in ``notebooks/``, rendered from their saved
outputs (never run here: a build takes seconds, and the notebook tests run them).
"""

import importlib
import inspect
import pkgutil
import shutil
from pathlib import Path

import brianrflo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

project = "brianrflo"
author = "brianrflo developers"
copyright = "brianrflo developers"
release = version = brianrflo.__version__

extensions = [
    "myst_nb",  # Markdown pages (MyST) and notebooks; includes myst_parser
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# Notebooks: show their saved outputs; executing them belongs to tests/test_notebooks.py.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# numpydoc-style docstrings through napoleon.
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
# NeuroGym is an optional extra: the API pages must build without it.
autodoc_mock_imports = ["neurogym", "gymnasium"]

html_theme = "furo"
html_title = f"brianrflo {release}"


#: The packages of the API reference (``api.rst`` lists the same).
PACKAGES = ("brianrflo", "brianrflo.models", "brianrflo.tasks", "brianrflo.rules",
            "brianrflo.figures")


def _home(package: str, name: str) -> str | None:
    """Where ``package.name`` is documented: the module that defines it and lists it in its
    ``__all__``, or ``None`` when the package defines it itself.

    Every object is described once, on its module's page; a package's page links to it.
    Describing it twice (``brianrflo.Weights`` and ``brianrflo.weights.Weights``) would
    make every unqualified cross-reference to it ambiguous.
    """
    pkg = importlib.import_module(package)
    obj = getattr(pkg, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return None if obj.__module__ == package else f"{obj.__module__}.{obj.__qualname__}"
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        if name in getattr(module, "__all__", ()) and getattr(module, name) is obj:
            return f"{module.__name__}.{name}"
    return None


def _reexports() -> dict[str, list[str]]:
    """Per package, the documented homes of the names it exports but does not define,
    relative to the package (``train.Settings`` for ``brianrflo``)."""
    table = {}
    for package in PACKAGES:
        names = importlib.import_module(package).__all__
        homes = [home for home in (_home(package, n) for n in names) if home]
        # relative to the package: autosummary refuses the package's own name in them
        table[package] = [home.removeprefix(package + ".") for home in homes]
    return table


def _shadowed() -> list[str]:
    """Modules hidden behind a name their package exports (``brianrflo.train``, the
    module, behind ``brianrflo.train``, the function).

    autosummary would document the function under the module's name; their pages are
    written here instead (into ``api/``, with the generated ones) and linked from the
    package's page by the template.
    """
    names = []
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            if getattr(pkg, info.name) is not module:
                names.append(module.__name__)
                page = HERE / "api" / f"{module.__name__}.rst"
                text = f"{module.__name__}\n{'=' * len(module.__name__)}\n\n" \
                       f".. automodule:: {module.__name__}\n"
                page.parent.mkdir(exist_ok=True)
                if not page.exists() or page.read_text() != text:
                    page.write_text(text)
    return names


# The autosummary template (_templates/autosummary/module.rst) uses these on each
# package's page; plain strings, so Sphinx can cache the configuration.
autosummary_context = {"reexports": _reexports(), "shadowed": _shadowed()}


def _copy_notebooks() -> None:
    """Copy notebooks/*.ipynb into docs/tutorials/ (Sphinx reads only its own folder).

    A copy is refreshed only when its notebook changed, so rebuilds stay incremental.
    """
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        copy = HERE / "tutorials" / nb.name
        if not copy.exists() or copy.read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, copy)


_copy_notebooks()
