"""Type-check the package with mypy, as it is installed: ``brianrflo.models`` and
``brianrflo.tasks`` included.

    python tools/typecheck.py            # `make lint` runs it

The repository keeps ``models/`` and ``tasks/`` at the top and ``pyproject.toml`` maps
them into the package (``package-dir``), which an editable install does with an import
hook mypy cannot follow (it would take both for ``Any``). So this lays the package out
as installed, as symbolic links in a temporary folder, runs mypy there with
``pyproject.toml``'s ``[tool.mypy]`` settings, and prints its findings with the
repository's paths. Exits with mypy's status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where each folder of the package lives in the repository (pyproject's package-dir).
LAYOUT = {"brianrflo": ROOT / "brianrflo", "brianrflo/models": ROOT / "models",
          "brianrflo/tasks": ROOT / "tasks"}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="brianrflo-typecheck-") as tmp:
        for inside, folder in LAYOUT.items():
            target = Path(tmp, inside)
            target.mkdir(parents=True, exist_ok=True)
            for path in folder.glob("*.py"):
                (target / path.name).symlink_to(path)
            for sub in folder.iterdir():  # subpackages that are not mapped elsewhere
                if sub.is_dir() and (sub / "__init__.py").exists() \
                        and f"{inside}/{sub.name}" not in LAYOUT:
                    (target / sub.name).symlink_to(sub)
        found = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
             "brianrflo"], cwd=tmp, capture_output=True, text=True, check=False)
        longest_first = sorted(LAYOUT.items(), key=lambda item: -len(item[0]))
        for line in (found.stdout + found.stderr).splitlines():
            for inside, folder in longest_first:
                if line.startswith(inside + "/"):
                    line = os.path.relpath(folder, ROOT) + line[len(inside):]
                    break
            print(line)
        return found.returncode


if __name__ == "__main__":
    sys.exit(main())
