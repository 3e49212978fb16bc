"""Emerging themes (vipquality.metrics.emerging): a planted topic among unmatched comments is found,
per language, deterministically, and no word of a single client's comment becomes a term."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipquality.metrics.emerging import EMERGING_COLUMNS, emerging_themes, words


def _sentences(rng, n, subjects, verbs, tails, fillers) -> list[str]:
    """n comments, each a topic clause (subject verb tail) between random filler words."""
    out = []
    for _ in range(n):
        clause = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(tails)}"
        before, after = rng.choice(fillers, 2)
        out.append(f"{before} {clause} {after}")
    return out


def _corpus(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    en_fill = ["honestly", "again", "this quarter", "as usual", "sadly", "frankly", "today",
               "lately", "once more", "every visit"]
    el_fill = ["δυστυχώς", "πάλι", "σήμερα", "ειλικρινά", "όπως πάντα", "τελευταία"]
    rows = [("en", t) for t in _sentences(  # the planted topic: parking
        rng, 30, ["parking", "the parking", "car parking"],
        ["was impossible", "is always full", "costs far too much", "was closed"],
        ["near the branch", "at the office", "downtown", "for clients"], en_fill)]
    rows += [("en", t) for t in _sentences(  # another topic: the mobile app
        rng, 30, ["the app", "the mobile app", "app login"],
        ["crashes", "keeps failing", "froze", "logs me out"],
        ["after the update", "every morning", "on my phone", "at login"], en_fill)]
    rows += [("en", t) for t in _sentences(  # filler with no topic
        rng, 40, ["everything", "all", "service"], ["was fine", "went well", "was ok"],
        ["thanks", "overall", "no complaints"], en_fill)]
    rows += [("el", t) for t in _sentences(  # Greek: parking (στάθμευση)
        rng, 30, ["η στάθμευση", "στάθμευση", "ο χώρος στάθμευσης"],
        ["είναι αδύνατη", "είναι γεμάτος", "κοστίζει πολύ", "δεν υπάρχει"],
        ["στο κατάστημα", "στο κέντρο", "κοντά στο γραφείο"], el_fill)]
    rows += [("el", t) for t in _sentences(
        rng, 30, ["όλα", "η εξυπηρέτηση"], ["ήταν καλά", "πήγαν καλά"],
        ["ευχαριστώ", "γενικά"], el_fill)]
    # one client's unusual word, with a placeholder left by the scrubber
    rows.append(("en", "ask [name] about the zanzibar transfer"))
    frame = pd.DataFrame(rows, columns=["comment_language", "comment"])
    return frame.assign(quarter="2025Q3")


def test_a_planted_unmatched_topic_is_a_candidate_in_its_language():
    c = emerging_themes(_corpus(), min_comments=10, min_df=3)
    assert list(c.columns) == list(EMERGING_COLUMNS)
    en = c[c["language"] == "en"]
    top = en["top_terms"].str.split(", ").str[0]
    parking = en[top == "parking"]
    assert len(parking) == 1 and parking["comments"].iloc[0] >= 25     # 30 planted
    assert parking["share"].iloc[0] == 100 * parking["comments"].iloc[0] / 101
    assert not parking["top_terms"].iloc[0].count("app")               # not mixed with the app
    assert en["top_terms"].str.contains("app").any()
    el = c[c["language"] == "el"]
    assert el["top_terms"].str.contains("σταθμευσ").any()  # normalised: no accent, final σ
    assert sorted(en["candidate"]) == list(range(1, len(en) + 1))


def test_same_comments_same_candidates_and_no_single_clients_words():
    a = emerging_themes(_corpus(), min_comments=10, min_df=3)
    b = emerging_themes(_corpus().sample(frac=1.0, random_state=1).reset_index(drop=True),
                        min_comments=10, min_df=3)
    pd.testing.assert_frame_equal(a, emerging_themes(_corpus(), min_comments=10, min_df=3))
    assert set(a["top_terms"]) == set(b["top_terms"])  # row order of the input does not matter
    terms = " ".join(a["top_terms"])
    assert "zanzibar" not in terms and "name" not in terms


def test_small_or_empty_blocks_give_no_candidate():
    few = pd.DataFrame({"quarter": "2025Q1", "comment_language": "ru",
                        "comment": ["долго ждал звонка"] * 5 + ["", None]})
    assert emerging_themes(few, min_comments=10).empty
    assert emerging_themes(few.iloc[:0], min_comments=10).empty


def test_words_normalise_case_accents_and_drop_placeholders():
    assert words("ΣΤΆΘΜΕΥΣΗ [phone] Ещё Naghintay") == ["σταθμευση", "еще", "naghintay"]
