"""Priority detection: the text can raise a priority, never lower it; every decision says why."""

from __future__ import annotations

import pytest

from bot.app.config import load_config
from bot.core.triage import build_priority_detector
from routing.priority import Priority, PriorityDetector, PriorityRule, default_rules, normalise
from tests.conftest import EXAMPLE

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4
DETECTOR = PriorityDetector(default_rules())


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("всё упало", "всё упало"),
        ("Всё УПАЛО", "всё упало"),
        ("все упало!!!", "всё упало"),
        ("Коллеги, у нас   всё\nупало после обновления", "всё упало"),
        ("vse upalo", "vse upalo"),
        ("VSE UPALO posle obnovleniya", "vse upalo"),
        ("production down since 10:00", "production down"),
        ("Production DOWN", "production down"),
        ("we have data loss in the warehouse module", "data loss"),
        ("ничего не работает", "ничего не работает"),
        ("nic nie działa", "nic nie działa"),
        ("alt er nede", "alt er nede"),
        ("Добрий день, у нас нічого не працює", "нічого не працює"),
        ("Прывітанне, нічога не працуе", "нічога не працуе"),
        ("Сәлеметсіз бе, ештеңе жұмыс істемейді", "ештеңе жұмыс істемейді"),
        ("the server is down, customers cannot order", "server is down"),
        ("Hej, vi har et nedbrud i lageret", "nedbrud"),
    ],
)
def test_p1_phrases(text: str, phrase: str) -> None:
    decision = DETECTOR.decide(text)
    assert decision.priority is P1
    assert decision.source == "text"
    assert decision.matched == phrase
    assert decision.reason == f"P1: matched '{phrase}'"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("срочно", "срочно"),
        ("Срочно нужен ответ", "срочно"),
        ("urgent", "urgent"),
        ("URGENT: invoice", "urgent"),
        ("asap", "asap"),
        ("please answer ASAP.", "asap"),
        ("не работает", "не работает"),
        ("отчёт не работает", "не работает"),
        ("login is broken", "broken"),
        ("nie działa", "nie działa"),
        ("Добрий день, не працює звіт", "не працює"),
        ("Прывітанне, не працуе друк", "не працуе"),
        ("Жүйе жұмыс істемейді", "жұмыс істемейді"),
        ("I can't log in since this morning", "can't log in"),
        ("Faktura pilne!", "pilne"),
        ("Printeren virker ikke", "virker ikke"),
    ],
)
def test_p2_phrases(text: str, phrase: str) -> None:
    decision = DETECTOR.decide(text)
    assert (decision.priority, decision.source, decision.matched) == (P2, "text", phrase)
    assert decision.reason == f"P2: matched '{phrase}'"


@pytest.mark.parametrize(
    "text",
    ["asapless", "urgently", "brokenness", "hello, a question about reports", "", "   ", None, "срочность"],
)
def test_whole_words_only_and_nothing_found(text: str | None) -> None:
    decision = DETECTOR.decide(text)
    assert (decision.priority, decision.source, decision.matched) == (P3, "default", None)
    assert decision.reason == "P3: nothing urgent found"


def test_the_strongest_phrase_wins() -> None:
    decision = DETECTOR.decide("срочно!!! всё упало")
    assert (decision.priority, decision.matched) == (P1, "всё упало")


def test_text_raises_the_customers_choice() -> None:
    decision = DETECTOR.decide("Всё упало", chosen=P3)
    assert (decision.priority, decision.source) == (P1, "text")
    assert decision.reason == "P1: matched 'всё упало' (raised over P3 chosen by the customer)"


def test_text_never_lowers_the_customers_choice() -> None:
    decision = DETECTOR.decide("срочно", chosen=P1)
    assert (decision.priority, decision.source) == (P1, "chosen")
    # The reason names both: what the customer chose and what the text said.
    assert "P1: chosen by the customer" in decision.reason
    assert "P2 matched 'срочно'" in decision.reason
    quiet = DETECTOR.decide("just a question", chosen=P1)
    assert (quiet.priority, quiet.reason) == (P1, "P1: chosen by the customer")


def test_equal_priorities_credit_the_customer() -> None:
    decision = DETECTOR.decide("urgent", chosen=P2)
    assert (decision.priority, decision.source) == (P2, "chosen")
    assert decision.reason == "P2: chosen by the customer"


def test_plan_floor() -> None:
    floor = DETECTOR.decide("a question", floor=P3, plan="premium")
    assert (floor.priority, floor.source, floor.reason) == (P3, "plan", "P3: floor of plan premium")
    raised = DETECTOR.decide("whenever you can", chosen=P4, floor=P3, plan="premium")
    assert (raised.priority, raised.source) == (P3, "plan")
    assert raised.reason == "P3: floor of plan premium (raised over P4 chosen by the customer)"
    # The floor never lowers anything either.
    urgent = DETECTOR.decide("production down", chosen=P3, floor=P3, plan="premium")
    assert urgent.priority is P1
    assert urgent.reason == (
        "P1: matched 'production down' (raised over P3 chosen by the customer; P3 floor of plan premium)"
    )
    unnamed = DETECTOR.decide("", floor=P2)
    assert unnamed.reason == "P2: floor of the plan"


def test_default_priority_is_configurable() -> None:
    decision = PriorityDetector(default_rules(), default=P4).decide("hello")
    assert (decision.priority, decision.reason) == (P4, "P4: nothing urgent found")


def test_regular_expression_patterns() -> None:
    detector = PriorityDetector([
        PriorityRule(P1, r"re:не\s+проход\w+ платеж\w*"),
        PriorityRule(P2, r"re:\berror\s+5\d\d\b"),
    ])
    payments = detector.decide("Не   проходят платежи с утра")
    assert (payments.priority, payments.matched) == (P1, r"re:не\s+проход\w+ платеж\w*")
    assert payments.reason == r"P1: matched 're:не\s+проход\w+ платеж\w*'"
    assert detector.decide("we get ERROR 502 on login").priority is P2
    assert detector.decide("error 404").priority is P3


def test_bad_patterns_are_refused_with_the_pattern() -> None:
    with pytest.raises(ValueError, match=r'"re:\(unclosed" is not a valid regular expression'):
        PriorityDetector([PriorityRule(P1, "re:(unclosed")])
    with pytest.raises(ValueError, match="must not be empty"):
        PriorityDetector([PriorityRule(P2, "   ")])


def test_phrases_with_regex_characters_are_literal() -> None:
    detector = PriorityDetector([PriorityRule(P1, "c++ build (prod)")])
    assert detector.decide("our C++ build (prod) fails").priority is P1
    assert detector.decide("our c build prod fails").priority is P3


def test_example_config_extra_phrases() -> None:
    detector = build_priority_detector(load_config(EXAMPLE))
    till = detector.decide("Касса не работает!")
    assert (till.priority, till.matched) == (P1, "касса не работает")  # beats the built-in P2
    assert detector.decide("не проходят платежи").priority is P1
    assert detector.decide("не приходят письма").priority is P2
    future = detector.decide("вопрос на будущее: отчёты")
    assert (future.priority, future.reason) == (P4, "P4: matched 'вопрос на будущее'")


@pytest.mark.parametrize("text", ["this is not urgent", "Not urgent: a question about exports"])
def test_a_less_urgent_phrase_containing_an_urgent_word_wins(text: str) -> None:
    detector = build_priority_detector(load_config(EXAMPLE))
    assert detector.decide(text).priority is P4


def test_regular_expression_with_yo_matches() -> None:
    detector = PriorityDetector([PriorityRule(P1, r"re:всё\s+сломалось")])
    assert detector.decide("Всё сломалось").priority is P1


def test_normalise() -> None:
    assert normalise("  Всё  \t УПАЛО\n") == "все упало"
    assert normalise("STRASSE") == "strasse"


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("P1", P1), ("p1", P1), ("1", P1), ("critical", P1), (" Critical ", P1),
        ("P2", P2), ("high", P2), ("2", P2),
        ("p3", P3), ("normal", P3),
        ("P4", P4), ("low", P4), ("4", P4),
    ],
)
def test_priority_parse(text: str, priority: Priority) -> None:
    assert Priority.parse(text) is priority


@pytest.mark.parametrize("junk", ["P5", "0", "", "urgent", "p 1", "P1!", "highest"])
def test_priority_parse_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError) as caught:
        Priority.parse(junk)
    assert str(caught.value) == f'"{junk}" is not a priority (use P1, P2, P3, P4)'


def test_priority_order_and_labels() -> None:
    assert P1 < P2 < P3 < P4
    assert [p.label for p in Priority] == ["critical", "high", "normal", "low"]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Не срочно: как выгрузить отчёт в Excel?", "не срочно"),
        ("not urgent, just a question about invoices", "not urgent"),
        ("Nie pilne — pytanie o fakturę", "nie pilne"),
    ],
)
def test_saying_it_is_not_urgent_lowers_the_text_s_finding(text: str, phrase: str) -> None:
    """The word inside ("срочно", "urgent", "pilne") is no finding of its own."""
    assert DETECTOR.decide(text).matched == phrase and DETECTOR.decide(text).priority is P4
    assert DETECTOR.decide(text, chosen=P2).priority is P2  # and never below what was chosen


def test_a_phrase_repeated_thousands_of_times_is_read_like_once() -> None:
    """A pasted log repeating a phrase: each "not urgent" still hides its "urgent", and an
    urgent phrase among them still wins (this once compared every finding with every other)."""
    detector = PriorityDetector(default_rules())
    assert detector.decide("not urgent. " * 10_000).priority is Priority.P4
    assert detector.decide("not urgent. " * 5_000 + "production is down").priority is Priority.P1
    assert detector.decide("urgent!" * 15_000).priority is Priority.P2
