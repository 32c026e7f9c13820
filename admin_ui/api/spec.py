"""The API's operations and schemas, declared once beside the views: routes and /v1/openapi.json both
come from here, so the document describes exactly what is served.

An operation is registered with `@operation(...)`, which adds the Flask route to the API blueprint
and records its path, parameters, request body and responses. Schemas are plain JSON Schema
(OpenAPI 3.1) dicts registered by name with `schema(...)`; response schemas are closed
(`additionalProperties: false`) so a field served but not documented fails the document's test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("api", __name__, url_prefix="/v1")

SCHEMAS: dict[str, dict[str, Any]] = {}
OPERATIONS: list[Operation] = []

# Error statuses every operation may answer; each carries the ErrorEntity body.
ERROR_STATUSES = {
    "400": "The request is malformed (not JSON, a wrong envelope, a bad query parameter).",
    "401": "No API key, or a key that is unknown or revoked.",
    "403": "The key may not do this (a read-only key writing).",
    "404": "No such object for this key (another organization's objects look the same).",
    "409": "The request collides with the object's state, or a request with the same "
    "Idempotency-Key is still running.",
    "413": "The body is larger than the platform accepts (2 MB).",
    "422": "A field is invalid; `field` names it.",
    "429": "The key's rate is exceeded; retry after the `Retry-After` seconds.",
    "503": "A POST with an Idempotency-Key arrived while its store (Redis) is unreachable; retry.",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def nullable(kind: str | dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A schema for a value of `kind` (a JSON type name or a schema) or null."""
    if isinstance(kind, str):
        return {"type": [kind, "null"], **extra}
    return {"anyOf": [kind, {"type": "null"}], **extra}


DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE_TIME = nullable("string", format="date-time")


def schema(name: str, properties: dict[str, Any], *, closed: bool = True, **extra: Any) -> dict[str, Any]:
    """Register the object schema `name`; a response schema lists every field it serves (`closed`)."""
    body: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if closed:
        body.setdefault("required", list(properties))
        body["additionalProperties"] = False
    SCHEMAS[name] = body
    return body


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "query" or "path"
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


PAGE_ID = Param("page_id", "path", {"type": "string"}, "The page's id.", required=True)
PAGINATION = (
    Param(
        "page",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
        "Page of results, from 1.",
    ),
    Param(
        "per_page",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 100},
        "Results per page: at most 100 (a larger value is taken as 100).",
    ),
)


@dataclass
class Operation:
    method: str
    path: str  # Flask form: /pages/<page_id>/components
    summary: str
    tag: str
    endpoint: str
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    responses: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    write: bool = False

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.path)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", self.path)


def operation(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    params: tuple[Param, ...] = (),
    body: dict[str, Any] | None = None,
    responses: dict[int, dict[str, Any] | None] | None = None,
) -> Callable[[F], F]:
    """Serve `method path` with the decorated view and document it.

    `responses` maps each success status to its body schema (None for an empty body); the
    error statuses are added to every operation. A write (any method but GET) is refused to
    read-only keys before the view runs.
    """

    def register(view: F) -> F:
        endpoint = view.__name__
        bp.add_url_rule(path, endpoint=endpoint, view_func=view, methods=[method])
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                path=path,
                summary=summary,
                tag=tag,
                endpoint=f"{bp.name}.{endpoint}",
                params=params,
                body=body,
                responses=responses or {200: None},
                write=method.upper() != "GET",
            )
        )
        return view

    return register


def operation_for(endpoint: str | None, method: str) -> Operation | None:
    for op in OPERATIONS:
        if op.endpoint == endpoint and op.method == method.lower():
            return op
    return None


SECURITY_SCHEMES = {
    "oauth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Authorization: OAuth <key>` (Statuspage's form) or `Authorization: Bearer <key>`.",
    },
    "api_key": {"type": "apiKey", "in": "query", "name": "api_key"},
}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        parameters = [_param(p) for p in op.params]
        known = {p.name for p in op.params if p.location == "path"}
        for name in op.path_params:
            if name not in known:
                parameters.insert(0, _param(Param(name, "path", {"type": "string"}, required=True)))
        entry: dict[str, Any] = {
            "operationId": op.endpoint.split(".", 1)[1],
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": _responses(op),
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": op.body},
                    "application/x-www-form-urlencoded": {"schema": op.body, **_bracket_encoding(op.body)},
                },
            }
        if op.method == "post":
            entry["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": "^[\\x21-\\x7e]+$",
                    },
                    "description": "A repeated key returns the first result instead of acting again.",
                }
            )
        paths.setdefault(op.openapi_path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Status platform management API",
            "version": "1.0.0",
            "description": (
                "Compatible with Statuspage's Manage API v1: the same paths (each also with a "
                '`.json` suffix), envelopes in (`{"incident": {...}}`, JSON or bracket '
                "form-encoding), bare objects out. Each key is limited to one request per second "
                "averaged over a minute, with a burst."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"oauth": []}, {"api_key": []}],
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, "ErrorEntity": ERROR_ENTITY},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


ERROR_ENTITY = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "error": {"type": "string"},
        "field": {"type": "string"},
    },
    "required": ["message", "error"],
    "additionalProperties": False,
}


def _bracket_encoding(body: dict[str, Any]) -> dict[str, Any]:
    """A form's objects are sent in brackets (`incident[name]=...`), not as JSON text (the default)."""
    objects = [name for name, prop in body.get("properties", {}).items() if prop.get("type") == "object"]
    if not objects:
        return {}
    return {"encoding": {name: {"style": "deepObject", "explode": True} for name in objects}}


def _param(param: Param) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": param.name, "in": param.location, "schema": param.schema}
    if param.description:
        entry["description"] = param.description
    if param.required or param.location == "path":
        entry["required"] = True
    return entry


def _responses(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, body in op.responses.items():
        if body is None:
            responses[str(status)] = {"description": "Done; no body."}
        else:
            responses[str(status)] = {
                "description": "Success.",
                "content": {"application/json": {"schema": body}},
            }
    for status, description in ERROR_STATUSES.items():
        if (status == "403" and not op.write) or (status == "503" and op.method != "post"):
            continue
        entry: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": ref("ErrorEntity")}},
        }
        if status == "429":
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "required": True}}
        responses[status] = entry
    return responses
