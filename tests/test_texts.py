"""Every language the desk may detect is answered in that language or in the fallback the
config names for it; no text a reader sees mixes in another language."""

from __future__ import annotations

import pytest

from bot.app.config import Config, ConfigError, parse_config
from bot.commands import REGISTRY
from bot.commands.core import CUSTOMERS
from bot.commands.texts import COMMAND_CUSTOMER_TEXTS, COMMAND_STAFF_TEXTS
from bot.i18n import texts
from routing.reasons import PHRASES, Lang, reason

from .conftest import Desk


def _missing(catalogue: dict[str, dict[str, str]], languages: tuple[str, ...]) -> list[str]:
    return [f"{key}: {lang}" for key, variants in catalogue.items() for lang in languages if lang not in variants]


def test_every_customer_text_exists_in_every_customer_language() -> None:
    summaries = {f"summary of /{spec.name}": spec.summary for spec in REGISTRY.values() if spec.roles & CUSTOMERS}
    catalogue = {**texts.CUSTOMER_TEXTS, **COMMAND_CUSTOMER_TEXTS, **summaries}
    assert _missing(catalogue, texts.CUSTOMER_LANGUAGES) == []


def test_every_staff_text_exists_in_every_staff_language() -> None:
    summaries = {f"summary of /{spec.name}": spec.summary for spec in REGISTRY.values()}
    catalogue = {**texts.STAFF_TEXTS, **COMMAND_STAFF_TEXTS, **summaries}
    assert _missing(catalogue, texts.STAFF_LANGUAGES) == []


def test_every_reason_reaches_each_staff_language() -> None:
    """Routing's reasons are English in routing/reasons.py; the desk words each in every
    other staff language, and its own reasons in all of them."""
    routing = {key: {"en": english, **texts.REASONS.get(key, {})} for key, english in PHRASES.items()}
    desk = {key: variants for key, variants in texts.REASONS.items() if key not in PHRASES}
    assert _missing({**routing, **desk, **texts.STAFF_WORDS}, texts.STAFF_LANGUAGES) == []


def test_a_reason_reads_in_one_language_throughout() -> None:
    on_duty = reason("on_duty_via", name="John Carter", via=reason("via_rotation_week", rotation="night", turn=3))
    why = reason("follows_sun", why=reason("urgent", priority="P1"), on_duty=on_duty)
    assert str(why) == "P1 is urgent, so it follows the sun: John Carter is on duty (rotation night (week 3))"
    assert texts.reason(why, "ru", "UTC") == (
        "P1 — срочное, поэтому обращение идёт по солнцу: John Carter на смене (ротация night (неделя 3))")
    assert texts.reason(reason("wrote_in", language=Lang("kk")), "ru", "UTC") == "клиент пишет на языке «казахский»"


def test_every_configured_customer_language_has_texts_or_a_stated_fallback(example_config: Config) -> None:
    desk = example_config.desk
    for language in desk.languages:
        reads = language if language in texts.CUSTOMER_LANGUAGES else desk.text_fallback.get(language)
        assert reads in texts.CUSTOMER_LANGUAGES, f"{language}: no customer texts and no text_fallback"
    assert desk.text_fallback == {"be": "ru", "kk": "ru"}  # said in the example, as in docs/languages.md


def test_a_language_without_texts_or_fallback_is_refused() -> None:
    with pytest.raises(ConfigError, match=r'desk: languages: there are no customer texts in "kk".*text_fallback'):
        parse_config({"desk": {"languages": ["en", "kk"]}})
    with pytest.raises(ConfigError, match=r'text_fallback.kk: there are no customer texts in "be" either'):
        parse_config({"desk": {"languages": ["en", "kk"], "text_fallback": {"kk": "be"}}})
    assert parse_config({"desk": {"languages": ["en", "kk"], "text_fallback": {"kk": "en"}}}).desk.text_fallback == {
        "kk": "en"}


async def test_a_kazakh_customer_reads_the_fallback_the_config_names(desk: Desk) -> None:
    receipt = await desk.local.say("300001", "Сәлеметсіз бе! Қоймадағы есеп жүктелмейді, көмектесіңізші.")
    ticket = await desk.ticket(receipt.ticket_id or 0)
    assert ticket.language == "kk"  # routed as Kazakh…
    await desk.deliver()
    [ack] = desk.local.to("300001")
    assert ack.text.startswith(f"Спасибо! Ваше обращение {ticket.display_id} зарегистрировано")  # …answered in Russian
