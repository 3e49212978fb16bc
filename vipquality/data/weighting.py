"""Survey weights and the invited clients of a quarter, from the store's tables.

- :func:`quarter_weights`: each response of a quarter raked to the CRM margins of the clients
  invited that quarter (``weighting.target: invited``) or of the whole VIP book (``book``: the
  clients in the universe of segments.yaml), on the variables named in workspace.yaml
  (``weighting.variables``), capped at ``weighting.trim`` × the mean weight
  (:func:`vipquality.metrics.raking.rake`, weightipy). Ingest stores the result in the
  ``weights`` table; :func:`vipquality.data.store.load_responses` multiplies the responses'
  ``weight`` column by it when weighting is on, so every metric takes the weighted path
  (weighted shares, Kish effective base).
- :func:`invited_clients`: one row per client invited in a quarter with ``responded`` and the
  client's CRM characteristics (the input of :mod:`vipquality.metrics.response`).

Examples
--------
>>> from vipquality.config import Weighting
>>> responses = pd.DataFrame({"quarter": "2026Q1", "response_id": ["R1", "R2", "R3", "R4"],
...                           "client_id": ["A", "B", "C", "D"]})
>>> clients = pd.DataFrame({"client_id": list("ABCDEFGH"),
...                         "tier": ["Private"] + ["Premium"] * 3 + ["Private"] * 3 + ["Premium"]})
>>> invitations = pd.DataFrame({"client_id": list("ABCDEFGH")})
>>> w, notes = quarter_weights(responses, clients, invitations, Weighting(True, "invited", ("tier",)))
>>> w["weight"].round(3).tolist(), notes
([2.0, 0.667, 0.667, 0.667], [])
"""

from __future__ import annotations

import typing as t

import numpy as np
import pandas as pd

from vipquality.errors import DataError
from vipquality.metrics.raking import RakeResult, population_margins, quantile_bands, rake

__all__ = [
    "SMD_CHARACTERISTICS",
    "invited_clients",
    "quarter_weights",
    "rake_quarter",
    "weighting_summary",
    "who_answered",
]

#: The CRM characteristics compared between responders and non-responders (those present).
SMD_CHARACTERISTICS = ("tier", "client_type", "lifetime_value", "last_transaction", "products")


def _variables(sample: pd.DataFrame, population: pd.DataFrame, variables: t.Sequence[str],
               bands: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The weighting variables of the respondents and the target population, numbers and dates
    cut at the population's quantiles (``Q1`` … lowest)."""
    s_out, p_out = pd.DataFrame(index=sample.index), pd.DataFrame(index=population.index)
    for v in variables:
        if v not in population.columns:
            raise DataError(f"weighting variable {v!r} is not a CRM column "
                            f"(workspace.yaml weighting.variables)")
        s, p = sample[v], population[v]
        if pd.api.types.is_datetime64_any_dtype(p) or (
                p.dtype == object and p.dropna().map(lambda x: hasattr(x, "year")).all()
                and p.notna().any()):
            s, p = pd.to_datetime(s).astype("int64").where(s.notna()), \
                pd.to_datetime(p).astype("int64").where(p.notna())
            s, p = quantile_bands(s, p, bands)
        elif pd.api.types.is_numeric_dtype(p) and not pd.api.types.is_bool_dtype(p):
            s, p = quantile_bands(s, p, bands)
        s_out[v], p_out[v] = s.to_numpy(), p.to_numpy()
    return s_out, p_out


def rake_quarter(responses: pd.DataFrame, clients: pd.DataFrame, population_ids: pd.Series,
                 settings) -> RakeResult:
    """The responses of one quarter raked to the margins of ``population_ids`` (client ids)
    in that quarter's CRM extract ``clients``; ``settings`` is a
    :class:`vipquality.config.Weighting`."""
    crm = clients.drop_duplicates("client_id").set_index("client_id")
    sample = crm.reindex(responses["client_id"].astype(str).to_numpy()).reset_index(drop=True)
    population = crm.loc[crm.index.intersection(pd.Index(population_ids.astype(str).unique()))]
    s, p = _variables(sample, population.reset_index(drop=True), settings.variables,
                      settings.bands)
    return rake(s, population_margins(p, list(settings.variables)), trim=settings.trim)


def quarter_weights(responses: pd.DataFrame, clients: pd.DataFrame,
                    invitations: pd.DataFrame | None, settings,
                    book: pd.Series | None = None) -> tuple[pd.DataFrame | None, list[str]]:
    """The raking weights of one quarter's responses and what to say about them.

    Parameters
    ----------
    responses : DataFrame
        ``quarter, response_id, client_id`` of the quarter.
    clients : DataFrame
        The quarter's CRM extract (canonical columns).
    invitations : DataFrame or None
        The quarter's invitations (``client_id``); ``None`` or empty: none were imported.
    settings : vipquality.config.Weighting
    book : Series, optional
        Client ids of the whole VIP book (the universe); default: every client of ``clients``.

    Returns
    -------
    (DataFrame or None, list of str)
        ``quarter, response_id, weight`` (mean 1 over the quarter) or ``None`` when weighting
        is off or there is nothing to weight; warnings (the target used when the invitations
        are missing, margins that could not be met, the design effect).
    """
    if not settings.enabled or responses.empty:
        return None, []
    quarter = str(responses["quarter"].iloc[0])
    notes: list[str] = []
    target = settings.target
    if target == "invited" and (invitations is None or invitations.empty):
        notes.append(f"weighting {quarter}: no invitations file, so the responses are weighted "
                     "to the whole VIP book instead of the clients invited")
        target = "book"
    ids = invitations["client_id"] if target == "invited" else (
        book if book is not None else clients["client_id"])
    result = rake_quarter(responses, clients, ids, settings)
    notes += [f"weighting {quarter}: {n}" for n in result.notes]
    if result.max_error > 1.0:
        notes.append(f"weighting {quarter}: margins met within {result.max_error:.1f} points only "
                     f"(cap {settings.trim:g} × the mean weight)")
    out = pd.DataFrame({"quarter": quarter,
                        "response_id": responses["response_id"].astype(str).to_numpy(),
                        "weight": np.asarray(result.weights, dtype=float)})
    return out, notes


def invited_clients(invitations: pd.DataFrame, responses: pd.DataFrame, clients: pd.DataFrame,
                    memberships: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per client invited in a quarter: ``responded`` (the client answered that
    quarter), the client's CRM columns and, with ``memberships``, one row per segment the
    client is in (column ``segment``).

    All frames are of one quarter. Restricted: the result holds client ids (the metrics of
    :mod:`vipquality.metrics.response` drop them).
    """
    invited = invitations.groupby("client_id", sort=True).agg(
        invitations=("client_id", "size")).reset_index()
    answered = set(responses["client_id"].dropna().astype(str))
    invited["responded"] = invited["client_id"].astype(str).isin(answered)
    crm = clients.drop(columns=[c for c in ("quarter", "source_file", "source_row")
                                if c in clients.columns]).drop_duplicates("client_id")
    out = invited.merge(crm, on="client_id", how="left")
    if memberships is not None:
        seg = memberships[["client_id", "segment"]]
        out = out.merge(seg, on="client_id", how="inner")
    return out.reset_index(drop=True)


def weighting_summary(workspace, quarter: str) -> dict[str, t.Any]:
    """What the weighting does to the quarter's NPS of all VIP clients: ``enabled`` and, when
    on, ``target``, ``variables``, ``trim``, ``nps_weighted`` (with ``ci_low``, ``ci_high``),
    ``nps_unweighted``, ``n`` (answers), ``kish_n`` (effective base) and ``deff``
    (n / kish_n)."""
    from vipquality.data.store import load_memberships, load_responses
    from vipquality.metrics.nps import nps

    settings = workspace.weighting
    if not settings.enabled:
        return {"enabled": False}
    conf = workspace.reporting.confidence
    raw = load_responses(workspace, [quarter], weighted=False)
    weighted = load_responses(workspace, [quarter])
    members = load_memberships(workspace, [quarter])
    inside = set(members.loc[members["segment"] == "all", "client_id"])
    keep = (weighted["client_id"].isin(inside) & weighted["nps"].notna()).to_numpy()
    if not keep.any():
        return {"enabled": False}
    scores = weighted.loc[keep, "nps"].astype("float64")
    before = nps(scores, weights=raw.loc[keep, "weight"].to_numpy(float), confidence=conf)
    after = nps(scores, weights=weighted.loc[keep, "weight"].to_numpy(float), confidence=conf)
    n = int(keep.sum())
    return {"enabled": True, "target": settings.target, "variables": list(settings.variables),
            "trim": settings.trim, "nps_weighted": after.value, "nps_unweighted": before.value,
            "ci_low": after.ci_low, "ci_high": after.ci_high, "n": n, "kish_n": after.n,
            "deff": n / after.n if after.n else np.nan}


def who_answered(workspace, quarter: str) -> dict[str, t.Any]:
    """The aggregates of a quarter's "Who answered" section, from the store; no client id.

    Returns
    -------
    dict
        ``segments`` (response rates per segment, :func:`vipquality.metrics.response.
        response_rates`), ``branches``, ``managers`` (restricted: staff data), ``smd``
        (:func:`vipquality.metrics.response.standardised_differences` of the characteristics of
        :data:`SMD_CHARACTERISTICS`, all invited clients), ``fatigue`` (``clients``, ``invited``:
        clients invited more than ``fatigue_limit`` times in the 12 months to the quarter's end,
        out of the clients invited this quarter; ``by_tier``), ``weighting`` (``enabled``,
        ``nps_weighted``, ``nps_unweighted``, ``n``, ``kish_n``, ``deff`` of all VIP clients, or
        empty) and ``invited`` (0: the quarter has no invitations file; nothing else is filled).
    """
    from vipquality.data.store import (
        load_clients,
        load_invitations,
        load_memberships,
        load_responses,
    )
    from vipquality.metrics.response import (
        contact_fatigue,
        response_rates,
        standardised_differences,
    )

    conf = workspace.reporting.confidence
    out: dict[str, t.Any] = {"invited": 0, "weighting": weighting_summary(workspace, quarter)}
    invitations = load_invitations(workspace, [quarter])
    responses = load_responses(workspace, [quarter], weighted=False)
    members = load_memberships(workspace, [quarter])
    if invitations.empty:
        return out
    clients = load_clients(workspace, [quarter])
    invited = invited_clients(invitations, responses, clients)
    by_segment = invited_clients(invitations, responses, clients, members)
    out["invited"] = len(invited)
    out["segments"] = response_rates(by_segment, ["segment"], conf)
    out["branches"] = response_rates(invited, ["branch"], conf) if "branch" in invited else None
    out["managers"] = (response_rates(invited, ["branch", "manager_id"], conf)
                       if {"branch", "manager_id"} <= set(invited.columns) else None)
    present = [c for c in SMD_CHARACTERISTICS if c in invited.columns]
    end = workspace.quarter(quarter).end
    out["smd"] = standardised_differences(invited, present, lists=["products"], as_of=end)
    history = load_invitations(workspace, [q for q in workspace.quarters() if q <= quarter])
    if "tier" in clients.columns:
        history = history.merge(clients[["client_id", "tier"]], on="client_id", how="left")
    tired = contact_fatigue(history, end, limit=workspace.fatigue_limit)
    tired = tired[tired["client_id"].isin(set(invited["client_id"]))]
    out["fatigue"] = {"clients": len(tired), "invited": len(invited),
                      "limit": workspace.fatigue_limit,
                      "by_tier": (tired["tier"].fillna("(missing)").value_counts().sort_index()
                                  .to_dict() if "tier" in tired else {})}
    return out
