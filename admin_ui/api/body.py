"""Reading request bodies and query strings: JSON or bracket form-encoding, the singular envelope,
and typed fields that refuse bad values with the field named.

Statuspage's clients send either `{"incident": {"name": ...}}` as JSON or
`incident[name]=...&incident[components][<id>]=...&incident[component_ids][]=...` as a form;
both become the same nested dict. Unknown fields are ignored, as Statuspage does (clients send
fields of features we do not have, such as `auto_tweet_*`).
"""

from __future__ import annotations

import enum
import json
import re
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from flask import g, request

from status_platform.errors import DomainError

E = TypeVar("E", bound=enum.Enum)

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


class ApiError(DomainError):
    """A refusal of the API with its HTTP status and, for a bad field, the field's name."""

    def __init__(self, status_code: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status_code = status_code


def bad_request(message: str, *, field: str | None = None) -> ApiError:
    return ApiError(400, message, field=field)


def invalid(message: str, *, field: str) -> ApiError:
    return ApiError(422, message, field=field)


def _form_to_nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`a[b][c]=v`, `a[b][]=v` (a list) and `a=v` into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head, *_KEY_PART.findall("[" + rest)] if rest else [head]
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = parts[index + 1] if not last else None
            if isinstance(node, list):
                raise bad_request(f"The form field {key!r} mixes a list and an object.", field=key)
            if last:
                if isinstance(node.get(part), (dict, list)):
                    raise bad_request(f"The form field {key!r} is given twice.", field=key)
                node[part] = value
            elif following == "":
                existing = node.setdefault(part, [])
                if not isinstance(existing, list):
                    raise bad_request(f"The form field {key!r} mixes a list and a value.", field=key)
                existing.append(value)
                break
            else:
                existing = node.setdefault(part, {})
                if not isinstance(existing, dict):
                    raise bad_request(f"The form field {key!r} mixes an object and a value.", field=key)
                node = existing
    return root


def request_data() -> dict[str, Any]:
    """The request's body as a dict (empty when there is none)."""
    if request.content_length == 0 or not request.get_data(cache=True):
        return {}
    mimetype = request.mimetype
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _form_to_nested(list(request.form.items(multi=True)))
    if mimetype == "application/json" or mimetype.endswith("+json") or not mimetype:
        try:
            data = json.loads(request.get_data(cache=True), parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise bad_request(f"The body is not valid JSON: {error}.", field="body") from None
        except RecursionError:
            raise bad_request("The body's JSON is nested too deeply.", field="body") from None
        if not isinstance(data, dict):
            raise bad_request("The body must be a JSON object.", field="body")
        return data
    raise ApiError(415, f"Send the body as JSON or form-encoded, not {mimetype}.", field="body")


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (PostgreSQL's JSON columns refuse them too).
    raise ValueError(f"{name} is not a JSON value")


def envelope(name: str, *, required: bool = True) -> Fields:
    """The `name` object of the body (`{"incident": {...}}`) as typed fields."""
    g.envelope = name  # a service's refusal names its field inside the envelope
    data = request_data()
    inner = data.get(name)
    if inner is None:
        if required:
            raise bad_request(f'The body needs a {name!r} object, as in {{"{name}": {{...}}}}.', field=name)
        inner = {}
    if not isinstance(inner, dict):
        raise bad_request(f"{name!r} must be an object.", field=name)
    return Fields(inner, prefix=name, outer=data)


def query() -> Fields:
    return Fields(request.args.to_dict(), prefix="")


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class Fields:
    """Typed access to one object of the body; every refusal names the field (`incident.name`)."""

    def __init__(self, data: dict[str, Any], *, prefix: str, outer: dict[str, Any] | None = None) -> None:
        self.data = data
        self.prefix = prefix
        self.outer = outer or {}
        # A bad query parameter is a malformed request (400); a bad body field is unprocessable (422).
        self.status = 422 if prefix else 400

    def _error(self, message: str, *, field: str) -> ApiError:
        return ApiError(self.status, message, field=field)

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def has(self, name: str) -> bool:
        return name in self.data

    def present(self, *names: str) -> bool:
        return any(name in self.data for name in names)

    def raw(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def text(self, name: str, *, max_length: int = 255, required: bool = False, default: Any = None) -> Any:
        """A string (None stays None; numbers are refused, as Statuspage refuses them)."""
        if name not in self.data or self.data[name] is None:
            if required:
                raise self._error(f"{self.path(name)} is required.", field=self.path(name))
            return default
        value = self.data[name]
        if not isinstance(value, str):
            raise self._error(f"{self.path(name)} must be a string.", field=self.path(name))
        if len(value) > max_length:
            raise self._error(
                f"{self.path(name)} must be at most {max_length} characters (it has {len(value)}).",
                field=self.path(name),
            )
        if required and not value.strip():
            raise self._error(f"{self.path(name)} must not be empty.", field=self.path(name))
        return value

    def boolean(self, name: str, default: Any = None) -> Any:
        if name not in self.data or self.data[name] is None:
            return default
        value = self.data[name]
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self._error(f"{self.path(name)} must be true or false.", field=self.path(name))

    def integer(
        self, name: str, *, minimum: int | None = None, maximum: int | None = None, default: Any = None
    ) -> Any:
        if name not in self.data or self.data[name] in (None, ""):
            return default
        value = self.data[name]
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._error(f"{self.path(name)} must be a whole number.", field=self.path(name))
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self._error(
                f"{self.path(name)} must be between {minimum} and {maximum}.", field=self.path(name)
            )
        return value

    def choice(
        self, name: str, enum_type: type[E], *, allowed: tuple[E, ...] | None = None, default: Any = None
    ) -> Any:
        """A member of `enum_type` (limited to `allowed`) given by its wire value."""
        if name not in self.data or self.data[name] is None:
            return default
        value = self.data[name]
        options = allowed or tuple(enum_type)
        for option in options:
            if value == option.value:
                return option
        names = ", ".join(str(option.value) for option in options)
        raise self._error(f"{self.path(name)} must be one of {names}; got {value!r}.", field=self.path(name))

    def timestamp(self, name: str, default: Any = None) -> Any:
        """An ISO 8601 date-time with its zone (`2030-05-07T03:00:00.000Z`), as UTC."""
        if name not in self.data or self.data[name] in (None, ""):
            return default
        value = self.data[name]
        parsed = parse_timestamp(value) if isinstance(value, str) else None
        if parsed is None:
            raise self._error(
                f"{self.path(name)} must be an ISO 8601 date-time with a zone, such as 2030-05-07T03:00:00Z.",
                field=self.path(name),
            )
        return parsed

    def day(self, name: str, default: Any = None) -> Any:
        if name not in self.data or self.data[name] in (None, ""):
            return default
        value = self.data[name]
        try:
            return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _no_date()
        except ValueError:
            raise self._error(
                f"{self.path(name)} must be a date such as 2024-06-07.", field=self.path(name)
            ) from None

    def ids(self, name: str, default: Any = None) -> Any:
        """A list of object ids (a form may send one id as a plain value)."""
        if name not in self.data or self.data[name] is None:
            return default
        value = self.data[name]
        if isinstance(value, str):
            value = [value] if value else []
        if not isinstance(value, list) or not all(
            isinstance(item, str) and 0 < len(item) <= 64 for item in value
        ):
            raise self._error(f"{self.path(name)} must be a list of ids.", field=self.path(name))
        return list(dict.fromkeys(value))

    def mapping(self, name: str, default: Any = None) -> Any:
        if name not in self.data or self.data[name] is None:
            return default
        value = self.data[name]
        if not isinstance(value, dict):
            raise self._error(f"{self.path(name)} must be an object.", field=self.path(name))
        return value


def _no_date() -> date:
    raise ValueError("not a date")


def parse_timestamp(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or not 1970 <= parsed.year <= 2200:
        return None
    return parsed.astimezone(UTC)


def pagination() -> tuple[int, int]:
    """(`page`, `per_page`) of the query string: from 1, at most 100 per page (100 by default)."""
    args = query()
    page = args.integer("page", minimum=1, maximum=1_000_000, default=1)
    return page, page_size(args, "per_page")


MAX_PAGE_SIZE = 100


def page_size(args: Fields, name: str, default: int = MAX_PAGE_SIZE) -> int:
    """A page size from the query: at least 1; above 100 it is taken as 100, as Statuspage does."""
    return min(args.integer(name, minimum=1, maximum=1_000_000, default=default), MAX_PAGE_SIZE)
