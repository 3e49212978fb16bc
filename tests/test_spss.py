"""The SPSS importer on the real SPSS fixtures (``../shared/fixtures/real/spss``) and on small
files written here for the cases no fixture has (a 0–10 item stored as codes 1–11, an
instrument mapping, a reversed scale, a file whose text is not in its declared encoding)."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pyreadstat = pytest.importorskip("pyreadstat")

from vipquality.config import Attribute, Instrument, Item  # noqa: E402
from vipquality.data.importers._spss import read_spss  # noqa: E402
from vipquality.errors import DataError, IngestError  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"
SPSS = REAL / "spss"
needs_fixtures = pytest.mark.skipif(
    not SPSS.is_dir(), reason=f"real SPSS fixtures not found at {SPSS} (shared/ not beside the "
                              "repository)")


def coerced(report: dict, column: str, action: str) -> int:
    return sum(r["count"] for r in report["coercions"]
               if r["column"] == column and r["action"] == action)


# --------------------------------------------------------------------------- the real fixtures
@needs_fixtures
@pytest.mark.parametrize("name", ["sample.sav", "sample.zsav", "sample.por"])
def test_sample_in_three_formats(name):
    df, rep = read_spss(SPSS / "pyreadstat" / name)
    assert rep["format"] == {"sav": "spss-sav", "zsav": "spss-zsav", "por": "spss-por"}[
        name.split(".")[1]]
    assert (rep["rows"], rep["columns"]) == (5, 7) == df.shape
    cols = [c.lower() for c in df.columns]       # .por keeps upper-case names
    assert cols == ["mychar", "mynum", "mydate", "dtime", "mylabl", "myord", "mytime"]
    df.columns = cols
    assert df["mychar"].tolist() == ["a", "b", "c", "d", "e"]
    assert df["mynum"].tolist() == [1.1, 1.2, -1000.3, -1.4, 1000.3]
    # dates, the 1880 and 1583 ones included; the last is missing
    assert df["mydate"].dtype.kind == "M"
    assert df["mydate"].iloc[1] == pd.Timestamp("1880-05-06")
    assert df["mydate"].iloc[3] == pd.Timestamp("1583-01-01")
    assert df["dtime"].iloc[0] == pd.Timestamp("2018-05-06 10:10:10")
    assert pd.isna(df["mydate"].iloc[4])
    assert df["mytime"].iloc[1] == dt.time(23, 10, 10)
    # labels are kept as codes unless asked for, and reported
    assert df["mylabl"].tolist() == [1, 2, 1, 2, 1]
    labels = {k.lower(): v for k, v in rep["value_labels"].items()}
    assert labels["mylabl"] == {1.0: "Male", 2.0: "Female"}
    assert labels["myord"] == {1.0: "low", 2.0: "medium", 3.0: "high"}
    assert rep["coercions"] == [] and rep["values_coerced"] == {} and rep["notes"] == ()


@needs_fixtures
def test_sample_labels_applied_on_request():
    df, rep = read_spss(SPSS / "pyreadstat" / "sample.sav", apply_labels=["mylabl", "myord"])
    assert df["mylabl"].tolist() == ["Male", "Female", "Male", "Female", "Male"]
    assert df["myord"].tolist() == ["low", "medium", "high", "low", "low"]
    assert coerced(rep, "mylabl", "label_applied") == 5
    assert rep["file_encoding"] == "WINDOWS-1252" and rep["encoding"] == "WINDOWS-1252"
    # every labelled column at once
    df_all, _ = read_spss(SPSS / "pyreadstat" / "sample.sav", apply_labels=True)
    assert df_all["myord"].tolist() == df["myord"].tolist()


@needs_fixtures
def test_user_missing_values_and_ranges():
    df, rep = read_spss(SPSS / "pyreadstat" / "sample_missing.sav")
    assert rep["rows"] == 7
    # mynum: range 2000–3000 and the value −1; row 6 holds 2500, row 5 holds −1
    assert rep["missing_declarations"]["mynum"] == [(2000.0, 3000.0), (-1.0, -1.0)]
    assert df["mynum"].iloc[:5].tolist() == [1.1, 1.2, -1000.3, -1.4, 1000.3]
    assert df["mynum"].iloc[5:].isna().all()
    assert coerced(rep, "mynum", "user_missing") == 2
    # mylabl: −1 "undetermined" is declared missing; myord −1 and −3 are missing codes
    assert df["mylabl"].isna().sum() == 2            # −1 (user) and a system-missing value
    assert coerced(rep, "mylabl", "user_missing") == 1
    assert df["myord"].iloc[5:].isna().all() and coerced(rep, "myord", "user_missing") == 2
    # what pyreadstat itself drops with user_missing=False is exactly what we drop
    plain, _ = pyreadstat.read_sav(str(SPSS / "pyreadstat" / "sample_missing.sav"))
    for col in ("mynum", "mylabl", "myord"):
        assert df[col].isna().tolist() == plain[col].isna().tolist()


@needs_fixtures
def test_user_missing_in_the_multiple_response_file():
    df, rep = read_spss(SPSS / "pyreadstat" / "simple_alltypes.sav")
    assert rep["rows"] == 6 and rep["columns"] == 12
    # x: 7, 8, 99 missing (row 4 is 8); z: range −999…0 and 999 (−9 and 999 go)
    assert df["x"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(df["x"].iloc[4])
    assert df["x"].iloc[5] == 9
    assert coerced(rep, "x", "user_missing") == 1
    assert coerced(rep, "z", "user_missing") == 2
    assert df["z"].dropna().tolist() == [1.234, 3.14159]
    # the multiple-response sets are recognised and reported
    sets = rep["multiple_response_sets"]
    assert sets["mymrset"]["variable_list"] == ["bool1", "bool2", "bool3"]
    assert sets["mymrset"]["is_dichotomy"] and sets["mymrset"]["counted_value"] == 1
    assert sets["categorical_array"]["variable_list"] == ["ca_subvar_1", "ca_subvar_2",
                                                          "ca_subvar_3"]
    # a date before 1800
    assert df["y"].iloc[3] == pd.Timestamp("1776-07-04")


@needs_fixtures
def test_string_user_missing_and_a_code_declared_missing():
    df, rep = read_spss(SPSS / "pyreadstat" / "missing_char.sav")
    assert df.shape == (2, 1)
    assert pd.isna(df["mychar"].iloc[0]) and df["mychar"].iloc[1] == "a"    # "Z" declared missing
    assert coerced(rep, "mychar", "user_missing") == 1
    df, rep = read_spss(SPSS / "pyreadstat" / "missing_test.sav")
    assert pd.isna(df["var1"].iloc[0]) and df["var1"].iloc[1] == 2     # 1 "missing" is missing
    assert rep["value_labels"]["var1"] == {1.0: "missing"}


@needs_fixtures
def test_haven_labelled_numbers_and_strings():
    df, rep = read_spss(SPSS / "haven" / "labelled-num-na.sav")
    assert df["VAR00002"].iloc[0] == 1 and pd.isna(df["VAR00002"].iloc[1])   # 9 user-missing
    assert rep["column_labels"]["VAR00002"] == "Only one value"
    assert coerced(rep, "VAR00002", "user_missing") == 1
    df, rep = read_spss(SPSS / "haven" / "labelled-num.sav")
    assert df.shape == (1, 1) and rep["value_labels"]["VAR00002"] == {1.0: "This is one"}
    df, rep = read_spss(SPSS / "haven" / "labelled-str.sav")
    assert df["gender"].tolist() == ["M", "F"]
    df, _ = read_spss(SPSS / "haven" / "labelled-str.sav", apply_labels=["gender"])
    assert df["gender"].tolist() == ["Male", "Female"]


@needs_fixtures
def test_utf8_labels():
    df, rep = read_spss(SPSS / "haven" / "umlauts.sav", apply_labels=True)
    assert rep["file_encoding"] == "UTF-8"
    assert rep["column_labels"]["var1"] == "This is an ä-umlaut"
    assert df["var1"].tolist() == ["the ä umlaut", "the ü umlaut", "the ä umlaut",
                                   "the ö umlaut"]


@needs_fixtures
def test_ordered_category_codes():
    df, rep = read_spss(SPSS / "pyreadstat" / "ordered_category.sav")
    assert df["Col1"].tolist() == [1, 2, 3, 2]
    assert rep["value_labels"]["Col1"] == {1.0: "high", 2.0: "low", 3.0: "medium"}


@needs_fixtures
def test_dates_out_of_range_do_not_crash():
    with pytest.raises(OverflowError):        # the trap, as the fixtures README says
        pyreadstat.read_sav(str(SPSS / "haven" / "datetime.sav"))
    df, rep = read_spss(SPSS / "haven" / "datetime.sav")
    assert df.shape == (2, 3)
    assert df["date"].tolist() == [pd.Timestamp("2014-09-22"), pd.Timestamp("2014-09-23")]
    assert pd.isna(df["date.posix"].iloc[0])                       # year ~200,000
    assert df["date.posix"].iloc[1] == pd.Timestamp("2014-09-23 15:59:20")
    assert df["time"].iloc[0].replace(microsecond=0) == dt.time(12, 11, 10)
    assert coerced(rep, "date.posix", "date_out_of_range") == 1
    assert any("OverflowError" in w for w in rep["notes"])


@needs_fixtures
def test_hebrew_variable_name():
    df, rep = read_spss(SPSS / "pyreadstat" / "hebrews.sav")
    assert list(df.columns) == ["ותק_ב"]
    assert rep["rows"] == 99 and rep["file_encoding"] == "UTF-8"
    assert df["ותק_ב"].iloc[:5].tolist() == [33, 34, 15, 35, 28]


@needs_fixtures
def test_declared_windows_1252_holding_utf8(tmp_path):
    """The same file with its character code set to 1252 (as old writers do): recognised."""
    data = bytearray((SPSS / "pyreadstat" / "hebrews.sav").read_bytes())
    at = data.find(struct.pack("<iiii", 7, 3, 4, 8)) + 16       # machine integer info record
    fields = list(struct.unpack("<8i", data[at:at + 32]))
    assert fields[7] == 65001
    fields[7] = 1252
    data[at:at + 32] = struct.pack("<8i", *fields)
    bad = tmp_path / "hebrews_1252.sav"
    bad.write_bytes(bytes(data))
    naive, meta = pyreadstat.read_sav(str(bad))
    assert naive.columns[0] == "×•×ª×§_×‘" and meta.file_encoding == "WINDOWS-1252"
    df, rep = read_spss(bad)
    assert list(df.columns) == ["ותק_ב"]
    assert rep["file_encoding"] == "WINDOWS-1252" and rep["encoding"] == "UTF-8"
    assert any("UTF-8" in w for w in rep["notes"])
    # told the encoding, it does as told
    forced, rep = read_spss(bad, encoding="WINDOWS-1252")
    assert forced.columns[0] == "×•×ª×§_×‘" and rep["notes"] == ()


def test_declared_utf8_holding_windows_1252(tmp_path):
    good = tmp_path / "u.sav"
    pyreadstat.write_sav(pd.DataFrame({"name": ["café", "naïve"], "q": [1.0, 2.0]}), str(good))
    raw = good.read_bytes()
    raw = raw.replace("café".encode(), b"caf\xe9 ").replace("naïve".encode(), b"na\xefve ")
    bad = tmp_path / "u1252.sav"
    bad.write_bytes(raw)
    with pytest.raises(pyreadstat.ReadstatError):
        pyreadstat.read_sav(str(bad))
    df, rep = read_spss(bad)
    assert df["name"].str.strip().tolist() == ["café", "naïve"]
    assert rep["encoding"] == "WINDOWS-1252" and rep["file_encoding"] == "UTF-8"
    assert any("not in the encoding it declares" in w for w in rep["notes"])


# ---------------------------------------------------------------- an instrument on an SPSS file
def instrument(mode: str = "name", **cols) -> Instrument:
    c = {"response_id": "ResponseId", "client_id": "ClientId", "nps": "Q1", "ces": "Q2",
         "speed": "Q4_speed", "speed_imp": "Q4_speed_imp", "respect": "ותק_ב"} | cols
    return Instrument(
        id="t", title="t", version=1, match_columns_by=mode,
        columns={"response_id": c["response_id"], "client_id": c["client_id"],
                 "submitted_at": None, "weight": None},
        nps=Item("nps", c["nps"], "How likely are you to recommend us?", (0, 10)),
        ces=Item("ces", c["ces"], "The bank made it easy.", (1, 7)),
        overall=None, comment=None, csi_scale=(1, 10), importance_scale=(1, 10),
        csi_weights="equal", missing_codes=(99.0,),
        attributes=(Attribute("speed", "Speed", c["speed"], c["speed_imp"]),
                    Attribute("respect", "Respect", c["respect"], None)))


NPS_LABELS = {1.0: "0 - Not at all likely", **{float(k + 1): str(k) for k in range(1, 10)},
              11.0: "10 - Extremely likely", 99.0: "Refused"}


@pytest.fixture
def survey_sav(tmp_path) -> Path:
    """A Qualtrics-like SPSS export: the 0–10 item stored as codes 1–11, 99 declared missing."""
    df = pd.DataFrame({
        "ResponseId": ["R1", "R2", "R3", "R4", "R5", "R6"],
        "ClientId": ["C1", "C2", "C3", "C4", "C5", "C6"],
        "Q1": [11.0, 10.0, 1.0, 8.0, 99.0, 12.0],      # 10, 9, 0, 7, refused, unlabelled
        "Q2": [7.0, 5.0, 1.0, 2.0, 6.0, 4.0],           # 1–7 with text labels: codes are scores
        "Q4_speed": [1.0, 3.0, 10.0, 99.0, 5.0, 2.0],   # stored reversed; 99 cannot judge
        "Q4_speed_imp": [10.0, 9.0, 8.0, 7.0, 6.0, 5.0],
        "ותק_ב": [8.0, 9.0, 10.0, 7.0, 6.0, 5.0],
        "gender": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
    })
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(
        df, str(path),
        column_labels={"Q1": "How likely are you to recommend us?",
                       "Q2": "The bank made it easy.", "gender": "Gender"},
        variable_value_labels={
            "Q1": NPS_LABELS,
            "Q2": {1.0: "Strongly disagree", 4.0: "Neither", 7.0: "Strongly agree"},
            "Q4_speed": {1.0: "10 = Very fast", 10.0: "1 = Very slow", 99.0: "Cannot judge"},
            "gender": {1.0: "Male", 2.0: "Female"}},
        missing_ranges={"Q1": [99.0]})
    return path


def test_zero_to_ten_item_scored_by_its_labels(survey_sav):
    df, rep = read_spss(survey_sav, instrument=instrument())
    # 11→10, 10→9, 1→0, 8→7; 99 declared missing; 12 has no label → missing and reported
    assert df["Q1"].iloc[:4].tolist() == [10, 9, 0, 7]
    assert df["Q1"].iloc[4:].isna().all()
    assert coerced(rep, "Q1", "user_missing") == 1
    assert coerced(rep, "Q1", "scored_by_label") == 4
    assert coerced(rep, "Q1", "unlabelled_code") == 1
    detail = next(r["detail"] for r in rep["coercions"] if r["action"] == "scored_by_label")
    assert "1–11" in detail and "0–10" in detail
    # a text-labelled 1–7 item keeps its codes
    assert df["Q2"].tolist() == [7, 5, 1, 2, 6, 4]
    # the Hebrew variable is mapped by name; the 99 "cannot judge" CSI code is missing
    assert rep["instrument_mapping"]["sat__respect"] == "ותק_ב"
    assert pd.isna(df["Q4_speed"].iloc[3])
    assert coerced(rep, "Q4_speed", "instrument_missing_code") == 1
    assert rep["instrument_mapping"]["nps"] == "Q1" and list(rep["columns_ignored"]) == ["gender"]
    # without an instrument nothing is rescored: the codes are what the file holds
    raw, rep0 = read_spss(survey_sav)
    assert raw["Q1"].iloc[:4].tolist() == [11, 10, 1, 8]
    assert coerced(rep0, "Q1", "scored_by_label") == 0


def test_nps_from_the_rescored_item(survey_sav):
    from vipquality import nps

    df, _ = read_spss(survey_sav, instrument=instrument())
    scores = df["Q1"].dropna()                 # 10, 9, 0, 7: two promoters, one detractor
    assert nps(scores).value == pytest.approx(100 * (2 - 1) / 4)


def test_reversed_scale_declared_by_argument(survey_sav):
    df, rep = read_spss(survey_sav, instrument=instrument(), reverse_items=["Q4_speed"])
    # scale 1–10 from the instrument: x → 11 − x; 99 was made missing first
    assert df["Q4_speed"].tolist()[:3] == [10, 8, 1]
    assert pd.isna(df["Q4_speed"].iloc[3])
    assert df["Q4_speed"].iloc[4:].tolist() == [6, 9]
    assert coerced(rep, "Q4_speed", "reversed") == 5
    # without an instrument the scale is given, or taken from the labelled codes
    df2, _ = read_spss(survey_sav, reverse_items={"Q4_speed_imp": (1, 10)})
    assert df2["Q4_speed_imp"].tolist() == [1, 2, 3, 4, 5, 6]
    df3, _ = read_spss(survey_sav, reverse_items=["gender"])
    assert df3["gender"].tolist() == [2, 1, 2, 1, 2, 1]
    with pytest.raises(IngestError, match="scale is unknown"):
        read_spss(survey_sav, reverse_items=["Q4_speed_imp"])
    with pytest.raises(DataError, match="outside the scale"):
        read_spss(survey_sav, reverse_items={"Q4_speed": (1, 10)})    # 99 still there


def test_mapping_by_question_text_and_position(survey_sav):
    inst = instrument("text", nps="Q1_old_name", ces="Q2_old_name")
    df, rep = read_spss(survey_sav, instrument=inst)
    assert rep["instrument_mapping"]["nps"] == "Q1" and rep["instrument_mapping"]["ces"] == "Q2"
    assert df["Q1"].iloc[0] == 10
    pos = instrument("position", response_id="1", client_id="2", nps="3", ces="4",
                     speed="5", speed_imp="6", respect="7")
    _, rep = read_spss(survey_sav, instrument=pos)
    assert rep["instrument_mapping"]["sat__respect"] == "ותק_ב"


def test_mapping_problems_are_refused_with_the_key_to_fix(survey_sav):
    with pytest.raises(IngestError) as err:
        read_spss(survey_sav, instrument=instrument(nps="Q1_recommend"))
    msg = str(err.value)
    assert "nps.column" in msg and "Q1_recommend" in msg and "nothing was imported" in msg
    assert "Q1 ('How likely are you to recommend us?')" in msg


def test_ambiguous_question_text_is_refused(tmp_path):
    path = tmp_path / "dup.sav"
    df = pd.DataFrame({"ResponseId": ["R1"], "ClientId": ["C1"], "a": [1.0], "b": [2.0],
                       "Q2": [3.0], "Q4_speed": [4.0], "Q4_speed_imp": [5.0], "ותק_ב": [6.0]})
    text = "How likely are you to recommend us?"
    pyreadstat.write_sav(df, str(path), column_labels={"a": text, "b": text})
    with pytest.raises(IngestError, match="matches 2 variables"):
        read_spss(path, instrument=instrument("text", nps="Q1"))


def test_scale_labels_outside_the_instrument_scale_are_not_used(tmp_path):
    path = tmp_path / "odd.sav"
    df = pd.DataFrame({"ResponseId": ["R1"], "ClientId": ["C1"], "Q1": [2.0], "Q2": [3.0],
                       "Q4_speed": [4.0], "Q4_speed_imp": [5.0], "ותק_ב": [6.0]})
    pyreadstat.write_sav(df, str(path),
                         variable_value_labels={"Q1": {1.0: "1", 2.0: "20", 3.0: "30"}})
    out, rep = read_spss(path, instrument=instrument())
    assert out["Q1"].iloc[0] == 2
    assert any("outside the instrument scale" in w for w in rep["notes"])


def test_caller_errors(tmp_path):
    with pytest.raises(DataError, match="unsupported file type"):
        read_spss(tmp_path / "x.csv")
    with pytest.raises(DataError, match="not found"):
        read_spss(tmp_path / "x.sav")
    (tmp_path / "broken.sav").write_bytes(b"not an spss file")
    with pytest.raises(DataError, match="cannot read"):
        read_spss(tmp_path / "broken.sav")


def test_the_report_fits_the_importers_report(survey_sav):
    import dataclasses

    from vipquality.data.importers import ImportReport

    df, rep = read_spss(survey_sav, instrument=instrument(), reverse_items=["Q4_speed"])
    names = [f.name for f in dataclasses.fields(ImportReport)]
    report = ImportReport(**{k: rep[k] for k in names})
    assert report.rows == 6 and report.format == "spss-sav"
    assert report.instrument_mapping["nps"] == "Q1"
    assert report.values_coerced["Q1: declared missing in the file: 99"] == 1
    assert sum(report.values_coerced.values()) == sum(r["count"] for r in rep["coercions"])
    assert "Q1" in report.summary() and len(report.columns_mapped) == df.shape[1]


def test_the_data_returned_is_numeric_where_scored(survey_sav):
    df, _ = read_spss(survey_sav, instrument=instrument())
    assert df["Q1"].dtype == np.float64
    assert isinstance(df.index, pd.RangeIndex)
