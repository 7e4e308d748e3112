"""Recognising Russian typed in Latin letters ("privet, ne rabotaet vpn").

Customers on a phone abroad or a work laptop without a Cyrillic layout write Russian in
Latin letters. Every detector we measured calls such text English, Danish or Polish, so a
Russian speaker would be routed to an engineer who cannot read them.

There is no standard spelling ("pozhaluysta", "pozhalujsta", "pojaluista"), so the lexicon
below is written once in Cyrillic and expanded into the spellings people actually use. A word
counts as Russian when it is one of those spellings or carries an ending no Latin-script
language has. Short spellings ("ne", "da", "net", "tak") also exist in English, Danish or
Polish, so they only support a verdict that a longer word started.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

# Words of support chats, in Cyrillic. International words ("server", "problem", "klient",
# "telefon", "kabinet", "minut", "status") are left out on purpose: they are spelled the same
# in English, Polish or Danish and so say nothing about the language.
_CHAT_WORDS = """
    а и у в с к я о не ни на за по от до из да нет но то мы вы ты он она они оно вот так там
    тут как кто где все всё всем всех всего уже ещё еще тоже опять снова привет приветствую
    здравствуйте здрасте добрый доброе день утро вечер спасибо благодарю пожалуйста
    пожалуста извините простите помогите помочь помогло помогла подскажите скажите срочно
    очень сейчас вообще почему зачем когда сколько какой какая какие какое чтобы что чего
    чем можно нужно надо нельзя нужен нужна нужны это этот эта эти здесь если или только
    даже просто вроде кажется видимо наверное потом после сразу будет было был была были
    есть нету хочу хотим знаю знаете мне меня нам нас вам вас нему его ему её их мой моя наш
    наша ваш ваша свой работает работают работать работало работал заработало заработал
    заработала упал упало упала упали лежит лежат сломалось сломался сломалась сломано
    отвалился отвалилось отвалилась виснет зависает зависло зависла тормозит глючит грузится
    загружается загрузить открывается открыть открыл открыла зайти войти вход входа входе
    выход подключиться подключение подключается отправить отправляется отправил отправила
    получить получили приходит пришло пришёл пришла видно вижу видим могу можем может можете
    пишет пишу писал написал написала ответьте ответ ответа ответить жду ждём ждем ждут
    ждать проверьте проверить посмотрите посмотреть сделать сделайте сделали починить
    почините починили исправить исправьте исправили понял поняла понятно хорошо ладно
    отлично плохо нормально быстро долго давно вчера сегодня завтра утром вечером ночью часа
    часов дня дней неделю ошибка ошибку ошибки ошибкой доступ доступа доступом пароль пароля
    почта почту почты сайт сайта сайте сервера сервером сервису приложение приложения отчёт
    отчет отчёта отчета заявка заявку заявки оплата оплату оплатой оплаты счёт счета деньги
    клиенты клиентов пользователь пользователи пользователя личный личного кабинете аккаунт
    учётная учетная запись сеть сети связь связи звонок компьютер ноутбук принтер файл файлы
    файла база базе базы данные данных обновление обновления обновили версия версии
    настройки кнопка страница страницу страницы ничего никто никак таки пока давайте
    случилось произошло происходит пропал пропала пропало пропали готово сделано большое
    огромное спокойной
"""

# How Russian letters are typed in Latin: GOST-like spellings and the common chat ones.
_LETTER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "д": ("d",), "е": ("e",),
    "ё": ("e", "yo", "jo", "o"), "ж": ("zh", "j", "z"), "з": ("z",), "и": ("i",),
    "й": ("y", "j", "i"), "к": ("k",), "л": ("l",), "м": ("m",), "н": ("n",),
    "о": ("o",), "п": ("p",), "р": ("r",), "с": ("s",), "т": ("t",), "у": ("u",),
    "ф": ("f",), "х": ("h", "kh", "x"), "ц": ("ts", "c", "tz"), "ч": ("ch",),
    "ш": ("sh",), "щ": ("sch", "shch", "sh"), "ъ": ("",), "ы": ("y", "i"), "ь": ("",),
    "э": ("e",), "ю": ("yu", "ju", "iu"), "я": ("ya", "ja", "ia"),
}  # fmt: skip

# "е" after a vowel or at the start of a word is often typed with a leading "y" ("yeshche").
_IOTATED_E = ("e", "ye")
_VOWELS = frozenset("аеёиоуыэюяьъ")

# Spellings this short collide with real words of other languages ("da", "den", "tak").
_MIN_DISTINCTIVE = 4

# Endings that Russian grammar produces and English, Polish and Danish do not (reflexive
# verbs, adjective endings, third-person verb endings, "zh"/"kh" clusters).
_RUSSIAN_SHAPES = re.compile(
    r"(?:tsya|tsja|lsya|yy|iy|yj|yaya|oye|uyu|oyu|eyu|ykh|ikh|ogo|ayet|ayut|yaet|aet|aesh|yut"
    r"|ovat|tsiya|tsii|tsiyu)$"
    r"|zh|kh|shch"
)
_MIN_SHAPED = 5

_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class TranslitReading:
    """How much of a Latin-script text reads as transliterated Russian."""

    words: int
    russian: int
    distinctive: tuple[str, ...]

    @property
    def is_russian(self) -> bool:
        """A distinctive word must start the case; short ones may only second it.

        Half the words must read as Russian; a longer text, whose lexicon coverage is
        thinner, may do with a quarter if two of them are distinctive.
        """
        if not self.distinctive:
            return False
        if 2 * self.russian >= self.words:
            return True
        return len(self.distinctive) >= 2 and 4 * self.russian >= self.words

    @property
    def share(self) -> float:
        return self.russian / self.words if self.words else 0.0


def read_translit(text: str) -> TranslitReading:
    """Count the Latin words of `text` that are Russian spellings; other scripts are ignored."""
    words = [w for w in _WORD.findall(text.casefold()) if _is_latin(w) and _has_vowel(w)]
    distinctive = tuple(w for w in words if _is_distinctive(w))
    weak = sum(1 for w in words if w in _SHORT_SPELLINGS and w not in distinctive)
    return TranslitReading(len(words), len(distinctive) + weak, distinctive)


def _is_latin(word: str) -> bool:
    """Latin letters with or without diacritics; Cyrillic and other scripts are not ours."""
    return word.isascii() or any("a" <= ch <= "z" for ch in word)


def _has_vowel(word: str) -> bool:
    """Vowelless tokens ("vpn", "sql", "thx") are acronyms, in no language in particular."""
    return any(ch in "aeiouy" for ch in word) or not word.isascii()


def _is_distinctive(word: str) -> bool:
    """Diacritics (ł, ø, é) mean a real Latin-script language; translit is plain ASCII."""
    if not word.isascii():
        return False
    if word in _DISTINCTIVE_SPELLINGS:
        return True
    return len(word) >= _MIN_SHAPED and _RUSSIAN_SHAPES.search(word) is not None


def _spellings(word: str) -> set[str]:
    """Every Latin spelling of a Cyrillic word under `_LETTER_SPELLINGS`."""
    options: list[Sequence[str]] = []
    previous = ""
    for letter in word:
        if letter == "е" and (not previous or previous in _VOWELS):
            options.append(_IOTATED_E)
        else:
            options.append(_LETTER_SPELLINGS.get(letter, (letter,)))
        previous = letter
    return {"".join(parts) for parts in product(*options)}


_SPELLINGS = {spelt for word in _CHAT_WORDS.split() for spelt in _spellings(word)}
_DISTINCTIVE_SPELLINGS = frozenset(s for s in _SPELLINGS if len(s) >= _MIN_DISTINCTIVE)
_SHORT_SPELLINGS = frozenset(s for s in _SPELLINGS if 0 < len(s) < _MIN_DISTINCTIVE)
