"""Which language a customer writes in, so the router can hand the ticket to someone who reads it.

Chat messages are short ("ok", "vpn is down", "не работает"), and the costly mistake is
between near-identical languages: a Russian message routed to a Ukrainian- or Kazakh-only
queue. docs/langid.md has the measurements behind every choice made here; in short:

* lingua, always restricted to the configured languages (unrestricted it takes 1.2 GB);
* its high-accuracy models only for Cyrillic languages, where they are needed (Russian single
  words: 87 % high against 77 % low), and low-accuracy models for every other script, which
  keeps the default roster at about 135 MB instead of 265 MB;
* a lexicon rule for Russian typed in Latin letters, which no detector recognises;
* the ticket's and the sender's languages decide whenever the text itself cannot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lingua import ConfidenceValue, IsoCode639_1, Language, LanguageDetectorBuilder
from lingua import LanguageDetector as LinguaDetector

from routing.alphabets import CYRILLIC_LANGUAGES, is_cyrillic, letters, russian_by_letters
from routing.translit import read_translit


@dataclass(frozen=True)
class LanguageHints:
    """What is known about the sender besides the text; unset or unconfigured ones are skipped."""

    platform: str | None = None  # client language tag ("ru", "en-US", "pt-br"); base code used
    organisation: str | None = None  # the customer organisation's configured language
    ticket: str | None = None  # the language the ticket already has (follow-ups)


@dataclass(frozen=True)
class LanguageDecision:
    """The language to route by, and why, in words an engineer can check.

    `confidence` is the text's own score when the text decided, a fixed trust per hint when a
    hint did (ticket 0.7, platform 0.5, organisation 0.4), and 0 for the default.
    """

    language: str  # ISO 639-1, always one of the configured languages
    confidence: float  # 0..1
    source: str  # text | transliteration | ticket | platform | organisation | default
    reason: str


_NO_HINTS = LanguageHints()

# A reading must reach this confidence, over at least two words, to stand on its own (and so
# to change a ticket's language). On the default roster, word pairs reaching it are right
# 99.97 % of the time in Cyrillic and 98.9 % in Latin script, against 98.4 % and 96.5 % for
# all word pairs, and 90 % and 87 % for single words.
_CLEAR = 0.9
_MIN_CLEAR_WORDS = 2

# A hint in the text's script survives an unclear text only if the text leaves it this much.
_PLAUSIBLE = 0.1

# Within the Cyrillic cluster, a near tie goes to Russian: on word pairs it cuts the Russian
# messages labelled uk/be/kk from 2.6 % to 1.5 % (uk/be/kk labelled ru: 1.0 % to 1.4 %) at no
# cost in the cluster's accuracy, and whoever reads Ukrainian, Belarusian or Kazakh nearly
# always reads Russian too, while the reverse is rare.
_NEAR_TIE = 0.1

# Confidences are kept to this many decimals; see `_read_with`.
_DIGITS = 6

# Long pastes decide no better than their last hundred words, and cost linear time.
_MAX_WORDS = 100
# Longer runs of letters are no word of any language (a pasted hash, "xxxx…"), and the model's
# time grows with them: 100,000 letters took it 6 s, while every decision waits.
_MAX_WORD_LENGTH = 48

# How far each hint is trusted on its own, when the text cannot decide.
_HINT_CONFIDENCE: Mapping[str, float] = {"ticket": 0.7, "platform": 0.5, "organisation": 0.4}
_HINT_PHRASE: Mapping[str, str] = {
    "ticket": "kept the ticket's language",
    "platform": "used the sender's platform language",
    "organisation": "used the organisation's language",
}

# Things in a chat message that are in nobody's language: code, links, addresses, mentions,
# commands and emoji shortcodes. A pasted English stack trace must not outvote the customer.
_NOISE = re.compile(
    r"```.*?```|`[^`]*`"
    r"|<[^<>\s]*>"
    r"|\b(?:https?://|www\.)\S+"
    r"|(?<!\S)[^\s@]+@[^\s@]+\.\S+"  # from a token's start only: linear on a 100 kB run of letters
    r"|(?<!\w)[@#/][\w./-]+"
    r"|:[\w+-]+:",
    re.DOTALL,
)
_WORD = re.compile(r"[^\W\d_]+")

@dataclass(frozen=True)
class _Reading:
    """What the text alone says about its language."""

    language: str = ""  # empty when no configured language fits the letters
    confidence: float = 0.0
    words: int = 0
    source: str = "text"
    # Cyrillic letters, or Latin ones spelling Russian, are typed only by people who read such
    # a language, so they rule out hints in other languages. Plain Latin ("ok", "vpn") is
    # typed by everyone and rules out nothing.
    exclusive: bool = False
    scores: Mapping[str, float] = field(default_factory=dict)
    detail: str = ""

    @property
    def is_clear(self) -> bool:
        return bool(self.language) and self.words >= _MIN_CLEAR_WORDS and self.confidence >= _CLEAR

    def allows(self, hint: str) -> bool:
        if not self.language or not self.exclusive:
            return True
        return self.scores.get(hint, 0.0) >= _PLAUSIBLE

    def decide(self, reason: str) -> LanguageDecision:
        return LanguageDecision(self.language, self.confidence, self.source, reason)

    def describe(self) -> str:
        typed = " typed in Latin letters" if self.source == "transliteration" else ""
        return f"{self.language} ({self.confidence:.2f}) detected in text{typed}{self.detail}"


# What a text alone says about its language; `LanguageDetector.read_many` makes them in bulk.
Reading = _Reading


class LanguageDetector:
    """Detects the language of chat messages among a fixed set of configured languages.

    Models are loaded when the detector is built (about 1 s for the default roster) so the
    first customer message is as fast as the rest; build one per process and share it.
    """

    def __init__(self, languages: Sequence[str], default: str = "en", *, remember: int = 0) -> None:
        """`remember`: how many distinct texts' readings to keep (0: none). A running desk
        keeps none; `dutydesk simulate`, whose customers each write one text per language,
        keeps them all (`bot.simulate.arrivals.reader`)."""
        codes = _validated(languages)
        default = default.strip().lower()
        if default not in codes:
            raise ValueError(
                f"default language {default!r} is not one of the configured languages "
                f"{sorted(codes)}"
            )
        self._codes = codes
        self._default = default
        cyrillic = codes & CYRILLIC_LANGUAGES
        self._cyrillic = _lingua(cyrillic, low_accuracy=False)
        self._other = _lingua(codes - cyrillic, low_accuracy=True)
        self._russian = "ru" in codes
        self._spare_ukrainian = "uk" in cyrillic
        self._remember = remember
        self._readings: dict[str | None, _Reading] = {}

    def detect(
        self,
        text: str | None,
        hints: LanguageHints = _NO_HINTS,
        context: str | None = None,
        reading: Reading | None = None,
    ) -> LanguageDecision:
        """Decide the language of `text`, leaning on the hints and `context` when it is unclear.

        `context` is the ticket's earlier customer text; a follow-up keeps the ticket's
        language unless the new text is clearly in another one. `reading` is what
        `read_many` already made of `text`.
        """
        reading = reading or self._read(text)
        if reading.is_clear:
            return reading.decide(reading.describe())
        why = _why_unclear(text, reading)
        ticket = self._configured(hints.ticket)
        if ticket:
            return _from_hint("ticket", ticket, why)
        if context:
            combined = self._read(f"{context}\n{text or ''}")
            if combined.is_clear:
                return combined.decide(f"{combined.describe()} with the ticket's earlier text")
        for source, tag in (("platform", hints.platform), ("organisation", hints.organisation)):
            code = self._configured(tag)
            if code and reading.allows(code):
                return _from_hint(source, code, why)
        if reading.language:
            best = f"best guess {reading.language} ({reading.confidence:.2f})"
            return reading.decide(f"{why}; {best}")
        return LanguageDecision(
            self._default, 0.0, "default", f"{why}; used the default language {self._default}"
        )

    def _configured(self, tag: str | None) -> str | None:
        """'en-US', 'pt_BR', ' RU ' -> 'en', 'pt', 'ru'; None unless configured."""
        if not tag:
            return None
        base = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
        return base if base in self._codes else None

    def read_many(self, texts: Sequence[str | None]) -> list[Reading]:
        """What each text alone says, for a batch of messages: the model runs once per
        script for the whole batch, on every core (lingua's parallel API)."""
        if not self._remember:
            return self._read_many(texts)
        distinct = list(dict.fromkeys(texts))
        unknown = [text for text in distinct if text not in self._readings]
        if len(self._readings) + len(unknown) > self._remember:
            self._readings.clear()
            unknown = distinct
        self._readings.update(zip(unknown, self._read_many(unknown), strict=True))
        return [self._readings[text] for text in texts]

    def _read_many(self, texts: Sequence[str | None]) -> list[_Reading]:
        plans = [self._plan(text) for text in texts]
        for model in {id(p.model): p.model for p in plans if isinstance(p, _Query)}.values():
            queries = [p for p in plans if isinstance(p, _Query) and p.model is model]
            results = model.compute_language_confidence_values_in_parallel([q.text for q in queries])
            for query, values in zip(queries, results, strict=True):
                query.values = values
        return [p if isinstance(p, _Reading) else self._finish(p) for p in plans]

    def _read(self, text: str | None) -> _Reading:
        plan = self._plan(text)
        if isinstance(plan, _Reading):
            return plan
        plan.values = plan.model.compute_language_confidence_values(plan.text)
        return self._finish(plan)

    def _plan(self, text: str | None) -> _Reading | _Query:
        """Decide by rules what rules can decide; otherwise say what to ask which model."""
        words = [w for w in _WORD.findall(_NOISE.sub(" ", text or "")) if len(w) <= _MAX_WORD_LENGTH][-_MAX_WORDS:]
        cyrillic = [w for w in words if is_cyrillic(w)]
        if 2 * letters(cyrillic) > letters(words):
            by_letters = self._russian_by_letters(cyrillic)
            if by_letters is not None:
                return by_letters
            joined = " ".join(cyrillic)
            if self._spare_ukrainian:
                # lingua's letter rule lists "щ" for Russian, Bulgarian, Kazakh and Mongolian
                # but not Ukrainian, so "що це тобі" comes out Kazakh at 1.00 and Ukrainian
                # sentences lose 4 %. "ш" is shared by all four; fixed upstream in Kotlin
                # lingua only (#193).
                joined = joined.replace("щ", "ш").replace("Щ", "Ш")
            return _query(self._cyrillic, joined, len(cyrillic), cyrillic=True)
        others = [w for w in words if not is_cyrillic(w)]
        if self._russian:
            translit = read_translit(" ".join(others))
            if translit.is_russian:
                return _Reading(
                    "ru",
                    translit.share,
                    translit.words,
                    "transliteration",
                    exclusive=True,
                    scores={"ru": translit.share},
                    detail=f" ({', '.join(translit.distinctive)})",
                )
        return _query(self._other, " ".join(others), len(others), cyrillic=False)

    def _finish(self, query: _Query) -> _Reading:
        reading = _reading_of(query.values, query.words, exclusive=query.cyrillic)
        if not query.cyrillic or not self._russian or reading.language in ("", "ru"):
            return reading
        russian = reading.scores.get("ru", 0.0)
        if reading.confidence - russian >= _NEAR_TIE:
            return reading
        return _Reading(
            "ru",
            russian,
            reading.words,
            exclusive=True,
            scores=reading.scores,
            detail=f"; near tie with {reading.language} ({reading.confidence:.2f}) goes to ru",
        )

    def _russian_by_letters(self, words: list[str]) -> _Reading | None:
        if not self._russian or len(words) < _MIN_CLEAR_WORDS:
            return None
        detail = russian_by_letters(words, self._codes & CYRILLIC_LANGUAGES)
        if detail is None:
            return None
        return _Reading("ru", 1.0, len(words), exclusive=True, scores={"ru": 1.0}, detail=detail)


def _validated(languages: Sequence[str]) -> frozenset[str]:
    """Fail at start-up, naming the bad code, rather than route wrongly later.

    A bare string is refused: "en" would otherwise be read as the codes "e" and "n".
    """
    if isinstance(languages, str):
        raise ValueError(f"languages must be a sequence of codes, not the string {languages!r}")
    codes = frozenset(code.strip().lower() for code in languages)
    if not codes:
        raise ValueError("at least one language must be configured")
    for code in sorted(codes):
        _lingua_language(code)
    return codes


def _lingua_language(code: str) -> Language:
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
    except ValueError:
        raise ValueError(
            f"unsupported language code {code!r}: expected an ISO 639-1 code lingua knows"
        ) from None


def _lingua(codes: Iterable[str], *, low_accuracy: bool) -> LinguaDetector | None:
    """Preloaded, so the first customer message does not wait for models to load."""
    languages = [_lingua_language(code) for code in sorted(codes)]
    if not languages:
        return None
    builder = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models()
    return (builder.with_low_accuracy_mode() if low_accuracy else builder).build()


@dataclass
class _Query:
    """A text a model must score (filled in by `values`)."""

    model: LinguaDetector
    text: str
    words: int
    cyrillic: bool
    values: list[ConfidenceValue] = field(default_factory=list)


def _query(model: LinguaDetector | None, text: str, words: int, *, cyrillic: bool) -> _Reading | _Query:
    if model is None or words == 0:
        return _Reading(words=words, exclusive=cyrillic)
    return _Query(model, text, words, cyrillic)


def _reading_of(values: Iterable[ConfidenceValue], words: int, *, exclusive: bool) -> _Reading:
    """Scores rounded, ties ranked by code: the same text must always get the same answer.

    lingua sums n-gram probabilities in hash-set order, so its confidences differ in the last
    bits from one call to the next ("да": kk 0.3744224793561596, then ...595).
    """
    scores = {_CODE[value.language]: round(value.value, _DIGITS) for value in values}
    if not scores:
        return _Reading(words=words, exclusive=exclusive)
    language, confidence = min(scores.items(), key=lambda item: (-item[1], item[0]))
    if confidence <= 0.0:
        return _Reading(words=words, exclusive=exclusive)
    return _Reading(language, confidence, words, exclusive=exclusive, scores=scores)


# lingua's Language to its ISO code, looked up once (the attribute chain costs per call).
_CODE: Mapping[Language, str] = {language: language.iso_code_639_1.name.lower() for language in Language.all()}


def _from_hint(source: str, code: str, why: str) -> LanguageDecision:
    return LanguageDecision(
        code, _HINT_CONFIDENCE[source], source, f"{why}; {_HINT_PHRASE[source]} {code}"
    )


def _why_unclear(text: str | None, reading: _Reading) -> str:
    """The first half of a reason; quoting the text lets an engineer judge the call."""
    if not (text or "").strip():
        return "empty message"
    quoted = _quote(text or "")
    if reading.words == 0:
        return f"no words in the message ({quoted})"
    if reading.words < _MIN_CLEAR_WORDS:
        return f"text too short to decide ({quoted})"
    if not reading.language:
        return f"no configured language fits the text ({quoted})"
    return f"text ambiguous, at best {reading.language} ({reading.confidence:.2f}) ({quoted})"


def _quote(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return f"'{flat}'" if len(flat) <= limit else f"'{flat[: limit - 1]}…'"
