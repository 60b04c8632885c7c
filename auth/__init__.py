"""Who is calling: token verification, discovery metadata and the tool-call budget.

The demo-only pieces (``auth.dev_issuer``, ``auth.dev_oauth``) are imported from their modules;
``auth.dev_oauth`` is the one module here that uses Starlette.
"""

from auth.discovery import audience_scope, protected_resource_metadata, www_authenticate
from auth.principal import Principal
from auth.rate_limit import ToolCallLimiter
from auth.verifier import JwtVerifier, VerifierConfig

__all__ = [
    "JwtVerifier",
    "Principal",
    "ToolCallLimiter",
    "VerifierConfig",
    "audience_scope",
    "protected_resource_metadata",
    "www_authenticate",
]
