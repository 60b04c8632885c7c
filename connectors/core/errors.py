"""Every error a connector raises, in one tree.

    ConnectorError                  anything a sync run reports in one line and exits non-zero on
    ├── ConfigurationError          a source or secret is missing or contradictory
    ├── SyncLocked                  another worker is syncing this tenant (not a failure)
    └── SourceError                 the source answered badly or not at all
        ├── SourceUnavailable       unreachable, timed out or 5xx (retried, then raised)
        ├── RateLimited             429 (retried after Retry-After, then raised)
        ├── AuthenticationFailed    bad client id/secret or refresh token; 401 with a fresh token
        ├── MissingScope            403: the integration lacks a scope or licence for the resource
        ├── SourceNotFound          404 for one object (deleted between list and detail)
        └── SourceRejected          any other 4xx, or a body that is not what the source promises

Messages are safe to print: they never carry a secret, a token or a response body verbatim
beyond the source's own error message.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector error; ``str(error)`` is the one-line report."""


class ConfigurationError(ConnectorError):
    pass


class SyncLocked(ConnectorError):
    pass


class SourceError(ConnectorError):
    pass


class SourceUnavailable(SourceError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(SourceUnavailable):
    pass


class AuthenticationFailed(SourceError):
    pass


class MissingScope(SourceError):
    pass


class SourceNotFound(SourceError):
    pass


class SourceRejected(SourceError):
    pass
