"""Who is calling: the verified identity every query and rate limit is scoped to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    issuer: str
    sub: str
    tenant: str

    @property
    def rate_key(self) -> str:
        """``sub`` is unique only per issuer, so the budget is keyed on both."""
        return f"{self.issuer}|{self.sub}"
