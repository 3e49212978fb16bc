"""Comment themes, part A (issue 15): the codeframe (themes.yaml), normalisation, Tagalog roots,
negation, coding precision and recall on a hand-labelled multilingual fixture, language
detection, and the store's comment_language column.

The fixture ``tests/data/themes/comments_<lang>.csv`` was written for this test: 50 comments per
language (English, Greek, Russian, Tagalog) in the voice of private-banking clients, including
negated mentions ("No problem with waiting this time", "Δεν περίμενα καθόλου", "Не ждал ни
минуты", "Hindi ako naghintay"), upper-case and unaccented ones, and comments mixing English into
another language. Each was labelled by hand with the themes of the sample codeframe
(``surveys/themes.yaml``) that a human coder would give it, before and independently of what the
matcher returns; the language column is the comment's main language.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vipquality.config import LANGUAGES, Codeframe, Theme, load_workspace
from vipquality.data.language import detect_languages, fill_comment_language
from vipquality.data.themes import code_comments, normalise, tagalog_root, word_key
from vipquality.errors import ConfigError
from vipquality.paths import SAMPLE_WORKSPACE

FIXTURE = Path(__file__).parent / "data" / "themes"


@pytest.fixture(scope="module")
def frame() -> Codeframe:
    return load_workspace().themes


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    parts = [pd.read_csv(FIXTURE / f"comments_{lang}.csv", dtype=str, keep_default_na=False)
             for lang in LANGUAGES]
    out = pd.concat(parts, ignore_index=True)
    out["response_id"] = [f"F{i:03d}" for i in range(len(out))]
    return out


def _themes(comments: list[str], codeframe: Codeframe) -> list[set[str]]:
    c = pd.DataFrame({"response_id": [str(i) for i in range(len(comments))],
                      "comment": comments})
    coded = code_comments(c, codeframe)
    got = coded.groupby("response_id")["theme_id"].apply(set).to_dict()
    return [got.get(str(i), set()) for i in range(len(comments))]


# --------------------------------------------------------------------------------------------
# the codeframe in the workspace
# --------------------------------------------------------------------------------------------

def test_the_sample_codeframe(frame):
    assert 12 <= len(frame) <= 20
    ids = frame.ids
    assert {"wait_callback", "availability", "competence", "courtesy", "document_errors", "fees",
            "digital", "branch_comfort", "card_issues", "proactive_offers", "manager_changed",
            "privacy"} <= set(ids)
    wait = frame.get("wait_callback")
    assert wait.label == "Waiting and call-backs"
    assert wait.attributes == ("response_speed",) and wait.standards == ("S02", "S04")
    assert all(set(th.terms) == set(LANGUAGES) for th in frame)
    ws = load_workspace()
    for th in frame:
        assert set(th.attributes) <= set(ws.instrument.attribute_ids)
        assert set(th.standards) <= set(ws.standards.ids)
    with pytest.raises(KeyError, match="no theme 'nope'"):
        frame.get("nope")


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    target.mkdir()
    for f in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(f, target / f.name)
    return target


def test_no_themes_file_means_no_themes(tmp_path):
    root = _copy(tmp_path)
    (root / "themes.yaml").unlink()
    ws = load_workspace(root)
    assert ws.themes is None
    c = pd.DataFrame({"response_id": ["a"], "comment": ["I waited a week"]})
    assert code_comments(c, ws.themes).empty


def test_workspace_yaml_may_name_another_codeframe_file(tmp_path):
    root = _copy(tmp_path)
    (root / "themes.yaml").rename(root / "codes.yaml")
    text = (root / "workspace.yaml").read_text(encoding="utf-8")
    (root / "workspace.yaml").write_text(text + "themes: codes.yaml\n", encoding="utf-8")
    assert load_workspace(root).themes.ids[0] == "wait_callback"
    (root / "codes.yaml").unlink()
    with pytest.raises(ConfigError, match="workspace.yaml: themes: .*expected an existing file"):
        load_workspace(root)


BROKEN = {
    "unknown attribute": ("attributes: [response_speed]", "attributes: [respons_speed]",
                          "themes[0].attributes[0]", "did you mean 'response_speed'"),
    "unknown standard": ("standards: [S02, S04]", "standards: [S02, S40]",
                         "themes[0].standards[1]", "expected a standard id of standards.yaml"),
    "unknown language": ("      el: [περιμένω,", "      gr: [περιμένω,",
                         "themes[0].terms.gr", "did you mean 'el'"),
    "duplicate theme id": ("  - id: availability", "  - id: wait_callback",
                           "themes[1].id", "already used by themes[0]"),
    "bad theme id": ("  - id: availability", "  - id: Availability",
                     "themes[1].id", "in lower case"),
    "unknown key": ("    label: Waiting and call-backs", "    lable: Waiting and call-backs",
                    "themes[0].lable", "did you mean 'label'"),
    "empty term list": ("    standards: [S02, S04]\n    terms:\n      en: [", 
                        "    standards: [S02, S04]\n    terms:\n      en: []\n      xx: [",
                        "themes[0].terms.en", "at least 1 entry"),
    "punctuation as a term": ("on hold, faster, quicker]", "on hold, faster, quicker, '?!']",
                              "themes[0].terms.en[", "expected a word or phrase"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_themes_yaml_errors_name_file_key_and_fix(tmp_path, case):
    old, new, key, fragment = BROKEN[case]
    root = _copy(tmp_path)
    path = root / "themes.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    err = info.value
    assert err.file.endswith("themes.yaml")
    assert err.key.startswith(key), err
    assert fragment in err.problem, err


# --------------------------------------------------------------------------------------------
# normalisation, stems and Tagalog roots
# --------------------------------------------------------------------------------------------

def test_normalise_case_accents_final_sigma_and_yo():
    assert normalise("ΑΝΑΜΟΝΉΣ") == normalise("αναμονής") == normalise("αναμονησ") == "αναμονησ"
    assert normalise("ἀναμονῆς") == "αναμονησ"                       # polytonic too
    assert normalise("Ещё ЖДУ") == "еще жду"                          # ё → е
    assert normalise("мой") == "мой"                                  # й kept
    assert normalise("Café crème, naïve") == "cafe creme | naive"
    assert normalise("didn't  wait…") == "didnt wait |"
    assert normalise("pag-aantay") == "pag aantay"
    assert word_key("αναμονής", "el") == word_key("αναμονη", "el")
    assert word_key(normalise("ждал"), "ru") == word_key(normalise("Ждал"), "ru")


@pytest.mark.parametrize("forms, root", [
    (["hintay", "naghintay", "maghintay", "paghihintay", "hinintay", "hinihintay",
      "naghihintay"], "hintay"),
    (["tawag", "tumawag", "tatawag", "tinawagan", "tawagan"], "tawag"),
    (["sagot", "sagutin", "sumagot", "sumasagot"], "sagut"),
    (["antay", "aantay", "maantay"], "antay"),
    (["pangako", "nangako", "ipinangako", "nangakong"], "ngaku"),
    (["singil", "siningil", "sinisingil"], "singil"),
])
def test_tagalog_affixes_meet_at_one_root(forms, root):
    assert {tagalog_root(f) for f in forms} == {root}


def test_tagalog_short_words_and_the_pronoun_are_left_alone():
    assert tagalog_root("ako") == "ako" and tagalog_root("mahal") == "mahal"
    assert tagalog_root("hindi") == "hindi"        # -in- is an infix only before a vowel


# --------------------------------------------------------------------------------------------
# matching and negation
# --------------------------------------------------------------------------------------------

WAIT = Codeframe((Theme("wait", "Waiting", terms={
    "en": ("wait", "call back", "never called back"), "el": ("περιμένω", "περίμενα"),
    "ru": ("ждал", "ждать", "не перезвонили"), "tl": ("hintay", "hindi tumawag")}),))


@pytest.mark.parametrize("comment, expected", [
    ("I waited three days", {"wait"}),
    ("No problem with waiting.", set()),
    ("I did not have to wait at all", set()),
    ("No delay; but I waited for the statement", {"wait"}),       # the negation ends at ';'
    ("They never called back", {"wait"}),                          # the term holds the negation
    ("They never called me back", {"wait"}),                       # a word between: still one
    ("Called back within the hour", {"wait"}),
    ("Δεν περίμενα καθόλου", set()),
    ("ΠΕΡΙΜΕΝΑ ΤΡΕΙΣ ΜΕΡΕΣ", {"wait"}),
    ("Не ждал ни минуты", set()),
    ("Они не ждали, а я ждал неделю", {"wait"}),
    ("Обещали и не перезвонили", {"wait"}),
    ("Hindi ako naghintay", set()),
    ("Naghihintay pa rin ako", {"wait"}),
    ("Nangakong tatawag pero hindi tumawag", {"wait"}),
    ("Mabagal, I waited a week", {"wait"}),                        # mixed: Latin words as English
    ("", set()),
])
def test_matching_and_negation(comment, expected):
    assert _themes([comment], WAIT) == [expected]


def test_russian_negation_after_the_word():
    fees = Codeframe((Theme("fees", "Fees", terms={"ru": ("тарифы", "карта", "картой")}),))
    assert _themes(["Претензий к тарифам нет.", "Проблем с картой никогда не было.",
                    "Тарифы высокие, карты нет"], fees) == [set(), set(), {"fees"}]


def test_a_comment_carries_several_themes_once_each(frame):
    got = _themes(["I waited a week for a call back, and the fees are too high. Waited again."],
                  frame)
    assert got == [{"wait_callback", "fees"}]
    c = pd.DataFrame({"response_id": ["x"], "comment": ["Waited, waited, waited; high fees."]})
    coded = code_comments(c, frame)
    assert sorted(coded.theme_id) == ["fees", "wait_callback"]
    assert list(coded.columns) == ["response_id", "theme_id"]


def test_coding_leaves_the_input_alone_and_handles_missing(frame):
    c = pd.DataFrame({"response_id": ["a", "b", "c"], "comment": [None, "", "Rude manager"]})
    before = c.copy()
    coded = code_comments(c, frame)
    pd.testing.assert_frame_equal(c, before)
    assert coded.to_dict("records") == [{"response_id": "c", "theme_id": "courtesy"}]


@functools.lru_cache(maxsize=1)
def _sample_frame() -> Codeframe:
    return load_workspace().themes


_accent = {"a": "á", "e": "é", "o": "ó", "α": "ά", "ε": "έ", "ο": "ό", "ι": "ί", "е": "ё"}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_coding_is_invariant_to_case_and_accents(data):
    pool = pd.concat([pd.read_csv(FIXTURE / f"comments_{lang}.csv", dtype=str,
                                  keep_default_na=False) for lang in LANGUAGES])["comment"]
    comment = data.draw(st.sampled_from(sorted(pool)))
    flips = data.draw(st.lists(st.booleans(), min_size=len(comment), max_size=len(comment)))
    changed = "".join((_accent.get(ch, ch) if f else ch.upper()) if i % 2 else ch
                      for i, (ch, f) in enumerate(zip(comment, flips)))
    frame = _sample_frame()
    assert _themes([changed], frame) == _themes([comment], frame)


# --------------------------------------------------------------------------------------------
# precision and recall on the hand-labelled fixture
# --------------------------------------------------------------------------------------------

def test_fixture_is_200_comments_50_per_language(labelled):
    assert len(labelled) >= 200
    assert labelled["language"].value_counts().to_dict() == {lang: 50 for lang in LANGUAGES}
    assert (labelled["themes"] == "").sum() >= 25                    # no-theme and negated ones


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_precision_and_recall_per_language_at_least_0_9(labelled, frame, language):
    rows = labelled[labelled["language"] == language]
    got = _themes(rows["comment"].tolist(), frame)
    tp = fp = fn = 0
    for want_text, g in zip(rows["themes"], got):
        want = {t for t in want_text.split(";") if t}
        assert want <= set(frame.ids)
        tp, fp, fn = tp + len(want & g), fp + len(g - want), fn + len(want - g)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9 and recall >= 0.9, (language, precision, recall)


# --------------------------------------------------------------------------------------------
# language detection
# --------------------------------------------------------------------------------------------

def test_language_detection_accuracy_on_the_fixture(labelled):
    """py3langid restricted to the four languages: 199 of 200 right when measured (the miss is
    a Tagalog-English mix); asserted at 0.95 overall and 0.9 per language."""
    found = pd.Series(detect_languages(labelled["comment"]), index=labelled.index)
    right = found == labelled["language"]
    assert right.mean() >= 0.95
    assert right.groupby(labelled["language"]).mean().min() >= 0.9


def test_language_codes_for_empty_short_and_other_scripts():
    assert detect_languages([None, "", "  ", "ok", "!!!", "12345", "我等了三天", "انتظرت"]) == \
        [""] * 8
    assert detect_languages(["Ждал", "Waited"]) == ["ru", "en"]
    assert detect_languages([]) == []


def test_fill_comment_language_only_where_missing():
    r = pd.DataFrame({"comment": ["Περίμενα πολύ", "I waited", None],
                      "comment_language": ["xx", None, None]})
    out = fill_comment_language(r)
    assert out["comment_language"].tolist() == ["xx", "en", ""]
    assert r["comment_language"].isna().sum() == 2                  # the input is not changed
    old = pd.DataFrame({"comment": ["Жду ответа"]})                 # a store without the column
    assert fill_comment_language(old)["comment_language"].tolist() == ["ru"]


# --------------------------------------------------------------------------------------------
# the store: comment_language at ingest, an older store read, comment_themes
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    from vipquality.data.ingest.refresh import ensure_store
    from vipquality.data.sample import generate_sample

    root = tmp_path_factory.mktemp("themes") / "ws"
    root.mkdir()
    for f in SAMPLE_WORKSPACE.glob("*.yaml"):
        shutil.copy(f, root / f.name)
    generate_sample(root, quarters=2, responses_per_quarter=400, visits_per_quarter=20,
                    clients=800)
    ws = load_workspace(root)
    ensure_store(ws)
    return ws


def test_store_round_trip_with_comment_language(stored, tmp_path):
    from vipquality.data.schema import partition_path
    from vipquality.data.store import load_responses
    from vipquality.data.themes import comment_themes, commented_responses

    r = load_responses(stored)
    assert "comment_language" in r.columns
    has = r["comment"].fillna("").str.strip().ne("")
    assert set(r.loc[has, "comment_language"]) == set(LANGUAGES)
    assert (r.loc[~has, "comment_language"] == "").all()
    assert r.loc[has, "comment_language"].tolist() == detect_languages(r.loc[has, "comment"])

    # the sample's comments still carry contact details and managers' names for the scrubber:
    # stored, they are placeholders
    text = r.loc[has, "comment"]
    for placeholder in ("[phone]", "[e-mail]", "[name]"):
        assert text.str.contains(placeholder, regex=False).any(), placeholder
    assert not text.str.contains(r"@|\+7 ?9\d\d", regex=True).any()

    c = commented_responses(stored)
    assert len(c) == has.sum() and list(c.columns)[:3] == ["quarter", "response_id", "client_id"]
    themes = comment_themes(stored, comments=c)
    assert list(themes.columns) == ["quarter", "response_id", "client_id", "theme_id"]
    assert set(themes["theme_id"]) <= set(stored.themes.ids)
    assert themes["response_id"].isin(c["response_id"]).all()
    assert 0.5 < themes["response_id"].nunique() / len(c) < 0.95

    # a store written before the column existed still loads: the language is detected on read
    shutil.copytree(stored.root, tmp_path / "old")
    old = load_workspace(tmp_path / "old")
    q = min(r["quarter"].unique())
    path = partition_path(old.store_path, "responses", q)
    pq.write_table(pq.read_table(path).drop_columns(["comment_language"]), path)
    again = load_responses(old)
    pd.testing.assert_series_equal(again["comment_language"], r["comment_language"])


# --------------------------------------------------------------------------------------------
# the sample tells the planted story in the clients' words
# --------------------------------------------------------------------------------------------

def test_sample_wait_theme_rises_in_luxury_with_its_speed_of_response():
    """Luxury's speed of response declines over the last three quarters (planted in the
    answers); the comments follow the answers, so the luxury share of comments mentioning the
    wait/call-back theme rises while premium's stays flat (read off the committed sample)."""
    ws = load_workspace()
    rows = []
    for q in ws.quarters()[-4:]:
        folder = ws.quarter_dir(q)
        survey = pd.read_csv(next(folder.glob("survey*.csv")), dtype=str, keep_default_na=False)
        crm = pd.read_parquet(next(folder.glob("clients*.parquet")), columns=["client_id", "tier"])
        survey = survey.merge(crm, left_on="ClientId", right_on="client_id")
        rows.append(survey.assign(quarter=q))
    s = pd.concat(rows, ignore_index=True)
    s = s[s["Q5_comment"].str.strip() != ""]
    coded = code_comments(s.rename(columns={"ResponseId": "response_id",
                                            "Q5_comment": "comment"}), ws.themes)
    s["wait"] = s["ResponseId"].isin(coded.loc[coded["theme_id"] == "wait_callback",
                                               "response_id"])
    share = s.groupby(["tier", "quarter"])["wait"].mean().unstack()
    first, last = share.columns[0], share.columns[-1]
    assert share.loc["Luxury", last] > share.loc["Luxury", first] + 0.1
    assert share.loc["Luxury", last] > share.loc["Premium", last] + 0.1
    assert abs(share.loc["Premium", last] - share.loc["Premium", first]) < 0.08
    assert set(detect_languages(s["Q5_comment"])) == set(LANGUAGES)
