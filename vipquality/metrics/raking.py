"""Raking survey responses to population margins, with trimming (weightipy's RIM).

:func:`rake` gives each respondent a weight such that the weighted shares of the chosen
characteristics (tier, client type, …) equal those of a target population (the clients invited,
or the whole VIP book), with weights capped at ``trim`` times their mean. The arithmetic is
weightipy's (``weightipy.Rim``: iterative proportional fitting over the margins, the cap applied
inside each iteration as in R's ``anesrake``), not a hand-written IPF.

Why weightipy and not Meta's ``balance`` (compared on one case, ``benchmarks/compare_raking.py``:
4,000 invited clients, 992 respondents, three variables, cap 5):

=================  =====================================  ===========================
                   balance 0.23.0                         weightipy 0.4.2
=================  =====================================  ===========================
dependencies       49 packages, 690 MB venv; on Python     3 (decorator, watchdog,
                   3.11 it pins numpy < 2, scipy < 1.14,  requests); works with the
                   scikit-learn < 1.4: it cannot be        project's numpy 2.4 /
                   installed beside this project's pins    pandas 3.1 pins
import + rake      5.2 s + 0.091 s                        0.9 s + 0.014 s
margins reached    max error 0.0003 pp                    max error < 0.0001 pp
Kish base, ratio   812.1, max/mean weight 3.78            812.1, max/mean 3.78
=================  =====================================  ===========================

Both reach the same weights; balance brings a whole modelling stack (propensity models,
plots) that raking does not need and, decisively, version pins the project cannot meet.

Examples
--------
>>> sample = pd.DataFrame({"tier": ["Private"] * 2 + ["Premium"] * 8})
>>> r = rake(sample, {"tier": {"Private": 40.0, "Premium": 60.0}})
>>> [round(float(w), 3) for w in r.weights[[0, 2]]]
[2.0, 0.75]
>>> round(r.kish_n, 2), round(r.deff, 3)
(8.0, 1.25)
"""

from __future__ import annotations

import contextlib
import io
import typing as t
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MISSING_LEVEL", "RakeResult", "population_margins", "quantile_bands", "rake"]

#: The level a missing value of a weighting variable is counted in (sample and population).
MISSING_LEVEL = "(missing)"


@dataclass(frozen=True)
class RakeResult:
    """The weights of :func:`rake` and how well they reach their targets.

    Attributes
    ----------
    weights : ndarray
        One weight per sample row, mean 1.
    margins : DataFrame
        ``variable, level, target, unweighted, weighted`` (shares in %).
    iterations : int
    trimmed : int
        Weights at the cap.
    notes : tuple of str
        Targets that could not be met (a level with no respondent), in words.
    """

    weights: np.ndarray
    margins: pd.DataFrame
    iterations: int = 0
    trimmed: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def kish_n(self) -> float:
        """Kish effective base (Σw)²/Σw²."""
        w = self.weights
        return float(w.sum() ** 2 / (w**2).sum()) if len(w) else 0.0

    @property
    def deff(self) -> float:
        """Design effect of the weighting, n / Kish base (1 + CV² of the weights)."""
        return len(self.weights) / self.kish_n if len(self.weights) else np.nan

    @property
    def max_error(self) -> float:
        """Largest |weighted − target| over the margins, in percentage points."""
        m = self.margins
        return float((m["weighted"] - m["target"]).abs().max()) if len(m) else 0.0


def _levels(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna(MISSING_LEVEL).astype(str)


def quantile_bands(sample: pd.Series, population: pd.Series,
                   bands: int = 4) -> tuple[pd.Series, pd.Series]:
    """A numeric variable cut at the population's quantiles into at most ``bands`` labelled
    bands (``Q1`` … lowest), the same cuts for the sample; missing values stay missing.

    >>> s, p = quantile_bands(pd.Series([1.0, 5.0]), pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), 2)
    >>> list(s), list(p)
    (['Q1', 'Q2'], ['Q1', 'Q1', 'Q1', 'Q2', 'Q2'])
    """
    pop = pd.to_numeric(population, errors="coerce")
    edges = np.unique(np.nanquantile(pop.to_numpy(float), np.linspace(0, 1, bands + 1)))
    inner = edges[1:-1]

    def cut(s: pd.Series) -> pd.Series:
        x = pd.to_numeric(s, errors="coerce").to_numpy(float)
        idx = np.searchsorted(inner, x, side="left") + 1
        labels = np.array([f"Q{i}" for i in idx], dtype=object)
        labels[np.isnan(x)] = None
        return pd.Series(labels, index=s.index, dtype=object)

    return cut(sample), cut(population)


def population_margins(population: pd.DataFrame,
                       variables: t.Sequence[str]) -> dict[str, dict[str, float]]:
    """The shares (%) of each level of each variable in ``population`` (missing as
    :data:`MISSING_LEVEL`).

    >>> population_margins(pd.DataFrame({"tier": ["A", "A", "B", None]}), ["tier"])
    {'tier': {'(missing)': 25.0, 'A': 50.0, 'B': 25.0}}
    """
    out = {}
    for v in variables:
        shares = _levels(population[v]).value_counts(normalize=True).sort_index()
        out[v] = {str(k): 100 * float(p) for k, p in shares.items()}
    return out


def rake(sample: pd.DataFrame, targets: t.Mapping[str, t.Mapping[str, float]], *,
         trim: float | None = 5.0, max_iterations: int = 1000) -> RakeResult:
    """Rake ``sample`` to the target margins, capping weights at ``trim`` × their mean.

    Parameters
    ----------
    sample : DataFrame
        The respondents, with a column per variable of ``targets`` (missing values count as
        :data:`MISSING_LEVEL`).
    targets : mapping
        ``{variable: {level: share}}``, shares in any unit (normalised per variable), e.g.
        :func:`population_margins` of the invited clients.
    trim : float or None, default 5
        Cap on weight / mean weight (weightipy's ``cap``: weights above it are set to it and
        all rescaled, inside each raking iteration); ``None``: no cap. Must exceed 1.
    max_iterations : int

    Returns
    -------
    RakeResult
        Weights with mean 1, the margins reached, notes on targets that could not be met.

    Notes
    -----
    A target level that no respondent has cannot be reached: it is dropped and the variable's
    other targets renormalised (named in ``notes``). A sample level absent from the targets
    gets weight 0 in weightipy; it is kept at its own share instead (a note says so). With a
    cap the margins are met as closely as the cap allows (see :attr:`RakeResult.max_error`).
    """
    import weightipy

    if trim is not None and not trim > 1:
        raise ValueError(f"trim must be a number above 1 (a cap on weight / mean weight), "
                         f"got {trim!r}")
    data = pd.DataFrame({v: _levels(sample[v]).to_numpy() for v in targets}, index=range(len(sample)))
    notes: list[str] = []
    scheme: dict[str, dict[str, float]] = {}
    for v, raw in targets.items():
        total = float(sum(raw.values()))
        shares = {str(k): 100 * float(x) / total for k, x in raw.items() if x > 0}
        present = set(data[v])
        gone = [k for k in shares if k not in present]
        if gone:
            notes.append(f"{v}: no respondent in {', '.join(gone)} "
                         f"({sum(shares[k] for k in gone):.1f} % of the target); the other "
                         "levels are weighted to their shares among the rest")
        extra = sorted(present - set(shares))
        if extra:
            own = 100 * data[v].isin(extra).mean()
            notes.append(f"{v}: {', '.join(extra)} not in the target; kept at the sample's "
                         f"{own:.1f} %")
            kept = {k: s for k, s in shares.items() if k in present}
            scale = (100 - own) / sum(kept.values())
            shares = {**{k: s * scale for k, s in kept.items()},
                      **{k: 100 * float((data[v] == k).mean()) for k in extra}}
        else:
            kept = {k: s for k, s in shares.items() if k in present}
            scale = 100 / sum(kept.values())
            shares = {k: s * scale for k, s in kept.items()}
        scheme[v] = shares
    if len(data) == 0:
        return RakeResult(np.empty(0), pd.DataFrame(columns=["variable", "level", "target",
                                                             "unweighted", "weighted"]))
    params = {"max_iterations": max_iterations, "cap": trim if trim is not None else 0}
    rim = weightipy.scheme_from_dict(scheme, name="vq", rim_params=params)
    # weightipy prints its convergence messages; the margins reached are reported instead
    with contextlib.redirect_stdout(io.StringIO()):
        w = weightipy.weight(data, rim).to_numpy(float)
    w = w / w.mean()
    rows = []
    for v, shares in scheme.items():
        col = data[v]
        for level in sorted(set(shares) | set(col)):
            mine = (col == level).to_numpy()
            rows.append((v, level, shares.get(level, 0.0), 100 * mine.mean(),
                         100 * w[mine].sum() / w.sum()))
    margins = pd.DataFrame(rows, columns=["variable", "level", "target", "unweighted",
                                          "weighted"])
    trimmed = int(np.isclose(w, w.max()).sum()) if trim is not None and \
        w.max() >= trim * 0.999 else 0
    iterations = max((int(g.get("iterations") or 0) for g in rim.groups.values()), default=0)
    return RakeResult(w, margins, iterations, trimmed, tuple(notes))
