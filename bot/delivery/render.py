"""Text shaping every channel needs, kept in one place."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text into parts of at most `limit` characters, preferring line breaks,
    then spaces, so that no part ends mid-word unless a single word is longer than `limit`."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not parts:
        parts.append(rest)
    return parts
