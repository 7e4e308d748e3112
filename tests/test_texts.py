"""Every language the desk may detect is answered in that language or in the fallback the
config names for it; no text a reader sees mixes in another language. The texts are gettext
catalogues (bot/i18n/locale): these tests read the .po files as a translator leaves them,
the .mo files as the package ships them, and the source as `make i18n` extracts it."""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.app.config import Config, ConfigError, parse_config
from bot.commands import REGISTRY
from bot.commands.core import CUSTOMERS
from bot.i18n import texts
from bot.i18n.catalogs import CUSTOMER, DOMAINS, LOCALE_DIR, STAFF, languages
from routing.language import LanguageDetector
from routing.reasons import PHRASES, Lang, reason

from .conftest import MSK, Desk, open_desk

ROOT = Path(__file__).resolve().parent.parent
Key = tuple[str, str | None]  # (message id, context)


def _po(domain: str, language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f)


def _template(domain: str) -> Catalog:
    with (LOCALE_DIR / f"{domain}.pot").open("rb") as f:
        return read_po(f)


def _key(message_id: str | tuple[str, ...], context: str | bytes | None) -> Key:
    if isinstance(context, bytes):  # Babel's read_mo leaves a context undecoded
        context = context.decode()
    return (message_id if isinstance(message_id, str) else message_id[0], context)


def _ids(catalog: Catalog) -> set[Key]:
    return {_key(m.id, m.context) for m in catalog if m.id}


def _forms(string: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (string,) if isinstance(string, str) else tuple(string)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _problems(domain: str, catalog: Catalog) -> list[str]:
    """What keeps a catalogue of `domain` from saying every text: a key of the template it
    lacks, leaves empty or fuzzy, a plural form missing, or a placeholder that is not the
    English one's (it would fail, or drop a value, when filled in)."""
    english = {_key(m.id, m.context): m for m in _po(domain, "en") if m.id}
    found = {_key(m.id, m.context): m for m in catalog if m.id}
    problems = [f"{key}: missing" for key in sorted(_ids(_template(domain)) - set(found), key=str)]
    for key, message in found.items():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            problems.append(f"{key}: not translated")
        elif message.pluralizable and len(forms) != catalog.num_plurals:
            problems.append(f"{key}: {len(forms)} plural forms, the language has {catalog.num_plurals}")
        source = english[key].string
        wanted = _fields(source[-1] if isinstance(source, tuple) else source)
        problems += [f"{key}: placeholders {sorted(_fields(f))}" for f in forms if _fields(f) - wanted]
    return [f"{domain}/{catalog.locale} {p}" for p in problems]


def test_every_configured_customer_language_has_every_customer_text(example_config: Config) -> None:
    """Each language the example config detects reads a complete customer catalogue: its
    own, or the one `[desk] text_fallback` names for it (Belarusian, Kazakh: Russian)."""
    readers = {example_config.desk.text_fallback.get(code, code) for code in example_config.desk.languages}
    assert readers == {"en", "ru", "uk", "pl", "da"} and readers <= set(texts.CUSTOMER_LANGUAGES)
    assert [p for language in sorted(readers) for p in _problems(CUSTOMER, _po(CUSTOMER, language))] == []


def test_every_catalogue_has_every_text_of_its_domain() -> None:
    assert [p for domain in DOMAINS for language in languages(domain)
            for p in _problems(domain, _po(domain, language))] == []
    assert texts.STAFF_LANGUAGES == ("en", "ru")


def test_a_missing_or_broken_translation_is_caught() -> None:
    """The check above is not vacuous: a text left out, one left empty, a plural form
    missing and a misspelt placeholder each fail it."""
    polish = _po(CUSTOMER, "pl")
    polish.delete("rated")
    polish["closed"].string = ""
    polish["truncated"].string = polish["truncated"].string[:2]
    polish["correction"].string = "Poprawka: {txt}"
    assert _problems(CUSTOMER, polish) == [
        "customer/pl ('rated', None): missing", "customer/pl ('closed', None): not translated",
        "customer/pl ('correction', None): placeholders ['txt']",
        "customer/pl ('truncated', None): 2 plural forms, the language has 3",
    ]


def _keywords(domain: str) -> dict[str, tuple[int | tuple[int, str], ...] | None]:
    """The keywords `make i18n` extracts `domain` with, read from the Makefile."""
    line = re.search(rf"^{domain.upper()}_KEYWORDS := (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert line is not None
    found: dict[str, tuple[int | tuple[int, str], ...] | None] = {}
    for spec in re.findall(r"-k (\S+)", line.group(1)):
        name, _, args = spec.partition(":")
        found[name] = tuple((int(a[:-1]), "c") if a.endswith("c") else int(a) for a in args.split(",")) \
            if args else None
    return found


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_catalogues_hold_exactly_the_keys_the_code_uses(domain: str) -> None:
    """What `make i18n` extracts today is the committed template, and every language's
    catalogue has exactly its keys: no text is called that no catalogue has, and no
    catalogue keeps a text nothing says."""
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        _key(message, context)
        for _, _, message, _, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=_keywords(domain))  # type: ignore[arg-type]
    }
    assert extracted == _ids(_template(domain))
    for language in languages(domain):
        assert _ids(_po(domain, language)) == extracted, language


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_shipped_mo_files_are_compiled_from_the_po_files(domain: str) -> None:
    for language in languages(domain):
        with (LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.mo").open("rb") as f:
            compiled = {_key(m.id, m.context): _forms(m.string) for m in read_mo(f) if m.id}
        written = {_key(m.id, m.context): _forms(m.string) for m in _po(domain, language) if m.id}
        assert compiled == written, f"{domain}/{language}: run make i18n"


def test_a_command_s_summary_is_worded_where_its_readers_read() -> None:
    customer, staff = _ids(_template(CUSTOMER)), _ids(_template(STAFF))
    for spec in REGISTRY.values():
        assert (spec.summary, None) in (customer if spec.roles & CUSTOMERS else staff), spec.name


def test_routing_reasons_read_in_english_as_routing_words_them() -> None:
    """The event log and `explain` keep routing's English; English pings say the same."""
    english = {m.id: m.string for m in _po(STAFF, "en") if m.context == "reason"}
    assert {key: english[key] for key in PHRASES} == PHRASES


@pytest.mark.parametrize(("count", "words"), [
    (1, "ещё 1 символ не сохранён"), (2, "ещё 2 символа не сохранено"), (5, "ещё 5 символов не сохранено"),
    (11, "ещё 11 символов не сохранено"), (21, "ещё 21 символ не сохранён"), (22, "ещё 22 символа не сохранено"),
])
async def test_a_shortened_message_counts_what_it_dropped_in_russian_plural_forms(
    desk: Desk, count: int, words: str,
) -> None:
    limit = desk.app.cfg.desk.max_text
    receipt = await desk.local.say("200001", "Лог ошибки: " + "x" * (limit + count - len("Лог ошибки: ")))
    [message] = await desk.store.messages(receipt.ticket_id)
    assert message["text"].endswith(f"\n[сообщение сокращено: {words}]")


def test_plural_forms_in_each_customer_language() -> None:
    assert texts.ntext("truncated", 1, "en", count=1) == "[message shortened: 1 more character was not kept]"
    assert texts.ntext("truncated", 3, "en", count=3) == "[message shortened: 3 more characters were not kept]"
    assert [texts.ntext("truncated", n, "uk", count=n).split(": ")[1] for n in (1, 3, 5)] == [
        "ще 1 символ не збережено]", "ще 3 символи не збережено]", "ще 5 символів не збережено]"]
    assert [texts.ntext("truncated", n, "pl", count=n).rsplit(" ", 1)[1] for n in (1, 3, 5, 22)] == [
        "znak]", "znaki]", "znaków]", "znaki]"]
    assert texts.ntext("truncated", 2, "be", count=2) == texts.ntext("truncated", 2, "ru", count=2)  # the fallback


def test_durations_read_in_the_reader_s_language() -> None:
    assert texts.duration(timedelta(days=1, hours=2), "ru") == "1 день 2 часа"
    assert texts.duration(timedelta(days=2), "ru") == "2 дня"
    assert texts.duration(timedelta(hours=5, minutes=21), "ru") == "5 часов 21 минута"
    assert texts.duration(timedelta(days=1, hours=2), "en") == "1 day, 2 hours"
    assert texts.duration(timedelta(minutes=30), "en") == "30 minutes"


async def test_russian_staff_see_how_long_the_customer_waits_in_russian(
    tmp_path: Path, example_config: Config, detector: LanguageDetector,
) -> None:
    """The reminder before an automatic progress update names the plan's interval (two
    days on warranty) in words, not as "2d"."""
    friday_evening = datetime(2026, 11, 20, 19, 30, tzinfo=MSK)
    desk = await open_desk(example_config, tmp_path / "d.db", detector, friday_evening)
    try:
        tid = (await desk.local.say("200001", "Как выгрузить отчёт по складу?")).ticket_id
        desk.clock.set(datetime(2026, 11, 22, 15, 30, tzinfo=MSK))
        await desk.desk.fire_due()
        await desk.deliver()
        [notice] = [m.text for m in desk.local.to("100011") if m.kind == "reminder"]  # the lead reads Russian
        assert notice == (f"T-{tid}: в вс 22 нояб. 19:30 (Europe/Moscow) клиент получит автоматическое сообщение о "
                          "ходе работ (2 дня без новостей от нас). Напишите ему раньше, чтобы рассказать самим.")
    finally:
        await desk.close()


def test_a_reason_reads_in_one_language_throughout() -> None:
    on_duty = reason("on_duty_via", name="John Carter", via=reason("via_rotation_week", rotation="night", turn=3))
    why = reason("follows_sun", why=reason("urgent", priority="P1"), on_duty=on_duty)
    assert str(why) == "P1 is urgent, so it follows the sun: John Carter is on duty (rotation night (week 3))"
    assert texts.reason(why, "ru", "UTC") == (
        "P1 — срочное, поэтому обращение идёт по солнцу: John Carter на смене (ротация night (неделя 3))")
    assert texts.reason(reason("wrote_in", language=Lang("kk")), "ru", "UTC") == "клиент пишет на языке «казахский»"
    assert str(texts.desk_reason("took_it", name="Anna")) == "Anna took it"
    assert texts.reason(texts.desk_reason("took_it", name="Anna"), "ru", "UTC") == "Anna взял(а) обращение"


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
