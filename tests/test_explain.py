"""`dutydesk explain`: the dry run a team lead uses to test a roster, as JSON."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.config import Config
from bot.app.explain import Explainer, build_explainer, dumps, parse_at, parse_sender, run_jsonl
from routing.language import LanguageDetector

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ROMASHKA = "telegram:200001"  # warranty, Moscow, Russian
ACME = "telegram:200004"  # premium, London, English
WARRANTY_HOURS = (
    "Mon–Fri 09:00–18:00 Europe/Moscow, RU holidays, 1 extra day off, 1 transferred working day"
)


@pytest.fixture(scope="module")
def explainer(example_config: Config, detector: LanguageDetector) -> Explainer:
    return build_explainer(example_config, detector)


def test_russian_p3_at_night_is_queued_until_the_morning(explainer: Explainer) -> None:
    at = parse_at("2026-11-24T23:10+03:00")  # a Tuesday
    result = explainer.explain("Добрый вечер! Не сходится отчёт по остаткам на складе", ROMASHKA, at, NOW)
    assert json.loads(dumps(result)) == result  # plain JSON all the way down

    assert result["at"] == {"utc": "2026-11-24T20:10:00Z", "local": "2026-11-24T23:10:00+03:00",
                            "timezone": "Europe/Moscow"}
    assert result["sender"] == {
        "identity": ROMASHKA,
        "organisation": {"id": "romashka", "name": "Romashka LLC"},
        "plan": "warranty",
        "plan_description": "First year after purchase",
        "coverage": WARRANTY_HOURS,
        "timezone": "Europe/Moscow",
    }
    language = result["language"]
    assert (language["code"], language["name"], language["source"]) == ("ru", "Russian", "text")
    assert language["confidence"] >= 0.9
    assert "ru (" in language["reason"] and "detected in text" in language["reason"]
    assert result["priority"] == {"priority": "P3", "label": "normal", "source": "default",
                                  "reason": "P3: nothing urgent found", "matched": None}
    assert result["decision"] == {
        "outcome": "queued",
        "pickup_at": {"utc": "2026-11-25T07:00:00Z", "local": "2026-11-25T10:00:00+03:00",
                      "timezone": "Europe/Moscow"},
        "tier": "l1",
        "alert_lead": False,
    }
    reasons = result["reasons"]
    assert reasons[0] == "sender: organisation Romashka LLC, plan warranty"
    assert reasons[1].startswith("language: ru (")
    assert reasons[2] == "priority: P3: nothing urgent found"
    assert any("no Russian-speaking l1 engineer free on duty at Tue 2026-11-24 23:10 Europe/Moscow" in r
               for r in reasons)
    assert any("P3 on plan warranty outside its hours" in r for r in reasons)
    assert reasons[-1] == "queued: Anna Smirnova comes on duty Wed 2026-11-25 10:00 Europe/Moscow"

    deadlines = result["deadlines"]
    first = deadlines["first_response"]
    # 8 working hours on Mon–Fri 09:00–18:00, counted from Wednesday 09:00.
    assert first["target"] == "8h of working time"
    assert first["due"] == {"utc": "2026-11-25T14:00:00Z", "local": "2026-11-25T17:00:00+03:00",
                            "timezone": "Europe/Moscow"}
    assert [w["stage"] for w in first["warnings"]] == [50, 80]
    assert first["warnings"][0]["local"] == "2026-11-25T13:00:00+03:00"
    assert (first["calendar"], first["calendar_hours"]) == ("ru_workdays", WARRANTY_HOURS)
    resolution = deadlines["resolution"]
    # 40 working hours: Wed, Thu, Fri, Mon (36 h) and four more on Tuesday.
    assert resolution["target"] == "40h of working time"
    assert resolution["due"]["utc"] == "2026-12-01T10:00:00Z"
    assert resolution["due"]["local"] == "2026-12-01T13:00:00+03:00"
    assert resolution["calendar_hours"] == WARRANTY_HOURS
    update = deadlines["update"]
    # Every two calendar days after the customer last heard from the desk: the acknowledgement.
    assert update["target"] == "2d"
    assert update["due"]["local"] == "2026-11-26T23:10:00+03:00"
    assert (update["calendar"], update["calendar_hours"]) == ("24/7", "24/7")


def test_8_march_night_waits_for_tuesday(explainer: Explainer) -> None:
    # Sunday 8 March 2026; Monday the 9th is the observed holiday.
    result = explainer.explain("Добрый вечер, вопрос по отчёту", ROMASHKA, parse_at("2026-03-08T23:10+03:00"), NOW)
    assert result["decision"]["outcome"] == "queued"
    assert result["decision"]["pickup_at"]["local"] == "2026-03-10T10:00:00+03:00"
    assert result["deadlines"]["first_response"]["due"]["local"] == "2026-03-10T17:00:00+03:00"


def test_premium_p1_is_assigned_with_a_15_minute_first_response(explainer: Explainer) -> None:
    at = parse_at("2026-11-24T08:00Z")  # 11:00 Moscow, 08:00 London
    result = explainer.explain("Production down! Nobody can log in.", ACME, at, NOW)
    assert result["sender"]["plan"] == "premium"
    assert result["sender"]["timezone"] == "Europe/London"
    assert result["language"]["code"] == "en"
    assert result["priority"]["priority"] == "P1"
    assert result["priority"]["matched"] == "production down"
    assert result["priority"]["reason"] == "P1: matched 'production down' (raised over P3 floor of plan premium)"
    assert result["kind"] == "incident"
    decision = result["decision"]
    assert decision["outcome"] == "assigned"
    assert decision["engineer"]["id"] in {"anna", "dmitry", "kasia", "lars"}
    assert decision["follow_the_sun"] is False
    assert decision["engineer"]["id"] == "lars"  # ACME's dedicated engineer, on duty
    assert "ACME Corp's dedicated engineer: Lars Jensen is on duty (shift copenhagen_day)" in result["reasons"]
    first = result["deadlines"]["first_response"]
    assert first["target"] == "15m"
    assert first["due"] == {"utc": "2026-11-24T08:15:00Z", "local": "2026-11-24T08:15:00+00:00",
                            "timezone": "Europe/London"}
    assert first["calendar"] == "24/7"
    assert result["deadlines"]["resolution"]["target"] == "4h"
    assert result["deadlines"]["resolution"]["due"]["utc"] == "2026-11-24T12:00:00Z"
    assert result["deadlines"]["update"]["target"] == "4h"
    assert result["deadlines"]["update"]["due"]["utc"] == "2026-11-24T12:00:00Z"


def test_russian_p1_at_night_follows_the_sun(explainer: Explainer) -> None:
    result = explainer.explain("Всё упало, срочно!", ROMASHKA, parse_at("2026-11-24T23:10+03:00"), NOW)
    assert result["priority"]["priority"] == "P1"
    decision = result["decision"]
    assert decision["outcome"] == "assigned" and decision["engineer"]["id"] == "john"
    assert decision["follow_the_sun"] is True
    assert decision["flags"] == ["customer wrote in Russian"]
    # Warranty P1 targets: 2 working hours from Wednesday 09:00.
    assert result["deadlines"]["first_response"]["due"]["local"] == "2026-11-25T11:00:00+03:00"


def test_unknown_or_missing_sender_gets_the_default_plan(explainer: Explainer) -> None:
    at = parse_at("2026-11-24T11:00+03:00")
    unknown = explainer.explain("a question about invoices", "telegram:999999", at, NOW)
    assert unknown["sender"]["organisation"] is None
    assert unknown["sender"]["plan"] == "basic"
    assert unknown["sender"]["timezone"] == "Europe/Moscow"  # the desk's zone
    assert unknown["reasons"][0] == "sender: telegram:999999 belongs to no organisation: default plan basic"
    anonymous = explainer.explain("a question about invoices", None, at, NOW)
    assert anonymous["sender"]["plan"] == "basic"
    assert anonymous["reasons"][0] == "sender: not given: default plan basic"


def test_sender_in_a_shared_channel_belongs_to_its_organisation(explainer: Explainer) -> None:
    result = explainer.explain("hello", "slack:C0ACME001", parse_at("2026-11-24T11:00+03:00"), NOW)
    assert result["sender"]["organisation"] == {"id": "acme", "name": "ACME Corp"}


def test_at_defaults_to_now_and_needs_an_offset(explainer: Explainer) -> None:
    result = explainer.explain("hello", None, None, NOW)
    assert result["at"]["utc"] == "2026-11-20T12:00:00Z"
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_at("2026-03-08T23:10")
    with pytest.raises(ValueError, match="no UTC offset"):
        explainer.explain("hello", None, datetime(2026, 3, 8, 23, 10), NOW)
    with pytest.raises(ValueError, match="is not a date and time"):
        parse_at("tomorrow")
    assert parse_at("2026-03-08T23:10+03:00") == datetime(2026, 3, 8, 20, 10, tzinfo=UTC)
    assert parse_at("2026-03-08T20:10Z") == datetime(2026, 3, 8, 20, 10, tzinfo=UTC)


def test_sender_must_be_a_chat_identity() -> None:
    assert parse_sender("telegram:12345") == ("telegram", "12345")
    for bad in ("12345", "telegram:", ":12345"):
        with pytest.raises(ValueError, match="is not a chat identity"):
            parse_sender(bad)


def test_deadlines_shared_across_a_closed_stretch_are_the_same_as_fresh_ones(explainer: Explainer) -> None:
    # Requests made while the plan's calendar is closed share their deadlines (computed once);
    # they must equal what the SLA book gives each of them on its own.
    instants = ["2026-11-24T18:30+03:00", "2026-11-24T23:10+03:00", "2026-11-25T02:00+03:00",
                "2026-11-25T09:00+03:00", "2026-11-25T09:01+03:00", "2026-11-28T12:00+03:00"]
    texts = ["вопрос по отчёту", "всё упало"]
    shared = [explainer.explain(t, s, parse_at(a), NOW)["deadlines"]
              for a in instants for t in texts for s in (ROMASHKA, "telegram:200002", ACME, None)]
    fresh = []
    for a in instants:
        for t in texts:
            for s in (ROMASHKA, "telegram:200002", ACME, None):
                explainer._schedules.clear()
                fresh.append(explainer.explain(t, s, parse_at(a), NOW)["deadlines"])
    assert shared == fresh
    night = explainer.explain("вопрос", ROMASHKA, parse_at("2026-11-24T23:10+03:00"), NOW)["deadlines"]
    dawn = explainer.explain("вопрос", ROMASHKA, parse_at("2026-11-25T08:59+03:00"), NOW)["deadlines"]
    assert night.pop("update") != dawn.pop("update")  # two days after each acknowledgement
    assert night == dawn
    opening = explainer.explain("вопрос", ROMASHKA, parse_at("2026-11-25T09:01+03:00"), NOW)["deadlines"]
    assert opening["first_response"]["due"]["local"] == "2026-11-25T17:01:00+03:00"


def test_jsonl_bad_lines_are_reported_and_the_run_goes_on(explainer: Explainer) -> None:
    lines = [
        json.dumps({"text": "всё упало", "from": ROMASHKA, "at": "2026-11-24T23:10+03:00"}, ensure_ascii=False),
        "{not json",
        json.dumps({"text": "hello", "at": "2026-11-24T23:10"}),
        "",
        json.dumps({"from": ACME}),
        json.dumps(["text"]),
        json.dumps({"text": "hi", "from": "nobody"}),
        json.dumps({"text": "hi", "when": "now"}),
        json.dumps({"text": "hello"}),
    ]
    out = [json.loads(line) for line in run_jsonl(explainer, lines, NOW)]
    assert [o["line"] for o in out] == [1, 2, 3, 5, 6, 7, 8, 9]  # the blank line 4 is skipped
    assert out[0]["decision"]["engineer"]["id"] == "john"
    errors = {o["line"]: o["error"] for o in out if "error" in o}
    assert set(errors) == {2, 3, 5, 6, 7, 8}
    assert errors[2].startswith("not JSON")
    assert "no UTC offset" in errors[3]
    assert errors[5] == '"text" is missing or not a string'
    assert errors[6] == "expected a JSON object, got list"
    assert "is not a chat identity" in errors[7]
    assert "unknown field(s) when" in errors[8]
    assert out[-1]["at"]["utc"] == "2026-11-20T12:00:00Z"  # no "at": now
    assert all(set(o) == {"line", "error"} for o in out if "error" in o)


def test_jsonl_ten_thousand_lines(explainer: Explainer) -> None:
    rnd = random.Random(7)
    texts = ["всё упало", "Добрый день, вопрос по отчёту", "production down", "nie działa logowanie",
             "hej, intet virker", "ok", "please answer asap", "срочно нужен счёт", "vse upalo"]
    senders = [None, ROMASHKA, "telegram:200002", "telegram:200003", ACME, "telegram:999"]
    start = datetime(2026, 11, 23, tzinfo=UTC)
    lines = []
    for _ in range(10_000):
        item: dict[str, str] = {"text": rnd.choice(texts)}
        sender = rnd.choice(senders)
        if sender:
            item["from"] = sender
        item["at"] = (start + timedelta(minutes=rnd.randrange(14 * 24 * 60))).isoformat()
        lines.append(json.dumps(item, ensure_ascii=False))
    began = time.perf_counter()
    out = list(run_jsonl(explainer, lines, NOW))
    took = time.perf_counter() - began
    print(f"\nexplain: 10,000 jsonl lines in {took:.2f} s ({took / len(lines) * 1e3:.3f} ms per line)")
    assert len(out) == 10_000
    assert not [o for o in out if '"error"' in o[:40]]
