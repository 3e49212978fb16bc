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

from ._version import __version__
from .ces import ces
from .compliance import compliance, standard_compliance, visit_scores
from .csi import csi, csi_by_group
from .drivers import relative_weights
from .errors import (
    ConfigError,
    DataError,
    IngestError,
    ReportError,
    StoreError,
    VipqualityError,
)
from .estimate import Estimate
from .nps import nps, nps_difference
from .segments import assign_segments
from .summarise import redact, summarise, summarise_workspace
from .workspace import ALL_SEGMENT, Quarter, Workspace, load_workspace
from .ingest import IngestResult, ingest_quarter
from .reportdata import ReportData, compute_report_data, report_data
from . import charts, narrative, pages, tables

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
