"""The OpenAPI document of the REST gateway (Sources/ExecboxGateway/Resources/openapi.json): served
byte-for-byte at /openapi.json (and as YAML at /openapi.yaml), a valid OpenAPI 3.1 document, a superset
of the legacy execbox-cloud document (every legacy operation, parameter, success status, schema and
property with its type), every operation it lists is routed by the real server, and plausible paths
it does not list answer 404 / 405 with the JSON error body."""
import json

import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from conftest import ROOT, assert_error_body

DOCUMENT = ROOT / "Sources" / "ExecboxGateway" / "Resources" / "openapi.json"
METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

# Extracted once from legacy/openapi.json (execbox-cloud 44cf432): "METHOD PATH SUCCESS [name:in:type …]".
LEGACY_OPERATIONS = """
GET /health 200
GET /v1/account 200
GET /v1/account/keys 200
POST /v1/account/keys 201
DELETE /v1/account/keys/{id} 204 id:path:string
GET /v1/account/keys/{id} 200 id:path:string
PUT /v1/account/keys/{id} 200 id:path:string
POST /v1/account/keys/{id}/rotate 200 id:path:string
GET /v1/account/limits 200
PUT /v1/account/limits 200
GET /v1/account/usage 200
GET /v1/account/usage/enhanced 200 days:query:integer
GET /v1/account/usage/export 200 days:query:integer format:query:string
POST /v1/quota-requests 201
GET /v1/sessions 200
POST /v1/sessions 201
DELETE /v1/sessions/{id} 200 id:path:string
GET /v1/sessions/{id} 200 id:path:string
POST /v1/sessions/{id}/stop 200 id:path:string
POST /v1/waitlist 201
"""

# "Schema: property:type …"; `T[I]` is an array of I, `T{V}` an object of V values, a capitalised type a $ref.
LEGACY_SCHEMAS = """
APIKeyResponse: $schema:string created_at:string custom_concurrent_limit:integer custom_daily_limit:integer description:string expires_at:string id:string is_active:boolean key_preview:string last_used_at:string name:string
AccountLimitsResponse: $schema:string alert_threshold:integer billing_email:string concurrent_requests_limit:integer daily_requests_limit:integer monthly_cost_limit_cents:integer timezone:string
AccountResponse: $schema:string api_key_id:string api_key_preview:string created_at:string email:string tier:string tier_expires_at:string
CreateAPIKeyRequest: $schema:string custom_concurrent_limit:integer custom_daily_limit:integer description:string expires_at:string name:string
CreateAPIKeyResponse: $schema:string created_at:string custom_concurrent_limit:integer custom_daily_limit:integer description:string expires_at:string id:string is_active:boolean key:string key_preview:string last_used_at:string name:string
CreateSessionRequest: $schema:string command:array|null[string] env:object{string} files:array|null[FileSpec] image:string network:string ports:array|null[PortSpec] resources:Resources setup:array|null[string] workDir:string
CreateSessionResponse: $schema:string createdAt:string id:string network:NetworkInfo status:string
DayUsage: cost_cents:integer date:string duration_ms:integer errors:integer executions:integer
EnhancedUsageResponse: $schema:string account_id:string active_sessions:integer alert_threshold:integer concurrent_limit:integer cost_estimate_cents:integer daily_history:array|null[DayUsage] daily_limit:integer hourly_usage:array|null[HourlyUsage] max_duration_seconds:integer max_memory_mb:integer monthly_cost_limit_cents:integer quota_remaining:integer quota_used:integer sessions_today:integer tier:string
ErrorDetail: location:string message:string value:any
ErrorModel: $schema:string detail:string errors:array|null[ErrorDetail] instance:string status:integer title:string type:string
FileSpec: content:string encoding:string path:string
HealthCheckOutputBody: $schema:string status:string
HourlyUsage: cost_cents:integer errors:integer executions:integer hour:string
ListAPIKeysResponse: $schema:string keys:array|null[APIKeyResponse]
ListSessionsResponse: $schema:string sessions:array|null[SessionResponse]
NetworkInfo: host:string mode:string ports:object{PortInfo}
PortInfo: hostPort:integer url:string
PortSpec: container:integer protocol:string
QuotaRequestRequest: $schema:string budget:string company:string email:string name:string requested_limits:string use_case:string
QuotaRequestResponse: $schema:string created_at:string id:integer message:string status:string
Resources: cpuMillis:integer memoryMB:integer timeoutMs:integer
RotateAPIKeyResponse: $schema:string created_at:string custom_concurrent_limit:integer custom_daily_limit:integer description:string expires_at:string id:string is_active:boolean key:string key_preview:string last_used_at:string name:string
SessionResponse: $schema:string createdAt:string endedAt:string exitCode:integer id:string image:string network:NetworkInfo startedAt:string status:string
StopSessionResponse: $schema:string status:string
UpdateAPIKeyRequest: $schema:string custom_concurrent_limit:integer custom_daily_limit:integer description:string expires_at:string name:string
UpdateAccountLimitsRequest: $schema:string alert_threshold:integer billing_email:string concurrent_requests_limit:integer daily_requests_limit:integer monthly_cost_limit_cents:integer timezone:string
UsageResponse: $schema:string active_sessions:integer concurrent_limit:integer daily_limit:integer max_duration_seconds:integer max_memory_mb:integer quota_remaining:integer quota_used:integer sessions_today:integer tier:string
WaitlistRequest: $schema:string email:string name:string
WaitlistResponse: $schema:string id:string key:string message:string tier:string
"""
LEGACY_REQUEST_SCHEMAS = ["CreateAPIKeyRequest", "CreateSessionRequest", "FileSpec", "PortSpec", "QuotaRequestRequest",
                          "Resources", "UpdateAPIKeyRequest", "UpdateAccountLimitsRequest", "WaitlistRequest"]

# The routes of gateway-spec.md beyond the legacy ones.
NEW_OPERATIONS = """
GET /openapi.json 200
GET /openapi.yaml 200
HEAD /health 200
HEAD /openapi.json 200
HEAD /openapi.yaml 200
GET /v1/sessions/{id}/attach 101
GET /v1/sessions/{id}/exec 101
POST /v1/sessions/{id}/files 201
GET /v1/sessions/{id}/files 200
GET /v1/sessions/{id}/url 200
"""
PUBLIC = {"GET /health", "GET /openapi.json", "GET /openapi.yaml", "HEAD /health", "HEAD /openapi.json",
          "HEAD /openapi.yaml", "POST /v1/waitlist", "POST /v1/quota-requests"}


def operations_of(text):
    for line in text.strip().splitlines():
        method, path, status, *params = line.split()
        yield method, path, status, [tuple(param.split(":")) for param in params]


@pytest.fixture(scope="module")
def document():
    with open(DOCUMENT) as f:
        return json.load(f)


def deref(document, node):
    """`node` with its $ref (a local `#/…` pointer) followed."""
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def type_of(document, schema):
    """The compact type notation of LEGACY_SCHEMAS for a property schema of `document`."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type")
    if kind is None:
        return "any"
    text = "|".join(kind) if isinstance(kind, list) else kind
    if "items" in schema:
        text += f"[{type_of(document, schema['items'])}]"
    if isinstance(schema.get("additionalProperties"), dict):
        text += "{" + type_of(document, schema["additionalProperties"]) + "}"
    return text


def widens(ours, legacy):
    """Whether our compact type accepts everything the legacy one does: the same item part, and the
    legacy base types a subset of ours (optional request fields also accept null)."""
    def split(text):
        cut = min([i for i in (text.find("["), text.find("{")) if i >= 0], default=len(text))
        return set(text[:cut].split("|")), text[cut:]
    our_types, our_items = split(ours)
    legacy_types, legacy_items = split(legacy)
    return legacy_types <= our_types and our_items == legacy_items


# MARK: the document itself


def test_document_is_valid_openapi_3_1_and_two_space_indented(document):
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)
    text = DOCUMENT.read_text()
    assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n", "not 2-space indented JSON"


def test_every_legacy_operation_with_its_parameters_and_success_status(document):
    for method, path, status, params in operations_of(LEGACY_OPERATIONS):
        operation = document["paths"].get(path, {}).get(method.lower())
        assert operation is not None, f"{method} {path} missing"
        assert status in operation["responses"], (method, path, status, list(operation["responses"]))
        assert "default" in operation["responses"], (method, path)
        declared = {(p["name"], p["in"]): p for p in map(lambda p: deref(document, p), operation.get("parameters", []))}
        for name, where, kind in params:
            assert (name, where) in declared, (method, path, name)
            assert declared[(name, where)]["schema"]["type"] == kind, (method, path, name)


def test_every_route_of_the_gateway_spec(document):
    for method, path, status, _ in operations_of(NEW_OPERATIONS):
        operation = document["paths"].get(path, {}).get(method.lower())
        assert operation is not None, f"{method} {path} missing"
        assert status in operation["responses"], (method, path, status)
    listed = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
              if method in METHODS}
    expected = {f"{m} {p}" for text in (LEGACY_OPERATIONS, NEW_OPERATIONS) for m, p, _, _ in operations_of(text)}
    assert listed == expected, (listed - expected, expected - listed)


def test_every_legacy_schema_and_property_with_its_type(document):
    schemas = document["components"]["schemas"]
    for line in LEGACY_SCHEMAS.strip().splitlines():
        name, properties = line.split(": ", 1)
        assert name in schemas, f"schema {name} missing"
        schema = schemas[name]
        for entry in properties.split():
            prop, kind = entry.split(":", 1)
            assert prop in schema.get("properties", {}), f"{name}.{prop} missing"
            assert widens(type_of(document, schema["properties"][prop]), kind), (name, prop, kind)
        assert "$schema" not in schema.get("required", []), name
    for name in LEGACY_REQUEST_SCHEMAS:
        assert schemas[name].get("additionalProperties", True) is not False, f"{name} must allow unknown fields"


def test_error_schema_is_the_merged_body_and_statuses_are_documented(document):
    error = document["components"]["schemas"]["ErrorModel"]
    assert {"title", "status", "detail", "errors", "error", "code", "request_id"} <= set(error["properties"])
    assert set(error["required"]) == {"title", "status", "detail", "error", "code", "request_id"}
    responses = document["components"]["responses"]
    assert "application/json" in responses["Unauthorized"]["content"]
    assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        responses["TooManyRequests"]["headers"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            statuses = set(operation["responses"])
            assert "500" in statuses, label
            for status, response in operation["responses"].items():
                assert "X-Request-Id" in deref(document, response).get("headers", {}), (label, status)
            if label in PUBLIC:
                assert operation["security"] == [], label
            else:
                assert {"bearerAuth": []} in operation.get("security", document["security"]), label
                assert {"401", "429"} <= statuses, label
            if "{id}" in path:
                assert "404" in statuses, label
            if "requestBody" in operation and "application/json" in operation["requestBody"]["content"]:
                assert {"400", "413", "415", "422"} <= statuses, label
    create = document["paths"]["/v1/sessions"]["post"]
    assert any(deref(document, p)["name"] == "Idempotency-Key" and deref(document, p)["in"] == "header"
               for p in create["parameters"])
    assert {"409", "429", "503"} <= set(create["responses"])
    assert "503" in document["paths"]["/health"]["get"]["responses"]


# MARK: against the server


def test_served_document_is_the_file(gateway, document):
    response = gateway.request("GET", "/openapi.json")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert response.json() == document
    assert response.content == DOCUMENT.read_bytes(), "served, but not the file's bytes"
    as_yaml = gateway.request("GET", "/openapi.yaml")
    assert as_yaml.status_code == 200
    assert "yaml" in as_yaml.headers["Content-Type"], as_yaml.headers["Content-Type"]
    assert yaml.safe_load(as_yaml.text) == document


def example_of(document, schema):
    schema = deref(document, schema)
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "object":
        return {name: example_of(document, sub) for name, sub in schema.get("properties", {}).items()
                if name in schema.get("required", [])}
    return {"string": "x", "integer": 1, "boolean": True, "array": []}.get(schema.get("type"), "x")


def order(label):
    """Uploads before downloads; what ends a resource last."""
    method, path = label.split(" ", 1)
    if method == "DELETE":
        return 3
    if path.endswith("/stop"):
        return 2
    if path.endswith("/rotate"):
        return 1
    return 0 if method != "POST" or not path.endswith("/files") else -1


# Bodies and queries where the examples alone would not reach past a semantic 404.
OVERRIDES = {
    "GET /v1/sessions/{id}/files": {"params": {"path": "/", "list": "true"}},
    "PUT /v1/account/keys/{id}": {"json": {"name": "renamed"}},
}


def test_every_documented_operation_is_routed(gateway, document):
    """Each operation with real ids (a running session and a secondary key of the caller) answers
    something other than 404 and 405: the server routes every path and method the document lists."""
    account = gateway.new_account("routes")
    created = gateway.request("POST", "/v1/sessions", key=account,
                              json={"image": "default", "command": ["sleep", "600"]})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    key = gateway.request("POST", "/v1/account/keys", key=account, json={"name": "routes"})
    assert key.status_code == 201, key.text
    key_id = key.json()["id"]

    labels = sorted((f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
                     if method in METHODS), key=lambda label: (order(label), label))
    answers = {}
    for label in labels:
        method, path = label.split(" ", 1)
        operation = document["paths"][path][method.lower()]
        url = path.replace("{id}", key_id if path.startswith("/v1/account/keys/") else session_id)
        kwargs = {"params": {}}
        for parameter in map(lambda p: deref(document, p), operation.get("parameters", [])):
            if parameter["in"] == "query" and parameter.get("required"):
                value = parameter.get("example", example_of(document, parameter["schema"]))
                kwargs["params"][parameter["name"]] = value
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            kwargs["json"] = example_of(document, body["application/json"]["schema"])
        elif "application/octet-stream" in body:
            kwargs["data"] = b"routed\n"
            kwargs["headers"] = {"Content-Type": "application/octet-stream"}
        for name, value in OVERRIDES.get(label, {}).items():
            kwargs[name] = value
        response = gateway.request(method, url, key=None if label in PUBLIC else account, **kwargs)
        answers[label] = response.status_code
        assert response.status_code not in (404, 405), (label, kwargs, response.status_code, response.text[:300])
    print(answers)


NOT_FOUND = [
    "/v1/foo", "/v1", "/v1/", "/v1/sessions/x/bogus", "/v1/sessions/x/files/y", "/v1/account/keys/x/y",
    "/v1/account/usage/monthly", "/v2/sessions", "/foo", "/docs", "/schemas/ErrorModel.json", "/v1/sessions/x/attach/y",
    "/v1//sessions", "/v1/waitlist/x",
]
WRONG_METHOD = [
    ("PATCH", "/v1/sessions"), ("PATCH", "/v1/account/limits"), ("DELETE", "/v1/account"), ("POST", "/health"),
    ("PUT", "/v1/sessions/x/stop"), ("PUT", "/v1/sessions"), ("GET", "/v1/waitlist"), ("DELETE", "/v1/account/keys"),
    ("PATCH", "/v1/account/keys/00000000-0000-0000-0000-000000000000"), ("POST", "/v1/sessions/x"),
    ("PUT", "/v1/sessions/x/url"), ("DELETE", "/v1/sessions/x/files"), ("POST", "/openapi.json"),
    ("GET", "/v1/sessions/x/stop"),
]


@pytest.mark.parametrize("path", NOT_FOUND)
def test_unknown_paths_answer_404_with_the_error_body(gateway, path):
    response = gateway.request("GET", path, key=gateway.key)
    assert response.status_code == 404, (path, response.status_code, response.text[:300])
    assert_error_body(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("method,path", WRONG_METHOD)
def test_wrong_methods_answer_405_with_allow_and_the_error_body(gateway, document, method, path):
    response = gateway.request(method, path, key=gateway.key, json={} if method in ("POST", "PUT", "PATCH") else None)
    assert response.status_code == 405, (method, path, response.status_code, response.text[:300])
    assert_error_body(response, 405, "METHOD_NOT_ALLOWED")
    allowed = {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    template = next(p for p in document["paths"]
                    if len(p.split("/")) == len(path.split("/"))
                    and all(a == b or a == "{id}" for a, b in zip(p.split("/"), path.split("/"))))
    documented = {m.upper() for m in document["paths"][template] if m in METHODS}
    assert documented <= allowed and method not in allowed, (method, path, allowed, documented)


def test_operation_ids_are_unique(document):
    ids = [operation["operationId"] for item in document["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids)), ids
