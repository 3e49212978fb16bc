"""docs/own-data.md cannot rot: its shell blocks are run, in order, in an empty folder holding
the example files of ``tests/data/own-data/`` (a Qualtrics export, a CRM extract with the bank's
own column names, a mystery-shopping file).

The blocks up to ``vipquality metrics`` run in every test run (seconds); the report block runs
the quarterly notebooks (minutes), so it runs when ``VQ_DOC_REPORT=1`` is set — `make test`
sets nothing, the lead's full run may.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "own-data.md"
EXAMPLES = Path(__file__).parent / "data" / "own-data"


def shell_blocks(text: str) -> list[str]:
    """The fenced ```shell blocks of a Markdown text, in order."""
    return re.findall(r"^```shell\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_shell_blocks_are_found():
    blocks = shell_blocks(DOC.read_text(encoding="utf-8"))
    assert [b.split()[1] for b in blocks] == ["init", "-n", "crm_extract.csv", "ingest",
                                              "report"]


def test_the_walk_through_runs(tmp_path):
    for f in EXAMPLES.iterdir():
        shutil.copy(f, tmp_path / f.name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for block in shell_blocks(DOC.read_text(encoding="utf-8")):
        if block.startswith("vipquality report") and not os.environ.get("VQ_DOC_REPORT"):
            continue
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
        if "vipquality check" in block:
            assert "no problems found" in done.stdout
        if "vipquality ingest" in block:
            assert re.search(r"responses\s+40\s+40", done.stdout), done.stdout
    if os.environ.get("VQ_DOC_REPORT"):
        assert (tmp_path / "my-reports" / "2026Q2" / "index.html").is_file()
