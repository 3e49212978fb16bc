"""Paths in one place: the repository root and the bundled sample workspace.

Both are derived from where the package lives, never from the current directory, so a notebook
run from ``notebooks/`` and a test run from the repository root see the same folders.

Examples
--------
>>> (SAMPLE_WORKSPACE / "workspace.yaml").is_file()
True
>>> SAMPLE_WORKSPACE.parent == PROJECT_ROOT
True
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROJECT_ROOT", "SAMPLE_WORKSPACE"]

#: The repository root (the folder holding ``vipquality/``, ``surveys/``, ``notebooks/``).
PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent

#: The sample workspace shipped with the repository (documented in ``surveys/README.md``).
SAMPLE_WORKSPACE: Path = PROJECT_ROOT / "surveys"
