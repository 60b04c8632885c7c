"""The traceId of the request being served: in every error envelope and every log line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)


@contextmanager
def new_trace_id() -> Iterator[str]:
    """A new traceId while a request is served, the previous one back afterwards: a request
    served in-process inside another (the development issuer's JWKS, fetched while a token is
    verified) must not leave its traceId to the outer request's error envelope."""
    trace_id = os.urandom(16).hex()  # 128 random bits, as a uuid4's hex without its object
    token = _trace_id.set(trace_id)
    try:
        yield trace_id
    finally:
        _trace_id.reset(token)


def current_trace_id() -> str | None:
    return _trace_id.get()
