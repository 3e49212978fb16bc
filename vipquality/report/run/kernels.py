"""The notebook workers and their kernels.

Every kernel runs :data:`KERNEL_SETUP` at start-up (then the run's preload imports,
:func:`_preload_code`), with the arguments of :func:`_kernel_arguments`. The worker side of
:class:`~vipquality.report.run.pool.NotebookPool` is here too: a worker warms up (papermill,
nbconvert, the HTML exporter; :func:`_warm_worker`), starts one kernel ahead of its first job
(:func:`_start_spare`), which that job takes when it suits (:func:`_take_spare`), and stops it
when the worker exits.

This module runs in the worker processes: nothing heavy (pandas, scipy, plotly) at module level.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vipquality.report.run.jobs import NotebookJob

__all__ = [
    "KERNEL_SETUP",
]

#: Run by every kernel at start-up (IPython ``exec_files``), before the notebook's first cell.
#:
#: Recent plotly picks the ``plotly_mimetype`` renderer inside a papermill kernel, which
#: nbconvert cannot draw (plotly.py#5365, nbconvert#2235); ``notebook`` embeds plotly.js in the
#: first output and ``notebook_connected`` fetches it from a CDN, and both add a MathJax script
#: from a CDN to every figure. This renderer writes the chart's ``<div>`` and its
#: ``Plotly.newPlot`` call only (plotly.js comes from the copy shipped beside the pages), with
#: stable ids ``vq-fig-1, 2, ...`` in output order, and keeps plotly's JSON in the bundle so the
#: executed notebook still shows the chart in JupyterLab (nbconvert prefers ``text/html``).
#: plotly.js 3 shows a "Share chart..." (upload to Plotly Cloud) button by default: turned off.
KERNEL_SETUP = '''\
def _vipquality_plotly_setup():
    try:
        import plotly.io as pio
        from plotly.io.base_renderers import MimetypeRenderer, PlotlyRenderer
    except ImportError:  # a notebook that draws no chart needs no plotly
        return

    class VipqualityOfflineRenderer(MimetypeRenderer):
        """Chart div + Plotly.newPlot; plotly.js comes from the page (offline, no CDN)."""

        # plotly copies the renderer on every show(), so the counter lives on the class
        shown = [0]

        def __init__(self):
            self.config = {}  # set by fig.show(config={...}), as for plotly's own renderers

        def to_mimebundle(self, fig_dict):
            self.shown[0] += 1
            meta = (fig_dict.get("layout") or {}).get("meta")
            own = meta.get("id") if isinstance(meta, dict) else None
            div_id = "vq-fig-%d" % self.shown[0] + ("-" + str(own) if own else "")
            bundle = PlotlyRenderer().to_mimebundle(fig_dict)
            # title and subtitle as HTML above the chart (they wrap, nothing covers them);
            # never a "Share chart..." button: it would upload client data to Plotly's cloud
            from vipquality.report.run.figure import figure_html

            bundle["text/html"] = figure_html(fig_dict, div_id, config=self.config)
            return bundle

    pio.renderers["vipquality"] = VipqualityOfflineRenderer()
    pio.renderers.default = "vipquality"


_vipquality_plotly_setup()
del _vipquality_plotly_setup
'''


def _preload_code(modules: Sequence[str]) -> str:
    """Kernel set-up lines importing ``modules`` (a module that fails to import is left for
    the notebook to report)."""
    if not modules:
        return ""
    return ("\n\ndef _vipquality_preload(names):\n"
            "    import importlib\n"
            "    for name in names:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except Exception:\n"
            "            pass\n\n\n"
            f"_vipquality_preload({list(modules)!r})\n"
            "del _vipquality_preload\n")


@dataclass(frozen=True)
class _Settings:
    out_dir: str
    scratch: str
    setup_file: str
    timeout: int
    start_timeout: int
    kernel_name: str
    kernel_cwd: str = ""  # where the worker starts a kernel ahead of its first job ("" = none)


def _kernel_arguments(s: _Settings) -> list[str]:
    return [
        f"--IPKernelApp.exec_files={s.setup_file}",
        "--IPKernelApp.log_level=ERROR",  # not "running over TCP without encryption"
    ]


_manager_class: Any = None


def kernel_manager_class() -> Any:
    """The kernel manager of every kernel the run starts: jupyter_client's
    ``AsyncKernelManager`` over Unix sockets in a private folder instead of TCP ports.

    Over TCP, jupyter_client picks free ports by binding and closing them, and the kernel binds
    them later: two kernels started together (two workers, or another program) can take the same
    port in between, and the loser's heartbeat thread dies with ``Address already in use`` and a
    traceback in the run's log. A socket file in a folder of this kernel's own cannot be taken by
    anyone else, and nothing listens on the network. The folder is removed with the kernel.
    """
    global _manager_class
    if _manager_class is None:
        import shutil
        import tempfile

        from jupyter_client.manager import AsyncKernelManager

        class IpcKernelManager(AsyncKernelManager):  # type: ignore[misc, valid-type]
            def __init__(self, **kwargs: Any) -> None:
                # short path: a Unix socket's name is limited to about 100 bytes
                self._ipc_dir = tempfile.mkdtemp(prefix="vq-k-")
                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", os.path.join(self._ipc_dir, "k"))
                super().__init__(**kwargs)

            async def _async_cleanup_resources(self, restart: bool = False) -> None:
                await super()._async_cleanup_resources(restart=restart)
                if not restart:
                    shutil.rmtree(self._ipc_dir, ignore_errors=True)

            cleanup_resources = _async_cleanup_resources

        _manager_class = IpcKernelManager
    return _manager_class


# a worker's kernel started ahead of its first job: {"km", "seconds", "cwd"} (worker processes)
_spare: dict[str, Any] = {}


def _noop() -> None:
    return None


def _exit_with_parent(parent: int) -> None:
    """A worker whose run was killed (SIGKILL of the main process alone) would wait for jobs
    forever, holding the run's output pipes: it exits once its parent is gone (its kernels,
    started with ``JPY_PARENT_PID``, follow it)."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="vipquality-parent-watch", daemon=True).start()


def _warm_worker(s: _Settings, parent: int | None = None) -> None:
    """Pool initializer: the imports and template loading every job needs, and one kernel
    started ahead. Never raises (a failing initializer would break the pool): whatever did not
    work is simply done by the job."""
    if parent is not None:
        _exit_with_parent(parent)
    # jsonschema (imported by nbformat) imports rfc3987_syntax when installed, to check the
    # "iri" string format: that builds a grammar, about 1 s of CPU per process. nbformat
    # validates notebooks without format checks, so this process (a worker of ours) does not
    # need it; jsonschema skips the format when the import fails.
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    try:
        import papermill  # noqa: F401
        from jupyter_client.manager import AsyncKernelManager  # noqa: F401

        from vipquality.report.run.export import _warm_exporter

        _warm_exporter(Path(s.scratch))
    except Exception:
        return
    if s.kernel_cwd:
        _start_spare(s)


def _start_spare(s: _Settings) -> None:
    from jupyter_core.utils import run_sync

    km = None
    try:
        t0 = time.monotonic()
        km = kernel_manager_class()(kernel_name=s.kernel_name)
        run_sync(km.start_kernel)(extra_arguments=_kernel_arguments(s), cwd=s.kernel_cwd)
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=s.start_timeout)
        finally:
            kc.stop_channels()
        _spare.update(km=km, seconds=time.monotonic() - t0, cwd=s.kernel_cwd)
        # the worker exits through multiprocessing (os._exit: no atexit): a finalizer then
        multiprocessing.util.Finalize(None, _stop_spare, exitpriority=10)
    except Exception:
        if km is not None:
            _shutdown(km)


def _shutdown(km) -> None:
    """Stop a kernel this module started: a shutdown request, a kill if it is still there
    after a second (jupyter_client's ``shutdown_kernel`` without its interrupt first, which
    makes ipykernel log a KeyboardInterrupt into the run's output)."""
    from jupyter_core.utils import run_sync

    try:
        if run_sync(km.is_alive)():
            km.shutting_down = True  # no restart by jupyter_client's restarter
            run_sync(km.request_shutdown)()
            run_sync(km.finish_shutdown)(waittime=1.0)
        run_sync(km.cleanup_resources)()
    except Exception:
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:
            pass


def _stop_spare() -> None:
    km = _spare.pop("km", None)
    _spare.clear()
    if km is not None:
        _shutdown(km)


def _take_spare(job: NotebookJob) -> tuple[Any, float]:
    """The kernel started ahead, when it suits ``job`` and is alive; else ``(None, 0.0)``."""
    if "km" not in _spare:
        return None, 0.0
    from jupyter_core.utils import run_sync

    if _spare["cwd"] != str(Path(job.notebook).resolve().parent):
        return None, 0.0
    km, seconds = _spare.pop("km"), _spare.pop("seconds")
    _spare.clear()
    try:
        alive = run_sync(km.is_alive)()
    except Exception:
        alive = False
    if not alive:
        _shutdown(km)
        return None, 0.0
    return km, seconds
