"""The drafted workspace files: commented YAML with every guess marked ``# REVIEW:``.

Written as text (not dumped from a dict) because the comments are the point: each mapped
column says how sure the guess is and why, so the quality manager reviews the draft line by line.
Strings are written as JSON strings, which YAML reads as they are.
"""

from __future__ import annotations

import json
import re
from datetime import date

from vipquality.data.onboarding._crm import ColumnGuess, CrmProposal
from vipquality.data.onboarding._roles import Guess, SurveyProposal

__all__ = ["instrument_yaml", "segments_yaml", "standards_yaml", "workspace_yaml"]

#: placeholders for roles nothing was found for: `vipquality check` names them until fixed
PLACEHOLDER = {"response_id": "ResponseId", "client_id": "ClientId", "nps": "NPS_ITEM",
               "sat": "CSI_ITEM"}


def _q(text: object) -> str:
    return json.dumps(str(text), ensure_ascii=False)


def _review(g: Guess | ColumnGuess | None, what: str) -> str:
    if g is None or g.column is None:
        return f"  # REVIEW: {what} not found — name its column"
    return f"  # REVIEW: guessed ({g.confidence:.0%} sure): {g.why}"


def instrument_yaml(p: SurveyProposal, source: str) -> str:
    """instrument.yaml for the export's guessed roles."""
    lines = [
        f"# The survey instrument, drafted by `vipquality init` from {source}",
        f"# (read as a {p.format} export, {p.rows} response(s)). Every guessed mapping is marked",
        "# REVIEW: check it, then remove the mark. `vipquality check DIR` lists what is left.",
        "id: survey", 'title: "Client survey"  # REVIEW: the survey\'s name', "version: 1",
        ("match_columns_by: name  # the columns are the importer's question ids "
        "(listed at the end)"),
        "columns:"]
    for role in ("response_id", "client_id", "submitted_at"):
        g = p.get(role)
        if role == "submitted_at" and (g is None or g.column is None):
            lines.append("  submitted_at: null  # REVIEW: no date column found")
            continue
        col = g.column if g is not None and g.column else PLACEHOLDER[role]
        if role == "submitted_at" and p.format not in ("canonical", "spss"):
            # the importer knows the tool's submission time column; naming it here could
            # match twice (Google Forms' ResponseId is made from its Timestamp)
            lines.append(f"  submitted_at: \"SubmittedAt\"  # REVIEW: the importer takes the "
                         f"export's submission time ({g.column!r}, {g.confidence:.0%} sure)")
            continue
        lines.append(f"  {role}: {_q(col)}{_review(g, role)}")
    lines.append("  weight: null  # a design weight column, if the survey has one")
    for role in ("nps", "ces", "overall"):
        g = p.get(role)
        if g is None and role != "nps":
            lines.append(f"# {role}: not found in this export (optional)")
            continue
        col = g.column if g is not None else PLACEHOLDER["nps"]
        scale = list(g.scale) if g is not None and g.scale else [0, 10]
        lines += [f"{role}:", f"  column: {_q(col)}{_review(g, 'the ' + role + ' item')}",
                  f"  text: {_q(g.text if g is not None and g.text else col)}",
                  f"  scale: {scale}{'' if role == 'nps' else '  # REVIEW: the answer scale'}"]
    sats = [g for g in p.all("sat")]
    imps = {g.attribute: g for g in p.all("imp") if g.attribute}
    scales = [g.scale for g in sats]
    csi_scale = max(set(scales), key=scales.count) if scales else (1, 10)
    keep = [g for g in sats if g.scale == csi_scale]
    lines += ["csi:", f"  scale: {list(csi_scale)}  # REVIEW: the attributes' answer scale"]
    imp_scales = [imps[g.attribute].scale for g in keep if g.attribute in imps]
    if imp_scales:
        lines.append(f"  importance_scale: {list(imp_scales[0])}")
    stated = keep and all(g.attribute in imps for g in keep)
    lines.append(f"  weights: {'stated' if stated else 'equal'}  # stated | equal | derived")
    lines.append("  attributes:")
    if not keep:
        lines += ["    - id: attribute_1  # REVIEW: no rating item found for the CSI",
                  '      label: "Attribute 1"',
                  f"      satisfaction: {_q(PLACEHOLDER['sat'])}"]
    for g in keep:
        lines += [f"    - id: {g.attribute}{_review(g, 'a CSI attribute')}",
                  f"      label: {_q(g.label or g.column)}",
                  f"      satisfaction: {_q(g.column)}"]
        if stated:
            lines.append(f"      importance: {_q(imps[g.attribute].column)}")
    for g in sats:
        if g not in keep:
            lines.append(f"    # REVIEW: {g.column} ({g.label}) is a rating on {list(g.scale)}, "
                         f"not the CSI scale: left out")
    for g in p.all("imp"):
        if not g.attribute:
            lines.append(f"    # REVIEW: {g.column} asks an importance ({g.label[:60]}) with no "
                         "satisfaction item to pair: left out")
    c = p.get("comment")
    if c is not None:
        lines += ["comment:", f"  column: {_q(c.column)}{_review(c, 'comment')}",
                  f"  text: {_q(c.text or c.column)}"]
    lines += ["", "# The export's columns (question id: question text):"]
    lines += [f"#   {col}: {' '.join(p.questions.get(col, '').split())[:100]}"
              for col in p.columns]
    return "\n".join(lines) + "\n"


def workspace_yaml(name: str, crm: CrmProposal | None, visits: list[ColumnGuess],
                   survey_format: str, *, crm_source: str | None,
                   visits_source: str | None) -> str:
    """workspace.yaml: names the other files; the CRM and visit mappings."""
    lines = [
        "# The workspace, drafted by `vipquality init`. Every guess is marked REVIEW.",
        f"name: {_q(name)}  # REVIEW: the programme's name",
        "currency: EUR  # REVIEW: three-letter ISO 4217 code of the CRM's amounts",
        "timezone: UTC  # REVIEW: IANA zone, used when an export records none",
        "fiscal_year_start: 1  # month; 1 = calendar quarters",
        "instrument: instrument.yaml", "segments: segments.yaml", "standards: standards.yaml",
        *([("staff: staff.csv  # REVIEW: the manager codes of the CRM extract; add names, "
           "certification (certified yes/no, certified_on, last_trained)")]
          if crm is not None and crm.managers else []),
        "store: store  # written by `vipquality ingest`",
        "quarter_files:  # which files of a YYYYQn/ folder hold which table",
        ('  survey: ["survey*.csv", "survey*.xlsx", "survey*.xlsm", "survey*.parquet",'
        ' "survey*.sav", "survey*.zsav", "survey*.por"]'),
        '  visits: ["mystery_shopper*.csv", "mystery_shopper*.xlsx", "mystery_shopper*.parquet"]',
        '  clients: ["clients*.csv", "clients*.xlsx", "clients*.xlsm", "clients*.parquet"]',
        "clients:",
        (f"  columns:  # canonical -> column of the CRM extract"
        f"{f' ({crm_source})' if crm_source else ''}")]
    if crm is None or not crm.mapping:
        lines.append('    client_id: "client_id"  # REVIEW: no CRM extract given (--crm)')
    else:
        if crm.get("client_id") is None:
            lines.append('    client_id: "client_id"  # REVIEW: no client id column found')
        for g in crm.mapping:
            lines.append(f"    {g.canonical}: {_q(g.column)}{_review(g, g.canonical)}")
        for c in crm.unmapped:
            lines.append(f"    # REVIEW: {_q(c)} is not mapped (add it under a canonical name "
                         "to use it in segments)")
    lines.append("  # Personal data: read only to be dropped at ingest. Never stored, never "
                 "reported.")
    personal = [g.column for g in crm.personal] if crm is not None else []
    lines.append(f"  personal: [{', '.join(_q(c) for c in personal)}]"
                 + ("  # REVIEW: " + "; ".join(f"{g.column}: {g.why}" for g in crm.personal)
                    if personal else ""))
    lines += ["visits:  # the mystery-shopping export: canonical -> column"
              + (f" ({visits_source})" if visits_source else " (no file given: placeholders)"),
              "  columns:"]
    for g in visits:
        lines.append(f"    {g.canonical}: {_q(g.column)}"
                     + (_review(g, g.canonical) if visits_source else ""))
    lines += ["reporting:", "  confidence: 0.95", "  base_suppress: 30", "  base_small: 100",
              "  adjustment: holm", "  trend_quarters: 8"]
    return "\n".join(lines) + "\n"


def _seg_id(label: str, taken: set[str]) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().casefold()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_") or "tier"
    s = s if s[0].isalpha() else f"tier_{s}"
    out, k = s, 2
    while out in taken:
        out, k = f"{s}_{k}", k + 1
    taken.add(out)
    return out


def segments_yaml(crm: CrmProposal | None) -> str:
    """segments.yaml: a ``tier`` family from the tier-like column's labels."""
    lines = ["# Segments, drafted by `vipquality init` (rules on the CRM's canonical columns;",
             "# see surveys/README.md for the operators). REVIEW every rule.",
             "segments:"]
    if crm is not None and crm.tiers and crm.get("tier") is not None:
        g = crm.get("tier")
        lines.append(f"  # REVIEW: one segment per label of the tier column {g.column!r}")
        taken: set[str] = set()
        for t in crm.tiers:
            lines.append(f"  - {{id: {_seg_id(t, taken)}, label: {_q(t)}, family: tier, "
                         f"report: true, rule: {{field: tier, eq: {_q(t)}}}}}")
    else:
        lines += ["  # REVIEW: no tier-like CRM column found: one segment of every client",
                  "  - {id: all_clients, label: All clients, family: all, report: true,",
                  "     rule: {field: client_id, is_null: false}}"]
    return "\n".join(lines) + "\n"


def standards_yaml(attribute_id: str) -> str:
    """standards.yaml: a template of one standard to copy."""
    return "\n".join([
        "# The service-standards catalogue: a TEMPLATE drafted by `vipquality init`.",
        "# Replace the example with your standards (see surveys/standards.yaml for a full one).",
        f"catalogue_version: {_q(date.today().isoformat())}",
        "standards:",
        "  - id: S01  # REVIEW: an example standard",
        '    title: "Greeting by name"',
        '    owner: "Head of VIP service"',
        f"    attributes: [{attribute_id}]  # the CSI attributes it serves (instrument.yaml)",
        "    targets: {default: 90}  # target compliance (%) per segment; default for the rest",
        "    versions:",
        "      - {version: 1, effective: 2024-01-01,",
        '         text: "The manager greets the client by name."}',
        "    items:",
        ('      - {id: S01.1, text: "Client greeted by name within the first minute", '
        "weight: 1}"),
    ]) + "\n"
