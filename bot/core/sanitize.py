"""Platform text made storable, at the adapter boundary.

JSON can carry a lone UTF-16 surrogate (`"broken \\ud83d"`, half of an emoji cut by a
client); Python decodes it into a `str` that no UTF-8 encoder takes, so the database,
the log file and every platform API refuse the message — and a messenger that redelivers
it blocks everything behind it. Each adapter passes what it decodes from its platform
through here: a lone surrogate becomes U+FFFD (the replacement character), as a UTF-8
decoder would show invalid bytes. Well-formed pairs never reach this point as surrogates:
`json.loads` joins a pair into one character.
"""

from __future__ import annotations

import json
import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def scrub_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD; the same object when there is none."""
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


def scrub(value: Any) -> Any:
    """A decoded JSON value with every string in it (keys too) scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub_text(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def scrubbed_loads(text: str | bytes) -> Any:
    """`json.loads`, scrubbed: a drop-in JSON loader for platform clients."""
    return scrub(json.loads(text))


def as_json(value: Any) -> str:
    """A raw payload as JSON text any store takes: ASCII-escaped, so even a lone surrogate
    survives as its escape instead of failing the write."""
    return json.dumps(value, ensure_ascii=True, default=str, separators=(",", ":"))
