"""Wire types shared by every view: exact money, quantities, UTC dates, camelCase models.

Python-mode dumps keep ``Decimal`` (the REST door writes them as exact JSON numbers); JSON-mode
dumps give floats (MCP ``structuredContent``), which parse to the same numbers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _quantity(value: Decimal) -> Decimal:
    normal = value.normalize()
    return normal.quantize(Decimal("0.1")) if normal == normal.to_integral_value() else normal


def _number_in_json(value: Decimal) -> float:
    return float(value)


Money = Annotated[
    Decimal,
    AfterValidator(_money),
    PlainSerializer(_number_in_json, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "description": "Exact amount, two decimals"}),
]
Quantity = Annotated[
    Decimal,
    AfterValidator(_quantity),
    PlainSerializer(_number_in_json, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]


def as_utc(value: datetime) -> datetime:
    """Naive database datetimes mean UTC; aware ones are converted to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso_z(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


UtcDateTime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(_iso_z, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def parse_query_datetime(value: Any) -> datetime:
    """ISO 8601 only: a date alone means midnight UTC; a datetime may carry an offset (none
    means UTC). Numbers and other formats are refused rather than guessed."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value[:4].isdigit() or value[4:5] != "-":
        raise ValueError("expected an ISO 8601 date (2026-05-20) or datetime (2026-05-20T00:00:00Z)")
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)


QueryDateTime = Annotated[
    datetime,
    BeforeValidator(parse_query_datetime),
    AfterValidator(as_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601; a date alone (2026-05-20) means midnight UTC",
        }
    ),
]


def to_db_datetime(value: datetime) -> datetime:
    """Datetimes are stored naive, meaning UTC."""
    return as_utc(value).replace(tzinfo=None)


class WireModel(BaseModel):
    """A shape on the wire: camelCase names, Python snake_case inside."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Params(WireModel):
    """A view's parameters. Unknown parameters are ignored (v1 is additive)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )
