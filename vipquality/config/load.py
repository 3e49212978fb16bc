"""Reading the workspace: the parsers of its YAML files and :func:`load_workspace`.

:func:`load_workspace` reads ``workspace.yaml`` and the files it names (``instrument.yaml``,
``segments.yaml``, ``standards.yaml``), validates all of it and returns a frozen
:class:`~vipquality.config.model.Workspace`. Every problem raises
:class:`~vipquality.errors.ConfigError` naming the file, the dotted key path
(``standards[3].items[0].weight``) and what was expected versus what was found, before any data
is read. The format is documented for quality managers in ``surveys/README.md``; the contract
other modules code against is ``docs/workspace_api.md``.

The YAML itself is read, and every value checked, by :mod:`vipquality.config._yaml`.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import re
import typing as t
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vipquality.config._yaml import _DATE_RE, _fmt, _hint, _read_yaml, _Reader, _show
from vipquality.config.model import (
    ALL_SEGMENT,
    AlertMail,
    Attribute,
    CaseRules,
    ChecklistItem,
    Instrument,
    Item,
    Reporting,
    Segment,
    SegmentRules,
    Standard,
    Standards,
    StandardVersion,
    Weighting,
    Workspace,
)
from vipquality.config.rules import OPERATORS, All, Any, Compare, Condition, Not, Scalar
from vipquality.config.themes import LANGUAGES, Codeframe, Theme
from vipquality.errors import ConfigError
from vipquality.paths import SAMPLE_WORKSPACE

__all__ = ["load_workspace"]


# --------------------------------------------------------------------------------------------
# instrument.yaml
# --------------------------------------------------------------------------------------------

_MATCH_MODES = ("name", "text", "position")
_WEIGHT_MODES = ("stated", "equal", "derived")


def _column(r: _Reader, mode: str) -> str:
    """A source-column reference: a header, or with ``position`` a 1-based column number."""
    if mode == "position":
        v = r.value
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v.strip())
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            r.fail("expected a column number ≥ 1 (match_columns_by is 'position'), "
                   f"got {_show(r.value)}")
        return str(v)
    return r.text("a column name")


class _Columns:
    """Collects source-column references so one column is never used for two things."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def add(self, r: _Reader, column: str) -> str:
        if column in self.used:
            r.fail(f"expected a column not used elsewhere; {column!r} is already "
                   f"{self.used[column]}")
        self.used[column] = r.path
        return column


def _item(r: _Reader, role: str, mode: str, cols: _Columns, scaled: bool = True) -> Item:
    r.fields(required=("column", "text", "scale") if scaled else ("column", "text"))
    column = cols.add(r["column"], _column(r["column"], mode))
    scale = r["scale"].scale() if scaled else None
    if role == "nps" and scale != (0, 10):
        r["scale"].fail(f"expected [0, 10] (NPS is defined on the 0–10 scale), "
                        f"got {_show(r['scale'].value)}")
    return Item(role, column, r["text"].text("the question text"), scale)


def _parse_instrument(r: _Reader) -> Instrument:
    r.fields(required=("id", "title", "version", "columns", "nps", "csi"),
             optional=("match_columns_by", "ces", "overall", "comment"))
    mode = r["match_columns_by"].choice(_MATCH_MODES) if r.get("match_columns_by") else "name"
    cols = _Columns()

    c = r["columns"].fields(required=("response_id", "client_id"),
                            optional=("submitted_at", "weight"))
    columns: dict[str, str | None] = {}
    for role in ("response_id", "client_id", "submitted_at", "weight"):
        cr = c.get(role)
        if cr is None and role in ("response_id", "client_id"):
            c[role].fail(f"expected a column name, got {_show(c[role].value)}")
        columns[role] = cols.add(cr, _column(cr, mode)) if cr is not None else None

    nps = _item(r["nps"], "nps", mode, cols)
    ces = _item(r["ces"], "ces", mode, cols) if r.get("ces") else None
    overall = _item(r["overall"], "overall", mode, cols) if r.get("overall") else None
    comment = _item(r["comment"], "comment", mode, cols, scaled=False) if r.get("comment") else None

    csi = r["csi"].fields(required=("scale", "weights", "attributes"),
                          optional=("importance_scale", "missing_codes"))
    csi_scale = csi["scale"].scale()
    imp_scale = csi["importance_scale"].scale() if csi.get("importance_scale") else None
    codes: list[float] = []
    if csi.get("missing_codes"):
        for cr in csi["missing_codes"].list(what="a list of numbers"):
            code = cr.number()
            for name, sc in (("csi.scale", csi_scale), ("csi.importance_scale", imp_scale)):
                if sc is not None and sc[0] <= code <= sc[1]:
                    cr.fail(f"expected a code outside {name} {list(sc)} (a code inside it would "
                            f"erase real answers), got {_show(cr.value)}")
            codes.append(code)

    attributes: list[Attribute] = []
    seen: dict[str, str] = {}
    for ar in csi["attributes"].list(min_items=1, what="a list of attributes"):
        ar.fields(required=("id", "label", "satisfaction"), optional=("importance",))
        aid = ar["id"].ident("an attribute id")
        if aid in seen:
            ar["id"].fail(f"expected a unique attribute id; {aid!r} is already used by {seen[aid]}")
        seen[aid] = ar.path
        sat = cols.add(ar["satisfaction"], _column(ar["satisfaction"], mode))
        ir = ar.get("importance")
        imp = cols.add(ir, _column(ir, mode)) if ir is not None else None
        attributes.append(Attribute(aid, ar["label"].text("a label"), sat, imp))

    wr = csi["weights"]
    weights: str | dict[str, float]
    if isinstance(wr.value, dict):
        weights = {}
        for key, vr in wr.entries():
            if key not in seen:
                vr.fail(f"{_hint(key, seen)}expected an attribute id ({', '.join(seen)}), "
                        f"got {key!r}")
            weights[key] = vr.number(gt=0, what="a weight")
        missing = [a for a in seen if a not in weights]
        if missing:
            wr.fail(f"expected a weight for every attribute, missing: {', '.join(missing)}")
    elif isinstance(wr.value, str):
        weights = wr.choice(_WEIGHT_MODES)
    else:
        wr.fail(f"expected one of {', '.join(_WEIGHT_MODES)} or a mapping "
                f"{{attribute_id: weight}}, got {_show(wr.value)}")

    if weights == "stated":
        for ar, a in zip(csi["attributes"].list(), attributes):
            if a.importance is None:
                ar["importance"].fail("expected an importance column: csi.weights is 'stated', "
                                      "so every attribute needs one; got nothing")
    if imp_scale is None and any(a.importance for a in attributes):
        csi["importance_scale"].fail("expected a scale [low, high]: attributes have importance "
                                     "columns; got nothing")

    return Instrument(
        id=r["id"].text("an instrument id"), title=r["title"].text("a title"),
        version=r["version"].integer(lo=1), match_columns_by=mode, columns=columns,
        nps=nps, ces=ces, overall=overall, comment=comment, csi_scale=csi_scale,
        importance_scale=imp_scale, csi_weights=weights, missing_codes=tuple(codes),
        attributes=tuple(attributes))


# --------------------------------------------------------------------------------------------
# segments.yaml
# --------------------------------------------------------------------------------------------

_COMBINATORS = ("all", "any", "not")


def _kind(v: t.Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, dt.date):
        return "date"
    return "text"


def _scalar(r: _Reader, allowed: t.Sequence[str] = ("text", "number", "date", "true/false")) -> Scalar:
    """A comparison value; text written YYYY-MM-DD is a date."""
    v = r.value
    if isinstance(v, str) and _DATE_RE.fullmatch(v.strip()):
        v = r.date()
    ok = (isinstance(v, (str, int, float, dt.date)) and not (isinstance(v, str) and not v.strip())
          and not (isinstance(v, float) and v != v))
    if not ok or _kind(v) not in allowed:
        r.fail(f"expected {' or '.join(allowed)}, got {_show(r.value)}")
    return v


def _op_value(r: _Reader, op: str) -> t.Any:
    if op in ("eq", "ne"):
        return _scalar(r)
    if op in ("lt", "le", "gt", "ge"):
        return _scalar(r, ("number", "date"))
    if op in ("in", "not_in", "between"):
        items = r.list(min_items=1, what="a list of values")
        values = tuple(_scalar(i, ("number", "date") if op == "between" else
                               ("text", "number", "date", "true/false")) for i in items)
        kinds = {_kind(v) for v in values}
        if len(kinds) > 1:
            r.fail(f"expected values of one kind, got a mix of {' and '.join(sorted(kinds))}")
        if op == "between":
            if len(values) != 2:
                r.fail(f"expected [low, high], got {_show(r.value)}")
            if values[0] > values[1]:
                r.fail(f"expected [low, high] with low ≤ high, got {_show(r.value)}")
        return values
    if op == "contains":
        v = r.text("the text of one list entry")
        if ";" in v:
            r.fail(f"expected one entry without ';' (use any: [...] for several), got {v!r}")
        return v
    if op in ("within_days", "older_than_days"):
        return r.integer(lo=0)
    if op == "is_null":
        return r.boolean()
    raise AssertionError(op)  # pragma: no cover - ops are checked before


def _condition(r: _Reader, fields: t.Collection[str] | None) -> Condition:
    """Parse one condition node (``fields``: the client columns a rule may name)."""
    v = r.value
    shape = ("a condition: {field: F, <operator>: value}, {all: [...]}, {any: [...]} "
             "or {not: {...}}")
    if not isinstance(v, dict) or not v:
        r.fail(f"expected {shape}, got {_show(v)}")
    r.mapping()
    if "field" in v:
        ops = [k for k in v if k != "field"]
        for k in ops:
            if k not in OPERATORS:
                also = " (a condition is either {field, operator} or all/any/not)" \
                    if k in _COMBINATORS else ""
                r[k].fail(f"unknown operator{also}; {_hint(k, OPERATORS)}expected one of: "
                          f"{', '.join(OPERATORS)}")
        if len(ops) != 1:
            r.fail(f"expected exactly one operator next to 'field', got "
                   f"{', '.join(ops) if ops else 'none'} (operators: {', '.join(OPERATORS)})")
        name = r["field"].text("a client column name")
        if fields is not None and name not in fields:
            r["field"].fail(f"{_hint(name, fields)}expected a client column named in "
                            f"workspace.yaml clients.columns ({', '.join(fields)}), got {name!r}")
        op = ops[0]
        return Compare(name, op, _op_value(r[op], op))
    keys = list(v)
    if len(keys) != 1 or keys[0] not in _COMBINATORS:
        bad = next((k for k in keys if k not in _COMBINATORS), None)
        if bad is not None:
            r[bad].fail(f"unknown key; {_hint(bad, [*_COMBINATORS, 'field'])}expected 'field' "
                        f"with an operator, or one of all, any, not")
        r.fail(f"expected exactly one of all, any, not, got {', '.join(keys)}")
    key = keys[0]
    if key == "not":
        return Not(_condition(r["not"], fields))
    parts = r[key].list(min_items=1, what="a list of conditions")
    items = tuple(_condition(p, fields) for p in parts)
    return All(items) if key == "all" else Any(items)


def _band_rules(field_name: str, bands: list[tuple[str, str, float | None]]) -> list[list[Condition]]:
    """Band i: value > previous band's max and ≤ its own max (first: no lower bound)."""
    rules = []
    for i, (_, _, top) in enumerate(bands):
        conds: list[Condition] = []
        if i > 0:
            conds.append(Compare(field_name, "gt", bands[i - 1][2]))
        if top is not None:
            conds.append(Compare(field_name, "le", top))
        if not conds:
            conds.append(Compare(field_name, "is_null", False))
        rules.append(conds)
    return rules


def _axis(r: _Reader, fields: t.Collection[str] | None) -> tuple[str, list[tuple[str, str, float | None]]]:
    r.fields(required=("field", "bands"))
    fr = r["field"]
    name = fr.text("a client column name")
    if fields is not None and name not in fields:
        fr.fail(f"{_hint(name, fields)}expected a client column named in workspace.yaml "
                f"clients.columns ({', '.join(fields)}), got {name!r}")
    bands: list[tuple[str, str, float | None]] = []
    band_readers = r["bands"].list(min_items=1, what="a list of bands")
    for i, br in enumerate(band_readers):
        br.fields(required=("id", "label"), optional=("max",))
        bid = br["id"].ident("a band id")
        if any(b[0] == bid for b in bands):
            br["id"].fail(f"expected a unique band id, got {bid!r} twice")
        top: float | None = None
        if br.get("max") is not None:
            top = br["max"].value
            br["max"].number()
            if bands and top <= bands[-1][2]:
                br["max"].fail(f"expected a max above the previous band's max "
                               f"({_fmt(bands[-1][2])}); bands go from low to high, got {_fmt(top)}")
        elif i < len(band_readers) - 1:
            br["max"].fail("expected a number: every band but the last needs a max "
                           "(band = above the previous max, up to and including its own)")
        bands.append((bid, br["label"].text("a label"), top))
    return name, bands


def _parse_segments(r: _Reader, fields: t.Collection[str] | None,
                    fiscal_year_start: int = 1) -> SegmentRules:
    r.fields(required=("segments",), optional=("universe", "grids"))
    universe = _condition(r["universe"], fields) if r.get("universe") else None
    out: list[Segment] = []
    seen: dict[str, str] = {}

    def claim(idr: _Reader, sid: str) -> None:
        if sid == ALL_SEGMENT:
            idr.fail(f"'{ALL_SEGMENT}' is reserved for the segment of every VIP client; "
                     f"expected another id")
        if sid in seen:
            idr.fail(f"expected a unique segment id; {sid!r} is already used by {seen[sid]}")
        seen[sid] = idr.path

    seg_list = r["segments"].list(what="a list of segments") if r["segments"].value is not None \
        else []
    for sr in seg_list:
        sr.fields(required=("id", "label", "family", "rule"), optional=("report",))
        sid = sr["id"].ident("a segment id")
        claim(sr["id"], sid)
        report = sr["report"].boolean() if sr.get("report") is not None else False
        out.append(Segment(sid, sr["label"].text("a label"), sr["family"].ident("a family id"),
                           report, _condition(sr["rule"], fields)))

    if r.get("grids"):
        for gr in r["grids"].list(what="a list of grids"):
            gr.fields(required=("id", "rows", "cols"), optional=("family", "report"))
            gid = gr["id"].ident("a grid id")
            family = gr["family"].ident("a family id") if gr.get("family") else gid
            report = gr["report"].boolean() if gr.get("report") is not None else False
            row_field, rows = _axis(gr["rows"], fields)
            col_field, cols = _axis(gr["cols"], fields)
            row_rules, col_rules = _band_rules(row_field, rows), _band_rules(col_field, cols)
            for (rid, rlabel, _), rrule in zip(rows, row_rules):
                for (cid, clabel, _), crule in zip(cols, col_rules):
                    claim(gr["id"], f"{rid}_{cid}")
                    out.append(Segment(f"{rid}_{cid}", f"{rlabel}, {clabel}", family, report,
                                       All(tuple(rrule + crule)), grid=gid))
    return SegmentRules(universe, tuple(out), fiscal_year_start)


# --------------------------------------------------------------------------------------------
# standards.yaml
# --------------------------------------------------------------------------------------------

def _known_ids(r: _Reader, known: t.Sequence[str], kind: str, where: str,
               min_items: int = 0) -> list[str]:
    """A list of ids each of which is in ``known`` (e.g. attribute ids), each once."""
    ids: list[str] = []
    for ir in r.list(min_items=min_items, what=f"a list of {kind} ids"):
        v = ir.text(f"an {kind} id" if kind[0] in "aeiou" else f"a {kind} id")
        if v not in known:
            ir.fail(f"{_hint(v, known)}expected {where} ({', '.join(known)}), got {v!r}")
        if v in ids:
            ir.fail(f"expected each {kind} once, got {v!r} twice")
        ids.append(v)
    return ids


def _parse_standards(r: _Reader, attribute_ids: t.Sequence[str],
                     segment_ids: t.Sequence[str]) -> Standards:
    r.fields(required=("catalogue_version", "standards"))
    cv = r["catalogue_version"]
    if isinstance(cv.value, int) and not isinstance(cv.value, bool):
        catalogue_version = str(cv.value)
    else:
        catalogue_version = cv.text("a catalogue version such as 2025-04")
    target_keys = ["default", ALL_SEGMENT, *segment_ids]
    standards: list[Standard] = []
    std_seen: dict[str, str] = {}
    item_seen: dict[str, str] = {}
    for sr in r["standards"].list(min_items=1, what="a list of standards"):
        sr.fields(required=("id", "title", "owner", "attributes", "targets", "versions", "items"))
        sid = sr["id"].text("a standard id")
        if sid in std_seen:
            sr["id"].fail(f"expected a unique standard id; {sid!r} is already used by "
                          f"{std_seen[sid]}")
        std_seen[sid] = sr.path

        attrs = _known_ids(sr["attributes"], attribute_ids, "attribute",
                           "an attribute id of instrument.yaml", min_items=1)

        targets: dict[str, float] = {}
        tr = sr["targets"]
        for key, vr in tr.entries():
            if key not in target_keys:
                vr.fail(f"unknown segment; {_hint(key, target_keys)}expected 'default' or a "
                        f"segment id of segments.yaml ({', '.join(target_keys[1:])}), got {key!r}")
            targets[key] = vr.number(ge=0, le=100, what="a target compliance in %")
        if "default" not in targets:
            tr["default"].fail("required key is missing: the target (%) for every segment "
                               f"not listed (found: {', '.join(targets) or 'no keys'})")

        versions: list[StandardVersion] = []
        for vr in sr["versions"].list(min_items=1, what="a list of versions"):
            vr.fields(required=("version", "effective", "text"), optional=("change",))
            number = vr["version"].integer(lo=1)
            effective = vr["effective"].date()
            if versions and number <= versions[-1].version:
                vr["version"].fail(f"expected a version number above {versions[-1].version} "
                                   f"(versions are listed oldest first), got {number}")
            if versions and effective <= versions[-1].effective:
                vr["effective"].fail(f"expected a date after {versions[-1].effective} (versions "
                                     f"are listed oldest first), got {effective}")
            change = vr["change"].text("a description of the change") if vr.get("change") \
                else None
            versions.append(StandardVersion(number, effective, vr["text"].text("the wording"),
                                            change))

        items: list[ChecklistItem] = []
        for ir in sr["items"].list(min_items=1, what="a list of checklist items"):
            ir.fields(required=("id", "text"), optional=("weight", "critical"))
            iid = ir["id"].text("a checklist item id")
            if iid in item_seen:
                ir["id"].fail(f"expected a checklist item id unique in the catalogue; {iid!r} is "
                              f"already used by {item_seen[iid]}")
            item_seen[iid] = ir.path
            weight = ir["weight"].number(gt=0, what="a weight") if "weight" in ir.value else 1.0
            critical = ir["critical"].boolean() if "critical" in ir.value else False
            items.append(ChecklistItem(iid, ir["text"].text("the item text"), weight, critical,
                                       sid))

        standards.append(Standard(sid, sr["title"].text("a title"), sr["owner"].text("an owner"),
                                  tuple(attrs), targets, tuple(versions), tuple(items)))
    return Standards(catalogue_version, tuple(standards))


# --------------------------------------------------------------------------------------------
# cases.yaml
# --------------------------------------------------------------------------------------------

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _default_case_rule(inst: Instrument) -> Condition:
    """NPS 0–6 (detractors), CES on the difficult side (below the scale's midpoint: 1–3 of 7,
    1–2 of 5) and overall satisfaction at the bottom of its scale (its lowest quarter)."""
    parts: list[Condition] = [Compare("nps", "le", 6)]
    if inst.ces is not None:
        lo, hi = inst.ces.scale
        parts.append(Compare("ces", "le", lo + (hi - lo) // 2 - 1))
    if inst.overall is not None:
        lo, hi = inst.overall.scale
        parts.append(Compare("overall", "le", lo + (hi - lo) // 4))
    return Any(tuple(parts))


def _answer_rule(r: _Reader, answers: t.Sequence[str]) -> Condition:
    """A case rule: a condition on the response's answers (named before the generic parser
    would call them client columns)."""
    def check(node: _Reader) -> None:
        v = node.value
        if isinstance(v, dict):
            name = v.get("field")
            if isinstance(name, str) and name not in answers:
                node["field"].fail(f"{_hint(name, answers)}expected an answer the instrument has "
                                   f"({', '.join(answers)}), got {name!r}")
            for key in v:
                if key != "field" and isinstance(v[key], (dict, list)):
                    check(node[key])
        elif isinstance(v, list):
            for item in node.list():
                check(item)
    check(r)
    return _condition(r, answers)


def _parse_cases(r: _Reader, inst: Instrument) -> CaseRules:
    r.fields(required=("sla", "root_causes"),
             optional=("open_when", "tiers", "tier_field", "calendar", "consent",
                       "contact_target"))
    answers = ["nps"] + [i.role for i in (inst.ces, inst.overall) if i is not None]
    open_when = _answer_rule(r["open_when"], answers) if r.get("open_when") \
        else _default_case_rule(inst)
    tier_rules: dict[str, Condition] = {}
    if r.get("tiers"):
        for tier, tr in r["tiers"].entries():
            tr.fields(required=("open_when",))
            tier_rules[str(tier)] = _answer_rule(tr["open_when"], answers)
    tier_field = r["tier_field"].text("a CRM column name") if r.get("tier_field") else "tier"

    sla: dict[str, int] = {}
    for tier, vr in r["sla"].entries():
        sla[str(tier)] = vr.integer(lo=0)
    if "default" not in sla:
        sla["default"] = max(sla.values(), default=3)

    weekmask, holidays = "1111100", []
    if r.get("calendar"):
        cr = r["calendar"].fields(optional=("working_days", "holidays"))
        if cr.get("working_days"):
            days = [d.choice(_WEEKDAYS) for d in
                    cr["working_days"].list(min_items=1, what="a list of weekdays (Mon … Sun)")]
            weekmask = "".join("1" if d in days else "0" for d in _WEEKDAYS)
        if cr.get("holidays"):
            holidays = sorted({h.date() for h in cr["holidays"].list(what="a list of dates")})

    causes: dict[str, str] = {}
    for cr in r["root_causes"].list(min_items=1, what="a list of root causes"):
        cr.fields(required=("code", "label"))
        code = cr["code"].text("a root-cause code")
        if code in causes:
            cr["code"].fail(f"expected a unique root-cause code, got {code!r} twice")
        causes[code] = cr["label"].text("a label")

    consent = None
    if r.get("consent"):
        consent = r["consent"].fields(required=("column",))["column"].text("a survey column")
        used = {c for c in inst.columns.values() if c} | {
            i.column for i in (inst.nps, inst.ces, inst.overall, inst.comment) if i is not None}
        if consent in used:
            r["consent"]["column"].fail(f"expected a survey column not used by instrument.yaml; "
                                        f"{consent!r} already holds another item")
    target = r["contact_target"].number(gt=0, le=100, what="a share in %") \
        if r.get("contact_target") else 90.0
    return CaseRules(open_when, tier_rules, tier_field, sla, weekmask, tuple(holidays), causes,
                     consent, target)


# --------------------------------------------------------------------------------------------
# themes.yaml (the codeframe of the comments)
# --------------------------------------------------------------------------------------------

# what people write for the codeframe's languages (country codes, names)
_LANGUAGE_ALIASES = {"gr": "el", "gre": "el", "ell": "el", "greek": "el", "eng": "en",
                     "english": "en", "rus": "ru", "russian": "ru", "tgl": "tl", "fil": "tl",
                     "ph": "tl", "tagalog": "tl", "filipino": "tl"}


def _parse_themes(r: _Reader, attribute_ids: t.Sequence[str],
                  standard_ids: t.Sequence[str]) -> Codeframe:
    """The codeframe: ``themes:`` a list of ``{id, label, attributes, standards, terms}``."""
    r.fields(required=("themes",))
    themes: list[Theme] = []
    seen: dict[str, str] = {}
    for tr in r["themes"].list(min_items=1, what="a list of themes"):
        tr.fields(required=("id", "label", "terms"), optional=("attributes", "standards"))
        tid = tr["id"].ident("a theme id")
        if tid in seen:
            tr["id"].fail(f"expected a unique theme id; {tid!r} is already used by {seen[tid]}")
        seen[tid] = tr.path
        links = {key: tuple(_known_ids(tr[key], known, key[:-1], where)) if tr.get(key) else ()
                 for key, known, where in (
                     ("attributes", attribute_ids, "an attribute id of instrument.yaml"),
                     ("standards", standard_ids, "a standard id of standards.yaml"))}
        terms: dict[str, tuple[str, ...]] = {}
        for lang, lr in tr["terms"].entries():
            if lang not in LANGUAGES:
                alias = _LANGUAGE_ALIASES.get(str(lang).casefold())
                hint = f"did you mean {alias!r}? " if alias else _hint(lang, LANGUAGES)
                lr.fail(f"unknown language; {hint}expected a language code "
                        f"of {', '.join(f'{k} ({v})' for k, v in LANGUAGES.items())}, "
                        f"got {lang!r}")
            words: list[str] = []
            for wr in lr.list(min_items=1, what="a list of words or phrases"):
                w = " ".join(wr.text("a word or phrase").split())
                if not any(c.isalnum() for c in w):
                    wr.fail(f"expected a word or phrase (letters or digits), got {w!r}")
                words.append(w)
            terms[lang] = tuple(words)
        if not terms:
            tr["terms"].fail("expected words or phrases for at least one language, got none")
        themes.append(Theme(tid, tr["label"].text("a label"), links["attributes"],
                            links["standards"], terms))
    return Codeframe(tuple(themes))


# --------------------------------------------------------------------------------------------
# workspace.yaml
# --------------------------------------------------------------------------------------------

_TABLES = ("survey", "visits", "clients", "case_updates", "appeals", "invitations")
_DEFAULT_PATTERNS = {
    "survey": ("survey*.csv", "survey*.xlsx", "survey*.xlsm", "survey*.parquet"),
    "visits": ("mystery_shopper*.csv", "mystery_shopper*.xlsx", "mystery_shopper*.xlsm",
               "mystery_shopper*.parquet"),
    "clients": ("clients*.csv", "clients*.xlsx", "clients*.xlsm", "clients*.parquet"),
    "case_updates": ("case_updates*.csv", "case_updates*.xlsx", "case_updates*.xlsm"),
    "appeals": ("appeals*.csv", "appeals*.xlsx", "appeals*.xlsm"),
    "invitations": ("invitations*.csv", "invitations*.xlsx", "invitations*.xlsm",
                    "invitations*.parquet"),
}
_VISIT_COLUMNS = ("visit_id", "visit_date", "branch", "manager_id", "segment", "item_id", "result")
#: optional visit columns: the mystery shopper's id, and the visit a calibration record rates again
_VISIT_OPTIONAL = ("shopper_id", "calibration_of")
_WORKSPACE_REQUIRED = ("name", "currency", "timezone", "instrument", "segments", "standards",
                       "clients", "visits")
_WORKSPACE_OPTIONAL = ("fiscal_year_start", "staff", "store", "quarter_files", "reporting",
                       "compliance", "cases", "encodings", "sheets", "countries", "alerts",
                       "themes",
                       "invitations", "weighting")


def _config_file(root: Path, r: _Reader) -> Path:
    name = r.text("a file name relative to the workspace folder")
    return root / name


_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _addresses(r: _Reader) -> tuple[str, ...]:
    items = [r] if isinstance(r.value, str) else r.list(min_items=1, what="a list of e-mail "
                                                                          "addresses")
    out = []
    for a in items:
        v = a.text("an e-mail address")
        if not _EMAIL_RE.fullmatch(v):
            a.fail(f"expected an e-mail address such as cx@bank.example, got {v!r}")
        out.append(v)
    return tuple(out)


def _parse_alert_mail(r: _Reader) -> AlertMail | None:
    a = r.fields(optional=("email",))
    if not a.get("email"):
        return None
    e = a["email"].fields(required=("host", "sender"),
                          optional=("port", "username", "password_env", "starttls", "recipients"))
    recipients: dict[str, t.Any] = {"executives": (), "branches": {}, "managers": {}}
    if e.get("recipients"):
        rr = e["recipients"].fields(optional=("executives", "branches", "managers"))
        if rr.get("executives"):
            recipients["executives"] = _addresses(rr["executives"])
        for role in ("branches", "managers"):
            if rr.get(role):
                recipients[role] = {str(code): _addresses(vr) for code, vr in rr[role].entries()}
    env = e["password_env"].text("an environment variable name") if e.get("password_env") \
        else None
    if env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        e["password_env"].fail(f"expected the name of an environment variable (the password "
                               f"itself never goes in a file), got {env!r}")
    return AlertMail(host=e["host"].text("a host name"),
                     port=e["port"].integer(lo=1, hi=65535) if e.get("port") else 25,
                     sender=_addresses(e["sender"])[0],
                     username=e["username"].text("a user name") if e.get("username") else None,
                     password_env=env,
                     starttls=e["starttls"].boolean() if e.get("starttls") is not None else False,
                     **recipients)


def _parse_weighting(r: _Reader, client_columns: t.Sequence[str]) -> Weighting:
    """``weighting:`` of workspace.yaml (see :class:`Weighting`)."""
    w = r.fields(optional=("enabled", "target", "variables", "trim", "bands"))
    values: dict[str, t.Any] = {}
    if w.get("enabled") is not None:
        values["enabled"] = w["enabled"].boolean()
    if w.get("target") is not None:
        values["target"] = w["target"].choice(("invited", "book"))
    if w.get("variables") is not None:
        names = []
        known = [c for c in client_columns if c != "client_id"]
        for vr in w["variables"].list(min_items=1, what="a list of CRM columns such as "
                                                         "[tier, client_type]"):
            v = vr.text("a CRM column")
            if v not in known:
                vr.fail(f"{_hint(v, known)}expected a CRM column named in clients.columns "
                        f"({', '.join(known)}), got {v!r}")
            if v in names:
                vr.fail(f"expected each variable once, got {v!r} twice")
            names.append(v)
        values["variables"] = tuple(names)
    if w.get("trim") is not None:
        values["trim"] = w["trim"].number(gt=1, what="a cap on weight / mean weight")
    if w.get("bands") is not None:
        values["bands"] = w["bands"].integer(lo=2, hi=10)
    out = Weighting(**values)
    missing = [v for v in out.variables if v not in client_columns]
    if out.enabled and missing:
        r.fail(f"weighting on the default variables needs {', '.join(missing)} in "
               f"clients.columns; name the variables (weighting.variables)")
    return out


def _column_map(r: _Reader, required: t.Sequence[str], closed: bool,
                optional: t.Sequence[str] = ()) -> dict[str, str]:
    """A canonical -> source column mapping; sources must be distinct."""
    if closed:
        r.fields(required=required, optional=optional)
    out: dict[str, str] = {}
    for canonical, vr in r.entries():
        if not closed:
            _Reader(r.file, canonical, vr.path, vr.line).ident("a canonical column name")
        source = vr.text("a source column name")
        other = next((k for k, s in out.items() if s == source), None)
        if other is not None:
            vr.fail(f"expected a source column not mapped twice; {source!r} is already mapped "
                    f"to {other!r}")
        out[canonical] = source
    for key in required:
        if key not in out:
            r[key].fail(f"required key is missing (found: {', '.join(out) or 'no keys'})")
    return out


def load_workspace(path: str | Path = SAMPLE_WORKSPACE) -> Workspace:
    """Read and validate a workspace.

    Parameters
    ----------
    path : str or Path
        The workspace folder (holding ``workspace.yaml``) or the ``workspace.yaml`` file itself.
        Defaults to the bundled sample, :data:`vipquality.paths.SAMPLE_WORKSPACE`.

    Returns
    -------
    Workspace
        Frozen, typed configuration. Nothing under the quarter folders is read.

    Raises
    ------
    ConfigError
        A file is missing, is not valid YAML, or has a missing, unknown, mistyped or inconsistent
        key; the message names the file, the dotted key path and what was expected.

    Examples
    --------
    >>> ws = load_workspace()
    >>> ws.instrument.attribute_ids[:3]
    ['competence', 'response_speed', 'availability']
    >>> ws.standards.get("S02").target("private"), ws.standards.get("S02").target("premium")
    (90.0, 85.0)
    >>> [s.id for s in ws.segments.family("value_frequency")][:2]
    ['ltv_low_freq_low', 'ltv_low_freq_high']
    """
    given = Path(path)
    if given.is_dir():
        root, ws_file = given, given / "workspace.yaml"
    elif given.is_file():
        root, ws_file = given.parent, given
    else:
        raise ConfigError(str(given), "", "workspace not found: expected a folder holding "
                                          "workspace.yaml, or a workspace.yaml file")
    r = _read_yaml(ws_file).fields(required=_WORKSPACE_REQUIRED, optional=_WORKSPACE_OPTIONAL)

    name = r["name"].text("a workspace name")
    currency = r["currency"].text("a currency code")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        r["currency"].fail(f"expected a three-letter ISO 4217 code such as RUB or EUR, "
                           f"got {currency!r}")
    timezone = r["timezone"].text("a time zone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r["timezone"].fail(f"{_hint(timezone, ('Europe/Moscow', 'Europe/London', 'UTC'))}"
                           f"expected an IANA time zone such as Europe/Moscow, got {timezone!r}")
    fys = r["fiscal_year_start"].integer(lo=1, hi=12) if r.get("fiscal_year_start") else 1

    files = {key: _config_file(root, r[key]) for key in ("instrument", "segments", "standards")}
    staff_path = _config_file(root, r["staff"]) if r.get("staff") else None
    store_path = _config_file(root, r["store"]) if r.get("store") else root / "store"

    quarter_files = dict(_DEFAULT_PATTERNS)
    if r.get("quarter_files"):
        qf = r["quarter_files"].fields(optional=_TABLES)
        for table, pr in qf.entries():
            if isinstance(pr.value, str):
                quarter_files[table] = (pr.text("a file pattern"),)
            else:
                quarter_files[table] = tuple(
                    p.text("a file pattern such as 'survey*.csv'")
                    for p in pr.list(min_items=1, what="a list of file patterns"))

    encodings: list[str] = []
    if r.get("encodings"):
        for er in r["encodings"].list(min_items=1, what="a list of code pages such as [cp1253]"):
            name = er.text("a code page such as cp1253, cp1251 or iso8859-7")
            try:
                codec = codecs.lookup(name)
            except LookupError:
                er.fail(f"expected a code page Python knows (cp1253, iso8859-7, cp1251, "
                        f"koi8-r, cp1252, …), got {name!r}")
            if codec.name.startswith(("utf-", "utf_")):
                er.fail(f"expected a legacy 8-bit code page (UTF-8 and UTF-16 are recognised "
                        f"without being stated), got {name!r}")
            encodings.append(codec.name)
    countries: list[str] = []
    if r.get("countries"):
        for cr_ in r["countries"].list(min_items=1, what="a list of country codes such as [GR, RU]"):
            code = cr_.text("an ISO 3166 two-letter country code").upper()
            if not re.fullmatch(r"[A-Z]{2}", code):
                cr_.fail(f"expected an ISO 3166 two-letter country code such as GR, PH or RU, "
                         f"got {code!r}")
            countries.append(code)
    sheets: dict[str, str] = {}
    if r.get("sheets"):
        for table, sr in r["sheets"].fields(optional=_TABLES).entries():
            sheets[table] = sr.text("the name of the workbook's sheet holding the data")

    cr = r["clients"].fields(required=("columns",), optional=("personal",))
    client_columns = _column_map(cr["columns"], required=("client_id",), closed=False)
    personal: list[str] = []
    if cr.get("personal"):
        for pr in cr["personal"].list(what="a list of column names"):
            p = pr.text("a column name")
            mapped = next((k for k, s in client_columns.items() if s == p), None)
            if mapped is not None:
                pr.fail(f"expected a column that is not stored; {p!r} is also mapped to "
                        f"clients.columns.{mapped} (personal columns are dropped at ingest)")
            if p in personal:
                pr.fail(f"expected each column once, got {p!r} twice")
            personal.append(p)

    vr = r["visits"].fields(required=("columns",))
    visit_columns = _column_map(vr["columns"], required=_VISIT_COLUMNS, closed=True,
                                optional=_VISIT_OPTIONAL)

    reporting = Reporting()
    if r.get("reporting"):
        rr = r["reporting"].fields(optional=tuple(f.name for f in dataclasses.fields(Reporting)))
        values: dict[str, t.Any] = {}
        if rr.get("confidence") is not None:
            values["confidence"] = rr["confidence"].number(gt=0, what="a confidence level")
            if values["confidence"] >= 1:
                rr["confidence"].fail(f"expected a confidence level between 0 and 1 such as "
                                      f"0.95, got {_show(rr['confidence'].value)}")
        for key in ("base_suppress", "base_small", "trend_quarters"):
            if rr.get(key) is not None:
                values[key] = rr[key].integer(lo=1 if key == "trend_quarters" else 0)
        if rr.get("adjustment") is not None:
            values["adjustment"] = rr["adjustment"].choice(("holm", "bh"))
        reporting = dataclasses.replace(reporting, **values)
        if reporting.base_small < reporting.base_suppress:
            rr["base_small"].fail(f"expected a base at least base_suppress "
                                  f"({reporting.base_suppress}), got {reporting.base_small}")

    critical_fails = True
    if r.get("compliance"):
        comp = r["compliance"].fields(optional=("critical_item_fails_visit",))
        if comp.get("critical_item_fails_visit") is not None:
            critical_fails = comp["critical_item_fails_visit"].boolean()

    instrument = _parse_instrument(_read_yaml(files["instrument"], r["instrument"]))
    segments = _parse_segments(_read_yaml(files["segments"], r["segments"]),
                               fields=list(client_columns), fiscal_year_start=fys)
    standards = _parse_standards(_read_yaml(files["standards"], r["standards"]),
                                 attribute_ids=instrument.attribute_ids,
                                 segment_ids=segments.ids)
    cases = None
    if r.get("cases"):
        cases = _parse_cases(_read_yaml(_config_file(root, r["cases"]), r["cases"]), instrument)
        if cases.tier_field not in client_columns:
            raise ConfigError(str(_config_file(root, r["cases"])), "tier_field",
                              f"expected a client column named in workspace.yaml "
                              f"clients.columns ({', '.join(client_columns)}), "
                              f"got {cases.tier_field!r}")

    # the codeframe: named by `themes:`, else themes.yaml in the folder when there is one
    themes_file = _config_file(root, r["themes"]) if r.get("themes") else root / "themes.yaml"
    themes = None
    if r.get("themes") or themes_file.is_file():
        themes = _parse_themes(_read_yaml(themes_file, r["themes"] if r.get("themes") else None),
                               attribute_ids=instrument.attribute_ids, standard_ids=standards.ids)

    weighting = _parse_weighting(r["weighting"], list(client_columns)) if r.get("weighting") \
        else Weighting()
    fatigue = 3
    if r.get("invitations"):
        ir = r["invitations"].fields(optional=("fatigue_limit",))
        if ir.get("fatigue_limit") is not None:
            fatigue = ir["fatigue_limit"].integer(lo=1)

    return Workspace(
        root=root, name=name, currency=currency, timezone=timezone, fiscal_year_start=fys,
        instrument=instrument, segments=segments, standards=standards, staff_path=staff_path,
        store_path=store_path, quarter_files=quarter_files, client_columns=client_columns,
        personal_columns=tuple(personal), visit_columns=visit_columns, reporting=reporting,
        critical_item_fails_visit=critical_fails, cases=cases,
        alert_mail=_parse_alert_mail(r["alerts"]) if r.get("alerts") else None,
        encodings=tuple(encodings), sheets=sheets, themes=themes,
        weighting=weighting, fatigue_limit=fatigue,
        **({"countries": tuple(countries)} if countries else {}))
