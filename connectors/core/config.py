"""A tenant's source, as configured under ``[sources.<tenant>]`` (secrets excluded)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

SECRET_WORDS = ("secret", "token", "password", "key")


class SourceSettings(BaseModel):
    """``kind`` picks the connector; other keys are the connector's options (checked by it)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    kind: str
    base_url: str | None = None
    rate_limit: str | None = None  # e.g. "25/5 seconds"; the connector's default otherwise

    @model_validator(mode="after")
    def _no_secrets(self) -> SourceSettings:
        for name in self.model_extra or {}:
            if any(word in name.lower() for word in SECRET_WORDS) and not name.endswith("_url"):
                raise ValueError(
                    f"{name} is a secret: put it in the environment or the secrets_file as "
                    f"ASSTIO_SECRET_<TENANT>_{name.upper()}, not in the config file"
                )
        return self

    def option(self, name: str, default: str | None = None) -> str | None:
        value = (self.model_extra or {}).get(name, default)
        return None if value is None else str(value)
