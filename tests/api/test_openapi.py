"""The API's OpenAPI document: valid 3.1, true to the URL map, and honoured by every operation it lists.

The last test lets schemathesis send requests generated from the document to the staff app
(with organization A's key and its real object ids), and checks every answer against it:
no server error, only documented statuses, content types, headers and bodies.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from admin_ui.api import PUBLIC_ENDPOINTS
from admin_ui.api import routes as _routes  # noqa: F401  (registers every operation)
from admin_ui.api.spec import OPERATIONS

DOCUMENT_URL = "/v1/openapi.json"
API_PREFIX = "/v1"
METHODS = {"get", "post", "put", "patch", "delete"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation, bounded so the whole document runs in about a minute on the CI machine.
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 6, schemathesis.GenerationMode.NEGATIVE: 3}

# Which of organization A's objects each path parameter names.
PATH_OBJECTS = {
    "component_id": "component",
    "group_id": "group",
    "incident_id": "incident",
    "incident_update_id": "update",
    "template_id": "template",
    "subscriber_id": "subscriber",
    "page_access_group_id": "audience",
    "page_access_user_id": "viewer",
}


@pytest.fixture
def document(admin_client: Any) -> dict[str, Any]:
    response = admin_client.get(DOCUMENT_URL)
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_the_document_names_the_api_address(document):
    assert [server["url"] for server in document["servers"]] == ["http://platform.test/v1"]


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, entries in document["paths"].items()
        for method in entries
        if method in METHODS
    }


def _served(app: Flask) -> set[tuple[str, str]]:
    served: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        assert rule.rule.startswith(API_PREFIX + "/"), rule.rule
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len(API_PREFIX) :])
        served.update((method.lower(), path) for method in rule.methods or () if method.lower() in METHODS)
    return served


def test_every_served_operation_is_documented_and_every_documented_one_is_served(document, admin_app):
    served, documented = _served(admin_app), _documented(document)
    assert served, "the API serves no operation"
    assert sorted(served - documented) == []  # served but not documented
    assert sorted(documented - served) == []  # documented but not served


def test_the_operations_are_documented_once_with_unique_ids(document):
    ids = [
        entry["operationId"]
        for entries in document["paths"].values()
        for method, entry in entries.items()
        if method in METHODS
    ]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)


def test_every_path_parameter_is_declared_and_required(document):
    for path, entries in document["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method, entry in entries.items():
            declared = {p["name"]: p for p in entry["parameters"] if p["in"] == "path"}
            assert set(declared) == names, (method, path)
            assert all(p["required"] is True for p in declared.values()), (method, path)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} is not a reference inside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_every_reference_resolves(document):
    refs = _refs(document)
    assert refs
    for ref in sorted(set(refs)):
        assert isinstance(_resolve(document, ref), dict), ref


def test_request_bodies_are_json_or_bracket_form_encoded(document):
    bodies = [
        (method, path, entry["requestBody"]["content"])
        for path, entries in document["paths"].items()
        for method, entry in entries.items()
        if method in METHODS and "requestBody" in entry
    ]
    assert bodies
    for method, path, content in bodies:
        assert set(content) == {"application/json", "application/x-www-form-urlencoded"}, (method, path)
        form = content["application/x-www-form-urlencoded"]
        assert form["schema"] == content["application/json"]["schema"]
        properties = form["schema"]["properties"]
        envelopes = [name for name, prop in properties.items() if prop.get("type") == "object"]
        # `incident[name]=...`, not the default of an object property in a form (JSON text).
        assert form.get("encoding", {}) == {
            name: {"style": "deepObject", "explode": True} for name in envelopes
        }, (method, path)


def test_every_error_status_answers_an_error_entity(document):
    for path, entries in document["paths"].items():
        for method, entry in entries.items():
            for status, response in entry["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorEntity"}, (method, path, status)


# --- schemathesis ------------------------------------------------------------------------------


def _operation_id(op: Any) -> str:
    return f"{op.method.upper()} {op.openapi_path}"


@pytest.fixture(scope="module")
def api_schema(admin_app: Flask) -> Any:
    """The document as schemathesis reads it from the app, once: it is the same for every test."""
    return schemathesis.openapi.from_wsgi(DOCUMENT_URL, admin_app)


@pytest.mark.parametrize("operation", OPERATIONS, ids=_operation_id)
def test_the_operation_answers_as_documented(api_schema, org_a, operation):
    api_operation = api_schema[operation.openapi_path][operation.method]
    ids = {"page_id": org_a.page_id, **{name: org_a.ids[kind] for name, kind in PATH_OBJECTS.items()}}
    path_parameters = {name: ids[name] for name in operation.path_params}

    # Valid requests first (they must be accepted or refused as documented), then invalid ones
    # (they must be refused as documented, never with a server error).
    for mode, examples in EXAMPLES.items():
        strategy = api_operation.as_strategy(
            generation_mode=mode,
            path_parameters=path_parameters,
            headers={"Authorization": f"OAuth {org_a.api_key}"},
        )

        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(case=strategy)
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=f"http://platform.test{API_PREFIX}", checks=CHECKS)

        answers_as_documented()
