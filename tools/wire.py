"""Wire types shared by every view: exact money, quantities, UTC dates, camelCase models.

Python-mode dumps keep ``Decimal`` (the REST door writes them as exact JSON numbers); JSON-mode
dumps give floats (MCP ``structuredContent``), which parse to the same numbers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from types import UnionType
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, cast, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """``value`` rounded to the cent, half up (how the ERP rounds every amount it stores);
    never -0.00."""
    cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return abs(cents) if cents.is_zero() else cents


def _quantity(value: Decimal) -> Decimal:
    normal = value.normalize()
    normal = abs(normal) if normal.is_zero() else normal
    return normal.quantize(Decimal("0.1")) if normal == normal.to_integral_value() else normal


def _number_in_json(value: Decimal) -> float:
    return float(value)


Money = Annotated[
    Decimal,
    AfterValidator(money),
    PlainSerializer(_number_in_json, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "description": "Exact amount, two decimals"}),
]
Quantity = Annotated[
    Decimal,
    AfterValidator(_quantity),
    PlainSerializer(_number_in_json, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]

# An exact number that keeps its own decimals (rates have six).
Exact = Annotated[
    Decimal,
    PlainSerializer(_number_in_json, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]
IsoDate = Annotated[
    date,
    PlainSerializer(date.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date", "description": "ISO 8601 date, e.g. 2026-11-20"}),
]


def as_utc(value: datetime) -> datetime:
    """Naive database datetimes mean UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date out of range") from exc


def _iso_z(value: datetime) -> str:
    """``2026-05-20T08:30:00Z``: to the second, in UTC (``isoformat`` writes what ``strftime``
    writes for four-digit years, several times faster; earlier years keep ``strftime``'s form)."""
    if value.tzinfo is None and value.year >= 1000:  # as the database gives it: naive, meaning UTC
        return value.isoformat(timespec="seconds") + "Z"
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = as_utc(value)
    if value.year < 1000:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = value.isoformat(timespec="seconds")
    return (text if value.tzinfo is None else text[:-6]) + "Z"


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


def midnight(day: date) -> datetime:
    """The start of ``day`` as the database stores it (naive, meaning UTC)."""
    return datetime.combine(day, time())


class WireModel(BaseModel):
    """A shape on the wire: camelCase names, Python snake_case inside."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


DB_INT_MAX = 2**31 - 1  # ids are 32-bit integers in the ERP's tables
AMOUNT_LIMIT = Decimal(10) ** 15
CLAMPED = {"page_size", "limit"}  # clamped to the view's maximum, never sent to the database


def _takes(annotation: Any, kind: type) -> bool:
    return annotation is kind or kind in get_args(annotation)


class InputModel(WireModel):
    """What a caller sends (query, body or tool arguments), checked before it reaches SQL: ids
    fit the database's integers, JSON booleans are not numbers, amounts are finite and bounded,
    text carries no NUL (PostgreSQL cannot store it; SQLite would cut the pattern there)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[str(info.field_name)].annotation
        if isinstance(value, bool) and not _takes(annotation, bool):
            raise ValueError("expected a number, got a boolean")
        if isinstance(value, str) and _takes(annotation, int) and not _is_integer_text(value):
            raise ValueError("expected a whole number")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _fits_the_database(cls, value: Any, info: ValidationInfo) -> Any:
        is_id = isinstance(value, int) and not isinstance(value, bool) and info.field_name not in CLAMPED
        if is_id and abs(value) > DB_INT_MAX:
            raise ValueError(f"must be between {-DB_INT_MAX} and {DB_INT_MAX}")
        if isinstance(value, Decimal) and (not value.is_finite() or abs(value) >= AMOUNT_LIMIT):
            raise ValueError("must be a finite amount below 10^15")
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


def _is_integer_text(text: str) -> bool:
    stripped = text.strip()
    return stripped.removeprefix("-").isdigit()


class Params(InputModel):
    """A view's parameters. Unknown parameters are ignored (v1 is additive)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )


# -- rows the database already typed ------------------------------------------------------

_PLAIN_TYPES = (int, str, bool, float, Decimal, datetime, date)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class _Slot:
    """How one field takes a database value: the exact types it accepts as they are, whether
    None is one, and the field's own after-validators (money to the cent, datetimes to UTC)."""

    name: str
    types: tuple[Any]
    literals: frozenset[Any] | None
    nullable: bool
    after: tuple[Callable[[Any], Any], ...]
    default: Any
    json: Callable[[Any], Any] | None  # the field's serializer in JSON mode, if it has one


def _slot(name: str, info: FieldInfo) -> _Slot | None:
    annotation: Any = info.annotation
    metadata = list(info.metadata)
    nullable = False
    if get_origin(annotation) in (Union, UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) != 1 or len(get_args(annotation)) != 2:
            return None
        nullable, annotation = True, members[0]
    if get_origin(annotation) is Annotated:
        annotation, *inner = get_args(annotation)
        metadata += inner
    if any(not isinstance(m, _KNOWN_METADATA) for m in metadata):
        return None
    after = [m.func for m in metadata if isinstance(m, AfterValidator)]
    if not all(_takes_one(func) for func in after):
        return None
    plain = tuple(cast(Callable[[Any], Any], func) for func in after)
    serializers = [m.func for m in metadata if isinstance(m, PlainSerializer)]  # each applies in JSON mode
    json = cast(Callable[[Any], Any], serializers[-1]) if serializers else None
    if get_origin(annotation) is Literal:
        return _Slot(name, (str,), frozenset(get_args(annotation)), nullable, plain, info.default, json)
    if annotation not in _PLAIN_TYPES:
        return None
    return _Slot(name, (annotation,), None, nullable, plain, info.default, json)


def _takes_one(func: Callable[..., Any]) -> bool:
    """A validator or serializer of the value alone (not one that also takes ``ValidationInfo``)."""
    if func in (float, str):  # builtins whose signature cannot be read
        return True
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) == 1


_KNOWN_METADATA = (AfterValidator, PlainSerializer, WithJsonSchema)
_PLAIN_CONFIG = {"alias_generator", "populate_by_name", "extra", "title"}


def _validates_nothing_else(model: type[BaseModel]) -> bool:
    """No validator of the model's own and no configuration that changes values."""
    decorators = model.__pydantic_decorators__
    own = (decorators.validators, decorators.field_validators, decorators.root_validators)
    plain = not any(own) and not decorators.model_validators and set(model.model_config) <= _PLAIN_CONFIG
    return plain and not model.__pydantic_post_init__ and not model.__private_attributes__


class TrustedRows(Generic[M]):
    """``model`` from rows the database already typed, without validating them again: a value
    of exactly its field's type is taken as it is and the field's after-validators run on it
    (the rounding and UTC rules stay); a row with any other value (an int for a Decimal, a str
    for a datetime...) is validated as before, so the result is always what validation gives.

    ``json`` writes such a row's JSON form (``model_dump(mode="json", by_alias=True)``) in the
    same one pass, each value through its after-validators and then its serializer, without a
    model; None for any other row, or when a field's JSON form is not a plain JSON value."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        slots = [_slot(name, info) for name, info in model.model_fields.items()]
        plain = _validates_nothing_else(model) and None not in slots
        self.slots = [slot for slot in slots if slot is not None] if plain else None
        self.plan = [
            (slot.name, slot.types[0], slot.literals, slot.nullable, slot.after, slot.default, slot.name)
            for slot in self.slots or []
        ]
        self._fields = _fields_of(self.plan) if self.slots is not None else None
        self.json = (
            _fields_of(_json_plan(model, self.slots)) if self.slots and _serializes_plainly(model) else None
        )

    def __call__(self, values: Mapping[str, Any]) -> M:
        if self._fields is None:
            return self.model.model_validate(values)
        fields = self._fields(values)
        if fields is None:
            return self.model.model_validate(values)
        return self._construct(fields)

    def _construct(self, fields: dict[str, Any]) -> M:
        """What ``model_construct`` does for a plain model, without its per-field lookups."""
        row = self.model.__new__(self.model)
        setattr_ = object.__setattr__
        setattr_(row, "__dict__", fields)
        setattr_(row, "__pydantic_fields_set__", set(fields))
        setattr_(row, "__pydantic_extra__", None)
        setattr_(row, "__pydantic_private__", None)
        return row


_JSON_AS_IS = (int, str, bool)


def _serializes_plainly(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    return not (decorators.field_serializers or decorators.model_serializers or decorators.computed_fields)


def _json_plan(model: type[BaseModel], slots: list[_Slot]) -> list[tuple[Any, ...]] | None:
    """The plan of each field's JSON form under its wire name: its serializer after its
    after-validators; None when a field has no serializer and is not JSON as it is."""
    fields = model.model_fields
    if any(slot.json is None and slot.types[0] not in _JSON_AS_IS for slot in slots):
        return None
    if any(slot.json is not None and not _takes_one(slot.json) for slot in slots):
        return None
    return [
        (
            s.name,
            s.types[0],
            s.literals,
            s.nullable,
            _json_steps(s),
            s.default,
            fields[s.name].serialization_alias or fields[s.name].alias or s.name,
        )
        for s in slots
    ]


# Serializers that apply an after-validator's rule themselves: ``_iso_z`` writes any datetime
# in UTC, naive meaning UTC, as ``as_utc`` reads it (the JSON plan skips the validator).
_APPLIED_BY: dict[Callable[[Any], Any], Callable[[Any], Any]] = {_iso_z: as_utc}


def _money_number(value: Decimal) -> float:
    """``_number_in_json(money(value))`` in one step: the amount to the cent, half up, as a
    JSON number (``or``: never -0.0)."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP)) or 0.0


# Steps that one function takes at once, the same value for every input.
_FUSED: dict[tuple[Callable[[Any], Any], ...], Callable[[Any], Any]] = {
    (money, _number_in_json): _money_number
}


def _json_steps(slot: _Slot) -> tuple[Callable[[Any], Any], ...]:
    """A field's after-validators, then its serializer (without a validator it applies itself)."""
    if slot.json is None:
        return slot.after
    applied = _APPLIED_BY.get(slot.json)
    steps = (*(step for step in slot.after if step is not applied), slot.json)
    fused = _FUSED.get(steps)
    return steps if fused is None else (fused,)


def _fields_of(
    plan: list[tuple[Any, ...]] | None,
) -> Callable[[Mapping[str, Any]], dict[str, Any] | None] | None:
    """The plan as one function, written out field by field (no loop over the plan, no
    per-field tuple unpacking): the fields of a row whose every value is of exactly its field's
    type (None where the field takes None; a literal among its literals), after the field's
    after-validators, in the model's order, under the plan's keys; None for any other row
    (then it is validated)."""
    if plan is None:
        return None
    scope: dict[str, Any] = {}
    lines = ["def fields(values):", "    get = values.get"]
    for i, (name, accepted, literals, nullable, after, default, key) in enumerate(plan):
        scope |= {f"N{i}": name, f"T{i}": accepted, f"L{i}": literals, f"D{i}": default, f"K{i}": key}
        value = "v"
        for j, validator in enumerate(after):
            scope[f"A{i}_{j}"] = validator
            value = f"A{i}_{j}({value})"
        refused = f"type(v) is not T{i}" + (f" or v not in L{i}" if literals is not None else "")
        lines.append(f"    v = get(N{i}, D{i})")
        if nullable:
            lines += [
                "    if v is None:",
                f"        f{i} = None",
                f"    elif {refused}:",
                "        return None",
            ]
            lines += ["    else:", f"        f{i} = {value}"]
        else:
            lines += [f"    if {refused}:", "        return None", f"    f{i} = {value}"]
    lines.append("    return {" + ", ".join(f"K{i}: f{i}" for i in range(len(plan))) + "}")
    exec("\n".join(lines), scope)
    return cast(Callable[[Mapping[str, Any]], dict[str, Any] | None], scope["fields"])


_TRUSTED: dict[type[BaseModel], TrustedRows[Any]] = {}


def trusted_rows(model: type[M]) -> TrustedRows[M]:
    """The ``TrustedRows`` of ``model`` (one per model, its plans generated once)."""
    rows = _TRUSTED.get(model)
    if rows is None:
        rows = _TRUSTED.setdefault(model, TrustedRows(model))
    return rows


def trusted_row(model: type[M], values: Mapping[str, Any]) -> M:
    """``model`` from ``values`` as ``TrustedRows`` builds it."""
    return trusted_rows(model)(values)
