"""Login links and session tokens: random, kept only as their SHA-256 in the database.

A token is 256 random bits (`secrets`), so a hash without salt or stretching is enough: it
cannot be guessed from its digest, and a copy of the database opens no session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

LOGIN_PATH = "/desk/login/"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare secrets in constant time."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def login_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{LOGIN_PATH}{token}"
