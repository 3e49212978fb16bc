"""Follow-up cases: which responses open one (``cases.yaml``), for whom, and by when.

:func:`open_cases` turns a quarter's responses, its CRM extract and its segment memberships into
one row per case; :func:`due_dates` and :func:`working_days` count on the workspace's
working-day calendar (numpy's business-day functions, which take a week mask and holidays, so
the calendar is not written by hand); :func:`load_cases` does it for a quarter of the store.

A case's id is ``C-<response_id>``: stable (the same response always opens the same case) and
unique (response ids are unique across quarters). Without the client's consent to be contacted
(the consent item of ``cases.yaml``; a blank or missing answer is not consent) the case keeps
no client id: it is for the branch's learning only, and no manager is asked to call.

>>> import datetime as dt
>>> from vipquality.config import load_workspace
>>> rules = load_workspace().cases
>>> [str(d) for d in due_dates([dt.date(2026, 5, 8)], ["Private"], rules)]  # Fri, then 11 May off
['2026-05-12']
"""

from __future__ import annotations

import datetime as dt
import typing as t

import numpy as np
import pandas as pd

from vipquality.config import CaseRules, Workspace
from vipquality.data.segments import evaluate
from vipquality.errors import DataError

__all__ = ["CASE_COLUMNS", "STATUS_COLUMNS", "case_id", "case_status", "client_names",
           "due_dates", "load_cases", "open_cases", "working_days"]

#: Columns of :func:`open_cases`, in order.
CASE_COLUMNS = ["case_id", "quarter", "response_id", "client_id", "consent", "tier", "segments",
                "manager_id", "branch", "nps", "ces", "overall", "comment", "opened", "due",
                "sla_days"]

#: Columns :func:`case_status` adds to the cases.
STATUS_COLUMNS = ["status", "first_contact", "days_to_contact", "contacted_in_sla", "resolved",
                  "resolved_on", "root_cause", "overdue", "updates"]

_PREFIX = "C-"
#: Order of statuses given on the same day (the later one is the state).
_STATUS_ORDER = {"unreachable": 0, "contacted": 1, "escalated": 2, "resolved": 3}


def case_id(response_ids: t.Iterable[str]) -> list[str]:
    """The case id of each response: ``C-<response_id>``.

    >>> case_id(["R2026Q2-00017"])
    ['C-R2026Q2-00017']
    """
    return [f"{_PREFIX}{r}" for r in response_ids]


def _days(values: t.Iterable) -> np.ndarray:
    return pd.to_datetime(pd.Series(list(values), dtype=object)).to_numpy().astype("datetime64[D]")


def due_dates(opened: t.Iterable, tiers: t.Iterable[str | None], rules: CaseRules) -> np.ndarray:
    """The date by which each case must be contacted: ``sla(tier)`` working days after the
    day it opened (a case opened on a weekend or holiday counts from the next working day).

    Returns an array of ``datetime64[D]``.

    >>> from vipquality.config import load_workspace
    >>> rules = load_workspace().cases
    >>> [str(d) for d in due_dates(["2025-12-30", "2025-12-30"], ["Private", "Premium"], rules)]
    ['2026-01-12', '2026-01-14']
    """
    days = _days(opened)
    sla = np.array([rules.sla(None if pd.isna(x) else x) for x in tiers], dtype=int)
    holidays = np.array(rules.holidays, dtype="datetime64[D]")
    return np.busday_offset(days, sla, roll="forward", weekmask=rules.weekmask,
                            holidays=holidays)


def working_days(start: t.Iterable, end: t.Iterable, rules: CaseRules) -> np.ndarray:
    """Working days from ``start`` to ``end`` (0: the same working day; NaN where ``end`` is
    missing). A start on a weekend or holiday counts from the next working day.

    >>> from vipquality.config import load_workspace
    >>> rules = load_workspace().cases
    >>> working_days(["2026-05-08", "2026-05-08"], ["2026-05-12", None], rules).tolist()
    [1.0, nan]
    """
    a, b = _days(start), _days(end)
    holidays = np.array(rules.holidays, dtype="datetime64[D]")
    out = np.full(len(a), np.nan)
    ok = ~np.isnat(a) & ~np.isnat(b)
    if ok.any():
        first = np.busday_offset(a[ok], 0, roll="forward", weekmask=rules.weekmask,
                                 holidays=holidays)
        out[ok] = np.busday_count(first, b[ok], weekmask=rules.weekmask, holidays=holidays)
    return out


def open_cases(responses: pd.DataFrame, clients: pd.DataFrame, rules: CaseRules,
               memberships: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cases a quarter's responses open.

    Parameters
    ----------
    responses : DataFrame
        Stored responses (``quarter, response_id, client_id, submitted_at, nps, ces, overall,
        comment``, and ``consent`` when the instrument asks for it). Not modified.
    clients : DataFrame
        The CRM extract as of the quarter (``client_id``, ``manager_id``, ``branch`` and the
        tier column ``rules.tier_field``).
    rules : CaseRules
        ``workspace.cases``.
    memberships : DataFrame, optional
        ``client_id, segment`` of the quarter; each case lists its client's segments.

    Returns
    -------
    DataFrame
        :data:`CASE_COLUMNS`, one row per case, sorted by ``case_id``. ``client_id`` is missing
        where ``consent`` is false; ``opened`` is the submission date, ``due`` the SLA date.

    Raises
    ------
    DataError
        A column the rules need is missing.

    Examples
    --------
    >>> from vipquality.config import load_workspace
    >>> rules = load_workspace().cases
    >>> r = pd.DataFrame({"quarter": "2026Q2", "response_id": ["a", "b", "c"],
    ...                   "client_id": ["K1", "K2", "K3"], "nps": [6, 7, 9], "ces": [5, 6, 7],
    ...                   "overall": [8, 8, 9], "comment": None, "consent": [True, False, True],
    ...                   "submitted_at": pd.to_datetime(["2026-05-08 18:00"] * 3)})
    >>> c = pd.DataFrame({"client_id": ["K1", "K2", "K3"], "tier": ["Premium", "Private", "Private"],
    ...                   "manager_id": "M1", "branch": "B1"})
    >>> open_cases(r, c, rules)[["case_id", "client_id", "tier", "due"]].to_string(index=False)
    'case_id client_id    tier        due\\n    C-a        K1 Premium 2026-05-14\\n    C-b      <NA> Private 2026-05-12'
    """
    need = {"quarter", "response_id", "client_id", "submitted_at", "nps"}
    missing = sorted(need - set(responses.columns))
    if missing:
        raise DataError(f"the responses have no column(s) {missing} needed to open cases",
                        column=missing[0])
    tier = rules.tier_field
    for col in ("client_id", tier):
        if col not in clients.columns:
            raise DataError(f"the CRM extract has no column {col!r} needed to open cases "
                            f"(cases.yaml tier_field)", column=col)
    crm_cols = [c for c in ("client_id", tier, "manager_id", "branch") if c in clients.columns]
    crm = clients[crm_cols].drop_duplicates("client_id")
    r = responses.drop(columns=[c for c in crm_cols[1:] if c in responses.columns])
    r = r.merge(crm, on="client_id", how="left")
    for role in ("ces", "overall", "comment", "consent", "manager_id", "branch"):
        if role not in r.columns:
            r[role] = pd.NA
    opens = np.zeros(len(r), dtype=bool)
    tiers = r[tier].astype("string")
    for value in [None, *rules.tier_rules]:
        mask = (tiers.isna() | ~tiers.isin(list(rules.tier_rules))) if value is None \
            else (tiers == value).fillna(False)
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            hit = evaluate(rules.rule(value), r.loc[mask, ["nps", "ces", "overall"]],
                           dt.date(2000, 1, 1))  # answers only: no date rules
            opens[np.flatnonzero(mask)[hit.to_numpy(dtype=bool)]] = True
    r = r[opens].reset_index(drop=True)

    consent = r["consent"].astype("boolean").fillna(False).to_numpy(dtype=bool) \
        if rules.consent_column else np.ones(len(r), dtype=bool)
    segs = pd.Series([""] * len(r), dtype=object)
    if memberships is not None and len(memberships) and len(r):
        by_client = (memberships.sort_values(["client_id", "segment"])
                     .groupby("client_id")["segment"].agg(";".join))
        segs = r["client_id"].map(by_client).fillna("")
    opened = _days(r["submitted_at"])
    out = pd.DataFrame({
        "case_id": case_id(r["response_id"]),
        "quarter": r["quarter"].astype(str),
        "response_id": r["response_id"].astype(str),
        "client_id": r["client_id"].where(consent, None).astype("string"),
        "consent": consent,
        "tier": r[tier].astype("string"),
        "segments": segs.astype(str).to_numpy(),
        "manager_id": r["manager_id"].astype("string"),
        "branch": r["branch"].astype("string"),
        "nps": r["nps"].astype("Int8"),
        "ces": r["ces"].astype("Int8"),
        "overall": r["overall"].astype("Int8"),
        "comment": r["comment"].astype("string"),
        "opened": opened,
        "due": due_dates(opened, r[tier], rules) if len(r) else opened,
        "sla_days": [rules.sla(None if pd.isna(x) else x) for x in r[tier]],
    }, columns=CASE_COLUMNS)
    out["sla_days"] = out["sla_days"].astype(int)
    return out.sort_values("case_id", kind="stable").reset_index(drop=True)


def load_cases(workspace: Workspace, quarters: str | t.Iterable[str]) -> pd.DataFrame:
    """The cases opened in ``quarters`` (each against its own CRM extract and memberships),
    from the store; empty (with :data:`CASE_COLUMNS`) when the workspace has no ``cases.yaml``.

    Raises
    ------
    StoreError
        No store, or a quarter is not stored.
    """
    from vipquality.data.store import load_clients, load_memberships, load_responses

    if isinstance(quarters, str):
        quarters = [quarters]
    frames = []
    if workspace.cases is not None:
        for q in quarters:
            frames.append(open_cases(load_responses(workspace, q), load_clients(workspace, q),
                                     workspace.cases, load_memberships(workspace, q)))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CASE_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def case_status(cases: pd.DataFrame, updates: pd.DataFrame, rules: CaseRules,
                as_of: dt.date) -> pd.DataFrame:
    """The state of each case on ``as_of`` from its updates, read in date order (whatever order
    they arrived in; updates dated after ``as_of`` are not yet known).

    Adds :data:`STATUS_COLUMNS` to ``cases`` (a copy): ``status`` (the latest update's status,
    ``open`` without one; on one day: unreachable < contacted < escalated < resolved),
    ``first_contact`` (the first contacted/escalated/resolved day), ``days_to_contact`` (working
    days from opening), ``contacted_in_sla`` (first contact on or before ``due``; missing for
    cases without consent, which nobody is asked to call, and for cases not contacted yet whose
    due date has not passed), ``resolved`` and ``resolved_on``,
    ``root_cause`` (the latest code given), ``overdue`` (consent, not contacted, ``due`` before
    ``as_of``) and ``updates`` (how many).

    >>> from vipquality.config import load_workspace
    >>> rules = load_workspace().cases
    >>> cases = pd.DataFrame({"case_id": ["C-a", "C-b"], "consent": [True, True],
    ...                       "opened": pd.to_datetime(["2026-04-06"] * 2),
    ...                       "due": pd.to_datetime(["2026-04-07"] * 2)})
    >>> upd = pd.DataFrame({"case_id": ["C-a", "C-a"], "status": ["resolved", "contacted"],
    ...                     "date": pd.to_datetime(["2026-04-10", "2026-04-08"]),
    ...                     "root_cause": ["pricing", None]})
    >>> s = case_status(cases, upd, rules, dt.date(2026, 4, 30))
    >>> s[["status", "days_to_contact", "contacted_in_sla", "root_cause", "overdue"]].values.tolist()
    [['resolved', 2.0, False, 'pricing', False], ['open', nan, False, None, True]]
    """
    out = cases.copy()
    u = updates[updates["case_id"].isin(out["case_id"])].copy() if len(updates) else updates
    day = pd.Timestamp(as_of)
    if len(u):
        u["date"] = pd.to_datetime(u["date"])
        u = u[u["date"] <= day]
        u["_order"] = u["status"].map(_STATUS_ORDER)
        u = u.sort_values(["case_id", "date", "_order"], kind="stable")
    if not len(u):
        u = pd.DataFrame({"case_id": pd.Series(dtype=object), "status": pd.Series(dtype=object),
                          "date": pd.Series(dtype="datetime64[ns]"),
                          "root_cause": pd.Series(dtype=object)})
    g = u.groupby("case_id", sort=False)
    last = g["status"].last()
    reached = u[u["status"] != "unreachable"].groupby("case_id")["date"].min()
    done = u[u["status"] == "resolved"].groupby("case_id")["date"].min()
    causes = u[u["root_cause"].notna() & (u["root_cause"].astype(str) != "")]
    cause = causes.groupby("case_id")["root_cause"].last()
    ids = out["case_id"]
    out["status"] = ids.map(last.astype(object)).astype(object).where(ids.isin(last.index),
                                                                      "open")

    def dates(by_case: pd.Series) -> pd.Series:  # (Series.map of an empty datetime Series
        return pd.to_datetime(ids.map(by_case.astype(object)))  # fails: map objects)

    out["first_contact"] = dates(reached)
    out["days_to_contact"] = working_days(out["opened"], out["first_contact"], rules) \
        if len(out) else np.array([], dtype=float)
    consent = out["consent"].astype(bool).to_numpy()
    in_sla = (out["first_contact"].notna() & (out["first_contact"] <= pd.to_datetime(out["due"])))
    out["contacted_in_sla"] = pd.array(np.where(consent, in_sla, False), dtype="boolean")
    out.loc[~consent, "contacted_in_sla"] = pd.NA
    # not contacted yet and not yet due: undecided (neither within nor outside the SLA)
    waiting = out["first_contact"].isna() & (pd.to_datetime(out["due"]) >= day)
    out.loc[waiting.to_numpy(), "contacted_in_sla"] = pd.NA
    out["resolved_on"] = dates(done)
    out["resolved"] = out["resolved_on"].notna()
    out["root_cause"] = ids.map(cause).astype(object).where(ids.map(cause).notna(), None)
    out["overdue"] = consent & out["first_contact"].isna().to_numpy() & \
        (pd.to_datetime(out["due"]) < day).to_numpy()
    out["updates"] = ids.map(g.size()).fillna(0).astype(int)
    return out


def client_names(workspace: Workspace, quarter: str, client_ids: t.Iterable[str]) -> dict[str, str]:
    """The names of ``client_ids`` from the quarter's raw CRM extract (the personal column of
    workspace.yaml whose name contains "name"), for the managers' own case lists only: names are
    never stored, so they are read again from the file the CRM delivered. ``{}`` when the
    extract has no such column.
    """
    import fnmatch

    from vipquality.data.readers import read_table

    wanted = {str(c) for c in client_ids if isinstance(c, str)}
    name_cols = [p for p in workspace.personal_columns if "name" in p.casefold()]
    qdir = workspace.quarter_dir(quarter)
    if not wanted or not name_cols or not qdir.is_dir():
        return {}
    patterns = [p.casefold() for p in workspace.quarter_files.get("clients", ())]
    out: dict[str, str] = {}
    for path in sorted(qdir.iterdir()):
        if not path.is_file() or not any(fnmatch.fnmatchcase(path.name.casefold(), p)
                                         for p in patterns):
            continue
        raw = read_table(path)
        id_col = workspace.client_columns["client_id"]
        cols = {" ".join(c.split()).casefold(): c for c in raw.columns}
        name_col = next((cols[k] for k in (" ".join(n.split()).casefold() for n in name_cols)
                         if k in cols), None)
        if id_col not in raw.columns or name_col is None:
            continue
        ids, names = raw.data[id_col].str.strip(), raw.data[name_col].str.strip()
        keep = ids.isin(wanted) & (names != "")
        out.update(zip(ids[keep], names[keep]))
    return out
