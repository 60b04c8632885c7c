"""The error model shared by both doors.

Expected failures are ``AsstioError`` subclasses: each carries the wire ``code`` of the OpenAPI
document's ``ErrorEnvelope`` and its HTTP status, and its message is safe to show the caller. Anything
else is unexpected: the top-level handlers log it with its traceId and answer a generic 500
(REST) or ``isError`` tool result (MCP) that reveals nothing internal.
"""

from __future__ import annotations


class AsstioError(Exception):
    code = "internal_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(AsstioError):
    code = "bad_request"
    status = 400


class Unauthorized(AsstioError):
    code = "unauthorized"
    status = 401


class Forbidden(AsstioError):
    code = "forbidden"
    status = 403


class NotFound(AsstioError):
    code = "not_found"
    status = 404


class RateLimited(AsstioError):
    code = "rate_limited"
    status = 429


class ServiceUnavailable(AsstioError):
    code = "service_unavailable"
    status = 503


class MethodNotAllowed(AsstioError):
    code = "method_not_allowed"
    status = 405


class RequestTimeout(AsstioError):
    code = "request_timeout"
    status = 408


class NotInSource(AsstioError):
    """The tenant's source (its ERP) does not keep what the view answers: said, never an empty list."""

    code = "not_in_source"
    status = 404
