"""Which Cyrillic languages a text's letters allow: Russian decided without a model.

The letters each Cyrillic language is written with. A text whose letters fit only Russian
among the configured languages is Russian without asking a model: "ы э ъ ё" rule out
Ukrainian, "и щ ъ" Belarusian. Kazakh uses every Russian letter plus its own (ә ғ қ ң ө ұ
ү һ і), so a text without any of those is taken for Russian only from four words on —
no Kazakh sentence of that length goes without them. Cheap, and most Russian messages
end here (the model costs ≈ 0.3 ms a message; `routing/language.py` asks it otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lingua import Language

ALPHABETS: Mapping[str, frozenset[str]] = {
    "ru": frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
    "uk": frozenset("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'ʼ"),
    "be": frozenset("абвгдеёжзійклмнопрстуўфхцчшыьэюя'ʼ"),
    "kk": frozenset("аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"),
}
SUPERSET_MIN_WORDS = 4

CYRILLIC_LANGUAGES = frozenset(
    language.iso_code_639_1.name.lower() for language in Language.all_with_cyrillic_script()
)


def is_cyrillic(word: str) -> bool:
    """Cyrillic and Cyrillic Supplement blocks, which hold every letter of ru/uk/be/kk."""
    return "\u0400" <= word[0] <= "\u052f"


def letters(words: Iterable[str]) -> int:
    return sum(len(w) for w in words)


def russian_by_letters(words: list[str], cyrillic: frozenset[str]) -> str | None:
    """`words` (Cyrillic, at least two) are Russian by their letters alone among the
    configured `cyrillic` languages: the reason's detail ("" when nothing else was
    configured); None when the letters leave another language possible."""
    if not cyrillic <= ALPHABETS.keys():
        return None
    seen = {c for word in words for c in word.lower()}
    fits = {code for code in cyrillic if seen <= ALPHABETS[code]}
    if fits == {"ru"} or (fits == {"ru", "kk"} and len(words) >= SUPERSET_MIN_WORDS):
        detail = "; its letters rule out " + ", ".join(sorted(cyrillic - fits)) if cyrillic - fits else ""
        if "kk" in fits:
            detail += f"{';' if detail else ''} none of Kazakh's own letters in {len(words)} words"
        return detail
    return None
