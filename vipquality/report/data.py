"""The shared tables of a quarterly report, computed once per run and read by every notebook.

A quarterly run calls :func:`compute_report_data` once, saves the tables with
:meth:`ReportData.save` into the run's staging folder and passes that folder to each notebook,
which only loads them (:func:`report_data`). A quality manager opening a notebook in JupyterLab
without a data folder gets the same tables computed on the fly.

Every table here is an aggregate: no client id, name or contact is ever stored in it, and no
comment except ``theme_quotes``: short scrubbed quotes the quote rules allow
(:mod:`vipquality.data.quotes`), text alone.
Tables meant for executives are redacted (:func:`vipquality.metrics.summarise.redact`) when they are
shown; the manager table is for the restricted staff view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vipquality.config import ALL_SEGMENT, Quarter, Reporting, Workspace, load_workspace
from vipquality.data.atoms import disclosure_atoms
from vipquality.data.ingest.refresh import ensure_store
from vipquality.data.summary import summarise_workspace
from vipquality.errors import DataError, StoreError
from vipquality.metrics.compliance import standard_compliance

__all__ = ["ReportData", "compute_report_data", "report_data", "segment_responses"]


@dataclass
class ReportData:
    """Aggregated tables for one quarter's report.

    Attributes
    ----------
    quarter, previous : str
        The reported quarter and the one it is compared with (``""`` when none).
    quarters : list of str
        The trend window (at most ``reporting.trend_quarters``), oldest first.
    segments : DataFrame
        ``segment, label, family, report`` for the segments shown (``all`` first).
    metrics : DataFrame
        :func:`summarise` by quarter × segment over the window (tidy; see docs/architecture.md).
    branches, managers : DataFrame
        :func:`summarise` by quarter × segment × branch (× manager_id) for the quarter and the
        previous one. ``managers`` is staff data: shown by manager code only.
    composition : DataFrame
        ``quarter, segment, n, promoters, passives, detractors`` (shares in %).
    ces_counts : DataFrame
        ``segment, score, count, share`` for the quarter.
    drivers : DataFrame
        ``segment, attribute, label, raw_weight, rescaled, ci_low, ci_high, performance, n``:
        Johnson's relative weights of the attributes on the NPS item, per segment, for the
        quarter (segments whose base is under the suppression threshold are left out).
    standards : DataFrame
        ``quarter, segment, standard_id, title, n, value, ci_low, ci_high, se, target,
        attributes, version`` — compliance of each standard per segment and quarter.
    atoms : DataFrame
        ``quarter, atom, branch, metric, n``: the finest groups ``metrics`` and ``branches`` are
        sums of (:func:`vipquality.data.atoms.disclosure_atoms`), for the cross-table disclosure
        audit of :func:`vipquality.report.executive.executive_table`. Counts only.
    complements : DataFrame
        ``table, row``: the cells that audit hides besides the per-table rule, once
        :func:`vipquality.report.executive.settle_suppression` has run (a quarterly run does,
        before saving; ``settings["complements_settled"]``).
    scorecard, proposals, revisions : DataFrame
        :func:`vipquality.standards.scorecard.scorecard`, :func:`vipquality.standards.proposals.propose` and
        :func:`vipquality.standards.revisions.revision_effects` for the quarter (standards review).
    drivers_overall : DataFrame
        Key drivers of overall satisfaction (:func:`vipquality.metrics.drivers.key_drivers`), with the
        ordinal-model cross-check; empty when the instrument has no overall item.
    revision_attributes, revision_checks : DataFrame
        Linked attributes before / after each revision, and robustness checks of its effect
        (branch-level estimate, placebo date): :mod:`vipquality.standards.revisions`.
    agenda, impacts : DataFrame
        The quarter's standards agenda (:func:`vipquality.standards.agenda.agenda`: one
        proposal per standard × action, gated and ranked by expected NPS impact) and the
        what-if behind each detailed proposal (:func:`vipquality.standards.agenda.proposal_impacts`);
        ``settings["agenda_assumptions"]`` holds the sentences stating their assumptions.
    loop_segments, loop_branches, loop_managers, loop_causes, loop_recovery : DataFrame
        The follow-up loop of the quarter's cases (:func:`vipquality.standards.cases.loop_tables`):
        by segment, branch, and branch × manager (``loop_managers``: restricted views only),
        root causes ranked by branch, and the recovery of last quarter's detractors. Aggregates
        only; empty without ``cases.yaml``.
    themes, theme_quotes : DataFrame
        What clients say (:func:`vipquality.report.themes.theme_tables`): the comment themes'
        share, NPS impact and cost by quarter × segment (the quarter and the previous one;
        ``settings["theme_labels"]``, ``settings["theme_attributes"]``), and up to three quotes
        per segment × theme (``segment, theme, quote``). Empty without ``themes.yaml``.
    """

    quarter: str
    previous: str
    quarters: list[str]
    segments: pd.DataFrame
    metrics: pd.DataFrame
    branches: pd.DataFrame
    managers: pd.DataFrame
    composition: pd.DataFrame
    ces_counts: pd.DataFrame
    drivers: pd.DataFrame
    standards: pd.DataFrame
    atoms: pd.DataFrame = field(default_factory=pd.DataFrame)
    complements: pd.DataFrame = field(default_factory=pd.DataFrame)
    scorecard: pd.DataFrame = field(default_factory=pd.DataFrame)
    proposals: pd.DataFrame = field(default_factory=pd.DataFrame)
    revisions: pd.DataFrame = field(default_factory=pd.DataFrame)
    drivers_overall: pd.DataFrame = field(default_factory=pd.DataFrame)
    revision_attributes: pd.DataFrame = field(default_factory=pd.DataFrame)
    revision_checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    agenda: pd.DataFrame = field(default_factory=pd.DataFrame)
    impacts: pd.DataFrame = field(default_factory=pd.DataFrame)
    loop_segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    loop_branches: pd.DataFrame = field(default_factory=pd.DataFrame)
    loop_managers: pd.DataFrame = field(default_factory=pd.DataFrame)
    loop_causes: pd.DataFrame = field(default_factory=pd.DataFrame)
    loop_recovery: pd.DataFrame = field(default_factory=pd.DataFrame)
    themes: pd.DataFrame = field(default_factory=pd.DataFrame)
    theme_quotes: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: branches of the quarter whose visits a flagged (lenient or severe) shopper made mostly:
    #: ``quarter, branch, visits, share, direction, caveat`` (no shopper id; issue 16)
    shopper_caveats: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict = field(default_factory=dict)

    _TABLES = ("segments", "metrics", "branches", "managers", "composition", "ces_counts",
               "drivers", "standards", "atoms", "complements", "scorecard", "proposals",
               "revisions",
               "drivers_overall",
               "revision_attributes", "revision_checks", "agenda", "impacts",
               "loop_segments", "loop_branches", "loop_managers", "loop_causes", "loop_recovery",
               "themes", "theme_quotes", "shopper_caveats")

    def save(self, directory: str | Path) -> Path:
        """Write every table as Parquet plus ``meta.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in self._TABLES:
            getattr(self, name).to_parquet(directory / f"{name}.parquet", index=False)
        meta = {"quarter": self.quarter, "previous": self.previous, "quarters": self.quarters,
                "settings": self.settings}
        (directory / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "ReportData":
        """Read what :meth:`save` wrote."""
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not meta_path.exists():
            raise StoreError(f"{directory}: no report data here (meta.json missing)")
        meta = json.loads(meta_path.read_text())
        tables = {name: pd.read_parquet(directory / f"{name}.parquet") for name in cls._TABLES}
        return cls(quarter=meta["quarter"], previous=meta["previous"], quarters=meta["quarters"],
                   settings=meta.get("settings", {}), **tables)

    # Small conveniences for the notebooks -------------------------------------------------
    @property
    def thresholds(self) -> dict[str, int]:
        """The workspace's base thresholds (``base_suppress``, ``base_small``), as the keyword
        arguments of the chart, table and narrative functions."""
        default = Reporting()
        return {"base_suppress": int(self.settings.get("base_suppress", default.base_suppress)),
                "base_small": int(self.settings.get("base_small", default.base_small))}

    def segment_label(self, segment: str) -> str:
        """The display label of a segment id."""
        match = self.segments.loc[self.segments["segment"] == segment, "label"]
        return str(match.iloc[0]) if len(match) else segment

    def current(self, table: str = "metrics", segment: str | None = None) -> pd.DataFrame:
        """Rows of ``table`` for the reported quarter (and one segment when given)."""
        frame = getattr(self, table)
        frame = frame[frame["quarter"] == self.quarter]
        if segment is not None:
            frame = frame[frame["segment"] == segment]
        return frame.reset_index(drop=True)


def _window(workspace: Workspace, quarter: str | None) -> tuple[str, str, list[str]]:
    from vipquality.data.store import stored_quarters

    available = sorted(stored_quarters(workspace))
    if not available:
        raise StoreError(f"{workspace.store_path}: the store is empty; run `vipquality ingest`")
    if quarter is None:
        quarter = available[-1]
    quarter = str(Quarter.parse(str(quarter)))
    if quarter not in available:
        raise DataError(f"quarter {quarter} is not in the store (have {', '.join(available)})")
    upto = [q for q in available if q <= quarter]
    window = upto[-workspace.reporting.trend_quarters:]
    previous = upto[-2] if len(upto) > 1 else ""
    return quarter, previous, window


def segment_responses(workspace: Workspace | str | Path | None, quarters: list[str] | str
                      ) -> pd.DataFrame:
    """The survey responses of ``quarters`` with their segments, one row per response ×
    segment (the input of :func:`vipquality.metrics.whatif.what_if` and the key drivers).

    Row-level data with client ids: for analysis in a notebook, never for a page as it is.
    ``workspace`` None is the bundled sample.

    Examples
    --------
    >>> r = segment_responses("surveys", "2026Q3")          # doctest: +SKIP
    >>> vq.what_if(r, "surveys", attribute="response_speed", by=10)  # doctest: +SKIP
    """
    ws = (workspace if isinstance(workspace, Workspace)
          else load_workspace(workspace) if workspace else load_workspace())
    return _responses_by_segment(ws, [quarters] if isinstance(quarters, str) else list(quarters))


def _responses_by_segment(workspace: Workspace, quarters: list[str]) -> pd.DataFrame:
    from vipquality.data.store import load_memberships, load_responses

    responses = load_responses(workspace, quarters=quarters)
    members = load_memberships(workspace, quarters=quarters)
    return responses.merge(members, on=["quarter", "client_id"], how="inner")


def _composition(by_segment: pd.DataFrame) -> pd.DataFrame:
    """Promoters, passives and detractors (%) per quarter × segment, weighted by the responses'
    ``weight`` (as the NPS is: promoters − detractors = NPS); ``n`` counts the answers."""
    scored = by_segment.dropna(subset=["nps"])
    score = scored["nps"].astype(float)
    w = (scored["weight"].astype(float).to_numpy() if "weight" in scored.columns
         else np.ones(len(scored)))
    flags = pd.DataFrame({
        "quarter": scored["quarter"], "segment": scored["segment"], "_w": w,
        "promoters": (score >= 9).to_numpy(float) * w,
        "passives": score.between(7, 8).to_numpy(float) * w,
        "detractors": (score <= 6).to_numpy(float) * w,
    })
    out = flags.groupby(["quarter", "segment"], observed=True).agg(
        n=("_w", "size"), _w=("_w", "sum"), promoters=("promoters", "sum"),
        passives=("passives", "sum"), detractors=("detractors", "sum"))
    for c in ("promoters", "passives", "detractors"):
        out[c] = 100 * out[c] / out["_w"]
    return out.drop(columns="_w").reset_index()


def _ces_counts(by_segment: pd.DataFrame, quarter: str, scale: tuple[int, int]) -> pd.DataFrame:
    current = by_segment[(by_segment["quarter"] == quarter)].dropna(subset=["ces"])
    counts = (current.groupby(["segment", current["ces"].astype(int)], observed=True)
              .size().rename("count").reset_index().rename(columns={"ces": "score"}))
    grid = pd.MultiIndex.from_product(
        [sorted(current["segment"].unique()), range(scale[0], scale[1] + 1)],
        names=["segment", "score"]).to_frame(index=False)
    counts = grid.merge(counts, on=["segment", "score"], how="left").fillna({"count": 0})
    counts["count"] = counts["count"].astype(int)
    totals = counts.groupby("segment")["count"].transform("sum")
    counts["share"] = np.where(totals > 0, 100 * counts["count"] / totals.where(totals > 0, 1),
                               np.nan)
    return counts


def _drivers(by_segment: pd.DataFrame, workspace: Workspace, quarter: str,
             n_boot: int, ordinal: bool = True) -> pd.DataFrame:
    """Key drivers of NPS per segment: :func:`vipquality.metrics.drivers.key_drivers` (relative
    weights with bootstrap intervals and the ordinal cross-check)."""
    from vipquality.metrics.drivers import key_drivers

    return key_drivers(by_segment, workspace, outcome="nps", quarter=quarter, n_boot=n_boot,
                       ordinal=ordinal)


def _standards(workspace: Workspace, quarters: list[str], segments: list[str]) -> pd.DataFrame:
    from vipquality.data.store import load_visits

    visits = load_visits(workspace, quarters=quarters)
    visits = pd.concat([visits, visits.assign(segment=ALL_SEGMENT)], ignore_index=True)
    visits = visits[visits["segment"].isin(segments)]
    # One call of the single-group reference implementation for every quarter × segment: the
    # group goes into the keys (standard and visit), so each group's sums are exactly those of
    # a call on that group alone (a visit appears once per segment it is counted in).
    keys = ["quarter", "segment"]
    groups = list(visits.groupby(keys, observed=True).groups)  # the groupby's order
    if groups:
        sep = "\x1f"
        group_key = visits["quarter"].astype(str) + sep + visits["segment"].astype(str) + sep
        checks = visits.assign(standard_id=group_key + visits["standard_id"].astype(str),
                               visit_id=group_key + visits["visit_id"].astype(str))
        sc = standard_compliance(checks, confidence=workspace.reporting.confidence)
        parts = sc["standard_id"].str.split(sep, n=2, expand=True)
        sc = sc.assign(standard_id=parts[2].to_numpy())
        sc.insert(0, "segment", parts[1].to_numpy())
        sc.insert(0, "quarter", parts[0].to_numpy())
        rank = {(str(q), str(g)): i for i, (q, g) in enumerate(groups)}
        position = [rank[k] for k in zip(sc["quarter"], sc["segment"])]
        out = (sc.assign(_group=position).sort_values(["_group", "standard_id"], kind="stable")
               .drop(columns="_group").reset_index(drop=True))
    else:
        out = pd.DataFrame(columns=["quarter", "segment", "standard_id", "n", "value",
                                    "ci_low", "ci_high", "se"])
    catalogue = workspace.standards
    out["title"] = out["standard_id"].map({s.id: s.title for s in catalogue.standards})
    out["target"] = [catalogue.get(s).target(seg) for s, seg in
                     zip(out["standard_id"], out["segment"])]
    out["attributes"] = out["standard_id"].map(
        {s.id: ", ".join(s.attributes) for s in catalogue.standards})
    out["version"] = [catalogue.get(s).version_at(Quarter.parse(q).end).version
                      for s, q in zip(out["standard_id"], out["quarter"])]
    return out


def _segments_table(workspace: Workspace) -> pd.DataFrame:
    rows = [{"segment": ALL_SEGMENT, "label": "All VIP clients", "family": "all", "report": True}]
    rows += [{"segment": s.id, "label": s.label, "family": s.family, "report": s.report}
             for s in workspace.segments.segments]
    return pd.DataFrame(rows)


def _with_all_compliance(workspace: Workspace, table: pd.DataFrame, quarters: list[str],
                         by: list[str], engine: str = "duckdb") -> pd.DataFrame:
    """Add compliance of the ``all`` segment (every visit), which the scenario segments lack."""
    from vipquality.data.store import load_visits
    from vipquality.metrics.summarise import summarise

    visits = load_visits(workspace, quarters=quarters).assign(segment=ALL_SEGMENT)
    if not set(by) <= set(visits.columns):
        return table
    rep = workspace.reporting
    extra = summarise(None, by=by, attributes=[], visits=visits, confidence=rep.confidence,
                      base_suppress=rep.base_suppress, base_small=rep.base_small,
                      adjustment=rep.adjustment,
                      critical_fails_visit=workspace.critical_item_fails_visit,
                      engine=engine)
    extra = extra[extra["quarter"].isin(quarters)]
    keep = ~((table["segment"] == ALL_SEGMENT) & (table["metric"] == "compliance"))
    return pd.concat([table[keep], extra], ignore_index=True).sort_values(
        [*by, "metric"], kind="stable").reset_index(drop=True)


def compute_report_data(workspace: Workspace | str | Path, quarter: str | None = None, *,
                        n_boot: int = 500, engine: str = "duckdb",
                        ordinal: bool = True, store: str | None = None) -> ReportData:
    """Compute every shared table of one quarter's report from the store.

    Parameters
    ----------
    workspace : Workspace or path
        The workspace (its store must hold the quarters; see :func:`ensure_store`).
    quarter : str, optional
        The quarter to report; default the latest in the store.
    n_boot : int, default 500
        Bootstrap resamples for the driver-weight intervals.
    engine : {"duckdb", "pandas", "spark"}, default "duckdb"
        Engine of the sufficient statistics behind ``metrics``, ``branches`` and ``managers``
        (:func:`vipquality.metrics.summarise.summarise`); every engine gives the same tables.
    ordinal : bool, default True
        Fit the ordinal cross-check of the key drivers (``ord_*`` columns of ``drivers`` and
        ``drivers_overall``; :func:`vipquality.metrics.drivers.ordinal_check`, one ordered-logit fit
        per segment and outcome, the costliest step here). No page or CSV of the quarterly run
        shows it, so ``vipquality report`` passes False (the columns are then empty and
        ``ord_note`` says "not fitted (ordinal=False)"); the relative weights do not change.
    store : str, optional
        With ``engine="spark"``: the store's folder or URL (``s3a://bucket/vq/store``) that
        Spark reads itself for ``metrics``, ``branches`` and ``managers``
        (:func:`vipquality.data.summary.summarise_workspace`), so those responses never reach
        this process; the other tables read the workspace's store as before.

    Returns
    -------
    ReportData
    """
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    quarter, previous, window = _window(ws, quarter)
    segments = _segments_table(ws)
    shown = segments.loc[segments["report"], "segment"].tolist()

    metrics = summarise_workspace(ws, quarters=window, by=["quarter", "segment"], engine=engine,
                                  store=store)
    metrics = _with_all_compliance(ws, metrics, window, ["quarter", "segment"], engine)
    recent = [q for q in (previous, quarter) if q]
    branches = summarise_workspace(ws, quarters=recent, by=["quarter", "segment", "branch"],
                                   engine=engine, store=store)
    managers = summarise_workspace(ws, quarters=recent,
                                   by=["quarter", "segment", "manager_id"], engine=engine,
                                   store=store)
    by_segment = _responses_by_segment(ws, window)
    ces_scale = tuple(ws.instrument.ces.scale) if ws.instrument.ces else (1, 7)
    settings = {"base_suppress": ws.reporting.base_suppress,
                "base_small": ws.reporting.base_small,
                "confidence": ws.reporting.confidence,
                "adjustment": ws.reporting.adjustment,
                "ces_scale": list(ces_scale),
                "attribute_labels": {a.id: a.label for a in ws.instrument.attributes},
                "workspace_name": ws.name}
    data = ReportData(
        quarter=quarter, previous=previous, quarters=window, segments=segments,
        metrics=metrics[metrics["segment"].isin(shown)].reset_index(drop=True),
        branches=branches[branches["segment"].isin(shown)].reset_index(drop=True),
        managers=managers[managers["segment"].isin(shown)].reset_index(drop=True),
        composition=_composition(by_segment[by_segment["segment"].isin(shown)]),
        ces_counts=_ces_counts(by_segment[by_segment["segment"].isin(shown)], quarter,
                               ces_scale),
        drivers=_drivers(by_segment[by_segment["segment"].isin(shown)], ws, quarter, n_boot,
                         ordinal),
        standards=_standards(ws, window, shown),
        atoms=disclosure_atoms(ws, window, shown, engine=engine),
        settings=settings,
    )
    from vipquality.standards.shoppers import quarter_caveats

    data.shopper_caveats = quarter_caveats(ws, window, quarter)
    if ws.instrument.overall is not None:
        from vipquality.metrics.drivers import key_drivers

        data.drivers_overall = key_drivers(
            by_segment[by_segment["segment"].isin(shown)], ws, outcome="overall",
            quarter=quarter, n_boot=n_boot, ordinal=ordinal)
    _add_standards_review(data, ws, by_segment[(by_segment["quarter"] == quarter)
                                              & by_segment["segment"].isin(shown)], n_boot)
    _add_loop(data, ws, shown)
    _add_themes(data, ws, shown, engine)
    return data


def _add_themes(data: ReportData, ws: Workspace, shown: list[str], engine: str) -> None:
    """What clients say (issue 15); nothing without themes.yaml."""
    from vipquality.report.themes import theme_tables

    for name, table in theme_tables(ws, data.quarter, data.previous, shown,
                                    engine=engine).items():
        setattr(data, name, table)
    if ws.themes is not None:
        data.settings["theme_labels"] = {t.id: t.label for t in ws.themes}
        data.settings["theme_attributes"] = {t.id: list(t.attributes) for t in ws.themes}


def _add_loop(data: ReportData, ws: Workspace, shown: list[str]) -> None:
    """The follow-up loop's aggregates (issue 14); nothing without cases.yaml."""
    from vipquality.standards.cases import loop_tables

    for name, table in loop_tables(ws, data.quarter, data.previous, shown).items():
        setattr(data, name, table)
    if ws.cases is not None:
        data.settings["contact_target"] = ws.cases.contact_target


def _add_standards_review(data: ReportData, ws: Workspace, by_segment: pd.DataFrame,
                          n_boot: int = 500) -> None:
    """Scorecard, revision proposals and the effect of recorded revisions (issue: closing the loop)."""
    from vipquality.data.store import load_responses, load_visits
    from vipquality.standards.agenda import agenda, assumptions, proposal_impacts
    from vipquality.standards.proposals import propose
    from vipquality.standards.revisions import (
        revision_attributes,
        revision_effects,
        revision_robustness,
    )
    from vipquality.standards.scorecard import scorecard
    from vipquality.standards.staff import load_roster

    confidence = ws.reporting.confidence
    visits = load_visits(ws, quarters=data.quarters)
    responses = load_responses(ws, quarters=data.quarters)
    data.scorecard = scorecard(data, ws)
    data.proposals = propose(data.scorecard, data.drivers, data.metrics, ws.standards,
                             drivers_overall=data.drivers_overall if len(data.drivers_overall)
                             else None)
    data.revisions = revision_effects(visits, ws, responses=responses,
                                      instrument=ws.instrument, confidence=confidence)
    data.revision_attributes = revision_attributes(responses, ws, instrument=ws.instrument,
                                                   quarters=data.quarters, confidence=confidence)
    data.revision_checks = revision_robustness(visits, ws, confidence=confidence)
    data.impacts = proposal_impacts(data.proposals, by_segment, ws, revisions=data.revisions,
                                    n_boot=n_boot)
    try:  # owners that name a person are shown as a role on executive pages
        staff_names = load_roster(ws)["manager_name"].dropna().astype(str).tolist()
    except DataError:
        staff_names = []
    data.agenda = agenda(data.proposals, data.impacts,
                         owners={s.id: s.owner for s in ws.standards},
                         labels=dict(zip(data.segments["segment"], data.segments["label"])),
                         attribute_labels=data.settings.get("attribute_labels"),
                         personal_names=staff_names)
    data.settings["agenda_assumptions"] = assumptions(data.revisions, data.agenda["standard_id"])


def report_data(workspace: str | Path | None = None, quarter: str | None = None,
                data_dir: str | Path | None = None) -> ReportData:
    """What a notebook calls: the run's precomputed tables, or computed here when run alone.

    Parameters
    ----------
    workspace : path, optional
        Workspace folder (default: the bundled sample).
    quarter : str, optional
        Quarter to report (default: the latest).
    data_dir : path, optional
        Folder written by :meth:`ReportData.save` during a quarterly run. When given the tables
        are only read, never recomputed.
    """
    if data_dir:
        return ReportData.load(data_dir)
    ws = load_workspace(workspace) if workspace else load_workspace()
    ensure_store(ws)
    return compute_report_data(ws, quarter)

