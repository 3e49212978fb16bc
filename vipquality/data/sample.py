"""The seeded sample workspace: raw quarterly files that a real VIP programme would receive.

:func:`generate_sample` writes, into a workspace folder that already holds its YAML
configuration, the personal-manager roster (``staff.csv``) and one folder per quarter with the
survey export, the mystery-shopper visits and the CRM extract. :func:`generate_responses` draws
the same survey model straight into the canonical store layout, in memory, for benchmarks.

Everything is read from the workspace configuration: column names (instrument, CRM and visit
mappings), attribute ids and scales, missing-value codes, checklist items, standard versions and
their effective dates, and the thresholds of the segment rules (tiers, revenue blocks, universe,
recency, lines, value/frequency grid). Segment membership is never written as a label: it comes
out of the generated client attributes when the rules of ``segments.yaml`` are applied.

The latent model
----------------
Each client has a persistent latent satisfaction; branches and managers have a quality effect
that drives both survey answers and mystery-shopper compliance. A response draws one latent score
per CSI attribute (client + context + attribute noise); the NPS item, overall satisfaction and
CES are weighted sums of the attribute latents (speed of response and competence weigh most) plus
noise; ratings are the latents placed on each item's own scale, rounded and clipped. Planted in
the model (not edited into outputs):

1. the ``luxury`` tier loses speed of response over the last three quarters, so its NPS falls
   by about 10 points over that span;
2. standard ``S04`` is revised at the effective date of its last version in ``standards.yaml``;
   its compliance rises from about 65 % to about 88 % in every branch, other standards stay flat;
3. one branch (``B13``) is far below the others in both compliance and satisfaction;
4. small groups: ``le_corporate`` (legal entities above the top revenue cut) has fewer than 30
   respondents a quarter, and a few newly hired managers have only a handful of responses;
5. missing answers: blanks and the instrument's "cannot judge" code;
6. personal data (names, e-mails, phones, addresses) in the CRM extract, and contact details or
   a manager's first name in some free-text comments; the comments, in English, Greek, Russian
   and Tagalog, mention the themes of ``themes.yaml`` as the answers suggest (the wait for a
   call back more often where speed of response is rated low), see
   :mod:`vipquality.data.sample_comments`;
7. follow-up cases (``cases.yaml``): most respondents consent to be contacted; the
   ``case_updates.csv`` of each quarter holds the updates known the day after it ends; one
   manager (:data:`SLOW_MANAGER`) contacts clients after the SLA, one branch
   (:data:`ROOT_CAUSE_BRANCH`) closes most cases with the same root cause (``pricing``), and
   detractors who answer again the next quarter recovered more often when their case was
   resolved (planted by choosing which cases are resolved, so no answer changes).

Respondents are drawn by systematic PPS sampling from a frame sorted by tier, branch and latent
satisfaction, and the answer noise is stratified within each tier (Latin-hypercube style), so a
quarter of a few hundred answers per segment shows the model's structure rather than sampling
luck; each answer is still random. The scenario's ids (``luxury``, ``response_speed``, ``S04``,
``B13``) are looked up in the configuration and fall back gracefully when absent.

Every file is deterministic for a given seed: rows are sorted, numbers have fixed formats, and no
date depends on when the code runs (Excel files carry a fixed creation date). The default layout
writes the CRM extracts as Parquet (see :func:`generate_sample`) to keep the committed sample
under 6 MB.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtri

from vipquality.config import (
    All,
    Any,
    Compare,
    Condition,
    Not,
    Quarter,
    Workspace,
    load_workspace,
)
from vipquality.data.sample_invitations import write_invitations
from vipquality.data.sample_shoppers import plant_shoppers
from vipquality.data.sample_comments import sample_comments
from vipquality.errors import ConfigError
from vipquality.paths import SAMPLE_WORKSPACE

__all__ = ["generate_sample", "generate_responses", "DEFAULT_SEED", "SLOW_MANAGER",
           "ROOT_CAUSE_BRANCH"]

#: The manager of the sample who contacts clients after the SLA (planted).
SLOW_MANAGER = "M005"
#: The branch whose closed cases mostly carry the same root cause (planted: ``pricing``).
ROOT_CAUSE_BRANCH = "B02"

DEFAULT_SEED = 20261123

# --------------------------------------------------------------------------------------------
# Configuration: the validated workspace, read through the classes of vipquality.config
# --------------------------------------------------------------------------------------------


def _read_workspace(workspace: Path) -> Workspace:
    """Load and validate the workspace (``ConfigError`` names the file and key).

    The generator reads the typed configuration as it is: the instrument's items
    (:class:`~vipquality.config.Item`, with their scales) and attributes
    (:class:`~vipquality.config.Attribute`), the segments and their rule trees, the standards
    with their versions and checklist items, and the column mappings of ``workspace.yaml``.
    """
    ws = load_workspace(workspace)
    inst = ws.instrument
    if inst.match_columns_by != "name":
        raise ConfigError("instrument.yaml", "match_columns_by",
                          f"the sample generator writes exports matched by name, got "
                          f"{inst.match_columns_by!r}")
    return ws


# --------------------------------------------------------------------------------------------
# What the segment rules imply for the CRM attributes (thresholds, category values).
# --------------------------------------------------------------------------------------------

def _leaves(rule: Condition | None) -> list[tuple[str, str, object]]:
    """Every ``(field, op, value)`` comparison of a rule tree."""
    if rule is None:
        return []
    if isinstance(rule, Compare):
        return [(rule.field, rule.op, rule.value)]
    if isinstance(rule, Not):
        return _leaves(rule.item)
    if isinstance(rule, (All, Any)):
        return [leaf for sub in rule.items for leaf in _leaves(sub)]
    return []


def _numbers(leaves, field_name, ops=("lt", "le", "gt", "ge")) -> list[float]:
    return sorted({float(v) for f, op, v in leaves if f == field_name and op in ops})


@dataclass(frozen=True)
class _Design:
    """CRM categories and thresholds taken from segments.yaml (canonical field names)."""

    tiers: tuple[str, ...]                  # tier values, in the order the segments list them
    tier_segment: dict[str, str]            # tier value -> segment id
    individual: str
    legal_entity: str
    revenue_cuts: tuple[float, ...]         # ascending block boundaries
    balance_min: float                      # universe: balance >= this
    spend_min: float                        # universe / eligibility: 3-month spend > this
    lines_max: float
    active_days: float
    lapsing_days: float
    ltv_cuts: tuple[float, ...]
    frequency_cuts: tuple[float, ...]
    products: tuple[str, ...]
    reported: tuple[str, ...]               # reported segment ids (mystery-shopper scenarios)


_PRODUCTS = ("cards", "deposits", "investments", "insurance", "mortgage", "fx", "brokerage",
             "trust", "safe_box", "pension")
_PRODUCT_RATE = (0.85, 0.6, 0.35, 0.22, 0.1, 0.28, 0.15, 0.05, 0.07, 0.08)


def _design(ws: Workspace) -> _Design:
    rules = ws.segments
    tiers, tier_segment = [], {}
    ctypes: dict[str, bool] = {}            # value -> appears with a revenue condition
    every = []
    for seg in rules.segments:
        leaves = _leaves(seg.rule)
        every += leaves
        has_revenue = any(f == "revenue" for f, _, _ in leaves)
        for f, op, v in leaves:
            if f == "tier" and op == "eq" and str(v) not in tier_segment:
                tiers.append(str(v))
                tier_segment[str(v)] = seg.id
            if f == "client_type" and op == "eq":
                ctypes[str(v)] = ctypes.get(str(v), False) or has_revenue
    universe = _leaves(rules.universe)
    for f, op, v in universe:
        if f == "client_type" and op == "eq":
            ctypes[str(v)] = True
    legal = [v for v, rev in ctypes.items() if rev] or ["legal_entity"]
    indiv = [v for v, rev in ctypes.items() if not rev] or ["individual"]
    products = list(_PRODUCTS)
    for f, op, v in every + universe:
        if f == "products" and op == "contains" and str(v).lower() not in products:
            products.append(str(v).lower())
    first = lambda xs, default: xs[0] if xs else default  # noqa: E731
    return _Design(
        tiers=tuple(tiers) or ("Premium", "Luxury", "Private"),
        tier_segment=tier_segment or {"Premium": "premium", "Luxury": "luxury",
                                      "Private": "private"},
        individual=indiv[0],
        legal_entity=legal[0],
        revenue_cuts=tuple(_numbers(every, "revenue")) or (4e8, 1e9),
        balance_min=first(_numbers(universe, "balance"), 3e6),
        spend_min=first(_numbers(universe + every, "avg_monthly_spend_3m"), 3000.0),
        lines_max=first(_numbers(every, "lines"), 5.0),
        active_days=first(_numbers(every, "last_transaction", ("within_days",)), 90.0),
        lapsing_days=first(_numbers(every, "last_transaction", ("older_than_days",)), 180.0),
        ltv_cuts=tuple(_numbers(every, "lifetime_value")) or (5e6, 2e7),
        frequency_cuts=tuple(_numbers(every, "purchases_12m")) or (4.0,),
        products=tuple(products),
        reported=tuple(g.id for g in rules.reported),
    )


# --------------------------------------------------------------------------------------------
# The scenario: what the sample is meant to show. Ids that are not in the configuration fall
# back gracefully (e.g. an instrument without ``response_speed`` declines its heaviest driver).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scenario:
    branches: int = 20
    managers: int = 60
    new_managers: int = 6                   # recently hired: few clients, few responses
    weak_branch: str = "B13"
    legal_share: float = 0.25
    tier_shares: tuple[float, ...] = (0.55, 0.33, 0.12)       # Premium, Luxury, Private
    revenue_block_shares: tuple[float, ...] = (0.63, 0.335, 0.035)
    decline_segment: str = "luxury"
    decline_attribute: str = "response_speed"
    decline_quarters: int = 3
    decline_shift: float = 1.8              # latent sd units lost by the last quarter
    decline_power: float = 2.0              # >1: the fall accelerates (most of it in the last quarter)
    revised_standard: str = "S04"
    revised_before: float = 0.65
    revised_after: float = 0.88
    # relative importance of the attributes for NPS / overall (unknown ids get `other_weight`)
    driver_weights: Mapping[str, float] = field(default_factory=lambda: {
        "response_speed": 0.24, "competence": 0.22, "promises_kept": 0.14, "availability": 0.12,
        "ready_solutions": 0.10, "respect": 0.07, "confidentiality": 0.05, "digital_channels": 0.06,
    })
    other_weight: float = 0.08
    # mean satisfaction on a 1-10 scale (converted to the instrument's scale)
    attribute_means: Mapping[str, float] = field(default_factory=lambda: {
        "response_speed": 7.7, "competence": 8.4, "promises_kept": 8.0, "availability": 8.0,
        "ready_solutions": 7.5, "respect": 8.8, "confidentiality": 9.0, "digital_channels": 7.3,
    })
    other_mean: float = 8.0
    # stated importance (1-10 scale): confidentiality is said to matter most but drives little
    importance_means: Mapping[str, float] = field(default_factory=lambda: {
        "response_speed": 9.1, "competence": 9.0, "confidentiality": 9.2, "promises_kept": 8.6,
        "availability": 8.3, "respect": 8.0, "ready_solutions": 7.6, "digital_channels": 7.0,
    })
    # how much the manager/branch shapes an attribute (1 = fully)
    manager_related: Mapping[str, float] = field(default_factory=lambda: {
        "digital_channels": 0.3, "confidentiality": 0.6,
    })
    # CES is about effort: these attributes drive it
    effort_weights: Mapping[str, float] = field(default_factory=lambda: {
        "response_speed": 0.45, "promises_kept": 0.2, "availability": 0.2, "digital_channels": 0.15,
    })
    cannot_judge: Mapping[str, float] = field(default_factory=lambda: {
        "digital_channels": 0.09, "confidentiality": 0.03, "ready_solutions": 0.03,
    })
    other_cannot_judge: float = 0.012


_SCENARIO = _Scenario()


# --------------------------------------------------------------------------------------------
# Quarters and random streams
# --------------------------------------------------------------------------------------------


def _quarter_list(last: str, n: int, fiscal_year_start: int) -> list[str]:
    if n < 1:
        raise ValueError(f"quarters must be at least 1, got {n!r}")
    q = Quarter.parse(last, fiscal_year_start)
    return [str(q - i) for i in range(n - 1, -1, -1)]


def _quarter_bounds(label: str, fiscal_year_start: int) -> tuple[np.datetime64, np.datetime64]:
    """First and last day of a quarter on the workspace's fiscal calendar."""
    q = Quarter.parse(label, fiscal_year_start)
    return np.datetime64(q.start, "D"), np.datetime64(q.end, "D")


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, stream)]))


# independent random streams: (seed, stream, quarter index)
_S_POPULATION, _S_STAFF, _S_RESPONSES, _S_VISITS, _S_PERSONAL, _S_COMMENTS = range(1, 7)
_S_CASES = 7  # consent answers and follow-up updates (a stream of their own: nothing else moves)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------------
# Staff and clients (the latent population)
# --------------------------------------------------------------------------------------------

_CITIES = (
    ("Moscow", "Москва"), ("Saint Petersburg", "Санкт-Петербург"), ("Kazan", "Казань"),
    ("Yekaterinburg", "Екатеринбург"), ("Novosibirsk", "Новосибирск"),
    ("Nizhny Novgorod", "Нижний Новгород"), ("Samara", "Самара"),
    ("Rostov-on-Don", "Ростов-на-Дону"),
    ("Krasnodar", "Краснодар"), ("Ufa", "Уфа"), ("Perm", "Пермь"), ("Voronezh", "Воронеж"),
    ("Chelyabinsk", "Челябинск"), ("Krasnoyarsk", "Красноярск"), ("Tyumen", "Тюмень"),
    ("Sochi", "Сочи"), ("Kaliningrad", "Калининград"), ("Vladivostok", "Владивосток"),
    ("Irkutsk", "Иркутск"), ("Omsk", "Омск"),
)


@dataclass
class _Staff:
    ids: np.ndarray            # "M001", …
    branch: np.ndarray         # branch index per manager
    quality: np.ndarray        # latent quality (sd ~0.35), shared by survey and visits
    weight: np.ndarray         # share of the branch's clients
    new: np.ndarray            # recently hired
    branch_ids: np.ndarray     # "B01", …
    branch_quality: np.ndarray
    branch_weight: np.ndarray


def _make_staff(sc: _Scenario, seed: int) -> _Staff:
    rng = _rng(seed, _S_STAFF)
    nb, nm = sc.branches, sc.managers
    width = max(2, len(str(nb)))
    branch_ids = np.array([f"B{i + 1:0{width}d}" for i in range(nb)])
    bw = rng.gamma(6.0, 1.0, nb)
    bw[0], bw[1 % nb] = bw.max() * 2.2, bw.max() * 1.5          # the two capitals are larger
    bw /= bw.sum()
    bq = rng.normal(0.0, 0.06, nb)
    weak = np.flatnonzero(branch_ids == sc.weak_branch)
    if weak.size:
        bq[weak] = -0.75
    # managers: at least two per branch, the rest proportional to branch size
    per = np.full(nb, 2 if nm >= 2 * nb else 1)
    extra = nm - per.sum()
    if extra > 0:
        alloc = np.floor(bw * extra).astype(int)
        rest = extra - alloc.sum()
        alloc[np.argsort(-(bw * extra - alloc), kind="stable")[:rest]] += 1
        per += alloc
    mbranch = np.repeat(np.arange(nb), per)[:nm]
    width = max(3, len(str(nm)))
    ids = np.array([f"M{i + 1:0{width}d}" for i in range(len(mbranch))])
    quality = rng.normal(0.0, 0.35, len(ids))
    new = np.zeros(len(ids), bool)
    new[rng.choice(len(ids), size=min(sc.new_managers, len(ids)), replace=False)] = True
    quality[new] -= 0.2
    weight = rng.uniform(0.7, 1.3, len(ids))
    weight[new] = 0.08
    return _Staff(ids, mbranch, quality, weight, new, branch_ids, bq, bw)


@dataclass
class _Population:
    """Clients with their static attributes and per-quarter paths (column index = quarter)."""

    client_id: np.ndarray
    join: np.ndarray           # first quarter index present
    leave: np.ndarray          # first quarter index absent (n_quarters = never)
    legal: np.ndarray          # bool
    tier: np.ndarray           # index into design.tiers
    branch: np.ndarray
    manager: np.ndarray
    latent: np.ndarray         # persistent satisfaction
    propensity: np.ndarray     # willingness to answer surveys
    revenue: np.ndarray        # NaN for individuals
    balance: np.ndarray
    spend: np.ndarray
    ltv: np.ndarray
    extra_lines: np.ndarray
    household: np.ndarray      # household number (-1 = none)
    adopt: np.ndarray          # (N, products): first quarter index holding it (-1 from start)
    walk: np.ndarray           # (N, Q) cumulated log change of balance / spend
    recency: np.ndarray        # (N, Q) days since the last transaction at quarter end
    purchases: np.ndarray      # (N, Q) purchases in the last 12 months


def _make_population(d: _Design, sc: _Scenario, staff: _Staff, n_clients: int, n_quarters: int,
                     seed: int) -> _Population:
    rng = _rng(seed, _S_POPULATION)
    # a few leave and a few join each quarter; the base stays about n_clients
    churn = 0.015
    joiners = int(round(churn * n_clients)) * (n_quarters - 1)
    n = n_clients + joiners
    join = np.concatenate([np.zeros(n_clients, np.int16),
                           np.repeat(np.arange(1, n_quarters, dtype=np.int16),
                                     joiners // max(n_quarters - 1, 1))])
    leave = (join + rng.geometric(churn, n)).clip(max=n_quarters).astype(np.int16)
    width = max(7, len(str(100_000 + 4 * n)))
    number = 100_000 + np.cumsum(rng.integers(1, 5, n))
    client_id = np.char.add("C", np.char.zfill(number.astype("U"), width))

    legal = rng.random(n) < sc.legal_share
    shares = np.resize(np.asarray(sc.tier_shares, float), len(d.tiers))
    tier = rng.choice(len(d.tiers), n, p=shares / shares.sum())
    branch = rng.choice(len(staff.branch_ids), n, p=staff.branch_weight)
    # a manager of the client's branch, in proportion to the managers' weights
    order = np.argsort(staff.branch, kind="stable")
    mb, mw = staff.branch[order], staff.weight[order]
    cum = np.zeros_like(mw)
    for b in np.unique(mb):                       # one pass per branch (≤ a few dozen)
        sel = mb == b
        cum[sel] = np.cumsum(mw[sel]) / mw[sel].sum()
    key = mb + cum
    manager = order[np.searchsorted(key, branch + rng.random(n) * 0.999999, side="left")]

    latent = rng.normal(0.0, 1.0, n)
    tier_rank = tier / max(len(d.tiers) - 1, 1)                 # 0 = first tier … 1 = last
    latent += 0.15 * tier_rank - 0.1 * legal

    # legal entities: revenue block by share, log-uniform inside the block
    cuts = np.asarray(d.revenue_cuts, float)
    edges = np.concatenate([[cuts[0] * 0.12], cuts, [cuts[-1] * 15]])
    bshare = np.resize(np.asarray(sc.revenue_block_shares, float), len(edges) - 1)
    block = rng.choice(len(edges) - 1, n, p=bshare / bshare.sum())
    lo, hi = np.log(edges[block] * 1.02), np.log(edges[block + 1] * 0.98)
    revenue = np.where(legal, np.round(np.exp(lo + (hi - lo) * rng.random(n)), -3), np.nan)

    # balances around multiples of the VIP threshold; a few qualify on spend only
    bmedian = d.balance_min * np.array([2.6, 7.0, 30.0])[np.minimum(tier, 2)]
    balance = bmedian * np.exp(rng.normal(0, 0.55, n))
    low = (~legal) & (rng.random(n) < 0.07)
    balance[low] = d.balance_min * rng.uniform(0.3, 0.95, low.sum())
    balance[legal] = revenue[legal] * np.exp(rng.normal(-3.2, 0.6, legal.sum()))
    spend = d.spend_min * 30 * np.exp(rng.normal(0, 0.8, n)) * (1 + tier_rank)
    below = rng.random(n) < 0.06
    spend[below] = d.spend_min * rng.uniform(0.2, 0.98, below.sum())
    spend[low & below] = d.spend_min * rng.uniform(1.1, 4, (low & below).sum())
    outside = low & (rng.random(n) < 0.12)                      # fell below every VIP criterion
    spend[outside] = d.spend_min * rng.uniform(0.2, 0.9, outside.sum())

    lc = np.asarray(d.ltv_cuts, float)
    ltv_mid = np.sqrt(lc[0] * lc[-1]) if len(lc) > 1 else lc[0] * 1.5
    ltv = ltv_mid * np.exp(rng.normal(0, 1.0, n) + 0.3 * tier_rank)
    freq = d.frequency_cuts[0] * np.exp(rng.normal(0.1, 0.7, n))
    extra_lines = rng.poisson(max(0.35 * d.lines_max, 0.3), n)    # lines straddle the rule's cut

    household = np.arange(n)
    pair = (~legal) & (rng.random(n) < 0.12)
    pair[0] = False
    household[pair] = household[np.flatnonzero(pair) - 1]
    household = np.where(legal, -1, household)

    nprod = len(d.products)
    rate = np.resize(np.asarray(_PRODUCT_RATE), nprod)
    held = rng.random((n, nprod)) < rate * np.where(legal, 0.8, 1.0)[:, None]
    personal_only = [i for i, p in enumerate(d.products) if p in ("mortgage", "pension")]
    held[np.ix_(legal, personal_only)] = False
    inv = [i for i, p in enumerate(d.products) if p == "investments"]
    if inv:
        held[:, inv[0]] |= rng.random(n) < 0.25 * tier_rank
    adopt = np.where(held, -1, 127).astype(np.int8)
    later = (~held) & (rng.random((n, nprod)) < 0.008 * n_quarters)
    adopt[later] = rng.integers(1, max(n_quarters, 2), later.sum())

    walk = np.cumsum(rng.normal(0.01, 0.06, (n, n_quarters)), axis=1).astype(np.float32)
    walk -= walk[:, :1]
    # recency: mostly recent; some 'slow' and some dormant clients, persistent over quarters
    kind = rng.choice(3, n, p=[0.72, 0.16, 0.12])
    redraw = rng.random((n, n_quarters)) < 0.12
    kinds = np.where(redraw, rng.choice(3, (n, n_quarters), p=[0.72, 0.16, 0.12]), kind[:, None])
    recent = np.minimum(rng.exponential(18, (n, n_quarters)), d.active_days - 1)
    slow = rng.uniform(d.active_days + 1, d.lapsing_days - 1, (n, n_quarters))
    dormant = d.lapsing_days + 1 + rng.exponential(120, (n, n_quarters))
    recency = np.select([kinds == 0, kinds == 1], [recent, slow], dormant).astype(np.int16)
    purchases = rng.poisson(freq[:, None] * np.exp(0.2 * rng.normal(size=(n, n_quarters))))
    propensity = np.where(legal & (block == len(edges) - 2), 0.4, 1.0)
    return _Population(client_id, join, leave, legal, tier, branch, manager, latent, propensity,
                       revenue, balance, spend, ltv, extra_lines, household, adopt, walk,
                       recency, purchases.astype(np.int16))


# --------------------------------------------------------------------------------------------
# The survey model (shared by the file writer and generate_responses)
# --------------------------------------------------------------------------------------------


@dataclass
class _Answers:
    """One quarter's responses, canonical, in submission order."""

    client: np.ndarray                       # population index
    submitted: np.ndarray                    # datetime64[s], sorted
    weight: np.ndarray
    nps: np.ndarray                          # float, NaN = blank
    ces: np.ndarray | None
    overall: np.ndarray | None
    sat: dict[str, np.ndarray]               # NaN = missing (blank or code)
    imp: dict[str, np.ndarray]
    sat_code: dict[str, np.ndarray]          # bool: answered with the "cannot judge" code
    imp_code: dict[str, np.ndarray]


def _place(x, lo, hi, mean10, sd10):
    """Latent (sd 1) -> integer rating on [lo, hi], with mean/sd given on a 1-10 scale."""
    frac = ((mean10 - 1) + sd10 * x) / 9.0
    return np.clip(np.rint(lo + frac * (hi - lo)), lo, hi)


def _driver_weights(ws: Workspace, sc: _Scenario) -> dict[str, float]:
    w = {a.id: float(sc.driver_weights.get(a.id, sc.other_weight))
         for a in ws.instrument.attributes}
    total = sum(w.values()) or 1.0
    return {k: v / total for k, v in w.items()}


def _decline_attribute(ws: Workspace, sc: _Scenario) -> str | None:
    ids = ws.instrument.attribute_ids
    if sc.decline_attribute in ids:
        return sc.decline_attribute
    w = _driver_weights(ws, sc)
    return max(ids, key=lambda k: w[k]) if ids else None


def _sample_respondents(pop: _Population, qi: int, k: int, lapsing_days: float,
                        rng: np.random.Generator) -> np.ndarray:
    """Respondents of quarter ``qi``: systematic PPS sampling of the active clients.

    The frame is sorted by tier, branch and latent satisfaction (implicit stratification, as
    survey agencies do); inclusion probability is proportional to response propensity. When
    ``k`` exceeds the client base a client is simply drawn several times.
    """
    active = np.flatnonzero((pop.join <= qi) & (pop.leave > qi))
    if active.size == 0 or k == 0:
        return np.zeros(0, np.int64)
    frame = active[np.lexsort((pop.latent[active], pop.branch[active], pop.tier[active]))]
    w = pop.propensity[frame] * np.where(pop.recency[frame, qi] > lapsing_days, 0.6, 1.0)
    if k < frame.size:
        # cap inclusion probabilities at 1 (a client answers at most once a quarter)
        for _ in range(20):
            pi = k * w / w.sum()
            if pi.max() <= 1:
                break
            w = np.minimum(w, w.sum() / k)
    edges = np.cumsum(w) / w.sum() * k
    points = rng.random() + np.arange(k)
    return frame[np.minimum(np.searchsorted(edges, points, side="right"), frame.size - 1)]


def _stratified_normal(rng: np.random.Generator, strata: np.ndarray) -> np.ndarray:
    """Standard normal draws, stratified within each stratum (Latin-hypercube style).

    Inside a stratum of size m the draws are Φ⁻¹((i + U_i) / m), i = 0…m-1, in random order:
    each answer is still random, but a group's mean and spread match the model closely, so
    structure planted in the model shows in a sample of a few hundred answers instead of
    drowning in sampling noise.
    """
    n = strata.size
    order = np.lexsort((rng.random(n), strata))              # random order within stratum
    ordered = strata[order]
    rank = np.arange(n) - np.searchsorted(ordered, ordered, side="left")
    size = np.bincount(strata)[ordered]
    out = np.empty(n)
    out[order] = ndtri((rank + rng.random(n)) / size)
    return out


def _answers(ws: Workspace, d: _Design, sc: _Scenario, staff: _Staff, pop: _Population,
             quarters: list[str], qi: int, k: int, seed: int) -> _Answers:
    inst = ws.instrument
    rng = _rng(seed, _S_RESPONSES, qi)
    who = _sample_respondents(pop, qi, k, d.lapsing_days, rng)
    n = who.size
    start, end = _quarter_bounds(quarters[qi], ws.fiscal_year_start)
    days = int((end - start).astype(int)) + 1
    # fieldwork from the second week to the end of the quarter, 08:00-22:59 local time
    day = start + rng.integers(7, days, n).astype("timedelta64[D]")
    secs = rng.integers(8 * 3600, 23 * 3600, n).astype("timedelta64[s]")
    submitted = day.astype("datetime64[s]") + secs
    order = np.lexsort((who, submitted))
    who, submitted = who[order], submitted[order]

    strata = pop.tier[who]
    noise = lambda: _stratified_normal(rng, strata)  # noqa: E731
    mgr, br = pop.manager[who], pop.branch[who]
    context = 0.8 * staff.branch_quality[br] + 0.3 * staff.quality[mgr]
    lapsing = pop.recency[who, qi] > d.lapsing_days
    general = 0.75 * pop.latent[who] + 0.55 * noise() - 0.25 * lapsing
    style = noise()                                  # importance answering style

    decline_attr = _decline_attribute(ws, sc)
    tier_of_decline = [t for t, s in d.tier_segment.items() if s == sc.decline_segment]
    steps = max(sc.decline_quarters, 1)
    into = qi - (len(quarters) - 1 - steps)                    # 1 … steps in the decline span
    decline = sc.decline_shift * (min(max(into, 0), steps) / steps) ** sc.decline_power
    hit = np.zeros(n, bool)
    if tier_of_decline and decline:
        hit = pop.tier[who] == d.tiers.index(tier_of_decline[0])

    weights = _driver_weights(ws, sc)
    lo, hi = inst.csi_scale
    ilo, ihi = inst.importance_scale or inst.csi_scale
    latent, sat, imp, sat_code, imp_code = {}, {}, {}, {}, {}
    skip_importance = rng.random(n) < 0.08
    for a in inst.attributes:
        m = float(sc.manager_related.get(a.id, 1.0))
        z = general + m * context + 0.75 * noise()
        if a.id == decline_attr:
            z = z - decline * hit
        latent[a.id] = z
        rating = _place(z, lo, hi, sc.attribute_means.get(a.id, sc.other_mean), 1.45)
        code = rng.random(n) < sc.cannot_judge.get(a.id, sc.other_cannot_judge)
        blank = rng.random(n) < 0.02
        sat[a.id] = np.where(code | blank, np.nan, rating)
        sat_code[a.id] = code & ~blank
        if a.importance:
            mean_imp = sc.importance_means.get(a.id, min(6.2 + 14.0 * weights[a.id], 9.2))
            r = _place(0.8 * style + 0.8 * noise(), ilo, ihi, mean_imp, 1.3)
            icode = rng.random(n) < 0.004
            iblank = skip_importance | (rng.random(n) < 0.015)
            imp[a.id] = np.where(icode | iblank, np.nan, r)
            imp_code[a.id] = icode & ~iblank

    drive = sum(weights[a] * latent[a] for a in latent) if latent else general
    nps_latent = drive + 0.55 * noise()
    nps = _place(nps_latent, *inst.nps.scale, 8.9, 2.0)
    overall = ces = None
    if inst.overall is not None:
        x = _place(drive + 0.5 * noise(), *inst.overall.scale, 8.2, 1.6)
        overall = np.where(rng.random(n) < 0.01, np.nan, x)
    if inst.ces is not None:
        ew = {a: sc.effort_weights[a] for a in latent if a in sc.effort_weights} or weights
        total = sum(ew.values())
        effort = sum(v / total * latent[a] for a, v in ew.items()) if latent else general
        x = _place(effort + 0.6 * noise(), *inst.ces.scale, 7.9, 1.9)
        ces = np.where(rng.random(n) < 0.03, np.nan, x)

    weight = np.ones(n)
    if inst.columns.get("weight"):
        # non-response weights by tier: population share / sample share
        active = (pop.join <= qi) & (pop.leave > qi)
        pop_share = np.bincount(pop.tier[active], minlength=len(d.tiers)) / active.sum()
        smp_share = np.bincount(pop.tier[who], minlength=len(d.tiers)) / max(n, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.round((pop_share / smp_share)[pop.tier[who]], 2)
    return _Answers(who, submitted, weight, nps, ces, overall, sat, imp, sat_code, imp_code)


def _response_ids(quarter: str, n: int) -> pa.Array:
    """``R26Q3-00001`` …, built in Arrow (no Python per id)."""
    width = max(5, len(str(n)))
    numbers = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.large_string()), width, "0")
    prefix = pa.scalar(f"R{quarter[2:4]}{quarter[4:]}-", pa.large_string())
    return pc.binary_join_element_wise(prefix, numbers, pa.scalar("", pa.large_string()))


def _take(labels: np.ndarray, codes: np.ndarray) -> pa.Array:
    """Strings ``labels[codes]`` as an Arrow large_string array (no per-row Python objects)."""
    return pa.array(labels, type=pa.large_string()).take(pa.array(codes))


def _strings(chunks: list[pa.Array]) -> pd.api.extensions.ExtensionArray:
    return pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype="str")


def _per_quarter(total: int, quarters: int) -> list[int]:
    base, rest = divmod(int(total), quarters)
    return [base + (i < rest) for i in range(quarters)]


# --------------------------------------------------------------------------------------------
# Mystery-shopper visits
# --------------------------------------------------------------------------------------------


def _solve_logit(target: float, offsets: np.ndarray, weights: np.ndarray) -> float:
    """Base logit b with the weighted mean of sigmoid(b + offsets) equal to target (bisection)."""
    lo, hi = -10.0, 10.0
    weights = weights / weights.sum()
    for _ in range(50):
        mid = (lo + hi) / 2
        if float(_sigmoid(mid + offsets) @ weights) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


_VISIT_NOISE = 0.35                          # sd of a visit's own logit effect
_NEVER = np.datetime64("9999-12-31")


@dataclass
class _Checklist:
    """Per checklist item: logits before/after its standard's revision, n.a. rate."""

    item_ids: np.ndarray
    before: np.ndarray
    after: np.ndarray
    effective: np.ndarray                    # datetime64[D]; _NEVER when not revised
    na_rate: np.ndarray
    manager_offset: np.ndarray               # logit offset per manager (branch + manager)


def _checklist(ws: Workspace, sc: _Scenario, staff: _Staff, seed: int) -> _Checklist:
    """Calibrate item logits so that compliance averaged over the visit plan hits its level.

    The plan visits every branch equally and the managers of a branch equally; the visit noise
    is integrated out with Gauss–Hermite nodes. Levels sit a little below each standard's
    default target; the revised standard moves from ``revised_before`` to ``revised_after`` at
    the effective date of its latest version.
    """
    rng = _rng(seed, _S_VISITS, 10_000)
    offsets = 1.6 * staff.branch_quality[staff.branch] + 0.5 * staff.quality
    nodes, hweights = np.polynomial.hermite_e.hermegauss(15)
    calib = (offsets[:, None] + _VISIT_NOISE * nodes[None, :]).ravel()
    per_branch = np.bincount(staff.branch)[staff.branch]
    cweight = ((1.0 / per_branch)[:, None] * hweights[None, :]).ravel()
    ids, before, after, effective, na_rate = [], [], [], [], []
    for s in ws.standards:
        level = float(np.clip(s.targets["default"] / 100 - 0.06 + rng.normal(0, 0.03), 0.5, 0.97))
        shift = rng.normal(0, 0.15, len(s.items))
        shift -= shift.mean()                     # items differ, the standard keeps its level
        if s.id == sc.revised_standard and len(s.versions) > 1:
            b = _solve_logit(sc.revised_before, calib, cweight)
            a = _solve_logit(sc.revised_after, calib, cweight)
            eff = np.datetime64(s.versions[-1].effective, "D")
        else:
            b = a = _solve_logit(level, calib, cweight)
            eff = _NEVER
        for item, sh in zip(s.items, shift):
            ids.append(item.id)
            before.append(b + sh)
            after.append(a + sh)
            effective.append(eff)
            na_rate.append(0.01 if item.critical else rng.choice([0.02, 0.04, 0.15], p=[0.6, 0.3, 0.1]))
    return _Checklist(np.asarray(ids), np.asarray(before), np.asarray(after),
                      np.asarray(effective, dtype="datetime64[D]"), np.asarray(na_rate), offsets)


def _visits(d: _Design, staff: _Staff, checklist: _Checklist, quarter: str, qi: int, k: int,
            seed: int, fiscal_year_start: int) -> pd.DataFrame:
    """One row per visit × checklist item, canonical names, results yes/no/n.a."""
    rng = _rng(seed, _S_VISITS, qi)
    nb, ni = len(staff.branch_ids), checklist.item_ids.size
    # the plan: visits spread evenly over branches, a random manager of the branch each time
    vbranch = rng.permutation(np.resize(rng.permutation(nb), k))
    pos = np.floor(rng.random(k) * np.bincount(staff.branch, minlength=nb)[vbranch]).astype(int)
    first = np.searchsorted(staff.branch, np.arange(nb))            # managers sorted by branch
    mgr = first[vbranch] + pos
    start, end = _quarter_bounds(quarter, fiscal_year_start)
    days = np.arange(start, end + 1)
    workdays = days[np.is_busday(days)]
    vdate = np.sort(rng.choice(workdays, k))                       # visit ids in date order
    reported = list(d.reported) or list(d.tier_segment.values())
    scen_p = np.array([3.0 if s in d.tier_segment.values() else 1.0 for s in reported])
    scenario = np.asarray(reported)[rng.choice(len(reported), k, p=scen_p / scen_p.sum())]
    logit = np.where(vdate[:, None] >= checklist.effective[None, :],
                     checklist.after[None, :], checklist.before[None, :])
    logit = logit + (checklist.manager_offset[mgr] + rng.normal(0, _VISIT_NOISE, k))[:, None]
    yes = rng.random((k, ni)) < _sigmoid(logit)
    na = rng.random((k, ni)) < checklist.na_rate[None, :]
    result = np.where(na, "n.a.", np.where(yes, "yes", "no"))
    vid = np.char.add(f"V{quarter[2:4]}{quarter[4:]}-",
                      np.char.zfill(np.arange(1, k + 1).astype("U"), max(3, len(str(k)))))
    return pd.DataFrame({
        "visit_id": np.repeat(vid, ni),
        "visit_date": np.repeat(vdate, ni),
        "branch": np.repeat(staff.branch_ids[vbranch], ni),
        "manager_id": np.repeat(staff.ids[mgr], ni),
        "segment": np.repeat(scenario, ni),
        "item_id": np.tile(checklist.item_ids, k),
        "result": result.ravel(),
    })


# --------------------------------------------------------------------------------------------
# CRM snapshot and personal data
# --------------------------------------------------------------------------------------------


def _crm(d: _Design, pop: _Population, staff: _Staff, qi: int,
         qend: np.datetime64) -> tuple[pd.DataFrame, np.ndarray]:
    """The CRM extract at the end of quarter ``qi`` (canonical columns) and its population rows."""
    idx = np.flatnonzero((pop.join <= qi) & (pop.leave > qi))
    walk = pop.walk[idx, qi].astype(float)
    held = pop.adopt[idx] <= qi
    names = np.asarray(d.products)
    products = pd.Series([""] * idx.size, dtype=object)
    for j, name in enumerate(names):                                # per product, not per client
        add = np.where(held[:, j], name + ";", "")
        products = products + add
    products = products.str.rstrip(";")
    legal = pop.legal[idx]
    return pd.DataFrame({
        "client_id": pop.client_id[idx],
        "client_type": np.where(legal, d.legal_entity, d.individual),
        "tier": np.asarray(d.tiers)[pop.tier[idx]],
        "manager_id": staff.ids[pop.manager[idx]],
        "branch": staff.branch_ids[pop.branch[idx]],
        "lifetime_value": pd.array(np.round(pop.ltv[idx] * (1 + 0.04 * qi), -2), dtype="Int64"),
        "purchases_12m": pop.purchases[idx, qi].astype(np.int64),
        "last_transaction": qend - pop.recency[idx, qi].astype("timedelta64[D]"),
        "products": products.to_numpy(),
        "revenue": pd.array(np.where(legal, np.round(pop.revenue[idx] * np.exp(0.5 * walk), -3),
                                     np.nan), dtype="Int64"),
        "balance": np.round(pop.balance[idx] * np.exp(walk), 2),
        "avg_monthly_spend_3m": np.round(pop.spend[idx] * np.exp(0.6 * walk), 2),
        "lines": held.sum(axis=1) + pop.extra_lines[idx],
        "household_id": np.where(pop.household[idx] >= 0,
                                 np.char.add("H", np.char.zfill(
                                     np.maximum(pop.household[idx], 0).astype("U"), 7)), ""),
    }), idx


# Names: (Latin, Cyrillic) pairs, so e-mails are Latin while names may be written in Cyrillic.
_MALE = (("Aleksandr", "Александр"), ("Dmitry", "Дмитрий"), ("Sergey", "Сергей"),
         ("Andrey", "Андрей"), ("Mikhail", "Михаил"), ("Ivan", "Иван"), ("Nikolay", "Николай"),
         ("Pavel", "Павел"), ("Oleg", "Олег"), ("Vladimir", "Владимир"), ("Artem", "Артём"),
         ("Maksim", "Максим"), ("Igor", "Игорь"), ("Konstantin", "Константин"), ("Roman", "Роман"),
         ("Yury", "Юрий"), ("Viktor", "Виктор"), ("Grigory", "Григорий"), ("Timur", "Тимур"),
         ("Ruslan", "Руслан"), ("Leonid", "Леонид"), ("Boris", "Борис"), ("Vadim", "Вадим"),
         ("Stanislav", "Станислав"), ("Evgeny", "Евгений"), ("Anton", "Антон"),
         ("Kirill", "Кирилл"), ("Denis", "Денис"), ("Gleb", "Глеб"), ("Fyodor", "Фёдор"))
_FEMALE = (("Elena", "Елена"), ("Olga", "Ольга"), ("Tatiana", "Татьяна"), ("Natalia", "Наталья"),
           ("Anna", "Анна"), ("Maria", "Мария"), ("Irina", "Ирина"), ("Svetlana", "Светлана"),
           ("Ekaterina", "Екатерина"), ("Yulia", "Юлия"), ("Marina", "Марина"),
           ("Anastasia", "Анастасия"), ("Ksenia", "Ксения"), ("Viktoria", "Виктория"),
           ("Daria", "Дарья"), ("Alina", "Алина"), ("Polina", "Полина"), ("Vera", "Вера"),
           ("Larisa", "Лариса"), ("Galina", "Галина"), ("Lyudmila", "Людмила"),
           ("Veronika", "Вероника"), ("Zhanna", "Жанна"), ("Kristina", "Кристина"),
           ("Alla", "Алла"), ("Sofia", "София"), ("Valeria", "Валерия"), ("Evgenia", "Евгения"),
           ("Nadezhda", "Надежда"), ("Inna", "Инна"))
# surname (male form) Latin, Cyrillic
_SURNAMES = (("Ivanov", "Иванов"), ("Smirnov", "Смирнов"), ("Kuznetsov", "Кузнецов"),
             ("Popov", "Попов"), ("Vasiliev", "Васильев"), ("Petrov", "Петров"),
             ("Sokolov", "Соколов"), ("Mikhailov", "Михайлов"), ("Novikov", "Новиков"),
             ("Fedorov", "Фёдоров"), ("Morozov", "Морозов"), ("Volkov", "Волков"),
             ("Alekseev", "Алексеев"), ("Lebedev", "Лебедев"), ("Semenov", "Семёнов"),
             ("Egorov", "Егоров"), ("Pavlov", "Павлов"), ("Kozlov", "Козлов"),
             ("Stepanov", "Степанов"), ("Nikolaev", "Николаев"), ("Orlov", "Орлов"),
             ("Andreev", "Андреев"), ("Makarov", "Макаров"), ("Zakharov", "Захаров"),
             ("Zaitsev", "Зайцев"), ("Solovyov", "Соловьёв"), ("Borisov", "Борисов"),
             ("Yakovlev", "Яковлев"), ("Grigoriev", "Григорьев"), ("Romanov", "Романов"),
             ("Vorobyov", "Воробьёв"), ("Sergeev", "Сергеев"), ("Frolov", "Фролов"),
             ("Belov", "Белов"), ("Gusev", "Гусев"), ("Tikhonov", "Тихонов"),
             ("Kalinin", "Калинин"), ("Ilyin", "Ильин"), ("Zimin", "Зимин"),
             ("Voronin", "Воронин"), ("Golubev", "Голубев"), ("Baranov", "Баранов"),
             ("Sheremetev", "Шереметев"), ("Bestuzhev", "Бестужев"), ("Trubetskoy", "Трубецкой"),
             ("Obolensky", "Оболенский"), ("Vyazemsky", "Вяземский"), ("Zhukovsky", "Жуковский"),
             ("Shevchenko", "Шевченко"), ("Kovalenko", "Коваленко"), ("Karapetyan", "Карапетян"),
             ("Aliev", "Алиев"), ("Khabibullin", "Хабибуллин"), ("Galiev", "Галиев"),
             ("Tsoi", "Цой"), ("Kim", "Ким"), ("Rozenberg", "Розенберг"), ("Kaplan", "Каплан"),
             ("Dolgorukov", "Долгоруков"), ("Naryshkin", "Нарышкин"))
# patronymic: male Latin, female Latin, male Cyrillic, female Cyrillic
_PATRONYMICS = (
    ("Aleksandrovich", "Aleksandrovna", "Александрович", "Александровна"),
    ("Dmitrievich", "Dmitrievna", "Дмитриевич", "Дмитриевна"),
    ("Sergeevich", "Sergeevna", "Сергеевич", "Сергеевна"),
    ("Andreevich", "Andreevna", "Андреевич", "Андреевна"),
    ("Mikhailovich", "Mikhailovna", "Михайлович", "Михайловна"),
    ("Ivanovich", "Ivanovna", "Иванович", "Ивановна"),
    ("Nikolaevich", "Nikolaevna", "Николаевич", "Николаевна"),
    ("Pavlovich", "Pavlovna", "Павлович", "Павловна"),
    ("Olegovich", "Olegovna", "Олегович", "Олеговна"),
    ("Vladimirovich", "Vladimirovna", "Владимирович", "Владимировна"),
    ("Viktorovich", "Viktorovna", "Викторович", "Викторовна"),
    ("Yurievich", "Yurievna", "Юрьевич", "Юрьевна"),
    ("Borisovich", "Borisovna", "Борисович", "Борисовна"),
    ("Evgenievich", "Evgenievna", "Евгеньевич", "Евгеньевна"),
    ("Grigorievich", "Grigorievna", "Григорьевич", "Григорьевна"),
    ("Leonidovich", "Leonidovna", "Леонидович", "Леонидовна"),
    ("Konstantinovich", "Konstantinovna", "Константинович", "Константиновна"),
    ("Romanovich", "Romanovna", "Романович", "Романовна"),
    ("Timurovich", "Timurovna", "Тимурович", "Тимуровна"),
    ("Fyodorovich", "Fyodorovna", "Фёдорович", "Фёдоровна"),
)
_FOREIGN = ("James Whitmore", "Li Wei", "Giulia Ferrari", "Rahul Mehta", "Ayşe Demir",
            "Jean-Luc Moreau", "Hannah Schneider", "Marco Bianchi", "Emily Carter", "Chen Jing",
            "Arjun Kapoor", "Sofía Navarro", "Mehmet Yılmaz", "Lars Eriksson", "Olivia Bennett",
            "Kenji Watanabe", "Aigerim Bekova", "Nodir Karimov", "Zurab Beridze", "Eitan Levi")
_ADJ = (("Severny", "Северный"), ("Volzhsky", "Волжский"), ("Uralsky", "Уральский"),
        ("Baltiysky", "Балтийский"), ("Sibirsky", "Сибирский"), ("Yuzhny", "Южный"),
        ("Tsentralny", "Центральный"), ("Zolotoy", "Золотой"), ("Novy", "Новый"),
        ("Pervy", "Первый"), ("Vostochny", "Восточный"), ("Kamsky", "Камский"))
_NOUN = (("Veter", "ветер"), ("Most", "мост"), ("Port", "порт"), ("Terminal", "терминал"),
         ("Alyans", "альянс"), ("Standart", "стандарт"), ("Kapital", "капитал"),
         ("Resurs", "ресурс"), ("Dom", "дом"), ("Trakt", "тракт"), ("Mayak", "маяк"),
         ("Kristall", "кристалл"))
_SECTOR = (("Logistics", "Логистика"), ("Stroy", "Строй"), ("Trade", "Трейд"), ("Agro", "Агро"),
           ("Tech", "Тех"), ("Invest", "Инвест"), ("Energo", "Энерго"), ("Farm", "Фарм"),
           ("Development", "Девелопмент"), ("Industries", "Индастриз"))
_FORMS = (("LLC", "ООО"), ("JSC", "АО"), ("PJSC", "ПАО"))
_STREETS = (("Tverskaya", "Тверская"), ("Lenina", "Ленина"), ("Pushkina", "Пушкина"),
            ("Gagarina", "Гагарина"), ("Sadovaya", "Садовая"), ("Mira", "Мира"),
            ("Pervomayskaya", "Первомайская"), ("Sovetskaya", "Советская"),
            ("Naberezhnaya", "Набережная"), ("Lesnaya", "Лесная"), ("Pokrovka", "Покровка"),
            ("Ostozhenka", "Остоженка"), ("Bolshaya Morskaya", "Большая Морская"),
            ("Baumana", "Баумана"), ("Krasnaya", "Красная"), ("Chekhova", "Чехова"))
_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "outlook.com", "icloud.com", "inbox.ru")


def _pick(rng, table, n) -> np.ndarray:
    return rng.integers(0, len(table), n)


def _col(table, index, j=None) -> pd.Series:
    values = np.asarray([t if j is None else t[j] for t in table], dtype=object)
    return pd.Series(values[index], dtype=object)


def _digits(rng, n, width) -> pd.Series:
    digits = np.char.zfill(rng.integers(0, 10 ** width, n).astype("U"), width)
    return pd.Series(digits, dtype=object)


def _female(surnames: pd.Series, cyrillic: bool) -> pd.Series:
    if cyrillic:
        s = surnames.str.replace(r"(ский|цкий)$", lambda m: m.group(1)[:-2] + "ая", regex=True)
        s = s.str.replace(r"(ой)$", "ая", regex=True)
        return s.where(~s.str.contains(r"(?:ов|ев|ёв|ин|ын)$"), s + "а")
    s = surnames.str.replace(r"(sky|skiy)$", "skaya", regex=True)
    s = s.str.replace(r"oy$", "aya", regex=True)
    return s.where(~s.str.contains(r"(?:ov|ev|yov|in|yn)$"), s + "a")


@dataclass
class _Person:
    full_name: pd.Series
    email: pd.Series
    phone: pd.Series
    address: pd.Series


def _people(pop: _Population, seed: int) -> _Person:
    """Fake but realistic personal data for every client, vectorised."""
    rng = _rng(seed, _S_PERSONAL)
    n = pop.client_id.size
    female = rng.random(n) < 0.45
    foreign = rng.random(n) < 0.04
    cyr = (rng.random(n) < 0.35) & ~foreign
    fi_m, fi_f = _pick(rng, _MALE, n), _pick(rng, _FEMALE, n)
    su, pt = _pick(rng, _SURNAMES, n), _pick(rng, _PATRONYMICS, n)
    first_lat = _col(_MALE, fi_m, 0).where(~female, _col(_FEMALE, fi_f, 0))
    first_cyr = _col(_MALE, fi_m, 1).where(~female, _col(_FEMALE, fi_f, 1))
    sur_lat = _col(_SURNAMES, su, 0).where(~female, _female(_col(_SURNAMES, su, 0), False))
    sur_cyr = _col(_SURNAMES, su, 1).where(~female, _female(_col(_SURNAMES, su, 1), True))
    pat_lat = _col(_PATRONYMICS, pt, 0).where(~female, _col(_PATRONYMICS, pt, 1))
    pat_cyr = _col(_PATRONYMICS, pt, 2).where(~female, _col(_PATRONYMICS, pt, 3))
    name = (sur_lat + " " + first_lat + " " + pat_lat).where(
        ~cyr, sur_cyr + " " + first_cyr + " " + pat_cyr)
    fo = _col(_FOREIGN, _pick(rng, _FOREIGN, n))
    name = name.where(~foreign, fo)
    first_lat = first_lat.where(~foreign, fo.str.split(" ").str[0])
    sur_mail = sur_lat.where(~foreign, fo.str.split(" ").str[-1])
    year = pd.Series(rng.integers(55, 100, n).astype("U"), dtype=object)
    sep = _col((".", "_", ""), rng.integers(0, 3, n))
    local = (first_lat.str[0] + sep + sur_mail).str.lower()
    local = local.where(rng.random(n) < 0.5, local + year)
    local = local.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    local = local.str.replace(r"[^a-z0-9._]", "", regex=True)
    email = local + "@" + _col(_DOMAINS, _pick(rng, _DOMAINS, n))

    # legal entities: company name, a corporate mailbox
    legal = pop.legal
    ai, ni, si, fi = (_pick(rng, t, n) for t in (_ADJ, _NOUN, _SECTOR, _FORMS))
    co_lat = (_col(_FORMS, fi, 0) + ' "' + _col(_ADJ, ai, 0) + " " + _col(_NOUN, ni, 0) + " "
              + _col(_SECTOR, si, 0) + '"')
    co_cyr = (_col(_FORMS, fi, 1) + " «" + _col(_ADJ, ai, 1) + " " + _col(_NOUN, ni, 1) + " "
              + _col(_SECTOR, si, 1) + "»")
    company = co_lat.where(~cyr, co_cyr)
    box = _col(("info", "office", "finance", "treasury"), rng.integers(0, 4, n))
    domain = (_col(_ADJ, ai, 0) + _col(_NOUN, ni, 0) + "-" + _col(_SECTOR, si, 0)).str.lower()
    co_mail = box + "@" + domain + ".ru"
    name = name.where(~legal, company)
    email = email.where(~legal, co_mail)

    mobile = ("+7 9" + _digits(rng, n, 2) + " " + _digits(rng, n, 3) + "-" + _digits(rng, n, 2)
              + "-" + _digits(rng, n, 2))
    alt = mobile.str.replace(r"^\+7 (\d{3}) ", r"8 (\1) ", regex=True)
    phone = mobile.where(rng.random(n) < 0.75, alt)

    ci = pop.branch % len(_CITIES)
    st = _pick(rng, _STREETS, n)
    house = pd.Series(rng.integers(1, 160, n).astype("U"), dtype=object)
    flat = pd.Series(rng.integers(1, 320, n).astype("U"), dtype=object)
    addr_lat = (_col(_CITIES, ci, 0) + ", " + _col(_STREETS, st, 0) + " St. " + house)
    addr_lat = addr_lat + np.where(legal, ", office ", ", apt. ") + flat
    addr_cyr = (_col(_CITIES, ci, 1) + ", ул. " + _col(_STREETS, st, 1) + ", " + house)
    addr_cyr = addr_cyr + np.where(legal, ", оф. ", ", кв. ") + flat
    address = addr_lat.where(~cyr, addr_cyr)
    return _Person(name, email, phone, address)


def _staff_table(staff: _Staff, last_end: np.datetime64, seed: int) -> pd.DataFrame:
    rng = _rng(seed, _S_STAFF, 1)
    m = len(staff.ids)
    female = rng.random(m) < 0.6
    fi_m, fi_f, su = _pick(rng, _MALE, m), _pick(rng, _FEMALE, m), _pick(rng, _SURNAMES, m)
    first = _col(_MALE, fi_m, 0).where(~female, _col(_FEMALE, fi_f, 0))
    sur = _col(_SURNAMES, su, 0).where(~female, _female(_col(_SURNAMES, su, 0), False))
    certified = (~staff.new) & (rng.random(m) < _sigmoid(1.2 + 2.5 * staff.quality))
    cert_on = last_end - rng.integers(60, 1500, m).astype("timedelta64[D]")
    trained = last_end - np.where(staff.new, rng.integers(20, 150, m),
                                  rng.integers(30, 700, m)).astype("timedelta64[D]")
    return pd.DataFrame({
        "manager_id": staff.ids,
        "manager_name": (first + " " + sur).to_numpy(),
        "branch": staff.branch_ids[staff.branch],
        "certified": np.where(certified, "yes", "no"),
        "certified_on": np.where(certified, pd.Series(cert_on).dt.strftime("%Y-%m-%d"), ""),
        "last_trained": pd.Series(trained).dt.strftime("%Y-%m-%d").to_numpy(),
    }), first


def _comments(answers: _Answers, people: _Person, manager_first: pd.Series, pop: _Population,
              ws: Workspace, qi: int, seed: int) -> np.ndarray:
    """The quarter's comments in four languages with planted themes
    (:mod:`vipquality.data.sample_comments`, a random stream of its own)."""
    who = answers.client
    return sample_comments(
        who, answers.nps, answers.sat, ws.instrument.csi_scale,
        manager_latin=manager_first.to_numpy(dtype=object)[pop.manager[who]],
        manager_cyrillic=np.asarray(_to_cyrillic(manager_first), dtype=object)[pop.manager[who]],
        phone=people.phone.to_numpy(dtype=object)[who],
        email=people.email.to_numpy(dtype=object)[who], seed=seed, quarter_index=qi)


def _to_cyrillic(first_latin: pd.Series) -> list[str]:
    table = {lat: cyr for lat, cyr in _MALE + _FEMALE}
    return [table.get(x, x) for x in first_latin]       # one entry per manager (a few dozen)


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

_FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def _file_name(ws: Workspace, table: str, fmt: str) -> str:
    for pattern in ws.quarter_files.get(table, ()):
        if pattern.lower().endswith("." + fmt):
            name = pattern.replace("*", "")
            if fnmatch.fnmatch(name, pattern):
                return name
    raise ConfigError("workspace.yaml", f"quarter_files.{table}",
                      f"no pattern for .{fmt} files; cannot name the {table} file")


def _date_columns(df: pd.DataFrame) -> list[str]:
    """Datetime columns that hold dates only (every value at midnight)."""
    return [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])
            and bool((df[c].dropna() == df[c].dropna().dt.normalize()).all())]


def _write(df: pd.DataFrame, path: Path, fmt: str, stamp: _dt.datetime) -> None:
    """Write one raw file; the bytes depend only on ``df`` (and ``stamp`` for Excel)."""
    dates = _date_columns(df)
    if fmt == "csv":
        df = df.assign(**{c: df[c].dt.strftime("%Y-%m-%d") for c in dates})
        df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.2f",
                  date_format="%Y-%m-%d %H:%M:%S")
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        for c in dates:
            i = table.schema.get_field_index(c)
            table = table.set_column(i, c, table.column(c).cast(pa.date32()))
        # dictionary-encode only repetitive columns: unique strings (names, e-mails) compress
        # better without one
        repetitive = [c for c in df.columns if df[c].nunique(dropna=True) <= max(len(df) // 20, 1)]
        pq.write_table(table.replace_schema_metadata(None), path, compression="zstd",
                       compression_level=19, use_dictionary=repetitive)
    elif fmt == "xlsx":
        _write_xlsx(df, path, stamp)
    else:
        raise ValueError(f"format must be csv, xlsx or parquet, got {fmt!r}")


def _write_xlsx(df: pd.DataFrame, path: Path, stamp: _dt.datetime) -> None:
    """An Excel file whose bytes depend only on the data (fixed dates inside and in the zip)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl", date_format="YYYY-MM-DD",
                        datetime_format="YYYY-MM-DD HH:MM:SS") as writer:
        writer.book.properties.creator = "vipquality sample"
        writer.book.properties.created = stamp
        df.to_excel(writer, index=False, sheet_name="Responses")
        writer.book.properties.modified = stamp
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + iso.encode() + m.group(3), data)
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, data)
    path.write_bytes(out.getvalue())


_TABLES = ("survey", "visits", "clients")
_FORMATS = ("csv", "xlsx", "parquet")


def _formats_for(formats, quarters: list[str]) -> dict[str, dict[str, str]]:
    """table -> quarter -> file format, from the ``formats`` argument of generate_sample."""
    if formats is None:
        # the committed sample: CSV, one older survey as an Excel export, and the CRM extracts
        # as Parquet (6,000 clients with personal data a quarter: ~1.4 MB each as CSV)
        formats = {"survey": {quarters[1]: "xlsx"} if len(quarters) >= 3 else "csv",
                   "clients": "parquet"}
    unknown = set(formats) - set(_TABLES)
    if unknown:
        raise ValueError(f"formats: tables are {', '.join(_TABLES)}; got {sorted(unknown)}")
    out = {}
    for table in _TABLES:
        spec = formats.get(table, "csv")
        if isinstance(spec, str):
            spec = dict.fromkeys(quarters, spec)
        stray = set(spec) - set(quarters)
        if stray:
            raise ValueError(f"formats[{table!r}] names quarters outside "
                             f"{quarters[0]}…{quarters[-1]}: {sorted(stray)}")
        out[table] = {q: spec.get(q, "csv") for q in quarters}
        bad = {f for f in out[table].values() if f not in _FORMATS}
        if bad:
            raise ValueError(f"formats[{table!r}]: a format is one of {', '.join(_FORMATS)}, "
                             f"got {sorted(bad)}")
    return out


def _int_column(values) -> pd.arrays.IntegerArray:
    return pd.array(np.where(np.isnan(values), np.nan, values), dtype="Float64").astype("Int64")


def _survey_frame(ws: Workspace, ans: _Answers, ids: np.ndarray, client_ids: np.ndarray,
                  comments: np.ndarray | None) -> pd.DataFrame:
    """The survey tool's export: the instrument's source column names, codes and blanks."""
    inst = ws.instrument
    rc = inst.columns
    out: dict[str, object] = {rc["response_id"]: ids, rc["client_id"]: client_ids}
    if rc.get("submitted_at"):
        out[rc["submitted_at"]] = pd.to_datetime(ans.submitted)
    if rc.get("weight"):
        out[rc["weight"]] = ans.weight
    out[inst.nps.column] = _int_column(ans.nps)
    if inst.ces is not None:
        out[inst.ces.column] = _int_column(ans.ces)
    if inst.overall is not None:
        out[inst.overall.column] = _int_column(ans.overall)
    # the first missing-value code stands for "cannot judge"
    code = float(inst.missing_codes[0]) if inst.missing_codes else None
    for a in inst.attributes:
        sat = ans.sat[a.id]
        if code is not None:
            sat = np.where(ans.sat_code[a.id], code, sat)
        out[a.satisfaction] = _int_column(sat)
        if a.importance:
            imp = ans.imp[a.id]
            if code is not None:
                imp = np.where(ans.imp_code[a.id], code, imp)
            out[a.importance] = _int_column(imp)
    if inst.comment is not None and comments is not None:
        out[inst.comment.column] = comments
    return pd.DataFrame(out)


def generate_sample(
    workspace: str | Path,
    *,
    quarters: int = 8,
    last_quarter: str = "2026Q3",
    responses_per_quarter: int = 2500,
    visits_per_quarter: int = 240,
    clients: int = 6000,
    seed: int = DEFAULT_SEED,
    formats: Mapping[str, str | Mapping[str, str]] | None = None,
) -> dict:
    """Write the seeded sample data (roster and quarter folders) into an existing workspace.

    The workspace folder must already hold ``workspace.yaml`` and the files it names; every
    column name, attribute, checklist item, threshold and revision date comes from them.

    Parameters
    ----------
    workspace : str or Path
        Folder holding ``workspace.yaml``.
    quarters : int
        Number of consecutive quarters, ending with ``last_quarter``.
    last_quarter : str
        The most recent quarter, ``YYYYQn``.
    responses_per_quarter, visits_per_quarter, clients : int
        Survey responses and mystery-shopper visits per quarter; size of the client base
        (about 1.5 % leave and as many join each quarter).
    seed : int
        Everything written is a function of the seed and the configuration only.
    formats : mapping or None
        File format per table (``"survey"``, ``"visits"``, ``"clients"``): ``"csv"``,
        ``"xlsx"`` or ``"parquet"`` for every quarter, or ``{quarter: format}`` for the quarters
        named (the others CSV); tables not named are CSV. ``None`` is the committed layout:
        CSV, except the survey of the second-oldest quarter as Excel (when there are at least
        three quarters) and the CRM extracts as Parquet (6,000 clients with personal data take
        about 1.4 MB a quarter as CSV, 0.3 MB as Parquet). The roster is always CSV.

    Returns
    -------
    dict
        ``workspace``, ``seed``, ``quarters`` (list), ``files`` (relative path -> rows written)
        and ``rows`` (total rows per table: staff, clients, survey, visits).

    Notes
    -----
    Existing files of a generated quarter folder that match the workspace's ``quarter_files``
    patterns are replaced; other files and other quarter folders are left alone.
    """
    ws = _read_workspace(Path(workspace))
    root = ws.root
    d = _design(ws)
    sc = _SCENARIO
    qs = _quarter_list(last_quarter, quarters, ws.fiscal_year_start)
    fmt = _formats_for(formats, qs)
    staff = _make_staff(sc, seed)
    pop = _make_population(d, sc, staff, int(clients), len(qs), seed)
    people = _people(pop, seed)
    _, last_end = _quarter_bounds(qs[-1], ws.fiscal_year_start)
    staff_df, manager_first = _staff_table(staff, last_end, seed)
    checklist = _checklist(ws, sc, staff, seed)

    files: dict[str, int] = {}
    rows = {"staff": 0, "clients": 0, "survey": 0, "visits": 0}
    if ws.staff_path is not None:
        _write(staff_df, ws.staff_path, "csv", _dt.datetime(2000, 1, 1))
        files[ws.staff_path.relative_to(ws.root).as_posix()] = rows["staff"] = len(staff_df)

    personal = {}
    for col in ws.personal_columns:
        low = col.lower()
        kind = ("email" if "mail" in low else "phone" if "phone" in low or "tel" in low
                else "address" if "addr" in low else "full_name")
        personal[col] = getattr(people, kind).to_numpy(dtype=object)

    answered: list[tuple] = []
    for qi, q in enumerate(qs):
        folder = root / q
        folder.mkdir(parents=True, exist_ok=True)
        for table in ("survey", "visits", "clients", "case_updates", "appeals"):
            for pattern in ws.quarter_files.get(table, ()):
                for old in sorted(folder.glob(pattern)):
                    old.unlink()
        start, end = _quarter_bounds(q, ws.fiscal_year_start)
        stamp = _dt.datetime.fromisoformat(str(end + 1)) + _dt.timedelta(hours=9)

        # CRM extract
        crm, idx = _crm(d, pop, staff, qi, end)
        src = {canon: source for canon, source in ws.client_columns.items() if canon in crm}
        extract = pd.DataFrame({src["client_id"]: crm["client_id"]})
        for col, values in personal.items():
            extract[col] = values[idx]
        for canon, source in src.items():
            if canon != "client_id":
                extract[source] = crm[canon]
        name = _file_name(ws, "clients", fmt["clients"][q])
        _write(extract, folder / name, fmt["clients"][q], stamp)
        files[f"{q}/{name}"] = len(extract)
        rows["clients"] += len(extract)

        # survey
        ans = _answers(ws, d, sc, staff, pop, qs, qi, int(responses_per_quarter), seed)
        comments = (_comments(ans, people, manager_first, pop, ws, qi, seed)
                    if ws.instrument.comment is not None else None)
        survey = _survey_frame(ws, ans, _strings([_response_ids(q, ans.client.size)]),
                               pop.client_id[ans.client], comments)
        if ws.cases is not None and ws.cases.consent_column:
            consent = _rng(seed, _S_CASES, qi).random(len(survey)) < 0.88
            survey[ws.cases.consent_column] = np.where(consent, "yes", "no")
        answered.append((q, survey, crm, stamp))
        name = _file_name(ws, "survey", fmt["survey"][q])
        _write(survey, folder / name, fmt["survey"][q], stamp)
        files[f"{q}/{name}"] = len(survey)
        rows["survey"] += len(survey)

        # mystery shopping
        visits = _visits(d, staff, checklist, q, qi, int(visits_per_quarter), seed,
                         ws.fiscal_year_start)
        # shoppers, calibration visits and appeals (issue 16): a random stream of their own
        visits, appeals = plant_shoppers(visits, q, qi, seed)
        if "appeals" in ws.quarter_files and len(appeals):
            name = _file_name(ws, "appeals", "csv")
            _write(appeals, folder / name, "csv", stamp)
            files[f"{q}/{name}"] = len(appeals)
        vcols = {canon: source for canon, source in ws.visit_columns.items() if canon in visits}
        visits = visits[list(vcols)].rename(columns=vcols)
        name = _file_name(ws, "visits", fmt["visits"][q])
        _write(visits, folder / name, fmt["visits"][q], stamp)
        files[f"{q}/{name}"] = len(visits)
        rows["visits"] += len(visits)

    if ws.cases is not None:
        rows["case_updates"] = 0
        for q, updates in _case_updates(ws, answered, seed).items():
            name = _file_name(ws, "case_updates", "csv")
            _write(updates, root / q / name, "csv", _dt.datetime(2000, 1, 1))
            files[f"{q}/{name}"] = len(updates)
            rows["case_updates"] += len(updates)
    # who was invited (issue 16): a superset of the respondents, its own random stream
    rows["invitations"] = write_invitations(ws, answered, seed, files)
    return {"workspace": str(root), "seed": seed, "quarters": qs, "files": files, "rows": rows}


_NOTES = {
    "contacted": ["Called the client, listened to the concerns", "Met in the office",
                  "Reached by phone, follow-up meeting agreed"],
    "resolved": ["Issue fixed and confirmed with the client", "Fee refunded, client satisfied",
                 "Explained the terms again; client accepts"],
    "escalated": ["Passed to the branch head", "Needs the product team's decision"],
    "unreachable": ["No answer after three calls", "Phone switched off, e-mail sent"],
}


def _case_updates(ws: Workspace, answered: list[tuple], seed: int) -> dict[str, pd.DataFrame]:
    """The follow-up updates of every quarter's cases, as known the day after it ends.

    Cases are opened by :func:`vipquality.data.cases.open_cases` with the workspace's own rules,
    so every id is one ingest knows. Only cases with consent are followed up. A planted manager
    contacts late; a planted branch resolves with one root cause; a detractor who answers again
    the next quarter as a passive or promoter had a resolved case more often (the association
    is planted by choosing which cases are resolved, not by changing answers).
    """
    from vipquality.data.cases import open_cases

    rules = ws.cases
    inst = ws.instrument
    rc = inst.columns
    codes = list(rules.root_causes)
    holidays = np.array(rules.holidays, dtype="datetime64[D]")

    def busday(day: np.datetime64, n: int) -> np.datetime64:
        return np.busday_offset(day, n, roll="forward", weekmask=rules.weekmask,
                                holidays=holidays)

    frames = []
    for q, survey, crm, stamp in answered:
        r = pd.DataFrame({
            "quarter": q, "response_id": survey[rc["response_id"]].astype(str),
            "client_id": survey[rc["client_id"]].astype(str),
            "submitted_at": pd.to_datetime(survey[rc["submitted_at"]]) if rc.get("submitted_at")
            else pd.Timestamp(stamp),
            "nps": survey[inst.nps.column].astype("Int8"),
            "ces": survey[inst.ces.column].astype("Int8") if inst.ces else pd.NA,
            "overall": survey[inst.overall.column].astype("Int8") if inst.overall else pd.NA,
            "consent": survey[rules.consent_column].eq("yes") if rules.consent_column else True})
        clients = pd.DataFrame({k: crm[k] for k in ("client_id", "manager_id", "branch")
                                if k in crm})
        clients[rules.tier_field] = crm[rules.tier_field] if rules.tier_field in crm else None
        frames.append((q, open_cases(r, clients, rules), r, np.datetime64(stamp.date(), "D")))

    out: dict[str, list[list]] = {q: [] for q, *_ in frames}
    later = {q: frames[i + 1] if i + 1 < len(frames) else None for i, (q, *_) in enumerate(frames)}
    for qi, (q, cases, _, known) in enumerate(frames):
        rng = _rng(seed, _S_CASES, 100 + qi)
        nxt = later[q]
        recovered = {}
        if nxt is not None:
            again = nxt[2].drop_duplicates("client_id").set_index("client_id")["nps"]
            recovered = again.ge(7).to_dict()
        for case in cases.itertuples(index=False):
            if not case.consent:
                continue  # for the branch's learning only: nobody calls
            u = rng.random(8)
            opened = np.datetime64(case.opened, "D")
            sla = int(case.sla_days)
            late = case.manager_id == SLOW_MANAGER
            delay = sla + 1 + int(u[0] * 6) if late and u[1] < 0.8 else int(u[0] * (sla + 1))
            if u[2] < 0.04:
                continue  # never contacted
            first = busday(opened, delay)
            history: list[tuple[str, np.datetime64]] = []
            if u[3] < 0.08:
                history.append(("unreachable", first))
                first = busday(first, 2)
            history.append(("contacted", first))
            client_back = recovered.get(case.client_id) if pd.notna(case.nps) and \
                int(case.nps) <= 6 else None
            p_resolve = 0.7 if client_back is None else (0.85 if client_back else 0.35)
            if u[4] < p_resolve:
                history.append(("resolved", busday(first, 1 + int(u[5] * 10))))
            elif u[4] < p_resolve + 0.1:
                history.append(("escalated", busday(first, 1 + int(u[5] * 5))))
            if case.branch == ROOT_CAUSE_BRANCH and u[6] < 0.7:
                cause = "pricing"
            else:
                cause = codes[int(u[7] * len(codes))]
            for status, day in history:
                # updates known the day after the quarter they happened in ends
                folder = q
                for q2, _, _, known2 in frames[qi:]:
                    if day <= known2:
                        folder = q2
                        break
                else:
                    continue  # after the last export: not known yet
                note = _NOTES[status][int(rng.integers(len(_NOTES[status])))]
                if rng.random() < 0.03:
                    note += f"; client asked to call +7 9{int(rng.integers(10, 99))} " \
                            f"{int(rng.integers(100, 999))}-{int(rng.integers(10, 99))}-" \
                            f"{int(rng.integers(10, 99))}"
                out[folder].append([case.case_id, status, str(day),
                                    cause if status == "resolved" else "", note])
    return {q: pd.DataFrame(sorted(rows), columns=["case_id", "status", "date", "root_cause",
                                                   "note"]) for q, rows in out.items()}


def generate_responses(
    n: int,
    seed: int = DEFAULT_SEED,
    *,
    workspace: str | Path | None = None,
    quarters: int = 8,
    last_quarter: str = "2026Q3",
    clients: int | None = None,
) -> pd.DataFrame:
    """Draw ``n`` survey responses in the canonical store layout, in memory (for benchmarks).

    The same latent model as :func:`generate_sample` (same planted effects), vectorised; the
    ``n`` responses are spread evenly over the quarters. Columns: ``quarter``, ``response_id``,
    ``client_id``, ``submitted_at``, ``weight``, ``nps``, ``ces``, ``overall`` (Int8),
    ``sat__<id>`` and ``imp__<id>`` (Float32, NaN = missing or "cannot judge"), then
    ``segment`` (the client's tier segment id), ``branch`` and ``manager_id``.

    Parameters
    ----------
    n : int
        Total number of responses.
    seed : int
        Random seed.
    workspace : str or Path, optional
        Workspace whose configuration defines the instrument and segments (default: the
        bundled sample).
    quarters, last_quarter : int, str
        The quarters covered.
    clients : int, optional
        Size of the client base (default: about 2.4 clients per response per quarter, at least
        6,000, as in the sample).

    Examples
    --------
    >>> df = generate_responses(2000, seed=1)
    >>> len(df), df["quarter"].nunique(), int(df["nps"].between(0, 10).all())
    (2000, 8, 1)
    """
    ws = _read_workspace(Path(workspace) if workspace is not None else SAMPLE_WORKSPACE)
    d = _design(ws)
    sc = _SCENARIO
    qs = _quarter_list(last_quarter, quarters, ws.fiscal_year_start)
    counts = _per_quarter(n, len(qs))
    if clients is None:
        clients = max(6000, int(max(counts) * 2.4))
    staff = _make_staff(sc, seed)
    pop = _make_population(d, sc, staff, int(clients), len(qs), seed)
    tier_segment = np.array([d.tier_segment.get(t, t) for t in d.tiers])

    client_labels = pa.array(pop.client_id, type=pa.large_string())
    strings = ("quarter", "response_id", "client_id", "segment", "branch", "manager_id")
    parts: dict[str, list] = {}
    for qi, (q, k) in enumerate(zip(qs, counts)):               # one pass per quarter
        ans = _answers(ws, d, sc, staff, pop, qs, qi, k, seed)
        m = ans.client.size
        blank = np.full(m, np.nan, np.float32)
        cols = {
            "quarter": _take(np.array([q]), np.zeros(m, np.int64)),
            "response_id": _response_ids(q, m),
            "client_id": client_labels.take(pa.array(ans.client)),
            "submitted_at": ans.submitted,
            "weight": ans.weight,
            "nps": ans.nps.astype(np.float32),
            "ces": blank if ans.ces is None else ans.ces.astype(np.float32),
            "overall": blank if ans.overall is None else ans.overall.astype(np.float32),
        }
        for a in ws.instrument.attributes:
            cols[f"sat__{a.id}"] = ans.sat[a.id].astype(np.float32)
            cols[f"imp__{a.id}"] = ans.imp[a.id].astype(np.float32) if a.importance else blank
        cols["segment"] = _take(tier_segment, pop.tier[ans.client])
        cols["branch"] = _take(staff.branch_ids, pop.branch[ans.client])
        cols["manager_id"] = _take(staff.ids, pop.manager[ans.client])
        del ans
        for key, value in cols.items():
            parts.setdefault(key, []).append(value)
    out = {}
    for key in list(parts):
        chunks = parts.pop(key)                                   # free each part once used
        if key in strings:
            out[key] = _strings(chunks)
        elif key in ("nps", "ces", "overall"):
            out[key] = pd.array(np.concatenate(chunks), dtype="Float32").astype("Int8")
        else:
            out[key] = np.concatenate(chunks)
    return pd.DataFrame(out)
