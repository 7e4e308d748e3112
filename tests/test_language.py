import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.language import LanguageDecision, LanguageDetector, LanguageHints

ROSTER = ("en", "ru", "uk", "be", "kk", "pl", "da")
SOURCES = {"text", "transliteration", "ticket", "platform", "organisation", "default"}

# Russian typed in Latin letters, as customers write it in chats.
RU_TRANSLIT = [
    "privet, ne rabotaet vpn",
    "srochno vse upalo",
    "pozhaluysta pomogite",
    "zdravstvuyte, ne mogu zayti v lichnyy kabinet",
    "u nas ne otkryvaetsya sayt",
    "spasibo, vse zarabotalo",
    "server lezhit uzhe chas",
    "kogda pochinite?",
    "oshibka pri vhode",
    "dobryy den, u nas problema s oplatoy",
    "ne prihodit pochta",
    "pochemu ne rabotaet?",
    "pomogite pozhalujsta srochno",
    "vsyo slomalos posle obnovleniya",
    "ne mogu otpravit fayl",
    "skolko eshche zhdat?",
    "podskazhite kak sbrosit parol",
    "u menya ne gruzitsya stranica",
    "eto srochno, klienty zhdut",
    "spasibo bolshoe",
    "privet",
    "spasibo",
    "davno ne rabotaet",
    "prilozhenie zavisaet",
    "opyat oshibka",
    "nichego ne pomoglo",
    "vy mozhete proverit?",
    "ya ne vizhu otchet",
    "zayavka visit uzhe dva dnya",
    "sdelayte chto-nibud",
    "chto proishodit s serverom",
    "ne podklyuchaetsya k seti",
    "dostup propal",
    "nuzhen dostup k baze",
    "otvette pozhaluista",
    "zhdem otveta",
    "tormozit sistema",
    "vsem privet, vse lezhit",
    "izvinite, a kogda budet gotovo?",
    "ne rabotaet",
    "sayt ne otkryvaetsya",
]

# Real English, Polish and Danish chat messages, with the language a reader would name.
LATIN_CHAT = [
    ("vpn is down", "en"),
    ("hello, I cannot log in", "en"),
    ("the server is not responding", "en"),
    ("please help, everything is broken", "en"),
    ("any update?", "en"),
    ("it still does not work", "en"),
    ("can you check my account", "en"),
    ("password reset does not work", "en"),
    ("we get error 500 on checkout", "en"),
    ("urgent: production is down", "en"),
    ("thank you, it works now", "en"),
    ("good morning, the app crashes on start", "en"),
    ("where is my invoice", "en"),
    ("my order is stuck", "en"),
    ("payment failed twice", "en"),
    ("no access to the dashboard", "en"),
    ("the vpn keeps disconnecting", "en"),
    ("login page is blank", "en"),
    ("thanks", "en"),
    ("no problem", "en"),
    ("nie działa logowanie", "pl"),
    ("nie dziala logowanie", "pl"),
    ("prosze o pomoc", "pl"),
    ("proszę o pomoc", "pl"),
    ("mam problem z kontem", "pl"),
    ("serwer nie odpowiada", "pl"),
    ("dzien dobry, nie moge sie zalogowac", "pl"),
    ("co sie stalo z aplikacja", "pl"),
    ("pilne, wszystko padlo", "pl"),
    ("dziekuje bardzo", "pl"),
    ("kiedy to naprawicie?", "pl"),
    ("nadal nie dziala", "pl"),
    ("faktura jest bledna", "pl"),
    ("brak dostepu do systemu", "pl"),
    ("tak, dziala", "pl"),
    ("hej, jeg kan ikke logge ind", "da"),
    ("det virker ikke", "da"),
    ("tak for hjælpen", "da"),
    ("serveren svarer ikke", "da"),
    ("hvornår bliver det løst?", "da"),
    ("da, det virker nu", "da"),
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(ROSTER)


# --- construction ---------------------------------------------------------------------------


def test_unsupported_code_is_named() -> None:
    with pytest.raises(ValueError, match="'xx'"):
        LanguageDetector(["en", "xx"])


def test_default_must_be_configured() -> None:
    with pytest.raises(ValueError, match="'de'"):
        LanguageDetector(["en", "ru"], default="de")


@pytest.mark.parametrize("languages", [[], "en"])
def test_languages_must_be_a_non_empty_sequence(languages: list[str] | str) -> None:
    with pytest.raises(ValueError):
        LanguageDetector(languages)


# --- the text decides ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("не работает vpn, срочно помогите", "ru"),
        ("сайт не открывается, срочно помогите", "ru"),
        ("ще не працює вхід", "uk"),
        ("Гадаю, що це тобі відомо.", "uk"),
        ("не працуе пошта з раніцы", "be"),
        ("сайт жұмыс істемейді", "kk"),
        ("vpn is down", "en"),
        ("nie działa logowanie", "pl"),
        ("det virker ikke", "da"),
    ],
)
def test_clear_text_decides(detector: LanguageDetector, text: str, expected: str) -> None:
    decision = detector.detect(text)
    assert (decision.language, decision.source) == (expected, "text")
    assert re.fullmatch(rf"{expected} \(\d\.\d\d\) detected in text.*", decision.reason)


def test_clear_text_beats_every_hint(detector: LanguageDetector) -> None:
    hints = LanguageHints(platform="en", organisation="pl", ticket="da")
    decision = detector.detect("у нас упал сервер, срочно помогите", hints)
    assert (decision.language, decision.source) == ("ru", "text")


def test_code_links_and_mentions_are_not_read(detector: LanguageDetector) -> None:
    text = (
        "не работает выгрузка, вот лог ```Traceback (most recent call last): "
        "File app.py, line 3, in main: ConnectionError: connection refused by the remote host```"
        " https://example.com/docs/how-to-export @ivan.petrov"
    )
    assert detector.detect(text).language == "ru"


# --- fallbacks when the text has no words ---------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "",
        "   \n",
        "🔥🔥🔥",
        "👍",
        "12345",
        "https://example.com/x?y=1",
        "!!! ???",
        "<@U123ABC>",
    ],
)
@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        (LanguageHints(platform="uk", organisation="pl", ticket="kk"), ("kk", "ticket")),
        (LanguageHints(platform="uk", organisation="pl"), ("uk", "platform")),
        (LanguageHints(platform="pt-BR", organisation="pl"), ("pl", "organisation")),
        (LanguageHints(), ("en", "default")),
    ],
)
def test_junk_falls_back_through_the_hints(
    detector: LanguageDetector,
    junk: str | None,
    hints: LanguageHints,
    expected: tuple[str, str],
) -> None:
    decision = detector.detect(junk, hints)
    assert (decision.language, decision.source) == expected


def test_default_decision_says_it_knows_nothing(detector: LanguageDetector) -> None:
    decision = detector.detect("🙏")
    assert decision == LanguageDecision(
        "en", 0.0, "default", "no words in the message ('🙏'); used the default language en"
    )


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("en-US", "en"), ("RU", "ru"), ("uk_UA", "uk"), (" be ", "be"), ("pt-br", "da")],
)
def test_platform_language_is_normalised(
    detector: LanguageDetector, platform: str, expected: str
) -> None:
    decision = detector.detect("", LanguageHints(platform=platform, organisation="da"))
    assert decision.language == expected


# --- short and ambiguous follow-ups ---------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["ok", "thanks", "спасибо", "дякую", "да", "+1", "👍", "no problem"]
)
def test_ambiguous_follow_up_keeps_the_ticket_language(
    detector: LanguageDetector, text: str
) -> None:
    decision = detector.detect(text, LanguageHints(platform="en", ticket="ru"))
    assert (decision.language, decision.source) == ("ru", "ticket")


def test_kept_ticket_is_explained(detector: LanguageDetector) -> None:
    decision = detector.detect("ok", LanguageHints(ticket="ru"))
    assert decision.reason == "text too short to decide ('ok'); kept the ticket's language ru"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the vpn keeps disconnecting every five minutes", "en"),
        ("ще не працює вхід у кабінет", "uk"),
        ("ne rabotaet vpn, pomogite srochno", "ru"),
    ],
)
def test_clear_follow_up_in_another_language_changes_it(
    detector: LanguageDetector, text: str, expected: str
) -> None:
    decision = detector.detect(text, LanguageHints(ticket="pl"))
    assert decision.language == expected
    assert decision.source in {"text", "transliteration"}


def test_context_decides_a_short_message(detector: LanguageDetector) -> None:
    decision = detector.detect("ok", LanguageHints(platform="en"), context="у нас не работает впн")
    assert (decision.language, decision.source) == ("ru", "text")
    assert "earlier text" in decision.reason


def test_context_does_not_override_the_ticket(detector: LanguageDetector) -> None:
    decision = detector.detect("ok", LanguageHints(ticket="en"), context="у нас не работает впн")
    assert (decision.language, decision.source) == ("en", "ticket")


def test_latin_shorthand_defers_to_the_platform(detector: LanguageDetector) -> None:
    decision = detector.detect("ok", LanguageHints(platform="ru-RU"))
    assert (decision.language, decision.source) == ("ru", "platform")


def test_cyrillic_rules_out_a_latin_platform_language(detector: LanguageDetector) -> None:
    decision = detector.detect("спасибо", LanguageHints(platform="en"))
    assert (decision.language, decision.source) == ("ru", "text")


def test_short_text_without_hints_is_a_best_guess(detector: LanguageDetector) -> None:
    decision = detector.detect("спасибо")
    assert decision.language == "ru"
    assert decision.reason.startswith("text too short to decide ('спасибо'); best guess ru")


# --- Russian typed in Latin letters ---------------------------------------------------------


@pytest.mark.parametrize("text", RU_TRANSLIT)
def test_transliterated_russian_is_russian(detector: LanguageDetector, text: str) -> None:
    decision = detector.detect(text)
    assert (decision.language, decision.source) == ("ru", "transliteration")


@pytest.mark.parametrize(("text", "language"), LATIN_CHAT)
def test_latin_chat_is_not_taken_for_transliteration(
    detector: LanguageDetector, text: str, language: str
) -> None:
    decision = detector.detect(text)
    assert decision.language != "ru"
    assert decision.source != "transliteration"


def test_latin_chat_languages_are_mostly_right(detector: LanguageDetector) -> None:
    wrong = [(t, lang) for t, lang in LATIN_CHAT if detector.detect(t).language != lang]
    assert len(wrong) <= len(LATIN_CHAT) // 10, wrong


def test_no_transliteration_without_russian() -> None:
    decision = LanguageDetector(["en", "pl"]).detect("privet, ne rabotaet vpn")
    assert decision.source != "transliteration"
    assert decision.language in {"en", "pl"}


# --- robustness and determinism -------------------------------------------------------------


def test_same_input_same_decision(detector: LanguageDetector) -> None:
    texts = ["ok", "спасибо", "що це тобі", "privet", "nie działa", "no problem", "да"]
    first = [detector.detect(t) for t in texts]
    for _ in range(5):
        assert [detector.detect(t) for t in reversed(texts)] == first[::-1]


def test_long_paste_is_handled(detector: LanguageDetector) -> None:
    decision = detector.detect("не работает сервер " * 5000)
    assert (decision.language, decision.source) == ("ru", "text")


optional_text = st.one_of(st.none(), st.text(max_size=60))


@settings(max_examples=300, deadline=None)
@given(
    text=optional_text,
    platform=optional_text,
    organisation=optional_text,
    ticket=optional_text,
    context=optional_text,
)
def test_never_raises_and_stays_in_the_roster(
    detector: LanguageDetector,
    text: str | None,
    platform: str | None,
    organisation: str | None,
    ticket: str | None,
    context: str | None,
) -> None:
    hints = LanguageHints(platform=platform, organisation=organisation, ticket=ticket)
    decision = detector.detect(text, hints, context)
    assert decision.language in ROSTER
    assert 0.0 <= decision.confidence <= 1.0
    assert decision.source in SOURCES
    assert decision.reason


# --- accuracy floor on lingua's public test data ---------------------------------------------


def _testdata() -> Path | None:
    configured = os.environ.get("DUTYDESK_LANGID_DATA")
    candidate = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[1].parent / "shared" / "langid-testdata" / "lingua"
    )
    return candidate if (candidate / "word-pairs" / "ru.txt").is_file() else None


DATA = _testdata()
needs_data = pytest.mark.skipif(
    DATA is None,
    reason="lingua test data not found: set DUTYDESK_LANGID_DATA or check out shared/ beside "
    "the repository (../shared/langid-testdata/lingua)",
)
SAMPLE = 300  # lines per file: the first ones, so the sample never changes


def _lines(bucket: str, language: str) -> list[str]:
    assert DATA is not None
    return (DATA / bucket / f"{language}.txt").read_text(encoding="utf-8").splitlines()[:SAMPLE]


def _labels(detector: LanguageDetector, bucket: str, language: str) -> list[str]:
    return [detector.detect(line).language for line in _lines(bucket, language)]


@needs_data
@pytest.mark.parametrize(("bucket", "floor"), [("single-words", 0.85), ("word-pairs", 0.95)])
def test_accuracy_floor(detector: LanguageDetector, bucket: str, floor: float) -> None:
    right = sum(
        label == language for language in ROSTER for label in _labels(detector, bucket, language)
    )
    assert right / (SAMPLE * len(ROSTER)) >= floor


@needs_data
def test_russian_rarely_goes_to_the_cyrillic_neighbours(detector: LanguageDetector) -> None:
    labels = _labels(detector, "word-pairs", "ru")
    assert sum(label in {"uk", "be", "kk"} for label in labels) / len(labels) <= 0.02


@needs_data
@pytest.mark.parametrize("language", ["en", "pl", "da"])
@pytest.mark.parametrize("bucket", ["word-pairs", "sentences"])
def test_transliteration_rule_spares_latin_languages(
    detector: LanguageDetector, bucket: str, language: str
) -> None:
    lines = _lines(bucket, language)
    hits = [t for t in lines if detector.detect(t).source == "transliteration"]
    assert len(hits) / len(lines) < 0.01, hits


def test_a_pasted_run_of_letters_is_no_word(detector: LanguageDetector) -> None:
    """100,000 letters in a row (a pasted dump) are no word of any language: the words
    around them decide, and the model is not asked about the run (it took it seconds)."""
    decision = detector.detect("Лог ошибки, помогите разобраться: " + "x" * 100_000)
    assert decision.language == "ru"


def test_a_remembering_detector_reads_each_text_once_and_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """`remember` (the simulator's): the same readings as scoring every time, each text
    scored once while it is remembered, and a batch past the limit still answered whole."""
    texts = ["Добрый день, отчёт не формируется", "The export fails again", None, "Dzień dobry, nie działa logowanie"]
    remembering = LanguageDetector(["en", "ru", "uk", "pl"], default="en", remember=3)
    scored: list[str | None] = []
    read = LanguageDetector._read_many

    def counting(self: LanguageDetector, batch: list[str | None]) -> list[object]:
        scored.extend(batch)
        return read(self, batch)

    monkeypatch.setattr(LanguageDetector, "_read_many", counting)
    plain = [r.language for r in LanguageDetector(["en", "ru", "uk", "pl"], default="en").read_many(texts)]
    scored.clear()
    assert [r.language for r in remembering.read_many(texts[:3] * 2)] == plain[:3] * 2
    assert scored == texts[:3]  # each once
    assert [r.language for r in remembering.read_many(texts[:3])] == plain[:3]
    assert scored == texts[:3]  # all remembered
    assert [r.language for r in remembering.read_many(texts)] == plain  # past the limit: forgotten, read again
    assert plain[:2] == ["ru", "en"] and plain[3] == "pl"
