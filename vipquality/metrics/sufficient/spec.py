"""What to aggregate (:class:`StatsSpec`) and the statistics it gives (:func:`stat_columns`).

The bottom of :mod:`vipquality.metrics.sufficient`: every other module of the package reads a
:class:`StatsSpec`, and none is imported here.

Statistics columns (``a``, ``b`` are attribute ids)
-----------------------------------------------------
========================  =====================================================================
``nps_n``                 respondents with a valid NPS answer
``nps_sw``, ``nps_sw2``   Σw and Σw² over them (w = 1 without a ``weight`` column)
``nps_swp``, ``nps_swd``  Σw over promoters (9–10) and detractors (0–6)
``ces_n``                 respondents with a CES answer; ``ces_sw``, ``ces_sw2``: Σw, Σw²;
                          ``ces_swx``, ``ces_swx2``: Σw·x, Σw·x²
``ces_swe``, ``ces_swd``  Σw over "easy" and "difficult" answers: the top and bottom
                          (k − 1)/2 of k scale points (5–7 and 1–3 of 1–7; 4–5 and 1–2 of
                          1–5), as in :func:`vipquality.metrics.ces.ces`
``csi_n``                 respondents who rated at least one attribute
``sat_n:a``               respondents who rated ``a``; ``sat_sx:a``, ``sat_sx2:a``: Σx, Σx²
``imp_n:a``, ``imp_sx:a``  importance ratings of ``a`` by respondents counted in ``csi_n``:
                          count and Σ (as :func:`vipquality.metrics.csi.csi` estimates stated weights)
``pair_n:a:b``            respondents who rated both ``a`` and ``b`` (one column per pair a < b
                          in attribute order); ``pair_sxy:a:b`` = Σ x_a·x_b, ``pair_sx:a:b`` =
                          Σ x_a and ``pair_sy:a:b`` = Σ x_b over those respondents (the pairwise
                          means needed for an exact pairwise covariance)
``cmp_n``                 mystery-shopper visits with a score; ``cmp_sx``, ``cmp_sx2``: Σ, Σ²
========================  =====================================================================

Counts are ``int64``; sums are ``float64``. Sums of integer ratings are exact in float64 (below
2**53), so both engines and every partitioning give bit-identical integer-valued sums; sums of
non-integer weights or visit scores can differ in the last bits with the order of addition.
Compliance statistics merge correctly only when no visit is split between the partitions.

Examples
--------
>>> spec = StatsSpec(by=("quarter",), attributes=("speed", "respect"), ces_scale=None)
>>> stat_columns(spec)  # doctest: +NORMALIZE_WHITESPACE
['nps_n', 'nps_sw', 'nps_sw2', 'nps_swp', 'nps_swd', 'csi_n',
 'sat_n:speed', 'sat_sx:speed', 'sat_sx2:speed', 'sat_n:respect', 'sat_sx:respect',
 'sat_sx2:respect', 'pair_n:speed:respect', 'pair_sxy:speed:respect',
 'pair_sx:speed:respect', 'pair_sy:speed:respect']
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

__all__ = [
    "CES_COLUMN",
    "NPS_COLUMN",
    "RESULTS",
    "WEIGHT_COLUMN",
    "StatsSpec",
    "is_count",
    "stat_columns",
    "visit_key_extra",
]

NPS_COLUMN, CES_COLUMN, WEIGHT_COLUMN = "nps", "ces", "weight"
#: The answers of a mystery-shopper checklist item.
RESULTS = ("yes", "no", "na")


@dataclass(frozen=True)
class StatsSpec:
    """What to aggregate: grouping columns, instrument scales and which blocks are present.

    ``nps_scale``/``ces_scale`` of ``None`` leave that block out; ``importance`` lists the
    attributes that have an importance column; ``weighted`` says whether responses carry a
    ``weight`` column; ``visits`` whether compliance statistics are computed.
    """

    by: tuple[str, ...]
    attributes: tuple[str, ...] = ()
    importance: tuple[str, ...] = ()
    nps_scale: tuple[float, float] | None = (0, 10)
    ces_scale: tuple[float, float] | None = (1, 7)
    csi_scale: tuple[float, float] = (1, 10)
    importance_scale: tuple[float, float] | None = None
    weighted: bool = False
    responses: bool = True
    visits: bool = False
    critical_fails_visit: bool = True
    visit_key: tuple[str, ...] = ("quarter", "visit_id")

    def __post_init__(self) -> None:
        if self.nps_scale is not None and tuple(self.nps_scale) != (0, 10):
            raise ValueError(f"nps_scale must be (0, 10) (detractors 0–6, promoters 9–10), "
                             f"got {self.nps_scale!r}")
        for name in ("ces_scale", "csi_scale", "importance_scale"):
            scale = getattr(self, name)
            if scale is not None and not (len(scale) == 2 and scale[0] < scale[1]):
                raise ValueError(f"{name} must be (low, high) with low < high, got {scale!r}")
        unknown = set(self.importance) - set(self.attributes)
        if unknown:
            raise ValueError(f"importance given for unknown attributes {sorted(unknown)}")
        if len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes must be unique, got {list(self.attributes)}")
        names = stat_columns(self)
        if len(set(names)) != len(names):
            raise ValueError("attribute ids give clashing statistics names; avoid ':' in ids")

    @property
    def imp_scale(self) -> tuple[float, float]:
        return tuple(self.importance_scale or self.csi_scale)

    @property
    def ces_cuts(self) -> tuple[float, float]:
        """(easy if x > first, difficult if x < second), as in :func:`vipquality.metrics.ces.ces`."""
        lo, hi = self.ces_scale
        half = (hi - lo) // 2
        return hi - half, lo + half

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(combinations(self.attributes, 2))


def stat_columns(spec: StatsSpec) -> list[str]:
    """The statistics columns ``spec`` produces, in their fixed order."""
    cols: list[str] = []
    if spec.responses:
        if spec.nps_scale is not None:
            cols += ["nps_n", "nps_sw", "nps_sw2", "nps_swp", "nps_swd"]
        if spec.ces_scale is not None:
            cols += ["ces_n", "ces_sw", "ces_sw2", "ces_swx", "ces_swx2", "ces_swe", "ces_swd"]
        if spec.attributes:
            cols.append("csi_n")
        for a in spec.attributes:
            cols += [f"sat_n:{a}", f"sat_sx:{a}", f"sat_sx2:{a}"]
            if a in spec.importance:
                cols += [f"imp_n:{a}", f"imp_sx:{a}"]
        for a, b in spec.pairs:
            cols += [f"pair_n:{a}:{b}", f"pair_sxy:{a}:{b}", f"pair_sx:{a}:{b}",
                     f"pair_sy:{a}:{b}"]
    if spec.visits:
        cols += ["cmp_n", "cmp_sx", "cmp_sx2"]
    return cols


def is_count(column: str) -> bool:
    """Whether a statistics column is a count (``int64``) rather than a sum (``float64``)."""
    return column.endswith("_n") or column.startswith(("sat_n:", "imp_n:", "pair_n:"))


def visit_key_extra(spec: StatsSpec) -> list[str]:
    """The columns of ``spec.visit_key`` that are not grouping columns: with the grouping
    columns, they identify one visit."""
    return [c for c in spec.visit_key if c not in spec.by]
