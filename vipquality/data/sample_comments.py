"""The sample's free-text comments: four languages, themes planted from the answers.

:func:`sample_comments` writes the comments of one quarter's responses for
:func:`vipquality.data.sample.generate_sample`. A respondent writes in one language all along
(about 35 % Russian, 30 % English, 20 % Greek, 15 % Tagalog; a few mix English into a Greek,
Russian or Tagalog sentence). Detractors comment more often than promoters. What a comment is
about follows the answers: a theme of ``surveys/themes.yaml`` linked to a CSI attribute is
mentioned as a complaint with a probability that grows as the respondent's satisfaction with
that attribute falls, and as praise when it is high; so the ``wait_callback`` theme's share
rises in ``luxury`` with the decline of its speed-of-response scores (planted in the answers,
see :mod:`vipquality.data.sample`), and the page tells the same story in the clients' words.
Themes with no attribute (fees, cards, transfers, the branch, a changed manager, unwanted
selling) come at a base rate. Of the comments that mention no theme, about 3 in 10 are about
mortgages, which no theme of the codeframe covers: the emerging topic for the quality manager to
find. One comment in five adds the manager's first name or the respondent's own phone or
e-mail, for the scrubber.

The draws use their own random stream (``[seed, 15, quarter]``), so the scores and every other
file of the sample are the same as without comments.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["THEME_TEXTS", "sample_comments"]

_LANGS = ("ru", "en", "el", "tl")
_LANG_SHARE = np.array([0.35, 0.30, 0.20, 0.15])

# theme -> (attribute or None, {language: (complaint, praise or None)})
THEME_TEXTS: dict[str, tuple[str | None, dict[str, tuple[str, str | None]]]] = {
    "wait_callback": ("response_speed", {
        "en": ("I waited three days for a call back.", "Calls back the same day."),
        "ru": ("Ждал ответа почти неделю, пришлось напоминать.",
               "Перезванивают в тот же день."),
        "el": ("Περίμενα τρεις μέρες να με πάρουν πίσω.", "Απαντούν πάντα γρήγορα."),
        "tl": ("Tatlong araw akong naghintay ng sagot.", "Mabilis ang sagot nila."),
    }),
    "availability": ("availability", {
        "en": ("My manager is hard to reach in the afternoon.",
               "Always available when I need her."),
        "ru": ("До менеджера невозможно дозвониться после обеда.",
               "Менеджер всегда на связи, дозвониться легко."),
        "el": ("Ο διαχειριστής μου δεν είναι διαθέσιμος τα απογεύματα.",
               "Πάντα διαθέσιμη όταν τη χρειάζομαι."),
        "tl": ("Mahirap makontak ang manager ko sa hapon.",
               "Madali siyang makontak kahit kailan."),
    }),
    "competence": ("competence", {
        "en": ("The manager did not know the answer and had to ask someone else.",
               "Very competent, knows every product."),
        "ru": ("Менеджер некомпетентный, ничего не знает о продуктах.",
               "Очень компетентный менеджер, всё знает."),
        "el": ("Ο υπάλληλος δεν ήξερε τίποτα για τα προϊόντα.",
               "Πολύ ικανός, γνωρίζει κάθε προϊόν."),
        "tl": ("Hindi marunong ang empleyado, kailangan pa niyang magtanong sa iba.",
               "Mahusay at propesyonal ang manager ko."),
    }),
    "courtesy": ("respect", {
        "en": ("The manager was rude and dismissive.", "Always polite and attentive."),
        "ru": ("Менеджер разговаривал грубо.", "Всегда вежливы и внимательны."),
        "el": ("Η συμπεριφορά ήταν αγενής.", "Πάντα ευγενικοί και φιλικοί."),
        "tl": ("Masungit ang kausap ko sa telepono.", "Magalang at maasikaso sila."),
    }),
    "promises": ("promises_kept", {
        "en": ("They promised to send the contract and forgot.", None),
        "ru": ("Обещали прислать договор и забыли.", None),
        "el": ("Υποσχέθηκαν να στείλουν τη σύμβαση και το ξέχασαν.", None),
        "tl": ("Nangako silang ipapadala ang kontrata pero nakalimutan.", None),
    }),
    "document_errors": ("promises_kept", {
        "en": ("The statement had the wrong amount.", None),
        "ru": ("В выписке была ошибка в сумме.", None),
        "el": ("Το αντίγραφο είχε λάθος ποσό.", None),
        "tl": ("Mali ang halaga sa statement.", None),
    }),
    "privacy": ("confidentiality", {
        "en": ("She discussed my account loudly in front of other clients.",
               "Very discreet, I trust them."),
        "ru": ("Обсуждали мой счёт громко при других клиентах.",
               "Всё конфиденциально, доверяю полностью."),
        "el": ("Μίλησαν για τον λογαριασμό μου φωναχτά μπροστά σε άλλους.",
               "Πολύ διακριτικοί, τους εμπιστεύομαι."),
        "tl": ("Pinag-usapan ang account ko sa harap ng ibang kliyente.",
               "Napaka-diskreto nila."),
    }),
    "digital": ("digital_channels", {
        "en": ("The app logs me out constantly.", "The app works well."),
        "ru": ("Мобильное приложение постоянно зависает.", "Удобное приложение."),
        "el": ("Η εφαρμογή κολλάει συνέχεια.", "Η εφαρμογή είναι πολύ βολική."),
        "tl": ("Laging nagha-hang ang app.", "Maayos ang app nila."),
    }),
    "proactive_offers": ("ready_solutions", {
        "en": ("Would like more investment ideas from my manager.",
               "Good advice on my portfolio."),
        "ru": ("Хотелось бы больше инвестиционных идей.", "Хорошие советы по портфелю."),
        "el": ("Θα ήθελα περισσότερες επενδυτικές ιδέες.", "Καλές συμβουλές για το χαρτοφυλάκιο."),
        "tl": ("Gusto ko ng mas maraming ideya sa pamumuhunan.",
               "Magandang payo tungkol sa portfolio ko."),
    }),
    "pushy_selling": (None, {
        "en": ("Too much selling of insurance I never asked for.", None),
        "ru": ("Постоянно навязывают страховку.", None),
        "el": ("Επιμένουν να μου πουλάνε ασφάλειες.", None),
        "tl": ("Pinipilit akong bumili ng insurance.", None),
    }),
    "fees": (None, {
        "en": ("The fees are too high.", None),
        "ru": ("Слишком высокая комиссия.", None),
        "el": ("Οι χρεώσεις είναι πολύ υψηλές.", None),
        "tl": ("Masyadong mataas ang singil.", None),
    }),
    "transfers": (None, {
        "en": ("A transfer abroad got stuck again.", None),
        "ru": ("Перевод за границу опять застрял.", None),
        "el": ("Ένα έμβασμα στο εξωτερικό χάθηκε για λίγο.", None),
        "tl": ("Nagkaproblema ang remittance ko.", None),
    }),
    "card_issues": (None, {
        "en": ("My card was blocked twice this quarter.", None),
        "ru": ("Карту дважды заблокировали в этом квартале.", None),
        "el": ("Μπλοκαρίστηκε η κάρτα μου δύο φορές.", None),
        "tl": ("Dalawang beses na-block ang card ko.", None),
    }),
    "branch_comfort": (None, {
        "en": ("Parking near the branch is impossible.", None),
        "ru": ("У офиса негде припарковаться, парковки нет.", None),
        "el": ("Δεν υπάρχει στάθμευση κοντά στο κατάστημα.", None),
        "tl": ("Mahirap ang paradahan malapit sa sangay.", None),
    }),
    "manager_changed": (None, {
        "en": ("This is my third manager in a year.", None),
        "ru": ("Уже третий менеджер за год.", None),
        "el": ("Τρίτος διαχειριστής μέσα σε έναν χρόνο.", None),
        "tl": ("Pangatlong manager ko na ito ngayong taon.", None),
    }),
}
_BASE_RATE = {"pushy_selling": 0.05, "fees": 0.07, "transfers": 0.04, "card_issues": 0.04,
              "branch_comfort": 0.04, "manager_changed": 0.03}

# No theme of the codeframe covers these: the emerging topic (mortgages) and plain remarks.
_MORTGAGE = {
    "en": "The mortgage approval process is confusing and the valuation took forever.",
    "ru": "Оформление ипотеки запутанное, оценку квартиры делали целую вечность.",
    "el": "Η διαδικασία για το στεγαστικό δάνειο είναι μπερδεμένη και η εκτίμηση ακινήτου κράτησε πολύ.",
    "tl": "Nakakalito ang proseso ng mortgage at ang appraisal ng bahay.",
}
_PLAIN = {
    "en": ("Everything is fine, thank you.", "Keep up the good work."),
    "ru": ("Всё устраивает, спасибо.", "Так держать!"),
    "el": ("Όλα καλά, ευχαριστώ.", "Συνεχίστε έτσι!"),
    "tl": ("Ayos naman lahat, salamat.", "Ipagpatuloy ninyo!"),
}
# Contact details written into a comment (the scrubber replaces them at ingest).
_CONTACT = {
    "en": ("Please call me on {phone}.", "Send the statement to {email}, please.",
           "My manager {mgr} is excellent."),
    "ru": ("Свяжитесь со мной по номеру {phone}.", "Выписку пришлите на {email}.",
           "Менеджер {mgr} - настоящий профессионал, спасибо!"),
    "el": ("Καλέστε με στο {phone}.", "Στείλτε την κατάσταση στο {email}.",
           "Η {mgr} είναι εξαιρετική."),
    "tl": ("Tawagan ninyo ako sa {phone}.", "Ipadala ang statement sa {email}.",
           "Napakabait ni {mgr}."),
}
_MIX = {"el": "waiting for days", "ru": "the manager never calls back",
        "tl": "the manager never called back"}


def _client_language(client: np.ndarray, seed: int) -> np.ndarray:
    """A client's language, the same every quarter (a hash of the client and the seed)."""
    u = ((client.astype(np.uint64) * np.uint64(2654435761) + np.uint64(seed % (1 << 31)))
         % np.uint64(10_007)).astype(float) / 10_007
    return np.asarray(_LANGS)[np.searchsorted(np.cumsum(_LANG_SHARE), u, side="right").clip(0, 3)]


def sample_comments(client: np.ndarray, nps: np.ndarray, sat: Mapping[str, np.ndarray],
                    scale: tuple[int, int], *, manager_latin: np.ndarray,
                    manager_cyrillic: np.ndarray, phone: np.ndarray, email: np.ndarray,
                    seed: int, quarter_index: int) -> np.ndarray:
    """One quarter's comments (``""``: no comment), one per response.

    Parameters
    ----------
    client : ndarray of int
        The respondent's index in the sample's population (fixes the language).
    nps : ndarray of float
        The 0–10 recommendation answer (NaN: blank).
    sat : mapping of attribute id to ndarray
        Satisfaction answers on ``scale`` (NaN: missing).
    scale : (low, high)
        The CSI scale.
    manager_latin, manager_cyrillic, phone, email : ndarray of str
        Per response: the manager's first name (Latin, Cyrillic), the respondent's phone and
        e-mail, written into a few comments.
    seed, quarter_index : int
        The sample's seed and the quarter's position; the stream is ``[seed, 15, quarter]``.

    Examples
    --------
    >>> out = sample_comments(np.arange(400), np.full(400, 3.0),
    ...                       {"response_speed": np.full(400, 1.0)}, (1, 10),
    ...                       manager_latin=np.full(400, "Anna"),
    ...                       manager_cyrillic=np.full(400, "Анна"), phone=np.full(400, "+7 900"),
    ...                       email=np.full(400, "a@b.ru"), seed=1, quarter_index=0)
    >>> bool(0.2 < np.mean(out != "") < 0.45)
    True
    """
    rng = np.random.default_rng([int(seed), 15, int(quarter_index)])
    n = client.size
    lo, hi = scale
    lang = _client_language(client, seed)
    pos = np.where(np.isnan(nps), 0.7, nps / 10.0)
    p_comment = np.select([pos <= 0.6, pos <= 0.8], [0.30, 0.14], 0.10)
    has = rng.random(n) < p_comment

    # every theme's draw, for everyone (the same number of draws whoever comments)
    complaint = {}
    praise = {}
    for theme, (attribute, texts) in THEME_TEXTS.items():
        u, v = rng.random(n), rng.random(n)
        if attribute is None or attribute not in sat:
            complaint[theme] = u < _BASE_RATE.get(theme, 0.03)
            praise[theme] = np.zeros(n, bool)
            continue
        s = (sat[attribute] - lo) / (hi - lo)
        s = np.where(np.isnan(s), 0.6, s)
        complaint[theme] = u < 0.85 / (1 + np.exp((s - 0.45) / 0.08))   # steep below mid-scale
        praise[theme] = (v < 0.12 * s ** 4) & (texts["en"][1] is not None)
    kind = rng.random(n)
    pick = rng.integers(0, 1 << 30, n)
    mixed = rng.random(n) < 0.04
    contact = rng.random(n) < 0.2

    themes = list(THEME_TEXTS)
    out = np.full(n, "", dtype=object)
    for i in np.flatnonzero(has):
        lg = str(lang[i])
        neg = [t for t in themes if complaint[t][i]]
        good = [t for t in themes if praise[t][i] and t not in neg]
        chosen = ([(t, 0) for t in neg[:2]] + [(t, 1) for t in good[:1]])[:2]
        parts = [THEME_TEXTS[t][1][lg][k] for t, k in chosen]
        if not parts:
            parts = [_MORTGAGE[lg] if kind[i] < 0.3 else _PLAIN[lg][pick[i] % 2]]
        if contact[i]:
            mgr = manager_cyrillic[i] if lg == "ru" else manager_latin[i]
            parts.append(_CONTACT[lg][pick[i] % 3].format(phone=phone[i], email=email[i], mgr=mgr))
        text = " ".join(parts)
        if mixed[i] and lg in _MIX and chosen and chosen[0][0] == "wait_callback":
            text = f"{text.rstrip('.')}, {_MIX[lg]}."
        out[i] = text
    return out
