"""The compiled gettext catalogues that ship in the package: one locale folder, two domains.

`customer` holds what customers read — and what anyone may get from the command layer
(errors such as "unknown command" reach staff too); `staff` what only engineers and team
leads read: pings, headers, reminders, command replies, and the reasons behind routing
decisions (under the message context `reason`, since a reason's key may also name a text).

Message ids are stable keys (`ack_assigned`), not English sentences: the English wording is
the `en` catalogue, a language like the others, so an English fix does not orphan every
translation, the same English word can mean two things in two places, and a text missing
in English is caught by the same test as one missing in Polish (see docs/languages.md).

The folder is `bot/i18n/locale/<lang>/LC_MESSAGES/<domain>.mo`; which languages a domain
has is read from it, so adding a catalogue (`make i18n`) is all it takes to add a language.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
CUSTOMER = "customer"
STAFF = "staff"
DOMAINS = (CUSTOMER, STAFF)
SOURCE_LANGUAGE = "en"


def languages(domain: str) -> tuple[str, ...]:
    """The languages `domain` has a compiled catalogue in, English first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{domain}.mo"))
    return tuple(sorted(found, key=lambda code: code != SOURCE_LANGUAGE))


@lru_cache(maxsize=64)
def catalogue(domain: str, language: str) -> gettext.NullTranslations:
    """`language`'s catalogue of `domain`, with the English one behind it: at run time a
    key missing in a language reads English rather than the bare key (the catalogue tests
    make sure none is missing); a language with no catalogue reads English."""
    english = Translations.load(str(LOCALE_DIR), [SOURCE_LANGUAGE], domain)
    if language == SOURCE_LANGUAGE:
        return english
    found = Translations.load(str(LOCALE_DIR), [language], domain)
    if not isinstance(found, Translations):  # no such catalogue: Babel gives NullTranslations
        return english
    found.add_fallback(english)
    return found
