"""Connection URLs as they may be shown: in a log line, on stderr, in a startup message."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

# Query keys that carry a secret in database and Redis URLs (libpq takes ``password`` and
# ``sslpassword`` in the query string as well as in the userinfo).
SECRET_KEYS = ("password", "sslpassword", "passfile", "sslkey", "token", "secret")


def redacted_url(url: str) -> str:
    """``url`` with its password and every secret query value replaced by ``***`` (anything else
    exactly as written)."""
    parts = urlsplit(url)
    head, sep, query = url.partition("?")
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}"
        head = head.replace(parts.netloc, netloc, 1)
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret(k) for k, _ in pairs):
            query = urlencode([(k, "***" if _secret(k) else v) for k, v in pairs], safe="/:*")
    return head + sep + query


def _secret(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_KEYS)
