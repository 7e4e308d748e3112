"""Secrets never reach a log line.

Every secret the desk reveals (bot tokens, signing secrets, webhook secrets) is remembered
here when it is read from the environment, and the log formatter blanks each of them out
of every formatted line — the message, its arguments and any traceback — so that a
library logging a request URL with the token in it, or an exception quoting a header,
cannot leak one into a log file.
"""

from __future__ import annotations

import logging

MASK = "***"
# Shorter values are not secrets worth the name, and would blank out ordinary words.
MIN_LENGTH = 6

_known: set[str] = set()


def remember(secret: str) -> None:
    if len(secret) >= MIN_LENGTH:
        _known.add(secret)


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):  # a secret inside another: the longer first
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats as the handler's own formatter did, then blanks out the secrets."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self._inner.format(record))


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Make every handler of `logger` (default: the root) redact what it writes."""
    for handler in (logger or logging.getLogger()).handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))
