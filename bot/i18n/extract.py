"""Finds the message keys in the source for `make i18n` (a Babel extraction method).

Babel's Python extractor finds calls like `text("ack_assigned", …)`. Three kinds of key it
cannot see as they stand, so this method, wrapping it, words them the way Babel expects:
- a plural text is called with its key once (`ntext("truncated", n, …)`), while gettext
  wants a singular and a plural id: the key is both;
- the desk's own reasons (`desk_reason("took_it", …)`) live in the staff catalogue under the
  context `reason`;
- routing's reasons are not calls but the keys of `PHRASES` in routing/reasons.py (routing
  imports nothing of bot/, so it cannot mark them): each key, under the context `reason`.
The Makefile's keyword lists choose which keys go to which domain; see `make i18n`.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import IO, Any, cast

from babel.messages.extract import extract_python

PLURALS = frozenset({"ntext", "staff_ntext"})
REASONS = "desk_reason"
CONTEXT = "pgettext"  # how the reasons are handed on: context "reason", then the key
Found = tuple[int, str, Any, list[str]]


def extract(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
            options: Mapping[str, Any]) -> Iterator[Found]:
    source = fileobj.read()
    if CONTEXT in keywords:
        yield from _phrases(source)
    fileobj.seek(0)
    # Babel hands a method the keyword names only, and its Python extractor reads just those.
    found = cast(Iterable[Found], extract_python(fileobj, cast(Any, keywords), comment_tags, cast(Any, options)))
    for lineno, funcname, messages, comments in found:
        if funcname in PLURALS:
            key = messages[0] if isinstance(messages, tuple) else messages
            yield lineno, funcname, (key, key), comments
        elif funcname == REASONS:  # asked for with the staff keywords, `pgettext` among them
            key = messages[0] if isinstance(messages, tuple) else messages
            yield lineno, CONTEXT, ("reason", key), comments
        else:
            yield lineno, funcname, messages, comments


def _phrases(source: bytes) -> Iterator[Found]:
    """The keys of a module-level `PHRASES = {...}` dict literal."""
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == "PHRASES" for t in node.targets)):
            for key in node.value.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.lineno, CONTEXT, ("reason", key.value), []
