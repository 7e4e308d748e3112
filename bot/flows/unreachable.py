"""An engineer the desk cannot reach privately: the leads are told, once, what to do.

On Telegram a bot may not start a private chat: until an engineer presses Start in theirs,
every ping to them fails (a blocked bot fails the same way). Nobody reads the dispatcher's
log at night, so the first such failure goes to the team leads in chat — once per engineer
and channel, kept in the database like an inbound key, so that neither a stream of failed
pings nor a restart repeats it. A lead is not told about themselves. What to advise them
is the channel's to say (its descriptor's `unreachable_advice`).
"""

from __future__ import annotations

import logging

from bot.core.services import Services
from bot.delivery.contract import Outbound
from bot.delivery.descriptor import UNREACHABLE_ADVICE
from bot.i18n import texts
from storage.base import DuplicateKey

log = logging.getLogger("dutydesk.unreachable")


async def tell_leads(s: Services, message: Outbound, reason: str) -> None:
    """The caller holds the desk's lock."""
    rcpt = message.recipient
    engineer = s.directory.engineer(rcpt.person)
    if engineer is None:
        return
    identity = f"{rcpt.channel}:{rcpt.chat_id}"
    log.warning("%s (%s) cannot be reached privately: %s", engineer.id, identity, reason)
    descriptor = s.cfg.descriptor(rcpt.channel)
    advice_key = descriptor.unreachable_advice if descriptor is not None else UNREACHABLE_ADVICE
    work = s.work()
    work.take_key(f"unreachable:{rcpt.channel}:{engineer.id}", None)
    for lead in s.directory.leads():
        if lead.id == engineer.id:
            continue
        lang = s.notifier.engineer_language(lead)
        advice = texts.staff_text(advice_key, lang, name=engineer.name.split()[0], identity=identity)
        body = texts.staff_text("unreachable", lang, name=engineer.name, identity=identity, reason=reason,
                                advice=advice)
        work.send(s.notifier.to_engineer(lead, "alert", body))
    try:
        await s.commit(work)
    except DuplicateKey:
        pass  # the leads were told the first time
