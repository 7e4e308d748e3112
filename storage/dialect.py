"""Where SQLite and PostgreSQL differ, named in one place; every statement is written once.

The statements (`storage/queries.py`) use named parameters, and a backend renders each in
its dialect when it binds values:

- `:name` — one value; a name used twice is one parameter;
- `:names*` — a sequence, for `IN (:names*)`; empty, it renders `NULL` (`x IN (NULL)` is
  never true, so an empty list matches nothing, as it should);
- `:rows**` — a set of row values, for `(a, b) NOT IN :rows**`.

What differs, and where it is handled:

| | SQLite | PostgreSQL |
|---|---|---|
| placeholders | `?1, ?2` (`Dialect`) | `$1, $2` (`Dialect`) |
| a set of rows | `(VALUES (?1, ?2), …)` (`Dialect`) | `(($1, $2), …)`: its VALUES would type the parameters as text |
| times | fixed-width UTC ISO text, encoded and decoded by column (`storage/sqlite.py`) | timestamptz, by asyncpg |
| JSON | compact text, by column (`storage/sqlite.py`) | jsonb, the same text through a codec (`storage/postgres.py`) |
| upsert, ignore | `ON CONFLICT … DO UPDATE` / `DO NOTHING`: the same text (SQLite ≥ 3.24) | |
| a unit of work | one call on aiosqlite's thread, `BEGIN IMMEDIATE` (one writer) | an asyncpg transaction |
| one runner | `flock` on the database file | a session advisory lock per schema |
| schema version | `PRAGMA user_version` | a `schema_version` table (`storage/migrations`) |
| ids | rowid: max + 1 (the top id, deleted, is used again) | sequences: never reused |
| rows changed | `cursor.rowcount` | the command status (`UPDATE 3`) |
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)(\*{0,2})")

# What a rendered statement takes from the parameters, in placeholder order: a name, and
# for a sequence the element's index, for a row set the row's and the column's.
Pick = tuple[str, tuple[int, ...]]


@dataclass(frozen=True)
class Dialect:
    name: str
    mark: str  # what precedes a placeholder's number
    rows_open: str  # what opens a set of row values

    def placeholder(self, number: int) -> str:
        return f"{self.mark}{number}"


SQLITE = Dialect("sqlite", "?", "(VALUES ")
POSTGRES = Dialect("postgres", "$", "(")


class Bound(NamedTuple):
    """A statement in one dialect: its text and, per placeholder, the parameter's name
    (a backend encodes values by the column they are for) and value. (Tuples, this and
    `Batch`: one is made for every statement run.)"""

    text: str
    names: tuple[str, ...]
    values: list[Any]


class Batch(NamedTuple):
    """One text and the values of each row it runs for."""

    text: str
    names: tuple[str, ...]
    rows: list[list[Any]]


class Sql:
    """One statement's text, written once, rendered per dialect and shape (the length of
    each sequence, the rows and columns of each row set) once and then remembered."""

    __slots__ = ("_lists", "_names", "_parts", "_rendered", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts: list[str | tuple[str, int]] = []
        position = 0
        for match in _PARAM.finditer(text):
            self._parts += [text[position : match.start()], (match.group(1), len(match.group(2)))]
            position = match.end()
        self._parts.append(text[position:])
        self._lists = tuple(dict.fromkeys(p for p in self._parts if isinstance(p, tuple) and p[1]))
        self._rendered: dict[tuple[str, tuple[int, ...]], tuple[str, tuple[Pick, ...]]] = {}
        self._names: dict[str, tuple[str, tuple[str, ...]]] = {}

    def __repr__(self) -> str:
        return f"Sql({self.text!r})"

    def bind(self, dialect: Dialect, params: Mapping[str, Any]) -> Bound:
        if not self._lists:  # most statements: plain names, one rendering per dialect
            text, names = self._plain(dialect)
            return Bound(text, names, [params.get(name) for name in names])
        text, picks = self.render(dialect, self.shape(params))
        return Bound(text, tuple(name for name, _ in picks), [_pick(params, pick) for pick in picks])

    def batches(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[Batch]:
        """The rows bound, consecutive rows of one shape in one batch (one `executemany`)."""
        if not self._lists:
            text, names = self._plain(dialect)
            return [Batch(text, names, [[row.get(name) for name in names] for row in rows])]
        out: list[Batch] = []
        for row in rows:
            bound = self.bind(dialect, row)
            if out and out[-1].text == bound.text:
                out[-1].rows.append(bound.values)
            else:
                out.append(Batch(bound.text, bound.names, [bound.values]))
        return out

    def _plain(self, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
        """A statement without sequences: its text and its parameters' names, in order."""
        found = self._names.get(dialect.name)
        if found is None:
            text, picks = self.render(dialect)
            found = self._names[dialect.name] = (text, tuple(name for name, _ in picks))
        return found

    def shape(self, params: Mapping[str, Any]) -> tuple[int, ...]:
        shape: list[int] = []
        for name, depth in self._lists:
            values = params[name]
            shape.append(len(values))
            if depth == 2:
                if not values:
                    raise ValueError(f"{name}: an empty set of rows has no SQL (leave the condition out)")
                shape.append(len(values[0]))
        return tuple(shape)

    def render(self, dialect: Dialect, shape: tuple[int, ...] = ()) -> tuple[str, tuple[Pick, ...]]:
        key = (dialect.name, shape)
        found = self._rendered.get(key)
        if found is None:
            found = self._rendered[key] = self._render(dialect, shape)
        return found

    def _render(self, dialect: Dialect, shape: tuple[int, ...]) -> tuple[str, tuple[Pick, ...]]:
        sizes: dict[str, list[int]] = {}
        rest = iter(shape)
        for name, depth in self._lists:
            sizes[name] = [next(rest) for _ in range(depth)]
        picks: list[Pick] = []
        numbers: dict[str, int] = {}

        def mark(pick: Pick) -> str:
            if not pick[1] and pick[0] in numbers:
                return dialect.placeholder(numbers[pick[0]])
            picks.append(pick)
            numbers.setdefault(pick[0], len(picks))
            return dialect.placeholder(len(picks))

        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
            elif part[1] == 0:
                out.append(mark((part[0], ())))
            elif part[1] == 1:
                out.append(", ".join(mark((part[0], (i,))) for i in range(sizes[part[0]][0])) or "NULL")
            else:
                rows, width = sizes[part[0]]
                out.append(dialect.rows_open + ", ".join(
                    "(" + ", ".join(mark((part[0], (i, j))) for j in range(width)) + ")" for i in range(rows)) + ")")
        return "".join(out), tuple(picks)


def _pick(params: Mapping[str, Any], pick: Pick) -> Any:
    name, path = pick
    value: Any = params.get(name)
    for index in path:
        value = value[index]
    return value


@lru_cache(maxsize=512)
def sql(text: str) -> Sql:
    """The `Sql` of a text built at run time (its rendering is remembered with it)."""
    return Sql(text)


def placeholders(columns: Sequence[str]) -> str:
    return ", ".join(f":{c}" for c in columns)
