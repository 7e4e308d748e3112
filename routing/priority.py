"""Priority detection: what the customer chose, what the text says, and the plan's floor.

Customers routinely write "everything is down" and leave the priority at Normal, and the
queue is ordered by priority, so the text may *raise* a priority — never lower it silently.
Every decision carries a sentence a team lead can read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    """P1 is the most urgent; a smaller number always wins."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Accept what people type: P1, p2, 1, critical, high, normal, low."""
        key = text.strip().lower()
        for priority in cls:
            if key in (priority.name.lower(), str(priority.value), priority.label):
                return priority
        raise ValueError(f'"{text}" is not a priority (use P1, P2, P3, P4)')


_LABELS = {Priority.P1: "critical", Priority.P2: "high", Priority.P3: "normal", Priority.P4: "low"}


@dataclass(frozen=True)
class PriorityRule:
    """A phrase (or `re:` regular expression) that, found in a message, means `priority`."""

    priority: Priority
    pattern: str


@dataclass(frozen=True)
class PriorityDecision:
    priority: Priority
    source: str  # "text" | "chosen" | "plan" | "default"
    reason: str
    matched: str | None = None


# Built in for the languages the desk detects (ru, en, uk, be, kk, pl, da, and Russian typed
# in Latin letters); `[routing.priority]` adds to them. A phrase inside a longer matching
# one does not count, so "не срочно" (P4) is not "срочно" (P2).
DEFAULT_RULES: Mapping[Priority, Sequence[str]] = {
    Priority.P1: (
        # ru
        "всё упало", "все упало", "всё легло", "всё лежит", "всё сломалось", "ничего не работает",
        "не работает ничего", "потеря данных", "потеряли данные", "сервис недоступен",
        "сервер упал", "упал сервер", "прод упал", "авария",
        # en
        "production down", "production is down", "prod down", "prod is down", "everything is down",
        "outage", "data loss", "lost data", "site is down", "system is down", "server is down",
        "service is down", "nothing works", "nothing is working", "emergency", "data corruption",
        # uk, be, kk
        "все впало", "нічого не працює", "втрата даних", "аварія", "нічога не працуе",
        "ештеңе жұмыс істемейді", "деректер жоғалды",
        # pl, da
        "nic nie działa", "awaria", "utrata danych", "alt er nede", "intet virker",
        "ingenting virker", "datatab", "nedbrud",
        # Russian in Latin letters
        "vse upalo", "vsyo upalo", "nichego ne rabotaet",
    ),
    Priority.P2: (
        # ru
        "срочно", "критично", "не работает", "не могу войти", "сломалось", "как можно скорее",
        # en
        "urgent", "asap", "critical", "doesn't work", "does not work", "not working", "is down",
        "broken", "can't log in", "cannot log in", "can't login", "cannot login", "unable to log in",
        "crashed", "crashes", "blocker",
        # uk, be, kk
        "терміново", "не працює", "не можу увійти", "тэрмінова", "не працуе", "шұғыл",
        "жұмыс істемейді",
        # pl, da
        "pilne", "pilnie", "nie działa", "krytyczne", "haster", "virker ikke", "akut", "kritisk",
        # Russian in Latin letters
        "srochno", "ne rabotaet",
    ),
    Priority.P4: (
        "не срочно", "несрочно", "не горит", "когда будет время", "not urgent", "no rush",
        "low priority", "не терміново", "nie pilne", "haster ikke",
    ),
}


def default_rules() -> tuple[PriorityRule, ...]:
    return rules_from_mapping(DEFAULT_RULES)


def rules_from_mapping(mapping: Mapping[Priority, Iterable[str]]) -> tuple[PriorityRule, ...]:
    return tuple(
        PriorityRule(priority, pattern) for priority, patterns in mapping.items() for pattern in patterns
    )


class PriorityDetector:
    """Compiled rules; build once per configuration (compiling on every message is waste)."""

    def __init__(self, rules: Iterable[PriorityRule], default: Priority = Priority.P3) -> None:
        self.default = default
        # Phrases are looked up word by word (a dict from first word to the phrases starting
        # with it): one pass over the message whatever the number of phrases. Regular
        # expressions, for what words cannot say, are searched one by one.
        self._phrases: dict[str, list[tuple[tuple[str, ...], Priority, str]]] = {}
        self._regexes: list[tuple[Priority, str, re.Pattern[str]]] = []
        for rule in rules:
            if rule.pattern.startswith("re:"):
                self._regexes.append((rule.priority, rule.pattern, _compile(rule.pattern)))
                continue
            words = tuple(_WORDS.findall(normalise(rule.pattern)))
            if not words:
                raise ValueError("a priority pattern must not be empty")
            self._phrases.setdefault(words[0], []).append((words, rule.priority, rule.pattern))

    def decide(
        self,
        text: str | None,
        *,
        chosen: Priority | None = None,
        floor: Priority | None = None,
        plan: str | None = None,
    ) -> PriorityDecision:
        """The most urgent of: the customer's choice, the text's strongest match, the plan floor."""
        candidates: list[PriorityDecision] = []
        matched = self._match(text or "")
        if matched is not None:
            priority, phrase = matched
            candidates.append(PriorityDecision(priority, "text", f"matched '{phrase}'", phrase))
        if chosen is not None:
            candidates.append(PriorityDecision(chosen, "chosen", "chosen by the customer"))
        if floor is not None:
            where = f"plan {plan}" if plan else "the plan"
            candidates.append(PriorityDecision(floor, "plan", f"floor of {where}"))
        if not candidates:
            return PriorityDecision(self.default, "default", f"{self.default.name}: nothing urgent found")
        best = min(candidates, key=lambda c: (c.priority, _SOURCE_RANK[c.source]))
        raised = [c for c in candidates if c.priority > best.priority]
        reason = f"{best.priority.name}: {best.reason}"
        if raised:
            reason += " (raised over " + "; ".join(f"{c.priority.name} {c.reason}" for c in raised) + ")"
        return PriorityDecision(best.priority, best.source, reason, best.matched)

    def _match(self, text: str) -> tuple[Priority, str] | None:
        """The most urgent phrase found — but a phrase inside a longer one that also matched
        does not count: in "not urgent" (P4) the word "urgent" (P2) is not a finding."""
        folded = normalise(text)
        words = _WORDS.findall(folded)
        found = [
            (i, i + len(phrase), priority, pattern)
            for i, word in enumerate(words)
            for phrase, priority, pattern in self._phrases.get(word, ())
            if tuple(words[i:i + len(phrase)]) == phrase
        ]
        standing = _outermost(found)
        standing += [(m.start(), m.end(), priority, pattern)
                     for priority, pattern, regex in self._regexes for m in regex.finditer(folded)]
        if not standing:
            return None
        _, _, priority, phrase = min(standing, key=lambda f: (f[2], f[0]))
        return priority, phrase


_SOURCE_RANK = {"chosen": 0, "text": 1, "plan": 2, "default": 3}

_Found = tuple[int, int, Priority, str]  # first word, past the last word, priority, pattern


def _outermost(found: list[_Found]) -> list[_Found]:
    """The findings no longer finding contains. Only one that starts at most a phrase's
    length before can contain it, so a message repeating "urgent!" 15,000 times costs a
    pass, not 15,000 squared comparisons."""
    by_start: dict[int, list[_Found]] = {}
    for f in found:
        by_start.setdefault(f[0], []).append(f)
    longest = max((f[1] - f[0] for f in found), default=0)

    def inside(f: _Found) -> bool:
        return any(o[0] <= f[0] and f[1] <= o[1] and (o[1] - o[0]) > (f[1] - f[0])
                   for start in range(f[0] - longest + 1, f[0] + 1) for o in by_start.get(start, ()))

    return [f for f in found if not inside(f)]


def normalise(text: str) -> str:
    """Fold case, ё and runs of white space so that 'Всё  УПАЛО' matches 'все упало'."""
    return re.sub(r"\s+", " ", text.casefold().replace("ё", "е")).strip()


# Words, and every other non-space character on its own, so "c++ (prod)" stays literal.
_WORDS = re.compile(r"\w+|[^\w\s]")


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        # The text is folded (case, ё→е) before matching; so is the pattern.
        return re.compile(pattern[3:].replace("ё", "е").replace("Ё", "Е"), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f'"{pattern}" is not a valid regular expression: {exc}') from None
