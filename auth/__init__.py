"""Who is calling: token verification, discovery metadata and the tool-call budget.

The development issuer and OAuth server the demo signs in with live in ``demo``, not here.
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
