"""``vipquality init``: a workspace drafted from one's own exports."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from vipquality.data.onboarding._crm import CrmProposal, propose_crm, propose_visits
from vipquality.data.onboarding._roles import SurveyProposal, propose_roles
from vipquality.data.onboarding._write import (
    instrument_yaml,
    segments_yaml,
    standards_yaml,
    workspace_yaml,
)
from vipquality.errors import ConfigError

__all__ = ["Draft", "draft_workspace", "read_export"]

_SPSS = (".sav", ".zsav", ".por")


@dataclass
class Draft:
    """What :func:`draft_workspace` wrote and guessed."""

    root: Path
    survey: SurveyProposal
    crm: CrmProposal | None
    written: list[Path]
    copied: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The guesses as tables, the files written, what to do next (no client values)."""
        with pd.option_context("display.max_colwidth", 90, "display.width", 200):
            out = [(f"survey export read as {self.survey.format}: {self.survey.rows} "
                   "response(s)"), "", "Survey columns (role, column, confidence, why)",
                   self.survey.table().to_string(index=False)]
            if self.crm is not None:
                out += ["", "CRM columns (canonical, column, confidence, why)",
                        self.crm.table().to_string(index=False)]
        out += ["", "written: " + ", ".join(p.name for p in self.written)]
        if self.copied:
            out.append("copied: " + ", ".join(
                p.relative_to(self.root).as_posix() for p in self.copied))
        out += self.notes
        out.append(f"next: review the lines marked REVIEW, then `vipquality check {self.root}`")
        return "\n".join(out)


def read_export(path: Path):
    """The export as an ImportedSurvey-like object (SPSS files through the SPSS importer)."""
    if path.suffix.lower() in _SPSS:
        import pyreadstat

        from vipquality.data.importers._spss import read_spss

        frame, _ = read_spss(path)
        reader = pyreadstat.read_por if path.suffix.lower() == ".por" else pyreadstat.read_sav
        _, meta = reader(str(path), metadataonly=True)
        text = frame.astype(object).where(frame.notna(), "").map(
            lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        text.columns = [str(c) for c in text.columns]
        labels = {str(k): str(v or "") for k, v in meta.column_names_to_labels.items()}
        return SimpleNamespace(data=text, questions=labels, format="spss",
                               columns=tuple(text.columns))
    from vipquality.data.importers import import_survey

    return import_survey(path)


def draft_workspace(root: str | Path, survey: str | Path, *, crm: str | Path | None = None,
                    visits: str | Path | None = None, quarter: str | None = None,
                    name: str = "VIP service quality") -> Draft:
    """Draft a workspace's YAML from a survey export (and a CRM extract, a visits file).

    Parameters
    ----------
    root : str or Path
        The new workspace folder (created; it must not hold a workspace.yaml already).
    survey : str or Path
        The survey tool's export (Qualtrics, SurveyMonkey, LimeSurvey, Google / Microsoft
        Forms, SPSS, or the canonical layout).
    crm, visits : str or Path, optional
        A CRM extract (columns mapped, personal ones listed to be dropped) and a
        mystery-shopping file (its header mapped).
    quarter : str, optional
        Copy the survey export into this quarter folder (``2026Q3``), named ``survey_…`` so
        the workspace's patterns find it. Nothing else of the data is copied.

    Returns
    -------
    Draft

    Raises
    ------
    ConfigError
        ``root`` already holds a workspace.yaml (never overwritten).
    IngestError, DataError
        The export cannot be read.
    """
    from vipquality.config import Quarter

    root, survey = Path(root), Path(survey)
    if (root / "workspace.yaml").exists():
        raise ConfigError(str(root / "workspace.yaml"), "", "a workspace is already here: "
                          "`vipquality init` never overwrites one; choose a new folder")
    q = str(Quarter.parse(quarter)) if quarter else None
    imported = read_export(survey)
    prop = propose_roles(imported)
    crm_prop = propose_crm(crm) if crm is not None else None
    visit_guesses = propose_visits(visits)
    notes: list[str] = []
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "instrument.yaml": instrument_yaml(prop, survey.name),
        "segments.yaml": segments_yaml(crm_prop),
        "standards.yaml": standards_yaml(next((g.attribute for g in prop.all("sat")),
                                              "attribute_1")),
        "workspace.yaml": workspace_yaml(name, crm_prop, visit_guesses, prop.format,
                                         crm_source=Path(crm).name if crm else None,
                                         visits_source=Path(visits).name if visits else None),
    }
    if crm_prop is not None and crm_prop.managers:  # staff codes only (restricted view)
        roster = pd.DataFrame(crm_prop.managers, columns=["manager_id", "branch"])
        roster.insert(1, "manager_name", "")
        files = {"staff.csv": roster.to_csv(index=False), **files}
    written = []
    for fname, text in files.items():  # workspace.yaml last: a half-written draft has none
        path = root / fname
        path.write_text(text, encoding="utf-8")
        written.append(path)
    copied: list[Path] = []
    if q is not None:
        qdir = root / q
        qdir.mkdir(exist_ok=True)
        target = survey.name if survey.name.casefold().startswith("survey") else \
            f"survey_{survey.name}"
        if prop.format == "limesurvey-r":
            notes.append("a LimeSurvey R export pair: copy the data file and its .R syntax "
                         "file into the quarter folder yourself (renaming breaks the pair)")
        else:
            shutil.copy2(survey, qdir / target)
            copied.append(qdir / target)
        if prop.quarter and prop.quarter != q:
            notes.append(f"note: most answers were submitted in {prop.quarter}, not {q}")
    elif prop.quarter:
        notes.append(f"most answers were submitted in {prop.quarter}: put the export in "
                     f"{root / prop.quarter}/ (or run init with --quarter {prop.quarter})")
    return Draft(root, prop, crm_prop, written, copied, notes)
