"""The traceId of the request being served: in every error envelope and every log line."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

_trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)


def new_trace_id() -> str:
    trace_id = uuid.uuid4().hex
    _trace_id.set(trace_id)
    return trace_id


def current_trace_id() -> str | None:
    return _trace_id.get()
