"""Executed notebook -> HTML page for executives: no code, nothing fetched from the network.

* No code: nbconvert's ``exclude_input`` plus excluded prompts, and a ``TagRemovePreprocessor``
  that drops whole cells tagged ``remove-cell`` (and papermill's ``parameters`` /
  ``injected-parameters`` cells), and outputs of cells tagged ``remove-output``. Papermill's
  ``report_mode`` is not used: it only hides inputs in JupyterLab, nbconvert still prints them.
* Offline: the ``vipquality`` template (``templates/vipquality``) inherits nbconvert's ``lab``
  template and drops require.js, MathJax, mermaid and the widget manager, which the lab template
  loads from CDNs. plotly.js is shipped once per folder of pages (:func:`ship_plotly_js`) and
  loaded from there with a relative ``<script src>``; inside the kernel the run sets a plotly
  renderer that writes only the chart's ``<div>`` and its ``Plotly.newPlot`` call (see
  :data:`~vipquality.report.run.kernels.KERNEL_SETUP`).
* :func:`check_html` re-reads a written page and lists what would break that promise.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from vipquality._files import atomic_write_text

if TYPE_CHECKING:  # nbformat (with jsonschema) costs about a second to import: only when used
    import nbformat

__all__ = [
    "PLOTLY_JS_NAME",
    "REMOVE_CELL_TAGS",
    "check_html",
    "count_charts",
    "export_html",
    "ship_plotly_js",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "vipquality"

#: the file name of the plotly.js copy shipped beside the pages
PLOTLY_JS_NAME = "plotly.min.js"

#: cells dropped from the page altogether (set-up, papermill's parameter cells)
REMOVE_CELL_TAGS = frozenset({"remove-cell", "parameters", "injected-parameters"})
#: cells whose outputs are dropped (their code is never shown anyway)
REMOVE_OUTPUT_TAGS = frozenset({"remove-output"})

# classes nbconvert gives to a code cell's input and to prompts, in the lab and classic
# templates (markdown cells are a `jp-InputArea` too in lab, so that class alone says nothing)
_INPUT_CLASSES = frozenset({
    "jp-InputArea-editor", "jp-CodeMirrorEditor", "input_area",      # code
    "jp-InputPrompt", "jp-OutputPrompt", "input_prompt", "output_prompt",  # In [n] / Out[n]
})
_CHART_CLASS = "plotly-graph-div"
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)  # http://, https://, //host
_REMOTE_IMPORT = re.compile(r"""\bimport\s*\(?\s*["'](?:https?:)?//""", re.IGNORECASE)
_STDERR_MIME = "application/vnd.jupyter.stderr"


def ship_plotly_js(directory: Path) -> Path:
    """Write the installed plotly package's ``plotly.min.js`` into ``directory`` (once).

    The kernel draws with the same plotly package, so the library and the figures' JSON always
    match. Returns the path of the copy.
    """
    from plotly.offline import get_plotlyjs

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / PLOTLY_JS_NAME
    source = get_plotlyjs()
    if not target.exists() or target.read_text(encoding="utf-8") != source:
        atomic_write_text(target, source)
    return target


def _exporter():
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

    class _DropStderr(Preprocessor):
        """Drop stderr streams (warnings, progress bars): noise in a page for executives."""

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "code":
                cell.outputs = [
                    out for out in cell.outputs
                    if not (out.get("output_type") == "stream" and out.get("name") == "stderr")
                ]
            return cell, resources

    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            remove_cell_tags=set(REMOVE_CELL_TAGS),
            remove_all_outputs_tags=set(REMOVE_OUTPUT_TAGS),
            enabled=True,
        ),
        enabled=True,
    )
    exporter.register_preprocessor(_DropStderr(enabled=True), enabled=True)
    return exporter


def export_html(
    notebook: Path | nbformat.NotebookNode,
    html_path: Path,
    *,
    title: str | None = None,
    plotly_js: Path | None = None,
) -> Path:
    """Export an executed notebook to a code-free, offline HTML page.

    Parameters
    ----------
    notebook : Path or NotebookNode
        The executed notebook (it is not changed).
    html_path : Path
        Where to write the page; its folder is created.
    title : str, optional
        The page's ``<title>`` (default: the file name) unless the notebook sets
        ``metadata.title``, which nbconvert prefers.
    plotly_js : Path, optional
        The shipped ``plotly.min.js`` the page loads (referenced by a path relative to the page);
        defaults to ``html_path.parent / "plotly.min.js"``, written by :func:`ship_plotly_js`
        when missing.

    Returns
    -------
    Path
        ``html_path``.
    """
    import nbformat

    html_path = Path(html_path)
    if isinstance(notebook, nbformat.NotebookNode):
        nb = nbformat.from_dict(notebook)  # a copy: the preprocessors edit in place
        name = title or "report"
    else:
        nb = nbformat.read(str(notebook), as_version=4)
        name = title or Path(notebook).stem
    if plotly_js is None:
        plotly_js = html_path.parent / PLOTLY_JS_NAME
        if not plotly_js.exists():
            ship_plotly_js(html_path.parent)
    rel = Path(os.path.relpath(Path(plotly_js).resolve(), html_path.parent.resolve())).as_posix()
    body, _ = _exporter().from_notebook_node(
        nb, resources={"metadata": {"name": name}, "plotly_js_url": rel}
    )
    # written whole or not at all: a full disk leaves no empty or cut-off page behind
    return atomic_write_text(html_path, body)


def _warm_exporter(scratch: Path) -> None:
    """Export a two-cell notebook into ``scratch``: loads nbconvert, its templates and the
    markdown renderer once, before a worker's first real page."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    nb = new_notebook(cells=[
        new_markdown_cell("## warm-up"),
        new_code_cell("1", outputs=[new_output("display_data", {"text/html": "<p>1</p>"})]),
    ])
    folder = Path(scratch) / f"_warm-{os.getpid()}"
    export_html(nb, folder / "warm.html", plotly_js=folder / PLOTLY_JS_NAME)
    (folder / "warm.html").unlink(missing_ok=True)
    folder.rmdir()


class _PageScan(HTMLParser):
    """What check_html needs from a page, read with the standard library's HTML parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []      # src of <script src=...>
        self.links: list[str] = []        # href of <link rel=stylesheet ...>
        self.inputs = 0                   # elements carrying an input-area class
        self.charts = 0                   # <div class="plotly-graph-div">
        self.stderr = 0                   # stderr / traceback outputs
        self.remote_imports = 0           # import("https://...") inside inline scripts
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag == "script":
            self._in_script = True
            if "src" in a:
                self.scripts.append(a["src"])
        elif tag == "link" and "stylesheet" in a.get("rel", "").lower():
            self.links.append(a.get("href", ""))
        if classes & _INPUT_CLASSES:
            self.inputs += 1
        if _CHART_CLASS in classes:
            self.charts += 1
        if a.get("data-mime-type") == _STDERR_MIME:
            self.stderr += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and _REMOTE_IMPORT.search(data):
            self.remote_imports += 1


def _scan(path_or_html: Path | str) -> _PageScan:
    if isinstance(path_or_html, Path):
        text = path_or_html.read_text(encoding="utf-8")
    else:
        text = path_or_html
    scan = _PageScan()
    scan.feed(text)
    scan.close()
    return scan


def count_charts(path_or_html: Path | str) -> int:
    """Number of plotly charts (``<div class="plotly-graph-div">``) in a page (path or text)."""
    return _scan(path_or_html).charts


def check_html(path: Path, *, charts: int | None = None) -> list[str]:
    """List what is wrong with an exported page for offline, code-free reading.

    Checks: no script or stylesheet from the network (``http://``, ``https://``, ``//host``) and
    no inline ``import("https://...")``; every local script exists; no code-cell input
    (nbconvert's ``jp-InputArea-editor`` / classic ``input_area``) and no prompts; no traceback
    or stderr output; plotly.js loaded when the page has charts; and, when ``charts`` is given,
    exactly that many plotly charts.

    Returns
    -------
    list of str
        One sentence per problem; empty when the page is fine.
    """
    path = Path(path)
    scan = _scan(path)
    problems = []
    for src in scan.scripts:
        if _REMOTE.match(src):
            problems.append(f"loads a script from the network: {src}")
        elif not (path.parent / src.split("?")[0]).exists():
            problems.append(f"loads a script that is not beside the page: {src}")
    for href in scan.links:
        if _REMOTE.match(href):
            problems.append(f"loads a stylesheet from the network: {href}")
    if scan.remote_imports:
        problems.append(f"{scan.remote_imports} inline script(s) import code from the network")
    if scan.inputs:
        problems.append(f"shows code: {scan.inputs} input area(s) or prompt(s) of code cells")
    if scan.stderr:
        problems.append(f"shows {scan.stderr} error or stderr output(s)")
    if scan.charts and not any(Path(s).name.startswith("plotly") for s in scan.scripts):
        problems.append(f"has {scan.charts} plotly chart(s) but does not load plotly.js")
    if charts is not None and scan.charts != charts:
        problems.append(f"has {scan.charts} plotly chart(s), expected {charts}")
    return problems
