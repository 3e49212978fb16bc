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

from vipquality._version import __version__

# The public names are imported on first use (PEP 562): ``import vipquality`` stays cheap, so
# the quarterly run's main process can start its notebook workers before pandas, scipy and
# statsmodels are loaded, and the workers (which only need ``vipquality.report.run``) never
# load them. ``vq.nps``, ``from vipquality import nps`` and ``from vipquality import *`` work.
_NAMES = {
    "ces": "metrics.ces",
    "compliance": "metrics.compliance", "standard_compliance": "metrics.compliance",
    "visit_scores": "metrics.compliance",
    "csi": "metrics.csi", "csi_by_group": "metrics.csi",
    "relative_weights": "metrics.drivers",
    "what_if": "metrics.whatif",
    "ConfigError": "errors", "DataError": "errors", "IngestError": "errors",
    "ReportError": "errors", "StoreError": "errors", "VipqualityError": "errors",
    "Estimate": "metrics.estimate",
    "nps": "metrics.nps", "nps_difference": "metrics.nps",
    "assign_segments": "data.segments",
    "redact": "metrics.summarise", "summarise": "metrics.summarise",
    "summarise_workspace": "data.summary",
    "ALL_SEGMENT": "config", "Quarter": "config", "Workspace": "config",
    "load_workspace": "config",
    "IngestResult": "data.ingest", "ingest_quarter": "data.ingest",
    "ReportData": "report.data", "compute_report_data": "report.data",
    "report_data": "report.data", "segment_responses": "report.data",
}
#: Modules reachable as attributes: ``vq.pages.segment_headline(...)``, ``vq.charts.trend(...)``.
_MODULES = {
    "pages": "report.pages",
    "charts": "report.pages.charts",
    "narrative": "report.pages.narrative",
    "tables": "report.pages.tables",
}


def __getattr__(name: str):
    import importlib

    if name in _MODULES:
        value = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    elif name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
    "segment_responses",
    "standard_compliance",
    "summarise",
    "summarise_workspace",
    "tables",
    "visit_scores",
    "what_if",
]
