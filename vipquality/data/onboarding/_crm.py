"""The CRM extract's columns mapped to the canonical ones, and its personal columns found.

By name first (the canonical names and the usual English, Greek and Russian ones), then by
content: unique ids, dates, money amounts, tier-like categories (a few repeated labels). Columns
that look personal — names, e-mails, phones, addresses, by name or by the shape of their values —
are proposed for ``clients.personal`` so ingest drops them. Nothing here returns a client's
value: the proposal holds column names, counts and, for the tier column only, its category
labels (which become the segments of the tier family).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vipquality.data.onboarding._roles import _key
from vipquality.data.readers import read_table

__all__ = ["ColumnGuess", "CrmProposal", "propose_crm", "propose_visits"]

_NAMES = {
    "client_id": ["clientid", "customerid", "clientno", "customerno", "clientnumber",
                  "customernumber", "cif", "crmid", "client", "customer", "id",
                  "κωδικόςπελάτη", "κωδικός", "кодклиента", "idклиента", "номерклиента"],
    "client_type": ["clienttype", "customertype", "type", "τύποςπελάτη", "типклиента"],
    "tier": ["tier", "level", "category", "class", "segment", "package", "programme",
             "program", "βαθμίδα", "κατηγορία", "уровень", "категория", "сегмент", "pakete"],
    "manager_id": ["managerid", "manager", "rm", "rmid", "relationshipmanager",
                   "personalmanager", "advisor", "banker", "υπεύθυνος", "менеджер",
                   "персональныйменеджер"],
    "branch": ["branch", "branchid", "branchcode", "office", "κατάστημα", "υποκατάστημα",
               "филиал", "отделение", "sangay"],
    "lifetime_value": ["lifetimevalue", "ltv", "clv", "customerlifetimevalue"],
    "purchases_12m": ["purchases12m", "purchases", "transactions12m", "txn12m"],
    "last_transaction": ["lasttransaction", "lasttransactiondate", "lasttxn", "lasttxndate",
                         "lastactivity", "τελευταίασυναλλαγή", "последняяоперация"],
    "products": ["products", "productlist", "προϊόντα", "продукты"],
    "revenue": ["revenue", "turnover", "annualrevenue", "έσοδα", "κύκλοςεργασιών", "выручка",
                "оборот"],
    "balance": ["balance", "aum", "assets", "υπόλοιπο", "остаток", "баланс"],
    "avg_monthly_spend_3m": ["avgmonthlyspend3m", "avgmonthlyspend", "monthlyspend",
                             "spend3m"],
    "lines": ["lines", "accounts", "numaccounts", "nlines", "numberofaccounts"],
    "household_id": ["householdid", "household", "familyid"],
}
_PERSONAL_NAME = re.compile(
    r"name|surname|fio|фио|имя|фамил|отчеств|όνομα|επώνυμ|ονοματεπ|pangalan|apelyido|"
    r"e-?mail|почт|ταχυδρομ|phone|\btel\b|telephone|mobile|\bcell|телефон|τηλέφων|κινητ|telepono|"
    r"address|street|postcode|zip|адрес|улиц|διεύθυνσ|οδός|tirahan|birth|passport|паспорт|"
    r"iban|ssn|tax ?id|инн|snils|снилс|αφμ", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().\-]{7,}$")
_PERSON = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:[\s'’.\-]+[^\W\d_][^\W\d_'’.\-]*){1,3}$")
_CLIENT_TYPES = {"individual", "legal_entity"}


@dataclass(frozen=True)
class ColumnGuess:
    """A CRM column's proposed canonical name (or ``personal``) with its confidence and why."""

    canonical: str
    column: str | None
    confidence: float
    why: str


@dataclass
class CrmProposal:
    """The proposed ``clients`` mapping of :func:`propose_crm`."""

    mapping: list[ColumnGuess]
    personal: list[ColumnGuess]
    unmapped: list[str]
    tiers: list[str] = field(default_factory=list)
    rows: int = 0
    #: (manager code, the branch most of their clients are in): the staff roster's draft
    managers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, canonical: str) -> ColumnGuess | None:
        return next((g for g in self.mapping if g.canonical == canonical), None)

    def table(self) -> pd.DataFrame:
        """``canonical, column, confidence, why`` (personal columns as ``personal``)."""
        return pd.DataFrame([g.__dict__ for g in [*self.mapping, *self.personal]],
                            columns=["canonical", "column", "confidence", "why"])


def _share(v: pd.Series, test) -> float:
    return float(v.map(lambda x: bool(test(x))).mean()) if len(v) else 0.0


def _personal_reason(col: str, v: pd.Series) -> str | None:
    if _PERSONAL_NAME.search(col):
        return f"its name ({col!r}) says personal data"
    if not len(v):
        return None
    if _share(v, _EMAIL.match) >= 0.5:
        return "its values are shaped like e-mail addresses"
    if _share(v, _PHONE.match) >= 0.8 and _share(v, lambda x: sum(ch.isdigit() for ch in x)
                                                 >= 7) >= 0.8 and not v.str.isdigit().all():
        return "its values are shaped like phone numbers"
    if _share(v, _PERSON.match) >= 0.8 and v.nunique() >= 0.8 * len(v) and len(v) >= 5:
        return "its values are shaped like people's names (2–4 words, letters only)"
    return None


def propose_crm(path: str | Path) -> CrmProposal:
    """Map a CRM extract's columns to the canonical client columns and list the personal ones.

    Parameters
    ----------
    path : str or Path
        The extract (CSV, Excel or Parquet, as ``clients*`` files of a quarter folder).

    Returns
    -------
    CrmProposal
        ``mapping`` (canonical → column), ``personal`` (columns to drop at ingest),
        ``unmapped`` (other columns), ``tiers`` (the tier column's labels, for segments.yaml).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "crm.csv"
    >>> _ = p.write_text("Customer No,Full Name,E-mail,Segment\\n"
    ...                  "C1,Anna Lee,a@x.org,Gold\\nC2,Bo Chan,b@x.org,Silver\\n", encoding="utf-8")
    >>> prop = propose_crm(p)
    >>> prop.get("client_id").column, [g.column for g in prop.personal], prop.tiers
    ('Customer No', ['Full Name', 'E-mail'], ['Gold', 'Silver'])
    """
    raw = read_table(Path(path))
    values = {c: raw.data[c].astype(str).str.strip() for c in raw.columns}
    filled = {c: v[v != ""] for c, v in values.items()}
    personal, mapping, taken = [], [], set()
    for c in raw.columns:
        why = _personal_reason(c, filled[c])
        if why is not None and _key(c) not in {n for ns in _NAMES.values() for n in ns}:
            personal.append(ColumnGuess("personal", c, 0.9 if "name" in why else 0.7, why))
            taken.add(c)
    keys = {_key(c): c for c in raw.columns if c not in taken}
    for canonical, names in _NAMES.items():
        for n in [_key(canonical), *names]:
            c = keys.get(n)
            if c is not None and c not in taken:
                mapping.append(ColumnGuess(canonical, c, 0.9, f"named {c!r}"))
                taken.add(c)
                break

    def free(canonical: str) -> bool:
        return all(g.canonical != canonical for g in mapping)

    for c in raw.columns:  # by content, for the canonical columns no name matched
        if c in taken:
            continue
        v = filled[c]
        if not len(v):
            continue
        num = pd.to_numeric(v.str.replace(",", "", regex=False), errors="coerce")
        if free("client_id") and v.is_unique and len(v) == len(raw.data) and \
                v.str.contains(r"\d").all():
            mapping.append(ColumnGuess("client_id", c, 0.6, "unique in every row, with digits"))
        elif free("last_transaction") and num.isna().all() and \
                pd.to_datetime(v.head(200), errors="coerce", format="mixed").notna().mean() > 0.9:
            mapping.append(ColumnGuess("last_transaction", c, 0.5, "its values read as dates"))
        elif free("balance") and num.notna().all() and (num % 1 != 0).any():
            mapping.append(ColumnGuess("balance", c, 0.4, "amounts with decimals (money)"))
        elif free("tier") and num.isna().all() and 2 <= v.nunique() <= 8 and len(v) >= 10:
            mapping.append(ColumnGuess("tier", c, 0.5, f"{v.nunique()} repeated labels "
                                       "(tier-like)"))
        else:
            continue
        taken.add(c)
    ct = next((g for g in mapping if g.canonical == "client_type"), None)
    if ct is not None and not set(filled[ct.column].str.casefold()) <= _CLIENT_TYPES:
        mapping.remove(ct)  # ingest accepts individual | legal_entity only
        taken.discard(ct.column)
    tier = next((g for g in mapping if g.canonical == "tier"), None)
    tiers = sorted(set(filled[tier.column])) if tier is not None else []
    if len(tiers) > 12:
        tiers = []
    order = list(_NAMES)
    mapping.sort(key=lambda g: order.index(g.canonical))
    managers: list[tuple[str, str]] = []
    mg, br = next((g for g in mapping if g.canonical == "manager_id"), None), \
        next((g for g in mapping if g.canonical == "branch"), None)
    if mg is not None:
        frame = pd.DataFrame({"m": values[mg.column],
                              "b": values[br.column] if br is not None else ""})
        frame = frame[frame["m"] != ""]
        if frame["m"].nunique() <= 1000:  # manager codes, not a column of client ids
            managers = [(m, str(g["b"].mode().iloc[0]) if len(g) else "")
                        for m, g in frame.groupby("m", sort=True)]
    return CrmProposal(mapping, personal, [c for c in raw.columns if c not in taken], tiers,
                       len(raw.data), managers)


_VISIT_NAMES = {
    "visit_id": ["visitid", "visit", "visitno", "id"],
    "visit_date": ["visitdate", "date", "dateofvisit"],
    "branch": ["branch", "branchid", "branchcode", "office"],
    "manager_id": ["managerid", "manager", "rm", "rmid"],
    "segment": ["scenariosegment", "segment", "scenario", "profile"],
    "item_id": ["itemid", "item", "checkitem", "checklistitem", "question"],
    "result": ["result", "answer", "outcome", "score"],
}


def propose_visits(path: str | Path | None) -> list[ColumnGuess]:
    """The mystery-shopping file's columns by name (its header only); without a file, the
    canonical names as placeholders (confidence 0)."""
    cols: list[str] = []
    if path is not None:
        from vipquality.data.importers import read_sheet

        sheet = read_sheet(Path(path), Path(path).name, limit=1)
        cols = [c.strip() for c in (sheet.rows[0] if sheet.rows else [])]
    keys = {_key(c): c for c in cols}
    out = []
    for canonical, names in _VISIT_NAMES.items():
        c = next((keys[n] for n in [_key(canonical), *names] if n in keys), None)
        out.append(ColumnGuess(canonical, c or canonical, 0.9 if c else 0.0,
                               f"named {c!r}" if c else "no such column found (placeholder)"))
    return out
