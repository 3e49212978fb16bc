"""Privacy and access (issue 6): no personal data in any output, comments scrubbed, suppressed
groups show no value anywhere and cannot be recovered by difference, pages run no outside script.

The module's run (``run``): a small generated workspace (3 quarters, 400 responses a quarter)
with one planted client whose name, e-mail, phone, id, address, card and IBAN are in the CRM
extract and quoted in a survey comment, plus comments naming a staff member and another client;
``vipquality ingest`` and ``vipquality report`` run as a scheduler would (one log file); then
every file of the reports folder, the log and the store is scanned.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scan import distinctive

from vipquality.config import load_workspace
from vipquality.data.privacy import Scrubber, find_personal_data, scrub_comment
from vipquality.metrics.summarise import redact

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# scrub_comment


@pytest.mark.parametrize("text", [
    "+7 (999) 123-45-67", "+7 999 123-45-67", "+79991234567", "8 999 123 45 67", "89991234567",
    "8-800-555-35-35", "8 (495) 123-45-67", "+7 4012 12-34-56", "+44 20 7946 0958",
    "+1 (555) 123-4567", "+49 30 1234567", "+33 1 23 45 67 89", "(999) 123-45-67",
    "999 123-45-67", "9991234567", "123-45-67",
])
def test_phone_numbers_in_common_formats_are_masked(text):
    for comment in (f"звоните {text} вечером", f"call {text}.", text):
        out = scrub_comment(comment)
        assert "[phone]" in out and not re.search(r"\d{2}", out), (comment, out)


@pytest.mark.parametrize("text", [
    "4276 1234 5678 9012", "4276-1234-5678-9012", "4276123456789012",
    "40817810099910004312", "4081 7810 0999 1000 4312",
    "DE89 3704 0044 0532 0130 00", "GB29NWBK60161331926819", "GB29 NWBK 6016 1331 9268 19",
])
def test_card_account_and_iban_numbers_are_masked(text):
    out = scrub_comment(f"переведите на {text}, спасибо")
    assert out == "переведите на [account], спасибо", out


@pytest.mark.parametrize("text", ["ivan.petrov@mail.ru", "a_b+tag@sub.example.co.uk",
                                  "ЯНДЕКС-user@yandex.ru"])
def test_emails_are_masked(text):
    assert scrub_comment(f"пишите на {text}!") == "пишите на [e-mail]!"


def test_names_of_the_roster_and_the_crm_are_masked_also_inflected():
    names = ["Вероника Соколова", "Иванов Пётр Сергеевич", "Xanthippe Wobblesworth",
             'ООО «Балтийский капитал Строй»', "Bill Gates"]
    cases = {
        "Спасибо Веронике и Петру!": "Спасибо [name] и [name]!",
        "Менеджер Соколова Вероника молодец": "Менеджер [name] молодец",
        "Иванову звонил трижды": "[name] звонил трижды",
        "Dear Xanthippe Wobblesworth, thanks": "Dear [name], thanks",
        "XANTHIPPE called": "[name] called",
        "the bill was wrong but Bill helped": "the bill was wrong but [name] helped",
        "ООО Балтийский капитал": "ООО [name]",     # legal forms are not names
    }
    scrub = Scrubber(names)
    for text, want in cases.items():
        assert scrub(text) == want, text


def test_ids_and_addresses_are_masked_and_ordinary_text_is_kept():
    out = scrub_comment("client C0555111 at Wobblesworth Row 17,  quillington — see C05551119",
                        ids=["C0555111"], addresses=["Wobblesworth Row 17, Quillington"])
    assert out == "client [id] at [address] — see C05551119"
    plain = ("Оценка 10 из 10, ждал 3 дня, с 2026-04-03 по 05.06.2026, сумма 5 000 000 руб., "
             "ставка 7,5%, тариф Premium, NPS 9")
    assert scrub_comment(plain, names=["Иван Петров"]) == plain


_SECRET = st.sampled_from(["+7 912 345-67-89", "8 (916) 555-12-34", "ivan@mail.ru",
                           "4276 5500 1234 9876", "DE89 3704 0044 0532 0130 00", "Вероника",
                           "Веронике", "Wobblesworth"])
_FILLER = st.text(alphabet=st.sampled_from(list("abc АБВ,.!?-()")), max_size=12)


@settings(max_examples=25, deadline=None)
@given(before=_FILLER, secret=_SECRET, after=_FILLER)
def test_scrubbing_always_removes_the_secret_and_is_idempotent(before, secret, after):
    scrub = Scrubber(["Вероника Соколова", "Xanthippe Wobblesworth"])
    text = f"{before} {secret} {after}"
    once = scrub(text)
    digits = re.sub(r"\D", "", secret)
    assert secret not in once and secret.casefold() not in once.casefold()
    if len(digits) >= 7:
        assert digits not in re.sub(r"\D", "", once)
    assert scrub(once) == once


def test_ingest_has_one_implementation_of_comment_scrubbing():
    from vipquality.data.ingest import _validate

    source = Path(_validate.__file__).read_text(encoding="utf-8")
    assert "@[" not in source and "_PHONE_RE" not in source and "_EMAIL_RE" not in source
    assert "scrubber" in source


# --------------------------------------------------------------------------------------------
# the planted run


@dataclass(frozen=True)
class Planted:
    client_id: str = "C0555111"
    full_name: str = "Xanthippe Wobblesworth"
    email: str = "xanthippe.wobble@example.net"
    phone: str = "+7 912 345-67-89"
    address: str = "Wobblesworth Row 17, Quillington"
    card: str = "4276 5500 1234 9876"
    iban: str = "DE89 3704 0044 0532 0130 00"

    @property
    def comment(self) -> str:
        return (f"I am {self.full_name}, call {self.phone} or {self.email}; client "
                f"{self.client_id}, {self.address}; refund to card {self.card} or {self.iban}.")

    def contacts(self) -> list[str]:
        """What may be nowhere, the store included."""
        return [self.full_name, "Xanthippe", "Wobblesworth", self.email, "xanthippe.wobble",
                self.phone, "345-67-89", "9123456789", self.address, "Quillington",
                self.card, "4276550012349876", self.iban, "370400440532013000"]

    def everything(self) -> list[str]:
        """What may be in no report file and no log (the client id is in the store by design)."""
        return [*self.contacts(), self.client_id]


@dataclass
class Run:
    root: Path
    quarter: str
    out: Path
    log: Path
    ingest: subprocess.CompletedProcess
    report: subprocess.CompletedProcess
    planted: Planted
    staff_name: str
    other_client: pd.Series  # a real CRM client whose full name a comment quotes


def _cli(*args: str, log: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "vipquality.cli", *args], capture_output=True,
                          text=True, timeout=1200, stdin=subprocess.DEVNULL, cwd=REPO)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ vipquality {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    return proc


def _plant(ws_root: Path, quarter: str, planted: Planted) -> tuple[str, pd.Series]:
    folder = ws_root / quarter
    (clients_path,) = folder.glob("clients*")
    clients = (pd.read_parquet(clients_path) if clients_path.suffix == ".parquet"
               else pd.read_csv(clients_path, dtype=str, keep_default_na=False))
    survey_path = folder / "survey.csv"
    rows = list(csv.reader(io.StringIO(survey_path.read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    i_id, i_comment = header.index("ClientId"), header.index("Q5_comment")
    surveyed = sorted({r[i_id] for r in body} & set(clients["client_id"]))
    staff = pd.read_csv(ws_root / "staff.csv", dtype=str)
    staff_words = {w for n in staff["manager_name"] for w in n.split()}
    # the other client: a person whose name shares no word with a staff member's (the staff view
    # names staff, legitimately)
    named = clients.set_index("client_id")["full_name"]
    old = surveyed[0]
    other_id = next(c for c in surveyed[1:] if clients.loc[clients["client_id"] == c,
                                                            "client_type"].iloc[0] == "individual"
                    and not set(str(named[c]).split()) & staff_words)
    row = clients["client_id"] == old
    for column, value in (("client_id", planted.client_id), ("full_name", planted.full_name),
                          ("email", planted.email), ("phone", planted.phone),
                          ("address", planted.address)):
        clients.loc[row, column] = value
    clients.to_parquet(clients_path, index=False) if clients_path.suffix == ".parquet" else \
        clients.to_csv(clients_path, index=False)
    other = clients[clients["client_id"] == other_id].iloc[0]
    staff_name = str(staff["manager_name"].iloc[3])
    done = set()
    for r in body:
        if r[i_id] == old:
            r[i_id], r[i_comment] = planted.client_id, planted.comment
            done.add("planted")
        elif r[i_id] == other_id:
            r[i_comment] = f"{other['full_name']} here: {staff_name} was very helpful"
            done.add("other")
    assert done == {"planted", "other"}
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *body])
    survey_path.write_text(buf.getvalue(), encoding="utf-8")
    return staff_name, other


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    from vipquality.data.sample import generate_sample

    base = tmp_path_factory.mktemp("privacy")
    root = base / "ws"
    root.mkdir()
    for config in (REPO / "surveys").glob("*.yaml"):
        shutil.copy2(config, root / config.name)
    written = generate_sample(root, quarters=3, responses_per_quarter=400, visits_per_quarter=80,
                              clients=1000, formats={"survey": "csv", "clients": "parquet"})
    quarter = written["quarters"][-1]
    planted = Planted()
    staff_name, other = _plant(root, quarter, planted)
    log, out = base / "vipquality.log", base / "reports"
    ingest = _cli("ingest", "--workspace", str(root), "--all", log=log)
    report = _cli("report", "--workspace", str(root), "--out", str(out), "--workers", "2",
                  "--no-progress", log=log)
    return Run(root, quarter, out, log, ingest, report, planted, staff_name, other)


def test_the_run_used_the_planted_data(run):
    assert run.ingest.returncode == 0, run.ingest.stderr[-2000:]
    assert run.report.returncode == 0, run.report.stderr[-2000:]
    from vipquality.data.store import load_responses

    responses = load_responses(load_workspace(run.root), quarters=[run.quarter])
    mine = responses[responses["client_id"] == run.planted.client_id]
    assert len(mine) == 1
    # every kind of personal data was replaced in the stored comment
    assert mine["comment"].iloc[0] == ("I am [name], call [phone] or [e-mail]; client [id], "
                                       "[address]; refund to card [account] or [account].")


def _ids_in(text: str, ids: set[str]) -> set[str]:
    return set(re.findall(r"(?<![A-Za-z0-9])C\d{7}(?![0-9])", text)) & ids


def test_no_personal_data_in_any_report_file_or_log(run):
    """Clients' data is in no file of reports/ (restricted/ and _failed/ included) and in no
    log; staff names (quoted in a comment) only in the restricted staff view."""
    extract = pd.read_parquet(next((run.root / run.quarter).glob("clients*")))
    planted = [*run.planted.everything(), str(run.other_client["full_name"]),
               str(run.other_client["email"])]
    files = [p for p in run.out.rglob("*") if p.is_file()]
    assert len(files) > 10 and any(p.suffix == ".html" for p in files)
    # the managers' own case lists (restricted/<q>/cases/) are the one place a client's id and
    # name may appear: test_case_lists_hold_only_the_managers_own_clients checks them
    lists = [p for p in files if _is_case_list(run, p)]
    others = [p for p in files if p not in lists]
    found = [f for p in [*others, run.log] for f in find_personal_data(p, planted)]
    assert [str(f) for f in found] == []
    executive = [p for p in files if "restricted" not in p.relative_to(run.out).parts]
    staff = [str(f) for p in [*executive, run.log]
             for f in find_personal_data(p, [run.staff_name], contacts=False)]
    assert staff == []
    ids = set(extract["client_id"])
    for path in [*others, run.log]:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not _ids_in(text, ids), path


def _is_case_list(run, path) -> bool:
    parts = path.relative_to(run.out).parts
    return "restricted" in parts and "cases" in parts


def test_case_lists_hold_only_the_managers_own_clients(run):
    """Each manager's list (html and csv) names only that manager's clients; no list carries
    a contact detail; the branch lists and the loop by manager name no client of another
    branch."""
    extract = pd.read_parquet(next((run.root / run.quarter).glob("clients*")))
    manager_of = dict(zip(extract["client_id"], extract["manager_id"]))
    branch_of = dict(zip(extract["client_id"], extract["branch"]))
    lists = [p for p in run.out.rglob("*") if p.is_file() and _is_case_list(run, p)]
    assert any(p.name.startswith("M") and p.suffix == ".csv" for p in lists), lists
    ids = set(extract["client_id"])
    for path in lists:
        text = path.read_text(encoding="utf-8", errors="replace")
        found = _ids_in(text, ids)
        stem = path.stem
        if stem.startswith("branch-"):
            assert {branch_of[c] for c in found} <= {stem.removeprefix("branch-")}, path
        elif stem == "managers":
            assert not found, path
        else:
            assert {manager_of[c] for c in found} <= {stem}, path
            # names of other managers' clients (a name one of their own clients shares with
            # someone else's may stand)
            own = set(extract.loc[extract["manager_id"] == stem, "full_name"].astype(str))
            others = set(extract.loc[extract["manager_id"] != stem, "full_name"].astype(str))
            assert not [n for n in others - own if n and n in text], path
    # the planted client's name may stand in their own manager's list; their contacts never
    name = {run.planted.full_name, "Xanthippe", "Wobblesworth"}
    planted = [c for c in run.planted.contacts() if c not in name]
    assert [str(f) for f in find_personal_data(run.out / "restricted", planted)] == []


def test_no_names_or_contacts_in_the_store(run):
    store = load_workspace(run.root).store_path
    planted = [*run.planted.contacts(), run.staff_name, str(run.other_client["full_name"])]
    found = find_personal_data(store, planted)
    assert [str(f) for f in found] == []
    for path in store.rglob("*.parquet"):
        assert not {"full_name", "email", "phone", "address"} & set(pq.read_schema(path).names)


def test_the_scan_finds_what_it_looks_for(run, tmp_path):
    """The checks above would fail on a leak (in a page, a CSV, a Parquet file)."""
    (tmp_path / "p.html").write_text(f"<p>{run.planted.full_name.upper()}</p>")
    pd.DataFrame({"c": [f"x {run.planted.phone} y"]}).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "m.csv").write_text("note\nwrite to someone@example.com\n")
    found = find_personal_data(tmp_path, run.planted.everything())
    assert {(f.path.name, f.kind) for f in found} == {
        ("p.html", "planted"), ("t.parquet", "planted"), ("t.parquet", "phone"),
        ("m.csv", "e-mail")}


# --------------------------------------------------------------------------------------------
# suppression: no value, and no value by difference


def _families(root: Path) -> dict[str, str]:
    return {s.id: s.family for s in load_workspace(root).segments.segments}


def _lone_hidden(frame: pd.DataFrame, keys: list[str], part: str, family) -> list[tuple]:
    """Sibling sets (equal ``keys``, one family of ``part``) with exactly one hidden group."""
    f = frame.assign(_family=frame[part].map(family) if family is not None else "*")
    f = f[f["_family"].notna()]
    out = []
    for key, g in f.groupby([*keys, "_family"], sort=True):
        hidden = g["value"].isna() & (g["n"] > 0)
        if len(g) > 1 and hidden.sum() == 1:
            out.append(key)
    return out


def test_executive_csvs_leave_no_lone_suppressed_group(run):
    folder = run.out / run.quarter
    fam = _families(run.root)
    metrics = pd.read_csv(folder / "metrics.csv")
    assert (metrics["base_flag"] == "suppressed").any()
    assert _lone_hidden(metrics, ["quarter", "metric"], "segment", fam) == []
    branches = pd.read_csv(folder / "metrics_by_branch.csv")
    assert _lone_hidden(branches, ["quarter", "branch", "metric"], "segment", fam) == []
    assert _lone_hidden(branches, ["quarter", "segment", "metric"], "branch", None) == []
    standards = pd.read_csv(folder / "standards_compliance.csv")
    assert _lone_hidden(standards, ["quarter", "standard_id"], "segment", fam) == []
    for frame in (metrics, branches, standards):
        small = frame[frame["n"] < 30]
        assert small["value"].isna().all() and small["ci_low"].isna().all()


def test_tiers_partition_all_clients_so_a_lone_hidden_tier_was_recoverable(run):
    """The threat complementary suppression removes, on this very workspace: without it, all
    clients' NPS minus the published tiers gives a suppressed tier's NPS exactly."""
    from vipquality.data.summary import summarise_workspace

    ws = load_workspace(run.root)
    # unweighted, so that the bases add up exactly (weighted, the Kish bases do not, and the
    # same arithmetic recovers the tier only approximately: the complements hide it all the same)
    raw = summarise_workspace(ws, by=["quarter", "segment"], weighted=False)
    nps = raw[(raw["metric"] == "nps") & (raw["quarter"] == run.quarter)].set_index("segment")
    tiers = [s for s, f in _families(run.root).items() if f == "tier"]
    assert nps.loc[tiers, "n"].sum() == nps.loc["all", "n"]            # a partition
    # make one tier "suppressed" as if its base were small, and redact primary-only
    target = nps.loc[tiers, "n"].idxmin()
    table = raw.copy()
    mask = (table["segment"] == target) & (table["quarter"] == run.quarter)
    table.loc[mask, "base_flag"] = "suppressed"
    primary = redact(table)
    p = primary[(primary["metric"] == "nps") & (primary["quarter"] == run.quarter)] \
        .set_index("segment")
    others = [t for t in tiers if t != target]
    recovered = (p.loc["all", "value"] * p.loc["all", "n"]
                 - (p.loc[others, "value"] * p.loc[others, "n"]).sum()) / p.loc[target, "n"]
    assert recovered == pytest.approx(nps.loc[target, "value"], abs=1e-6)
    # with the families, a second tier is hidden and the difference is a sum of two
    full = redact(table, {"segment": _families(run.root)})
    f = full[(full["metric"] == "nps") & (full["quarter"] == run.quarter)].set_index("segment")
    assert f.loc[tiers, "value"].isna().sum() == 2
    # ... and the next quarter cannot give it back through prev_value / change
    assert _lone_hidden(full, ["quarter", "metric"], "segment", _families(run.root)) == []


def test_complementary_suppression_blanks_the_next_quarters_change():
    t = pd.DataFrame({
        "quarter": ["2026Q1"] * 3 + ["2026Q2"] * 3, "segment": ["a", "b", "c"] * 2,
        "metric": "nps", "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "ci_low": 0.0, "ci_high": 9.0,
        "se": 1.0, "n": [10.0, 50.0, 80.0, 60.0, 50.0, 80.0],
        "base_flag": ["suppressed", "small", "small", "small", "small", "small"],
        # as summarise gives it: no comparison with a primary-suppressed quarter
        "prev_value": [None, None, None, None, 2.0, 3.0],
        "change": [None, None, None, None, 3, 3],
        "change_se": 1.0, "p_value": 0.01, "p_adjusted": 0.01,
        "significant": [False] * 4 + [True] * 2})
    out = redact(t, {"segment": {"a": "x", "b": "x", "c": "x"}})
    assert out["value"].isna().tolist() == [True, True, False, False, False, False]
    # the reason each blank is given on the pages (tooltip and footnote)
    assert out["suppressed_reason"].tolist() == ["small_base", "complement", "", "", "", ""]
    q2 = out[out["quarter"] == "2026Q2"].set_index("segment")
    assert q2["prev_value"].isna().tolist() == [True, True, False]      # b: complementary
    assert q2["change"].isna().tolist() == [True, True, False]
    assert q2["significant"].tolist() == [False, False, True]
    assert t["value"].notna().all(), "redact must not change its input"




def test_no_hidden_value_in_any_page_chart_hover_or_csv(run):
    """Every value blanked in metrics.csv (primary or complementary) is in no published file:
    chart data, hover text and tables included."""
    from vipquality.data.summary import summarise_workspace

    folder = run.out / run.quarter
    published = pd.read_csv(folder / "metrics.csv")
    raw = summarise_workspace(load_workspace(run.root), quarters=sorted(
        published["quarter"].unique()), by=["quarter", "segment"])
    keys = ["quarter", "segment", "metric"]
    hidden = published.loc[published["value"].isna() & (published["n"] > 0), keys]
    values = raw.merge(hidden, on=keys)[["value", "ci_low", "ci_high", "se"]]
    probes = sorted({p for p in map(distinctive, values.to_numpy(float).ravel()) if p})
    assert len(probes) >= 10
    for page in folder.iterdir():
        if page.suffix in (".html", ".csv", ".json"):
            text = page.read_text(encoding="utf-8")
            assert not [p for p in probes if p in text], page.name


# --------------------------------------------------------------------------------------------
# what the pages load and show


def test_pages_run_no_outside_script_and_embed_no_notebook_code(run):
    folder = run.out / run.quarter
    pages = sorted(folder.rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        srcs = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", text, re.I)
        assert srcs and all(s.endswith("plotly.min.js") and "//" not in s and ":" not in s
                            for s in srcs), (page.name, srcs)
        assert (page.parent / "plotly.min.js").is_file()
        assert not re.search(r"<(link|iframe|img|embed|object)[^>]*(src|href)\s*=\s*[\"']?\s*"
                             r"(https?:)?//", text, re.I), page.name
        assert not re.search(r"\bimport\s*\(|fetch\(|XMLHttpRequest|WebSocket", text), page.name
        for code in ("import vipquality", "vq.pages", "report_data(", ".show()",
                     "display(HTML", "data_dir", "injected-parameters", "Traceback"):
            assert code not in text, (page.name, code)
        # every code cell is exported without its input; no highlighted source anywhere
        cells = re.findall(r"<div class=\"(jp-Cell jp-CodeCell[^\"]*)\"", text)
        assert cells and all("jp-mod-noInput" in c for c in cells), page.name
        assert not re.search(r"class=\"[^\"]*\bhighlight hl-ipython", text), page.name


def test_staff_level_views_are_only_in_the_restricted_folder(run):
    """Personal managers (by code or name) appear in no executive page; the executive index links
    to no page under restricted/."""
    folder = run.out / run.quarter
    roster = pd.read_csv(run.root / "staff.csv", dtype=str)
    codes = set(roster["manager_id"])
    names = set(roster["manager_name"])
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "restricted/" not in index
    # restricted pages live in a sibling root: the quarter's folder holds none
    assert not (folder / "restricted").exists()
    assert (run.out / "restricted" / run.quarter / "staff.html").is_file()
    for page in folder.glob("*.html"):  # executive pages: the folder's top level
        text = page.read_text(encoding="utf-8")
        assert not set(re.findall(r"(?<![A-Za-z0-9])M\d{3}(?![0-9])", text)) & codes, page.name
        assert not [n for n in names if n in text], page.name


# --------------------------------------------------------------------------------------------
# the fast Scrubber against the reference (every step on every comment, as before the gates)
def _reference(s: Scrubber, text: str, addresses: list[str]) -> str:
    import vipquality.data.privacy as pv

    if not isinstance(text, str) or not text:
        return text
    sub = s._sub_outside_placeholders
    text = sub(pv.EMAIL_RE, pv.EMAIL_MASK, text)
    phrases = sorted({pv._norm(a) for a in addresses if a.strip()}, key=lambda p: (-len(p), p))
    if phrases:
        every = re.compile("|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases),
                           re.IGNORECASE)
        text = sub(every, pv.ADDRESS_MASK, text)
    if s._ids:
        text = sub(pv._ID_TOKEN_RE, lambda m: pv.ID_MASK if m.group(0) in s._ids
                   else m.group(0), text)
    text = s._numbers(text)  # every number step, without the gate on a digit
    if s._names:
        pieces = re.split(f"({pv._PLACEHOLDER_RE.pattern})", text)
        text = "".join(p if i % 2 else s._words(p) for i, p in enumerate(pieces))
    return text


_NAMES = ["Анна Смирнова", "Пётр Иванов-Петров", "Bill Gates", "Jo-Ann O'Neil", "Σίσυφος Ιωάννου",
          'ООО «Ромашка»', "İlkay Şahin"]
_IDS = ["C0987123", "C-17"]
_ADDRESSES = ["Москва, ул. Тверская, д. 12, кв. 5", "12 Baker Street, London", "Lenina 5",
              "Straße 7", "Ισιδώρου οδός 4"]
_PIECES = st.sampled_from(
    [w for n in _NAMES + _ADDRESSES for w in n.split()] + _IDS + _ADDRESSES
    + ["Анне", "Иванову", "анна", "BILL", "bill", "ANNA", "мОСКВА,", "УЛ.", "ТВЕРСКАЯ,",
       "baker", "STREET,", "+7 (999) 123-45-67", "a@b.ru", "4276 1234 5678 9012", "ı", "ſ",
       "İ", "ς", "Σ", "ᲀ", "  ", "\n", "[name]", "[id]", "-", "'", "ё", "Ё", "8", "@", "x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=12), st.lists(st.sampled_from([" ", "", "\t"]),
                                                            min_size=12, max_size=12))
def test_the_fast_scrubber_equals_the_reference(words, gaps):
    text = "".join(w + g for w, g in zip(words, gaps))
    s = Scrubber(_NAMES, ids=_IDS, addresses=_ADDRESSES)
    assert s(text) == _reference(s, text, _ADDRESSES)


def test_series_scrubs_each_distinct_comment_once_and_keeps_missing():
    s = Scrubber(["Анна Смирнова"])
    col = pd.Series(["Спасибо Анне", None, "", "Спасибо Анне", "ok"], dtype="str")
    out = s.series(col)
    assert out.iloc[0] == out.iloc[3] == "Спасибо [name]"
    assert pd.isna(out.iloc[1]) and out.iloc[2] == "" and out.iloc[4] == "ok"
