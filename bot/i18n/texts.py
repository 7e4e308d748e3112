"""Everything the desk says to people, per language.

Customers read the desk in their own language: every customer text exists in each of
`CUSTOMER_LANGUAGES`. A language detection may choose but that has no texts is read in
the language `[desk] text_fallback` names for it (the example: Belarusian and Kazakh
speakers read Russian rather than English) — the config is refused otherwise, so no
customer gets another language silently. Staff texts exist in each of `STAFF_LANGUAGES`.
Times are shown in the reader's time zone with Babel's local month and weekday names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale

from routing.calendar import BusinessCalendar
from routing.reasons import At, Hours, Lang, Reason
from routing.reasons import language_name as english_language_name

CUSTOMER_LANGUAGES = ("en", "ru", "uk", "pl", "da")
STAFF_LANGUAGES = ("en", "ru")
_fallback: dict[str, str] = {}

CUSTOMER_TEXTS: dict[str, dict[str, str]] = {
    "ack_assigned": {
        "en": "Thank you! Your request {ticket} is registered (priority {priority}). An engineer will reply by {due}.",
        "ru": "Спасибо! Ваше обращение {ticket} зарегистрировано (приоритет {priority}). Инженер ответит до {due}.",
        "uk": "Дякуємо! Ваше звернення {ticket} зареєстровано (пріоритет {priority}). Інженер відповість до {due}.",
        "pl": "Dziękujemy! Twoje zgłoszenie {ticket} zostało zarejestrowane (priorytet {priority}). Inżynier odpowie do {due}.",
        "da": "Tak! Din henvendelse {ticket} er registreret (prioritet {priority}). En tekniker svarer senest {due}.",
    },
    "ack_queued": {
        "en": "Thank you! Your request {ticket} is registered (priority {priority}). Our engineers are off duty now: it will be picked up {pickup}. If it is urgent, press «Urgent» or send /urgent.",
        "ru": "Спасибо! Ваше обращение {ticket} зарегистрировано (приоритет {priority}). Сейчас нерабочее время: инженер возьмёт его в работу {pickup}. Если вопрос срочный, нажмите «Срочно» или отправьте /urgent.",
        "uk": "Дякуємо! Ваше звернення {ticket} зареєстровано (пріоритет {priority}). Зараз неробочий час: інженер візьме його в роботу {pickup}. Якщо питання термінове, натисніть «Терміново» або надішліть /urgent.",
        "pl": "Dziękujemy! Twoje zgłoszenie {ticket} zostało zarejestrowane (priorytet {priority}). Nasi inżynierowie są teraz poza dyżurem: zajmą się nim {pickup}. Jeśli to pilne, naciśnij «Pilne» lub wyślij /urgent.",
        "da": "Tak! Din henvendelse {ticket} er registreret (prioritet {priority}). Vores teknikere har fri nu: den bliver taget {pickup}. Hvis det haster, tryk «Haster» eller send /urgent.",
    },
    "reopened": {
        "en": "Your request {ticket} is open again; the engineer has your message.",
        "ru": "Обращение {ticket} снова открыто, инженер получил ваше сообщение.",
        "uk": "Звернення {ticket} знову відкрито, інженер отримав ваше повідомлення.",
        "pl": "Zgłoszenie {ticket} zostało ponownie otwarte; inżynier otrzymał Twoją wiadomość.",
        "da": "Din henvendelse {ticket} er åbnet igen; teknikeren har fået din besked.",
    },
    "progress_queued": {
        "en": "An update on your request {ticket}: it is in the queue, and an engineer will take it up {pickup}. It has not been forgotten.",
        "ru": "Новости по обращению {ticket}: оно в очереди, инженер возьмёт его в работу {pickup}. Мы о нём помним.",
        "uk": "Новини щодо звернення {ticket}: воно в черзі, інженер візьме його в роботу {pickup}. Ми про нього пам'ятаємо.",
        "pl": "Informacja o zgłoszeniu {ticket}: czeka w kolejce, inżynier zajmie się nim {pickup}. Nie zapomnieliśmy o nim.",
        "da": "Nyt om din henvendelse {ticket}: den står i køen, og en tekniker tager den {pickup}. Den er ikke glemt.",
    },
    "progress_unpicked": {
        "en": "An update on your request {ticket}: it is in the queue for the next free engineer. It has not been forgotten.",
        "ru": "Новости по обращению {ticket}: оно в очереди к первому освободившемуся инженеру. Мы о нём помним.",
        "uk": "Новини щодо звернення {ticket}: воно в черзі до першого вільного інженера. Ми про нього пам'ятаємо.",
        "pl": "Informacja o zgłoszeniu {ticket}: czeka w kolejce na pierwszego wolnego inżyniera. Nie zapomnieliśmy o nim.",
        "da": "Nyt om din henvendelse {ticket}: den står i køen til den næste ledige tekniker. Den er ikke glemt.",
    },
    "progress_working": {
        "en": "An update on your request {ticket}: {name} is working on it. We will write again as soon as we know more.",
        "ru": "Новости по обращению {ticket}: над ним работает {name}. Напишем, как только появятся новости.",
        "uk": "Новини щодо звернення {ticket}: над ним працює {name}. Напишемо, щойно з'являться новини.",
        "pl": "Informacja o zgłoszeniu {ticket}: pracuje nad nim {name}. Napiszemy, gdy tylko będziemy wiedzieć więcej.",
        "da": "Nyt om din henvendelse {ticket}: {name} arbejder på den. Vi skriver igen, så snart vi ved mere.",
    },
    "progress_waiting": {
        "en": "An update on your request {ticket}: we are waiting for your answer. Please reply here when you can, and we will go on.",
        "ru": "Новости по обращению {ticket}: мы ждём вашего ответа. Ответьте, пожалуйста, здесь, когда сможете, и мы продолжим.",
        "uk": "Новини щодо звернення {ticket}: ми чекаємо на вашу відповідь. Дайте, будь ласка, відповідь тут, коли зможете, і ми продовжимо.",
        "pl": "Informacja o zgłoszeniu {ticket}: czekamy na Twoją odpowiedź. Odpowiedz tutaj, kiedy tylko możesz, a będziemy kontynuować.",
        "da": "Nyt om din henvendelse {ticket}: vi venter på dit svar. Svar her, når du kan, så fortsætter vi.",
    },
    "resolved": {
        "en": "Your request {ticket} is resolved. If the problem remains, just reply here. How did we do? Rate us from 1 to 5:",
        "ru": "Обращение {ticket} решено. Если проблема осталась, просто ответьте здесь. Оцените, пожалуйста, нашу работу от 1 до 5:",
        "uk": "Звернення {ticket} вирішено. Якщо проблема залишилася, просто дайте відповідь тут. Оцініть, будь ласка, нашу роботу від 1 до 5:",
        "pl": "Zgłoszenie {ticket} zostało rozwiązane. Jeśli problem nadal występuje, po prostu odpowiedz tutaj. Jak nam poszło? Oceń od 1 do 5:",
        "da": "Din henvendelse {ticket} er løst. Hvis problemet består, så svar bare her. Hvordan klarede vi os? Giv os 1 til 5:",
    },
    "closed": {
        "en": "Your request {ticket} is closed. Write here any time to open a new one.",
        "ru": "Обращение {ticket} закрыто. Напишите сюда в любое время, чтобы открыть новое.",
        "uk": "Звернення {ticket} закрито. Напишіть сюди будь-коли, щоб відкрити нове.",
        "pl": "Zgłoszenie {ticket} zostało zamknięte. Napisz tutaj w dowolnym momencie, aby otworzyć nowe.",
        "da": "Din henvendelse {ticket} er lukket. Skriv her når som helst for at åbne en ny.",
    },
    "urgent_set": {
        "en": "Request {ticket} is now urgent ({priority}); the engineer on duty has been alerted.",
        "ru": "Обращение {ticket} теперь срочное ({priority}); дежурный инженер уведомлён.",
        "uk": "Звернення {ticket} тепер термінове ({priority}); черговий інженер отримав сповіщення.",
        "pl": "Zgłoszenie {ticket} jest teraz pilne ({priority}); dyżurny inżynier został powiadomiony.",
        "da": "Henvendelse {ticket} haster nu ({priority}); vagthavende tekniker er underrettet.",
    },
    "rated": {
        "en": "Thank you for rating {ticket}: {rating}/5.",
        "ru": "Спасибо за оценку {ticket}: {rating}/5.",
        "uk": "Дякуємо за оцінку {ticket}: {rating}/5.",
        "pl": "Dziękujemy za ocenę {ticket}: {rating}/5.",
        "da": "Tak for din vurdering af {ticket}: {rating}/5.",
    },
    "truncated": {
        "en": "[message shortened: {count} more characters were not kept]",
        "ru": "[сообщение сокращено: ещё {count} символов не сохранено]",
        "uk": "[повідомлення скорочено: ще {count} символів не збережено]",
        "pl": "[wiadomość skrócona: pominięto jeszcze {count} znaków]",
        "da": "[beskeden er forkortet: yderligere {count} tegn blev ikke gemt]",
    },
    "correction": {
        "en": "Correction to our previous message: {text}",
        "ru": "Уточнение к нашему предыдущему сообщению: {text}",
        "uk": "Уточнення до нашого попереднього повідомлення: {text}",
        "pl": "Poprawka do naszej poprzedniej wiadomości: {text}",
        "da": "Rettelse til vores forrige besked: {text}",
    },
    "unreadable": {
        "en": "Sorry, this kind of message cannot be read here. Please write your question as text; you can add photos, screenshots and files.",
        "ru": "Извините, такое сообщение здесь прочитать не получится. Пожалуйста, напишите вопрос текстом; можно приложить фото, скриншоты и файлы.",
        "uk": "Вибачте, таке повідомлення тут прочитати не вийде. Будь ласка, напишіть питання текстом; можна додати фото, скриншоти та файли.",
        "pl": "Przepraszamy, tego rodzaju wiadomości nie da się tu odczytać. Napisz proszę pytanie tekstem; możesz dołączyć zdjęcia, zrzuty ekranu i pliki.",
        "da": "Beklager, den slags besked kan ikke læses her. Skriv venligst dit spørgsmål som tekst; du kan vedhæfte billeder, skærmbilleder og filer.",
    },
    "button_urgent": {"en": "Urgent", "ru": "Срочно", "uk": "Терміново", "pl": "Pilne", "da": "Haster"},
}

STAFF_TEXTS: dict[str, dict[str, str]] = {
    "ping_assigned": {
        "en": "{ticket} · {org} · {priority} · {lang}\n{subject}\nAssigned to you: {reason}{flags}\nFirst response due {due}.",
        "ru": "{ticket} · {org} · {priority} · {lang}\n{subject}\nНазначено вам: {reason}{flags}\nПервый ответ до {due}.",
    },
    "ping_message": {
        "en": "{ticket} · {name} wrote:\n{text}",
        "ru": "{ticket} · {name} пишет:\n{text}",
    },
    "header": {
        "en": "{ticket} · {org} ({plan}) · {priority} · {lang}\nCustomer: {customer}\nAssignee: {assignee}\nStatus: {status}\n{subject}",
        "ru": "{ticket} · {org} ({plan}) · {priority} · {lang}\nКлиент: {customer}\nИсполнитель: {assignee}\nСтатус: {status}\n{subject}",
    },
    "copy": {"en": "{name}: {text}", "ru": "{name}: {text}"},
    "engineer_copy": {"en": "{name} (to customer): {text}", "ru": "{name} (клиенту): {text}"},
    "note_copy": {"en": "Note by {name}: {text}", "ru": "Заметка {name}: {text}"},
    "edited_copy": {"en": "{name} edited a message: {text}", "ru": "{name} изменил(а) сообщение: {text}"},
    "queued_nobody": {
        "en": "{ticket} · {org} · {priority} · {lang}: nobody can take it now — queued until {pickup}. Please assign someone.\n{reason}",
        "ru": "{ticket} · {org} · {priority} · {lang}: сейчас некому взять — в очереди до {pickup}. Назначьте, пожалуйста, исполнителя.\n{reason}",
    },
    "held_you": {
        "en": "{ticket} is escalated to {tier}, but nobody there is on duty until {pickup}: it stays with you until then.\n{reason}",
        "ru": "{ticket} эскалировано ({tier}), но там никого нет на смене до {pickup}: до тех пор обращение остаётся на вас.\n{reason}",
    },
    "held_nobody": {
        "en": "{ticket} · {org} · {priority} · {lang}: escalated to {tier}, but nobody there is on duty until {pickup}; {holder} keeps it until then. Reassign it if it cannot wait.\n{reason}",
        "ru": "{ticket} · {org} · {priority} · {lang}: эскалировано ({tier}), но там никого нет на смене до {pickup}; до тех пор обращение у {holder}. Переназначьте, если ждать нельзя.\n{reason}",
    },
    "unassigned_you": {
        "en": "{ticket} is no longer yours: {reason}",
        "ru": "{ticket} больше не на вас: {reason}",
    },
    "unreachable": {
        "en": "{name} ({identity}) cannot be reached in a private chat, so they get no pings: {reason}. {advice}",
        "ru": "{name} ({identity}) недоступен(на) в личном чате и не получает уведомлений: {reason}. {advice}",
    },
    "unreachable_press_start": {
        "en": "Ask {name} to open a private chat with the bot and press Start (or unblock it); if they did, check their identity {identity} in the config.",
        "ru": "Попросите {name} открыть личный чат с ботом и нажать «Start» (или разблокировать бота); если это сделано, проверьте идентификатор {identity} в конфигурации.",
    },
    "unreachable_other": {
        "en": "Check {name}'s identity {identity} in the config, and that the app may message them.",
        "ru": "Проверьте идентификатор {identity} ({name}) в конфигурации и что приложению разрешено им писать.",
    },
    "delivery_failed": {
        "en": "{ticket}: your message could not be delivered to the customer ({reason}).",
        "ru": "{ticket}: сообщение клиенту не доставлено ({reason}).",
    },
    "reminder": {
        "en": "{cover}{ticket} · {priority}: {clock} — {percent}% of the target used, due {due}.",
        "ru": "{cover}{ticket} · {priority}: {clock} — использовано {percent}% срока, крайний срок {due}.",
    },
    "set_aside": {
        "en": "⚠ A {channel} update ({update}) could not be taken after {attempts} attempts; it is set aside so that the ones after it go on.\nError: {error}\nSet aside and waiting: {count}. `dutydesk deadletter list` shows them; `dutydesk deadletter retry ID` tries one again once the cause is fixed.",
        "ru": "⚠ Входящее обновление {channel} ({update}) не удалось принять за {attempts} попыток; оно отложено, чтобы следующие не ждали.\nОшибка: {error}\nОтложено и ждёт: {count}. `dutydesk deadletter list` — список; `dutydesk deadletter retry ID` — повторить, когда причина устранена.",
    },
    "breach": {
        "en": "{cover}{ticket} · {priority}: {clock} SLA breached (was due {due}).",
        "ru": "{cover}{ticket} · {priority}: нарушен SLA — {clock} (срок был {due}).",
    },
    "update_due": {
        "en": "{cover}{ticket}: the customer has had no update for {interval}. Please write to them.",
        "ru": "{cover}{ticket}: клиент не получал новостей {interval}. Напишите ему, пожалуйста.",
    },
    "update_soon": {
        "en": "{cover}{ticket}: the customer will get an automatic progress update at {due} ({interval} since they last heard from us). Write to them before then to tell them yourself.",
        "ru": "{cover}{ticket}: в {due} клиент получит автоматическое сообщение о ходе работ ({interval} без новостей от нас). Напишите ему раньше, чтобы рассказать самим.",
    },
    "progress_copy": {"en": "Automatic progress update to the customer: {text}", "ru": "Автоматическое сообщение клиенту о ходе работ: {text}"},
    "snoozed": {
        "en": "Reminder: {ticket} · {priority} · {subject}",
        "ru": "Напоминание: {ticket} · {priority} · {subject}",
    },
    "covering": {
        "en": "(for {name}, who is off duty) ",
        "ru": "(за {name}, он(а) не на смене) ",
    },
    "clock_first_response": {"en": "first response", "ru": "первый ответ"},
    "clock_resolution": {"en": "resolution", "ru": "решение"},
    "unassigned": {"en": "nobody yet", "ru": "пока никто"},
    "no_org": {"en": "no organisation", "ru": "без организации"},
    "button_take": {"en": "Take", "ru": "Взять"},
    "button_escalate": {"en": "Escalate", "ru": "Эскалировать"},
    "button_resolve": {"en": "Resolve", "ru": "Решено"},
    "button_snooze": {"en": "Snooze 30 min", "ru": "Отложить 30 мин"},
}

TEXTS = {**CUSTOMER_TEXTS, **STAFF_TEXTS}

# Words for the staff's views of a ticket: statuses, priorities, a calendar's holidays.
STAFF_WORDS: dict[str, dict[str, str]] = {
    "ticket_status_new": {"en": "new", "ru": "новое"},
    "ticket_status_assigned": {"en": "assigned", "ru": "назначено"},
    "ticket_status_in_progress": {"en": "in progress", "ru": "в работе"},
    "ticket_status_waiting_customer": {"en": "waiting for the customer", "ru": "ждёт клиента"},
    "ticket_status_resolved": {"en": "resolved", "ru": "решено"},
    "ticket_status_closed": {"en": "closed", "ru": "закрыто"},
    "priority_P1": {"en": "critical", "ru": "критический"},
    "priority_P2": {"en": "high", "ru": "высокий"},
    "priority_P3": {"en": "normal", "ru": "обычный"},
    "priority_P4": {"en": "low", "ru": "низкий"},
    "hours_holidays": {"en": "{where} holidays", "ru": "праздники {where}"},
    "hours_extra": {"en": "extra days off: {count}", "ru": "доп. выходных: {count}"},
    "hours_workdays": {"en": "transferred working days: {count}", "ru": "перенесённых рабочих дней: {count}"},
}

# Routing's reasons (English in routing/reasons.py) in the other staff languages, and the
# desk's own reasons in every staff language. A reason reaches each engineer in theirs.
REASONS: dict[str, dict[str, str]] = {
    "local": {"ru": "обращение на языке «{language}»: {on_duty}, знает этот язык"},
    "on_duty": {"ru": "{name} на смене"},
    "on_duty_via": {"ru": "{name} на смене ({via})"},
    "via_shift": {"ru": "смена {shift}"},
    "via_rotation_week": {"ru": "ротация {rotation} (неделя {turn})"},
    "via_rotation_turn": {"ru": "ротация {rotation} (очередь {turn})"},
    "via_override": {"ru": "подмена"},
    "via_override_covers": {"ru": "подмена: вместо {engineer}"},
    "via_override_why": {"ru": "подмена ({why})"},
    "via_override_covers_why": {"ru": "подмена: вместо {engineer} ({why})"},
    "at_capacity": {"ru": "у {name} предел нагрузки ({open}/{limit} открытых)"},
    "least_loaded": {"ru": "наименее загружен(а) из {count} на смене ({open} открытых)"},
    "office": {"ru": "{name} работает в офисе часового пояса клиента ({timezone})"},
    "no_local": {"ru": "нет свободного инженера {tier} со знанием языка «{language}» на смене в {at}"},
    "urgent": {"ru": "{priority} — срочное"},
    "covered": {"ru": "план {plan} действует в это время ({hours})"},
    "follows_sun": {"ru": "{why}, поэтому обращение идёт по солнцу: {on_duty}"},
    "nobody_reads": {"ru": "{why}, но и со знанием языка «{language}» свободных на смене нет"},
    "outside_hours": {"ru": "{priority} по плану {plan} вне его часов ({hours}): ждёт следующей местной смены"},
    "escalated": {"ru": "эскалация {old} → {new}{area}: {on_duty}"},
    "escalated_nobody": {"ru": "эскалация {old} → {new}{area}: из {new}{area} свободных на смене нет"},
    "queued_comes": {"ru": "в очереди: {name} выходит на смену {at}"},
    "queued_hours": {"ru": "в очереди: часы плана начинаются {at}, на смене будет {name}"},
    "queued_nobody": {"ru": "в очереди: никто подходящий не выйдет на смену в ближайшие {days} дн."},
    "wrote_in": {"ru": "клиент пишет на языке «{language}»"},
    "dedicated": {"ru": "выделенный инженер {organisation}: {on_duty}"},
    "dedicated_backup": {"ru": "выделенный инженер {organisation} {dedicated} не на смене; замена: {on_duty}"},
    "dedicated_off": {"ru": "выделенный инженер {organisation} {dedicated} и замена {backup} не на смене: обычные правила"},
    "dedicated_alone_off": {"ru": "выделенный инженер {organisation} {dedicated} не на смене: обычные правила"},
    # -- the desk's own ------------------------------------------------------------------
    "took_it": {"en": "{name} took it", "ru": "{name} взял(а) обращение"},
    "reassigned_by": {"en": "reassigned by {name}", "ru": "передано, решение: {name}"},
    "answered_customer": {"en": "{name} answered the customer", "ru": "{name} ответил(а) клиенту"},
    "escalated_by": {"en": "escalated by {name}", "ru": "эскалировал(а) {name}"},
    "breach_first_response": {"en": "automatic: first_response SLA breached",
                              "ru": "автоматически: нарушен SLA первого ответа"},
    "breach_resolution": {"en": "automatic: resolution SLA breached", "ru": "автоматически: нарушен SLA решения"},
}


def use_fallback(fallback: Mapping[str, str]) -> None:
    """The configured per-language fallback (`[desk] text_fallback`), set when the desk is
    built: one desk runs per process, and every text it renders follows its config."""
    _fallback.clear()
    _fallback.update(fallback)


def language_for(language: str | None) -> str:
    """The catalogue language a customer reading `language` gets: their own, the fallback
    the config names for it, else English (config validation makes sure that every
    language detection can choose has one of the first two)."""
    if language in CUSTOMER_LANGUAGES:
        return language
    return _fallback.get(language or "", "en")


def text(key: str, language: str | None, **values: object) -> str:
    return render(TEXTS, key, language, **values)


def render(catalogue: dict[str, dict[str, str]], key: str, language: str | None, **values: object) -> str:
    """`key`'s template in the reader's language (or the nearest one there is), filled in."""
    variants = catalogue[key]
    template = variants.get(language_for(language)) or variants["en"]
    return template.format(**values)


def why(key: str, **values: object) -> Reason:
    """One of the desk's own reasons (its English is in `REASONS` too)."""
    return Reason(key, REASONS[key]["en"], tuple(values.items()))


def staff_text(key: str, language: str, **values: object) -> str:
    """A staff text in a staff language (no customer fallback applies)."""
    variants = {**STAFF_TEXTS, **STAFF_WORDS}[key]
    return (variants.get(language) or variants["en"]).format(**values)


def reasons(items: Iterable[Reason | str], language: str, tz: str) -> str:
    """Reasons in a staff reader's words; a reason a person typed stays as typed."""
    return "; ".join(reason(item, language, tz) for item in items)


def reason(item: Reason | str, language: str, tz: str) -> str:
    if isinstance(item, str):
        return item
    return item.word(lambda r: REASONS.get(r.key, {}).get(language) or r.english,
                     lambda value: _value(value, language, tz))


def _value(value: object, language: str, tz: str) -> str:
    """A reason's value the reader's way: names of languages in their language, instants in
    their zone, opening hours with their weekday names."""
    if isinstance(value, Reason | str):
        return reason(value, language, tz)
    if isinstance(value, Lang):
        return language_name(value.code, language)
    if isinstance(value, At):
        return when(value.instant, tz, language)
    if isinstance(value, Hours):
        return hours(value.calendar, language)
    return str(value)


@lru_cache(maxsize=256)
def language_name(code: str, language: str) -> str:
    """A language's name in `language`, from Babel's CLDR data ("Kazakh", "казахский")."""
    try:
        return str(Locale.parse(language).languages.get(code) or english_language_name(code))
    except (ValueError, LookupError):
        return english_language_name(code)


def hours(calendar: BusinessCalendar, language: str) -> str:
    """A calendar's opening hours as `BusinessCalendar.describe` says them, in `language`."""
    if language == "en" or calendar.hours is None:
        return calendar.describe()
    days = tuple(d.capitalize() for d in _names(language)[0])
    text = f"{calendar.hours.describe(days)} {calendar.tz}"
    found = calendar.holidays
    parts = []
    if found.country:
        parts.append(staff_text("hours_holidays", language,
                                where=f"{found.country}/{found.subdiv}" if found.subdiv else found.country))
    if found.extra:
        parts.append(staff_text("hours_extra", language, count=len(found.extra)))
    if found.workdays:
        parts.append(staff_text("hours_workdays", language, count=len(found.workdays)))
    return ", ".join([text, *parts])


@lru_cache(maxsize=32)
def _names(language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Abbreviated weekday (Monday first) and month names, as dates are written in the
    language — from Babel's CLDR data once, not on every date."""
    locale = Locale.parse(language)
    days = locale.days["format"]["abbreviated"]
    months = locale.months["format"]["abbreviated"]
    return tuple(days[i] for i in range(7)), tuple(months[i] for i in range(1, 13))


def when(instant: datetime, tz: str, language: str | None) -> str:
    """A deadline as a person reads it: weekday, date, time, and the zone it is in."""
    return _when(instant, tz, language_for(language))


@lru_cache(maxsize=1024)
def _when(instant: datetime, tz: str, language: str) -> str:
    local = instant.astimezone(ZoneInfo(tz))
    days, months = _names(language)
    return f"{days[local.weekday()]} {local.day} {months[local.month - 1]} {local:%H:%M} ({tz})"
