"""Lenient readers for values coming off the wire, shared by every model."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar

UTC = timezone.utc  # datetime.UTC is Python 3.11+; the package supports 3.10

E = TypeVar("E", bound=Enum)

_FRACTION = re.compile(r"(\.\d+)")


def parse_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO-8601 string (``Z``, an offset, or none: naive means UTC), a datetime or
    a Unix timestamp. Anything unreadable gives ``None`` rather than an error."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        # Python 3.10 reads only 3 or 6 fraction digits.
        text = _FRACTION.sub(lambda match: (match.group(1) + "000000")[:7], text, count=1)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def require_datetime(value: Any) -> datetime:
    """Like :func:`parse_datetime`, with the Unix epoch for a missing or unreadable value."""
    return parse_datetime(value) or datetime.fromtimestamp(0, UTC)


def format_datetime(value: datetime) -> str:
    """ISO-8601 with an offset; a naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def parse_enum(cls: type[E], value: Any, default: E) -> E | str:
    """The member of ``cls`` with this value; an unknown value is kept as its string, a missing one is
    ``default``."""
    if value is None:
        return default
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        return str(value)


def wire_value(value: Enum | str) -> str:
    """The string sent for an enum member or a plain string."""
    return str(value.value) if isinstance(value, Enum) else str(value)


def as_str(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def as_opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def as_int(value: Any, default: int = 0) -> int:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def as_opt_int(value: Any) -> int | None:
    return None if value is None else as_int(value)


def as_float(value: Any, default: float = 0.0) -> float:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def as_str_list(value: Any) -> list[str]:
    return [str(item) for item in as_list(value)]


def first(data: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present (and not None) in ``data``."""
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def items_of(body: Any, *keys: str) -> list[dict[str, Any]]:
    """The rows of a list answer, whichever shape it has: a bare array, or an object holding the array under
    one of ``keys``. Rows that are not objects are dropped."""
    rows: Any = body
    if isinstance(body, Mapping):
        rows = first(body, *keys)
    return [dict(row) for row in as_list(rows) if isinstance(row, Mapping)]


def to_wire(value: Any, omit_empty: bool = False) -> Any:
    """JSON-ready form of a model value: enums by value, datetimes in ISO-8601, dataclasses as dicts."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_datetime(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclass_to_dict(value, omit_empty)
    if isinstance(value, Mapping):
        return {str(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    return value


def dataclass_to_dict(instance: Any, omit_empty: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        if omit_empty and (value is None or value == [] or value == {}):
            continue
        result[field.name] = to_wire(value)
    return result
