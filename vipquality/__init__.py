"""vipquality: service quality for VIP and premium clients, quarter by quarter.

The public API, data first. Each statistic takes one group's raw answers and returns an
:class:`Estimate`; :func:`summarise` computes every group at once from sufficient statistics.

Examples
--------
>>> import vipquality as vq
>>> e = vq.nps([10, 10, 9, 8, 7, 3])
>>> round(e.value, 1), e.n
(33.3, 6.0)
"""

import sys
import types

from ._version import __version__

# The public names are imported on first use (PEP 562): ``import vipquality`` stays cheap, so
# the quarterly run's main process can start its notebook workers before pandas, scipy and
# statsmodels are loaded, and the workers (which only need ``vipquality.report``) never load
# them. ``vq.nps``, ``from vipquality import nps`` and ``from vipquality import *`` work as
# before.
_NAMES = {
    "ces": "ces",
    "compliance": "compliance", "standard_compliance": "compliance",
    "visit_scores": "compliance",
    "csi": "csi", "csi_by_group": "csi",
    "relative_weights": "drivers",
    "ConfigError": "errors", "DataError": "errors", "IngestError": "errors",
    "ReportError": "errors", "StoreError": "errors", "VipqualityError": "errors",
    "Estimate": "estimate",
    "nps": "nps", "nps_difference": "nps",
    "assign_segments": "segments",
    "redact": "summarise", "summarise": "summarise", "summarise_workspace": "summarise",
    "ALL_SEGMENT": "workspace", "Quarter": "workspace", "Workspace": "workspace",
    "load_workspace": "workspace",
    "IngestResult": "ingest", "ingest_quarter": "ingest",
    "ReportData": "reportdata", "compute_report_data": "reportdata",
    "report_data": "reportdata",
}
_MODULES = ("charts", "narrative", "pages", "tables")


def __getattr__(name: str):
    import importlib

    if name in _MODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps ``vq.nps`` the function when the submodule ``vipquality.nps`` is imported.

    Importing a submodule binds it as an attribute of the package; eagerly, ``from .nps import
    nps`` overwrote that binding at once. Lazily, the function is not there yet, so the
    binding of a submodule whose name is also a public function (``ces``, ``compliance``,
    ``csi``, ``nps``, ``summarise``) is skipped; the submodule stays in ``sys.modules``.
    (The documented way to customise a module's attributes: setting its ``__class__``.)"""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and name in _NAMES and _NAMES[name] == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "__version__",
    "ALL_SEGMENT",
    "ConfigError",
    "DataError",
    "Estimate",
    "IngestError",
    "IngestResult",
    "Quarter",
    "ReportData",
    "ReportError",
    "StoreError",
    "VipqualityError",
    "Workspace",
    "assign_segments",
    "ces",
    "charts",
    "compliance",
    "compute_report_data",
    "csi",
    "csi_by_group",
    "ingest_quarter",
    "load_workspace",
    "narrative",
    "nps",
    "nps_difference",
    "pages",
    "redact",
    "relative_weights",
    "report_data",
    "standard_compliance",
    "summarise",
    "summarise_workspace",
    "tables",
    "visit_scores",
]
