"""Cross-table disclosure (issue 19, items 6 and 11): no value hidden in metrics.csv or
metrics_by_branch.csv can be recomputed by any linear combination of everything the two publish,
and no small sum of hidden siblings either (all − premium = luxury + private in one branch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vipquality.metrics.disclosure import protect, recoverable
from vipquality.report.data import ReportData
from vipquality.report.executive import executive_table

_RESULT = dict(ci_low=0.0, ci_high=1.0, se=0.1, prev_value=np.nan, change=np.nan,
               change_se=np.nan, p_value=np.nan, p_adjusted=np.nan, significant=False)
TIERS = ("premium", "luxury", "private")


def _flag(n: float) -> str:
    return "suppressed" if n < 30 else "small" if n < 100 else "ok"


def hand_built(counts: dict[tuple[str, str], int], quarter: str = "2026Q3") -> ReportData:
    """Report data of one metric (CES mean) over atoms ``{(signature, branch): n}``: each atom's
    clients all answered 1 + (its position mod 7), so every cell's value is an exact mean."""
    atoms = pd.DataFrame([{"quarter": quarter, "atom": sig, "branch": br, "metric": "ces_mean",
                           "n": float(n)} for (sig, br), n in counts.items()])
    score = {key: 1.0 + i % 7 for i, key in enumerate(counts)}
    segments = sorted({s for sig, _ in counts for s in sig.split("|")},
                      key=lambda s: (s != "all", s))
    branches = sorted({br for _, br in counts})

    def cell(segment, branch=None):
        keys = [k for k in counts if segment in k[0].split("|") and branch in (None, k[1])]
        n = sum(counts[k] for k in keys)
        return n, sum(counts[k] * score[k] for k in keys) / n if n else np.nan

    metrics, by_branch = [], []
    for s in segments:
        n, v = cell(s)
        metrics.append({"quarter": quarter, "segment": s, "metric": "ces_mean", "value": v,
                        "n": float(n), "base_flag": _flag(n), **_RESULT})
        for b in branches:
            n, v = cell(s, b)
            if n:
                by_branch.append({"quarter": quarter, "segment": s, "branch": b,
                                  "metric": "ces_mean", "value": v, "n": float(n),
                                  "base_flag": _flag(n), **_RESULT})
    family = {"all": "all", **{t: "tier" for t in TIERS}}
    seg = pd.DataFrame({"segment": segments, "label": segments,
                        "family": [family.get(s, "other") for s in segments], "report": True})
    empty = pd.DataFrame()
    return ReportData(quarter=quarter, previous="", quarters=[quarter], segments=seg,
                      metrics=pd.DataFrame(metrics), branches=pd.DataFrame(by_branch),
                      managers=empty, composition=empty, ces_counts=empty, drivers=empty,
                      standards=empty, atoms=atoms, settings={"base_suppress": 30,
                                                              "base_small": 100})


def cell_vectors(data: ReportData, metrics: pd.DataFrame, branches: pd.DataFrame):
    """Per quarter × metric: the atom-indicator vector, the published value times n, and
    whether it is hidden, for every row of the two published tables. Written independently
    of the audit (no vipquality.metrics.disclosure)."""
    out = {}
    for (q, metric), atoms in data.atoms.groupby(["quarter", "metric"]):
        sig = [set(a.split("|")) for a in atoms["atom"]]
        rows = []
        for name, table, raw in (("metrics", metrics, data.metrics),
                                 ("branches", branches, data.branches)):
            pick = ((table["quarter"] == q) & (table["metric"] == metric)).to_numpy()
            for i in np.flatnonzero(pick):
                r = table.iloc[i]
                inside = np.array([r["segment"] in s for s in sig])
                if name == "branches":
                    inside &= atoms["branch"].to_numpy() == r["branch"]
                hidden = pd.isna(r["value"]) and pd.notna(raw["value"].iloc[i]) and r["n"] > 0
                rows.append((name, r["segment"], r.get("branch", ""), inside.astype(float),
                             r["value"] * r["n"], hidden, r["n"]))
        out[(q, metric)] = rows
    return out


def recovered_cells(data: ReportData, metrics: pd.DataFrame, branches: pd.DataFrame,
                    threshold: float = 30) -> list[tuple]:
    """Every hidden cell, and every sum of two or more hidden cells of one table's segments in
    one branch (or branches of one segment) with a combined base under ``threshold``, that a
    least-squares combination of the published cells recomputes exactly (rank test)."""
    found = []
    for key, rows in cell_vectors(data, metrics, branches).items():
        published = np.array([r[3] for r in rows if not r[5] and pd.notna(r[4])])
        rank = np.linalg.matrix_rank(published) if len(published) else 0
        hidden = [r for r in rows if r[5]]
        targets = [((r[0], r[1], r[2]), r[3]) for r in hidden]
        for slice_of in (lambda r: (r[0], r[2]), lambda r: (r[0], r[1]) if r[0] == "branches"
                         else None):
            groups: dict = {}
            for r in hidden:
                if slice_of(r) is not None:
                    groups.setdefault(slice_of(r), []).append(r)
            for members in groups.values():
                for mask in range(1, 2 ** min(len(members), 12)):
                    chosen = [m for j, m in enumerate(members) if mask >> j & 1]
                    if len(chosen) > 1 and sum(m[6] for m in chosen) < threshold:
                        targets.append((tuple((m[1], m[2]) for m in chosen),
                                        sum(m[3] for m in chosen)))
        for label, vector in targets:
            stacked = np.vstack([published, vector]) if len(published) else vector[None]
            if np.linalg.matrix_rank(stacked) == rank:
                found.append((key, label))
    return found


# the workspace where per-table suppression is certain to leak -------------------------------
#: branch B1: luxury (12) and private (9) small; B2: premium 5 only small. Tiers partition all.
LEAKY = {("all|premium", "B1"): 80, ("all|luxury", "B1"): 12, ("all|private", "B1"): 9,
         ("all|premium", "B2"): 5, ("all|luxury", "B2"): 70, ("all|private", "B2"): 90,
         ("all|premium", "B3"): 60, ("all|luxury", "B3"): 40, ("all|private", "B3"): 50}
#: per-table suppression hides complements that other published cells give back exactly: with
#: tiers partitioning all clients and le_sme inside the tiers, premium in B3 and private in B1
#: and B3 are recomputed from metrics.csv and metrics_by_branch.csv (found by a random search of
#: small workspaces).
EXACT = {("all|luxury", "B1"): 25, ("all|private", "B1"): 15, ("all|le_sme|premium", "B1"): 8,
         ("all|premium", "B2"): 90, ("all|luxury", "B2"): 15, ("all|le_sme|premium", "B2"): 15,
         ("all|le_sme|luxury", "B2"): 40, ("all|luxury", "B3"): 90, ("all|private", "B3"): 40,
         ("all|le_sme|premium", "B3"): 90}


def _per_table_only(data: ReportData) -> dict[str, pd.DataFrame]:
    """What today's per-table rule alone publishes (the audit switched off: no atoms)."""
    fields = {k: v for k, v in data.__dict__.items() if not k.startswith("_")}
    bare = ReportData(**{**fields, "atoms": pd.DataFrame()})
    return {name: executive_table(bare, name) for name in ("metrics", "branches")}


def _published(data: ReportData) -> dict[str, pd.DataFrame]:
    return {name: executive_table(data, name) for name in ("metrics", "branches")}


def test_per_table_suppression_leaks_a_branch_cell_exactly_and_the_audit_closes_it():
    data = hand_built(EXACT)
    before = _per_table_only(data)
    leaked = recovered_cells(data, before["metrics"], before["branches"])
    assert (("2026Q3", "ces_mean"), ("branches", "premium", "B3")) in leaked
    # the recomputation itself: least squares on the published sums gives the hidden mean
    rows = cell_vectors(data, before["metrics"], before["branches"])[("2026Q3", "ces_mean")]
    shown = [r for r in rows if not r[5] and pd.notna(r[4])]
    target = next(r for r in rows if r[:3] == ("branches", "premium", "B3"))
    coef, *_ = np.linalg.lstsq(np.array([r[3] for r in shown]).T, target[3], rcond=None)
    sum_ = coef @ np.array([r[4] for r in shown])
    truth = data.branches.set_index(["segment", "branch"]).loc[("premium", "B3"), "value"]
    assert sum_ / target[6] == pytest.approx(truth)

    after = _published(data)
    assert recovered_cells(data, after["metrics"], after["branches"]) == []
    branches = after["branches"]
    added = branches[branches["value"].isna() & before["branches"]["value"].notna()]
    assert len(added) and (added["suppressed_reason"] == "complement").all()
    # n stays published on every row; the small bases stay "small_base"
    assert branches["n"].tolist() == data.branches["n"].tolist()
    small = branches["n"] < 30
    assert (branches.loc[small, "suppressed_reason"] == "small_base").all()


def test_all_minus_premium_no_longer_gives_luxury_plus_private_of_a_branch():
    """Item 11: in B1 luxury (12) and private (9) are both hidden and together under 30; all
    clients of B1 minus premium of B1 gave their sum (21 clients) before."""
    data = hand_built(LEAKY)
    before = _per_table_only(data)
    b1 = before["branches"].set_index(["segment", "branch"])
    assert b1.loc[("all", "B1"), "n"] - b1.loc[("premium", "B1"), "n"] == 21
    assert pd.notna(b1.loc[("all", "B1"), "value"]) and pd.notna(b1.loc[("premium", "B1"), "value"])
    assert recovered_cells(data, before["metrics"], before["branches"]) == [
        (("2026Q3", "ces_mean"), (("luxury", "B1"), ("private", "B1")))]
    after = _published(data)
    assert recovered_cells(data, after["metrics"], after["branches"]) == []
    a1 = after["branches"].set_index(["segment", "branch"])
    # all clients are kept: a smaller published cell is hidden instead
    assert a1.loc[("all", "B1"), "suppressed_reason"] == ""
    assert a1.loc[("premium", "B1"), "suppressed_reason"] == "complement"


@pytest.mark.parametrize("seed", range(12))
def test_no_hidden_cell_or_small_sum_is_recoverable_in_random_workspaces(seed):
    rng = np.random.default_rng(seed)
    signatures = ["all|premium", "all|luxury", "all|private", "all|le_sme|premium",
                  "all|le_sme|luxury", "all"]
    counts = {(s, b): int(rng.choice([3, 8, 15, 25, 40, 60, 90]))
              for b in ("B1", "B2", "B3", "B4") for s in signatures if rng.random() < 0.7}
    data = hand_built(counts)
    after = _published(data)
    assert recovered_cells(data, after["metrics"], after["branches"]) == []
    # nothing shown under the base, and every cell the audit adds says why
    for table in after.values():
        assert table.loc[table["n"] < 30, "value"].isna().all()
        assert set(table["suppressed_reason"]) <= {"", "small_base", "complement"}


def test_protect_hides_the_cheapest_cell_that_breaks_every_combination():
    # total = a + b + c; c hidden: hiding a (the cheaper part) is enough, not the total
    cells = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    n = np.array([50, 60, 10])
    hidden = np.array([False, False, False, True])
    extra = protect(cells, n, hidden, threshold=30, cost=np.array([1e12, 50, 60, 10]))
    assert extra.tolist() == [False, True, False, False]
    assert not recoverable(cells[~(hidden | extra)], cells[hidden | extra]).any()
    # a sum of two small hidden siblings (10 + 12 < 30) is protected too
    cells = np.array([[1, 1, 1, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    n = np.array([100, 10, 12, 80])
    hidden = np.array([False, False, True, True, False])
    extra = protect(cells, n, hidden, threshold=30, groups=[np.arange(1, 5)],
                    cost=np.array([1e12, 100, 10, 12, 80]))
    assert extra.tolist() == [False, False, False, False, True]  # 80 < 100: the smaller one
    assert not recoverable(cells[[0, 1]], cells[2] + cells[3])[0]


def test_the_sample_report_publishes_no_recoverable_cell(report_workspace):
    """On the generated sample (report data as the run computes it): every cell hidden in
    metrics.csv or metrics_by_branch.csv, and every small sum of hidden siblings, resists a
    linear combination of everything the two publish; the audit adds cells only as
    complements."""
    from vipquality.report.data import compute_report_data

    data = compute_report_data(report_workspace.root, n_boot=20, ordinal=False)
    assert len(data.atoms)
    after = _published(data)
    assert recovered_cells(data, after["metrics"], after["branches"]) == []
    before = _per_table_only(data)
    for name in ("metrics", "branches"):
        gone = after[name]["value"].isna() & before[name]["value"].notna()
        assert (after[name].loc[gone, "suppressed_reason"] == "complement").all()


def test_a_settled_audit_is_applied_the_same_after_save_and_load(tmp_path):
    """A quarterly run audits once (settle_suppression) and saves the cells; a notebook loading
    the data applies them without auditing and publishes exactly the same tables."""
    from vipquality.report.executive import settle_suppression

    data = settle_suppression(hand_built(EXACT))
    assert len(data.complements) and data.settings["complements_settled"]
    loaded = ReportData.load(data.save(tmp_path / "data"))
    for name in ("metrics", "branches"):
        pd.testing.assert_frame_equal(executive_table(loaded, name), executive_table(data, name))
