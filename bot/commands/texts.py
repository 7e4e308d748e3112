"""What the command layer says. Customer texts in every customer language; staff texts in
every staff language (`bot.i18n.texts.STAFF_LANGUAGES`)."""

from __future__ import annotations

from bot.i18n.texts import render

# What customers may read (and staff too): every one in each customer language.
COMMAND_CUSTOMER_TEXTS: dict[str, dict[str, str]] = {
    # -- errors ---------------------------------------------------------------------------
    "unknown_command": {
        "en": "Unknown command “{name}”. Send help for the list.",
        "ru": "Неизвестная команда «{name}». Отправьте help, чтобы увидеть список.",
        "uk": "Невідома команда «{name}». Надішліть help, щоб побачити список.",
        "pl": "Nieznane polecenie „{name}”. Wyślij help, aby zobaczyć listę.",
        "da": "Ukendt kommando “{name}”. Send help for at se listen.",
    },
    "not_allowed": {
        "en": "Not allowed: {name} is for {who}. Nothing was changed.",
        "ru": "Нет доступа: команда {name} только для {who}. Ничего не изменено.",
        "uk": "Немає доступу: команда {name} лише для {who}. Нічого не змінено.",
        "pl": "Brak uprawnień: {name} jest dla {who}. Nic nie zostało zmienione.",
        "da": "Ikke tilladt: {name} er for {who}. Intet er ændret.",
    },
    "usage": {
        "en": "Usage: {usage}",
        "ru": "Использование: {usage}",
        "uk": "Використання: {usage}",
        "pl": "Użycie: {usage}",
        "da": "Brug: {usage}",
    },
    "unknown_ticket": {
        "en": "No ticket {ticket}.",
        "ru": "Обращения {ticket} нет.",
        "uk": "Звернення {ticket} немає.",
        "pl": "Nie ma zgłoszenia {ticket}.",
        "da": "Der er ingen henvendelse {ticket}.",
    },
    "no_open_ticket": {
        "en": "You have no open request here. Just write your question to open one.",
        "ru": "Здесь нет открытых обращений. Просто напишите свой вопрос, чтобы открыть новое.",
        "uk": "Тут немає відкритих звернень. Просто напишіть своє питання, щоб відкрити нове.",
        "pl": "Nie masz tu otwartego zgłoszenia. Po prostu napisz pytanie, aby je otworzyć.",
        "da": "Du har ingen åben henvendelse her. Skriv blot dit spørgsmål for at åbne en.",
    },
    "not_yours": {
        "en": "{ticket} is not your request.",
        "ru": "{ticket} — не ваше обращение.",
        "uk": "{ticket} — не ваше звернення.",
        "pl": "{ticket} nie jest Twoim zgłoszeniem.",
        "da": "{ticket} er ikke din henvendelse.",
    },
    "ticket_closed": {
        "en": "{ticket} is closed.",
        "ru": "Обращение {ticket} закрыто.",
        "uk": "Звернення {ticket} закрито.",
        "pl": "Zgłoszenie {ticket} jest zamknięte.",
        "da": "{ticket} er lukket.",
    },
    "who_leads": {"en": "team leads", "ru": "руководителей смены", "uk": "керівників зміни",
                  "pl": "liderów zespołu", "da": "teamledere"},
    "who_staff": {"en": "engineers", "ru": "инженеров", "uk": "інженерів", "pl": "inżynierów", "da": "teknikere"},
    "who_customers": {"en": "customers", "ru": "клиентов", "uk": "клієнтів", "pl": "klientów", "da": "kunder"},
    # -- customers --------------------------------------------------------------------------
    "start": {
        "en": "Hello{name}! This is {desk}, the support desk. Write your question here: a ticket is opened and an engineer answers in this chat, in your language. /status shows your requests, /new starts a new one, /urgent marks the current one urgent, /close closes it.",
        "ru": "Здравствуйте{name}! Это {desk}, служба поддержки. Напишите вопрос сюда: будет открыто обращение, и инженер ответит в этом чате на вашем языке. /status — ваши обращения, /new — новое обращение, /urgent — отметить текущее как срочное, /close — закрыть.",
        "uk": "Вітаємо{name}! Це {desk}, служба підтримки. Напишіть питання сюди: буде відкрито звернення, і інженер відповість у цьому чаті вашою мовою. /status — ваші звернення, /new — нове звернення, /urgent — позначити поточне як термінове, /close — закрити.",
        "pl": "Dzień dobry{name}! Tu {desk}, dział wsparcia. Napisz tutaj swoje pytanie: zostanie otwarte zgłoszenie, a inżynier odpowie na tym czacie w Twoim języku. /status pokazuje Twoje zgłoszenia, /new otwiera nowe, /urgent oznacza bieżące jako pilne, /close je zamyka.",
        "da": "Hej{name}! Dette er {desk}, supporten. Skriv dit spørgsmål her: en henvendelse oprettes, og en tekniker svarer i denne chat på dit sprog. /status viser dine henvendelser, /new starter en ny, /urgent markerer den nuværende som hastende, /close lukker den.",
    },
    "status_none": {
        "en": "You have no open requests.",
        "ru": "У вас нет открытых обращений.",
        "uk": "У вас немає відкритих звернень.",
        "pl": "Nie masz otwartych zgłoszeń.",
        "da": "Du har ingen åbne henvendelser.",
    },
    "status_head": {
        "en": "Your open requests:",
        "ru": "Ваши открытые обращения:",
        "uk": "Ваші відкриті звернення:",
        "pl": "Twoje otwarte zgłoszenia:",
        "da": "Dine åbne henvendelser:",
    },
    "status_line": {language: "{ticket} · {status} · {priority} · {subject}{next}"
                    for language in ("en", "ru", "uk", "pl", "da")},
    "status_next": {
        "en": " — {clock} by {due}",
        "ru": " — {clock} до {due}",
        "uk": " — {clock} до {due}",
        "pl": " — {clock} do {due}",
        "da": " — {clock} senest {due}",
    },
    "clock_first_response": {"en": "first answer", "ru": "первый ответ", "uk": "перша відповідь",
                             "pl": "pierwsza odpowiedź", "da": "første svar"},
    "clock_resolution": {"en": "solution", "ru": "решение", "uk": "рішення", "pl": "rozwiązanie", "da": "løsning"},
    "status_new": {"en": "registered", "ru": "зарегистрировано", "uk": "зареєстровано", "pl": "zarejestrowane",
                   "da": "registreret"},
    "status_assigned": {"en": "with an engineer", "ru": "у инженера", "uk": "в інженера", "pl": "u inżyniera",
                        "da": "hos en tekniker"},
    "status_in_progress": {"en": "in progress", "ru": "в работе", "uk": "в роботі", "pl": "w toku",
                           "da": "i gang"},
    "status_waiting_customer": {"en": "waiting for your answer", "ru": "ждём вашего ответа",
                                "uk": "чекаємо на вашу відповідь", "pl": "czekamy na Twoją odpowiedź",
                                "da": "venter på dit svar"},
    "status_resolved": {"en": "resolved", "ru": "решено", "uk": "вирішено", "pl": "rozwiązane", "da": "løst"},
    "status_closed": {"en": "closed", "ru": "закрыто", "uk": "закрито", "pl": "zamknięte", "da": "lukket"},
    "new_ready": {
        "en": "Write your new question in the next message: it will open a new request.",
        "ru": "Напишите новый вопрос следующим сообщением — он откроет новое обращение.",
        "uk": "Напишіть нове питання наступним повідомленням — воно відкриє нове звернення.",
        "pl": "Napisz nowe pytanie w następnej wiadomości — otworzy ono nowe zgłoszenie.",
        "da": "Skriv dit nye spørgsmål i næste besked: det åbner en ny henvendelse.",
    },
    "already_urgent": {
        "en": "{ticket} is already {priority}.",
        "ru": "Обращение {ticket} уже {priority}.",
        "uk": "Звернення {ticket} вже {priority}.",
        "pl": "Zgłoszenie {ticket} ma już {priority}.",
        "da": "{ticket} er allerede {priority}.",
    },
    "rate_first": {
        "en": "You can rate {ticket} once it is resolved.",
        "ru": "Оценить {ticket} можно после решения.",
        "uk": "Оцінити {ticket} можна після вирішення.",
        "pl": "Zgłoszenie {ticket} można ocenić po rozwiązaniu.",
        "da": "Du kan vurdere {ticket}, når den er løst.",
    },
}

# What only staff read: every one in each staff language.
COMMAND_STAFF_TEXTS: dict[str, dict[str, str]] = {
    "escalate_own": {
        "en": "{ticket} is not yours: an engineer escalates their own tickets, a team lead any. Nothing was changed.",
        "ru": "{ticket} не на вас: инженер эскалирует свои обращения, руководитель смены — любые. Ничего не изменено.",
        "uk": "{ticket} не на вас: інженер ескалює свої звернення, керівник зміни — будь-які. Нічого не змінено.",
        "pl": "{ticket} nie jest Twoje: inżynier eskaluje swoje zgłoszenia, kierownik zmiany — każde. Nic nie zostało zmienione.",
        "da": "{ticket} er ikke din: en tekniker eskalerer sine egne henvendelser, en teamleder alle. Intet er ændret.",
    },
    "unknown_customer": {
        "en": "No organisation or customer “{what}”: give an organisation's id or name, a chat identity "
              "(telegram:12345, slack:U024BE7LH) or a ticket.",
        "ru": "Нет организации или клиента «{what}»: укажите id или название организации, идентификатор в чате "
              "(telegram:12345, slack:U024BE7LH) или обращение.",
    },
    "history_head": {"en": "{who}: the latest {count} tickets, newest first:",
                     "ru": "{who}: последние обращения ({count}), сначала новые:"},
    "templates_list": {"en": "Prepared answers: {names}. Send one with: answer T-1042 NAME",
                       "ru": "Готовые ответы: {names}. Отправить: answer T-1042 НАЗВАНИЕ"},
    "unknown_template": {"en": "No prepared answer “{name}”. There are: {names}.",
                         "ru": "Нет готового ответа «{name}». Есть: {names}."},
    "answered": {"en": "{ticket}: sent “{name}” to the customer ({lang}).",
                 "ru": "{ticket}: клиенту отправлен ответ «{name}» ({lang})."},
    "unknown_engineer": {"en": "No engineer “{who}” in the roster.", "ru": "В графике нет инженера «{who}»."},
    "bad_time": {
        "en": "“{text}” is not a time: use 2026-11-25T10:00, 10:00, now or +2h.",
        "ru": "«{text}» — не время: пишите 2026-11-25T10:00, 10:00, now или +2h.",
    },
    "failed": {"en": "Could not do that: {reason}", "ru": "Не получилось: {reason}"},
    "start_staff": {
        "en": "Hello{name}! You are on the {desk} roster as {role}. Your pings, reminders and alerts come to this chat; answer customers in each ticket's thread in the staff room. Your commands:\n{commands}",
        "ru": "Здравствуйте{name}! Вы в графике {desk}: {role}. Уведомления, напоминания и оповещения приходят в этот чат; клиентам отвечайте в ветке обращения в чате поддержки. Ваши команды:\n{commands}",
    },
    "role_engineer": {"en": "an engineer ({tier})", "ru": "инженер ({tier})"},
    "role_lead": {"en": "a team lead", "ru": "руководитель смены"},
    "role_admin": {"en": "an administrator", "ru": "администратор"},
    "taken": {"en": "{ticket} is yours now.", "ru": "{ticket} теперь на вас."},
    "already_yours": {"en": "{ticket} is already yours.", "ru": "{ticket} уже на вас."},
    "reassigned": {"en": "{ticket} → {name}.", "ru": "{ticket} → {name}."},
    "escalated": {"en": "{ticket} escalated to {tier}: {outcome}.", "ru": "{ticket} эскалировано на {tier}: {outcome}."},
    "queued_until": {"en": "queued until {due}", "ru": "в очереди до {due}"},
    "priority_set": {"en": "{ticket} is now {priority}.", "ru": "{ticket} теперь {priority}."},
    "priority_same": {"en": "{ticket} is already {priority}.", "ru": "{ticket} уже {priority}."},
    "paused": {"en": "{ticket} waits for the customer; the resolution clock is paused.",
               "ru": "{ticket} ждёт клиента; часы решения остановлены."},
    "resumed": {"en": "{ticket} is back in progress; the resolution clock runs.",
                "ru": "{ticket} снова в работе; часы решения идут."},
    "resolved_ok": {"en": "{ticket} resolved; the customer was asked for a rating.",
                    "ru": "{ticket} решено; клиента попросили оценить работу."},
    "closed_ok": {"en": "{ticket} closed.", "ru": "{ticket} закрыто."},
    "noted": {"en": "Note added to {ticket}.", "ru": "Заметка добавлена в {ticket}."},
    "snoozed_ok": {"en": "{ticket}: I will remind you at {due}.", "ru": "{ticket}: напомню в {due}."},
    "override_ok": {"en": "{name} is on duty {start} — {end}{replaces}.", "ru": "{name} на смене {start} — {end}{replaces}."},
    "override_replaces": {"en": " instead of {name}", "ru": " вместо {name}"},
    "mine_none": {"en": "You have no open tickets.", "ru": "У вас нет открытых обращений."},
    "queue_none": {"en": "The queue is empty: nothing unassigned or at risk.",
                   "ru": "Очередь пуста: нет ни неназначенных, ни рискующих обращений."},
    "queue_head": {"en": "Queue (unassigned and at risk), by deadline:", "ru": "Очередь (неназначенные и под угрозой), по срокам:"},
    "oncall_now": {"en": "On duty now:", "ru": "Сейчас на смене:"},
    "oncall_next": {"en": "Next:", "ru": "Далее:"},
    "oncall_nobody": {"en": "  nobody", "ru": "  никого"},
    "handover_head": {"en": "Handover from {name} — {count} open:", "ru": "Передача смены от {name} — открыто {count}:"},
    "rated_staff": {"en": "{ticket} rated {rating}/5 by the customer.", "ru": "Клиент оценил {ticket}: {rating}/5."},
    "dashboard_link": {"en": "Your dashboard link (one use, valid {minutes} min; do not forward it):\n{url}",
                       "ru": "Ваша ссылка на панель (одноразовая, действует {minutes} мин; не пересылайте её):\n{url}"},
    "dashboard_off": {"en": "The dashboard is not enabled on this desk ([dashboard] enabled = true).",
                      "ru": "Панель на этом сервисе не включена ([dashboard] enabled = true)."},
    "dashboard_private": {"en": "Ask for a dashboard link in a private chat with me: a link is personal.",
                          "ru": "Запросите ссылку на панель в личном чате со мной: ссылка персональная."},
}


COMMAND_TEXTS = {**COMMAND_CUSTOMER_TEXTS, **COMMAND_STAFF_TEXTS}


def say(key: str, language: str | None, **values: object) -> str:
    return render(COMMAND_TEXTS, key, language, **values)
