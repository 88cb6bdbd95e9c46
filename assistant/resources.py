"""Where the templates and shipped flows are.

In a source checkout they sit at the top of the repository (``templates/``, ``flows/``); in an
installed wheel they are copied into the package (see ``force-include`` in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (PACKAGE / name, PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no '{name}' folder in the package or beside it ({PACKAGE})")


def templates_dir() -> Path:
    """The Jinja2 templates folder."""
    return _find("templates")


def flows_dir() -> Path:
    """The folder of the flows shipped with the product."""
    return _find("flows")
