"""Cross-cutting behaviour of the REST /v1 gateway (gateway-spec.md "Cross-cutting"; TESTPLAN §E
69, 76, 77, 81): the merged error body on every error class — 400 bad JSON / missing body, 413 over
1 MiB (exactly 1 MiB accepted), 415, 422 with errors[].location, 401, 404 of unknown paths and ids,
405 with Allow, 429 with Retry-After and X-RateLimit-* (a per-key burst that more connections do not
bypass, the WebSocket handshake, the public per-IP limit) — with no internal text; X-Request-Id
echoed or generated; security headers; unknown request fields and `$schema` accepted; a missing
Content-Type read as JSON; /health; CORS off by default and on with --cors-origins."""
import time

import pytest
import requests

from gateway_testlib import (
    assert_error, assert_handshake_error, assert_security_headers, handshake_refusal)

ROOMY_PUBLIC = {"per_second": 1000, "burst": 1000}


# MARK: 400, 413, 415, 422


@pytest.mark.parametrize("path,method", [("/v1/sessions", "POST"), ("/v1/account/keys", "POST"),
                                         ("/v1/account/limits", "PUT"), ("/v1/waitlist", "POST")])
@pytest.mark.parametrize("raw", [b"{", b'{"name": }', b'{"name":"x"} trailing', b"\xff\xfe", b"nul\x00l"])
def test_malformed_json_is_400_validation_failed(gateway, path, method, raw):
    response = gateway.request(method, path, key=gateway.key, data=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "BAD_REQUEST", detail="validation failed")


@pytest.mark.parametrize("path,method", [("/v1/sessions", "POST"), ("/v1/account/keys", "POST"),
                                         ("/v1/account/limits", "PUT"), ("/v1/quota-requests", "POST")])
def test_missing_body_is_400_request_body_is_required(gateway, path, method):
    for headers in [{}, {"Content-Type": "application/json"}]:
        response = gateway.request(method, path, key=gateway.key, headers=headers)
        assert_error(response, 400, "BAD_REQUEST", detail="request body is required")


def test_body_over_1_mib_is_413_and_exactly_1_mib_is_accepted(gateway, account):
    prefix, suffix = b'{"name":"exact","pad":"', b'"}'
    exact = prefix + b"a" * ((1 << 20) - len(prefix) - len(suffix)) + suffix
    assert len(exact) == 1 << 20
    response = gateway.request("POST", "/v1/account/keys", key=account, data=exact,
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 201, (response.status_code, response.text[:300])
    gateway.track(response.json()["key"])
    over = exact[:-2] + b'a"}'
    response = gateway.request("POST", "/v1/account/keys", key=account, data=over,
                               headers={"Content-Type": "application/json"})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    # Chunked (no Content-Length) over the limit too.
    response = gateway.request("POST", "/v1/account/keys", key=account, data=iter([over[:600000], over[600000:]]),
                               headers={"Content-Type": "application/json"})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert_error(gateway.request("POST", "/v1/sessions", key=account, data=b" " * (3 << 20),
                                 headers={"Content-Type": "application/json"}), 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml",
                                          "multipart/form-data; boundary=x", "application/octet-stream"])
def test_non_json_content_type_is_415(gateway, content_type):
    response = gateway.request("POST", "/v1/account/keys", key=gateway.key, data=b'{"name":"typed"}',
                               headers={"Content-Type": content_type})
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_content_types_and_a_missing_one_are_accepted(gateway, account):
    # curl's default form type counts as JSON (`curl -d '{...}'` is how people try an API).
    for headers in [{"Content-Type": "application/json; charset=utf-8"}, {"Content-Type": "application/json"}, {},
                    {"Content-Type": "application/x-www-form-urlencoded"}]:
        response = gateway.request("POST", "/v1/account/keys", key=account, data=b'{"name":"typed"}', headers=headers)
        assert response.status_code == 201, (headers, response.status_code, response.text[:300])
        gateway.track(response.json()["key"])


def test_unknown_fields_and_schema_are_accepted_and_responses_have_no_schema(gateway, account):
    body = {"$schema": "http://127.0.0.1/schemas/CreateAPIKeyRequest.json", "name": "extra", "tenant_id": "other",
            "is_admin": True, "__proto__": {"polluted": 1}, "nested": {"deep": [1, {"x": None}]}}
    response = gateway.request("POST", "/v1/account/keys", key=account, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    gateway.track(created["key"])
    assert "$schema" not in created and "tenant_id" not in created and "is_admin" not in created
    assert "Link" not in response.headers or "describedBy" not in response.headers["Link"]


@pytest.mark.parametrize("body,location", [
    ({"image": 5}, "body.image"),
    ({"image": "default", "resources": {"memoryMB": "lots"}}, "body.resources.memoryMB"),
    ({"image": "default", "resources": {"memoryMB": 64}}, "body.resources.memoryMB"),
    ({"image": "default", "resources": {"cpuMillis": 50}}, "body.resources.cpuMillis"),
    ({"image": "default", "resources": {"timeoutMs": 500}}, "body.resources.timeoutMs"),
    ({"image": "default", "network": "wifi"}, "body.network"),
    ({"image": "default", "command": "ls -l"}, "body.command"),
    ({"image": "default", "ports": [{"container": 0}]}, "body.ports[0].container"),
    ({"image": "default", "ports": [{"container": 80, "protocol": "sctp"}]}, "body.ports[0].protocol"),
    ({"image": "default", "env": ["A=1"]}, "body.env"),
])
def test_session_body_validation_is_422_with_errors_location(gateway, body, location):
    response = gateway.request("POST", "/v1/sessions", key=gateway.key, json=body)
    problem = assert_error(response, 422, "VALIDATION_FAILED", detail="validation failed", location=location)
    for item in problem["errors"]:
        assert item["message"], item


# MARK: 404, 405


@pytest.mark.parametrize("path", ["/v1/nope", "/nope", "/v1/sessions/sess_000000000000/nope", "/v2/sessions",
                                  "/v1/account/keys/x/y/z", "/v1/", "/v1"])
def test_unknown_paths_are_404_with_the_json_body(gateway, path):
    assert_error(gateway.request("GET", path, key=gateway.key), 404, "NOT_FOUND")


def test_unknown_session_is_404(gateway):
    for method, suffix in [("GET", ""), ("POST", "/stop"), ("DELETE", ""), ("GET", "/url?port=80"),
                           ("GET", "/files?path=/etc/hostname")]:
        assert_error(gateway.request(method, f"/v1/sessions/sess_{'0' * 24}{suffix}", key=gateway.key), 404,
                     "NOT_FOUND")


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/v1/account", {"GET"}),
    ("PATCH", "/v1/account/limits", {"GET", "PUT"}),
    ("PUT", "/v1/sessions", {"GET", "POST"}),
    ("GET", "/v1/waitlist", {"POST"}),
    ("GET", "/v1/quota-requests", {"POST"}),
    ("DELETE", "/v1/sessions/sess_x/stop", {"POST"}),
    ("PATCH", "/v1/account/keys/00000000-0000-4000-8000-000000000000", {"GET", "PUT", "DELETE"}),
    ("GET", "/v1/account/keys/00000000-0000-4000-8000-000000000000/rotate", {"POST"}),
    ("POST", "/health", {"GET"}),
    ("PUT", "/v1/sessions/sess_x/files", {"GET", "POST"}),
])
def test_wrong_method_is_405_with_allow(gateway, method, path, allowed):
    response = gateway.request(method, path, key=gateway.key, json={} if method in ("PUT", "PATCH", "POST") else None)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed <= allow <= allowed | {"HEAD", "OPTIONS"}, (path, response.headers.get("Allow"))


# MARK: request ids, security headers, health


def test_request_id_is_echoed_or_generated(gateway, account):
    echoed = gateway.request("GET", "/v1/account", key=account, headers={"X-Request-Id": "client-id-42"})
    assert echoed.status_code == 200 and echoed.headers["X-Request-Id"] == "client-id-42"
    longest = "r" * 128
    assert gateway.request("GET", "/v1/account", key=account,
                           headers={"X-Request-Id": longest}).headers["X-Request-Id"] == longest
    error = gateway.request("GET", "/v1/sessions/sess_missing", key=account, headers={"X-Request-Id": "err-7"})
    assert assert_error(error, 404)["request_id"] == "err-7"
    unauthorized = gateway.request("GET", "/v1/account", headers={"X-Request-Id": "anon-1"})
    assert assert_error(unauthorized, 401)["request_id"] == "anon-1"
    generated = set()
    # (A control character such as BEL is not a legal field value at all: the HTTP parser refuses it.)
    for bad in [None, "r" * 129, "tab\there", "caf\xe9", "y" * 300]:
        headers = {} if bad is None else {"X-Request-Id": bad.encode("latin-1")}
        response = gateway.request("GET", "/v1/account", key=account, headers=headers)
        assert response.status_code == 200, response.text
        rid = response.headers.get("X-Request-Id")
        assert rid and rid != bad and 1 <= len(rid) <= 128 and rid.isprintable() and rid.isascii(), (bad, rid)
        generated.add(rid)
    assert len(generated) == 5, generated


def test_security_headers_on_every_kind_of_response(gateway, account):
    responses = [
        gateway.request("GET", "/health"),
        gateway.request("GET", "/v1/account", key=account),
        gateway.request("POST", "/v1/account/keys", key=account, json={"name": "hdr"}),
        gateway.request("GET", "/v1/nope", key=account),
        gateway.request("GET", "/v1/account"),
        gateway.request("DELETE", "/v1/account", key=account),
    ]
    gateway.track(responses[2].json()["key"])
    deleted = gateway.request("DELETE", f"/v1/account/keys/{responses[2].json()['id']}", key=account)
    for response in responses[:3] + [deleted]:
        assert_security_headers(response)
    for response in responses[3:]:
        assert_security_headers(response, cache=False)
        assert response.headers.get("Cache-Control") == "no-store", (response.url, dict(response.headers))


def test_health(gateway):
    response = gateway.request("GET", "/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}, response.text
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert_security_headers(response)


def test_no_cors_headers_by_default(gateway, account):
    origin = {"Origin": "https://evil.example"}
    got = gateway.request("GET", "/v1/account", key=account, headers=origin)
    assert got.status_code == 200
    assert_security_headers(got)
    preflight = gateway.request("OPTIONS", "/v1/sessions", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")], dict(preflight.headers)
    assert preflight.status_code in (403, 405), (preflight.status_code, preflight.text[:200])
    assert_error(preflight, preflight.status_code)


def test_cors_when_enabled(start_gateway):
    server = start_gateway(extra=["--cors-origins", "https://app.example,https://other.example"])
    preflight = server.request("OPTIONS", "/v1/sessions", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204, (preflight.status_code, preflight.text[:200])
    assert preflight.headers.get("Access-Control-Allow-Origin") == "https://app.example"
    methods = {m.strip().upper() for m in preflight.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert "POST" in methods, preflight.headers
    allowed_headers = {h.strip().lower() for h in preflight.headers.get("Access-Control-Allow-Headers", "").split(",")}
    assert {"authorization", "content-type"} <= allowed_headers or "*" in allowed_headers, preflight.headers
    assert int(preflight.headers.get("Access-Control-Max-Age", "0")) > 0, preflight.headers
    got = server.request("GET", "/v1/account", key=server.key, headers={"Origin": "https://other.example"})
    assert got.status_code == 200 and got.headers.get("Access-Control-Allow-Origin") == "https://other.example"
    error = server.request("GET", "/v1/account", headers={"Origin": "https://app.example"})
    assert error.status_code == 401 and error.headers.get("Access-Control-Allow-Origin") == "https://app.example"
    foreign = server.request("GET", "/v1/account", key=server.key, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers, foreign.headers
    foreign_preflight = server.request("OPTIONS", "/v1/sessions", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in foreign_preflight.headers, foreign_preflight.headers

    wildcard = start_gateway(env={"EXECBOX_CORS_ORIGINS": "*"})
    got = wildcard.request("GET", "/v1/account", key=wildcard.key, headers={"Origin": "https://any.example"})
    assert got.headers.get("Access-Control-Allow-Origin") in ("*", "https://any.example"), got.headers
    # A wildcard never pairs with credentials (TESTPLAN 81).
    assert got.headers.get("Access-Control-Allow-Credentials", "").lower() != "true", got.headers


# MARK: 429 rate limits (TESTPLAN 76)

LIMITED = {
    "tiers": {"free": {"key_rate": {"per_second": 1, "burst": 3}, "account_rate": None}},
    "public_rate": {"per_second": 0.2, "burst": 3},
}


def assert_429(response, code="RATE_LIMIT_EXCEEDED"):
    body = assert_error(response, 429, code)
    retry = response.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, response.headers
    return body


def test_rate_limits_429_with_retry_after_and_ratelimit_headers(start_gateway):
    server = start_gateway(tiers=LIMITED)
    account = server.new_account("limited")  # one public call of the burst of 3
    codes, limited = [], None
    for _ in range(8):
        response = server.request("GET", "/v1/account", key=account)
        codes.append(response.status_code)
        if response.status_code == 429 and limited is None:
            limited = response
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:], codes
    body = assert_429(limited)
    assert "rate limit" in body["detail"], body
    headers = limited.headers
    assert headers.get("X-RateLimit-Limit") == "3", dict(headers)
    assert headers.get("X-RateLimit-Remaining") == "0", dict(headers)
    reset = int(headers.get("X-RateLimit-Reset", "0"))
    assert time.time() - 2 <= reset <= time.time() + 10, (reset, time.time())

    # New connections do not reset the bucket.
    for _ in range(3):
        with requests.Session() as fresh:
            response = fresh.get(server.url + "/v1/account", headers=account.headers, timeout=30)
            assert response.status_code == 429, response.status_code
    # Nor does the WebSocket handshake get past it: 429 before the upgrade.
    refused = handshake_refusal(server, "sess_" + "0" * 24, account.key, query=[("cmd", "true")])
    assert_handshake_error(refused, 429, "RATE_LIMIT_EXCEEDED")
    assert refused.headers.get("Retry-After", "").isdigit(), refused.headers
    # The admin (unlimited tier) is not affected; the key recovers after Retry-After.
    assert server.request("GET", "/v1/account", key=server.key).status_code == 200
    time.sleep(int(limited.headers["Retry-After"]) + 0.2)
    assert server.request("GET", "/v1/account", key=account).status_code == 200

    # The public per-IP limit (burst 3, one used above).
    statuses = []
    for i in range(6):
        response = server.request("POST", "/v1/quota-requests", json={"email": f"burst{i}@example.com"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_429(response)
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {201}, statuses
    # Health is never rate limited.
    assert all(server.request("GET", "/health").status_code == 200 for _ in range(10))


def test_many_bad_keys_are_401_and_a_good_key_still_works(gateway, account):
    """TESTPLAN 78 (scaled): a stream of bad keys never turns into anything but 401, and a valid key
    is unaffected."""
    from gateway_testlib import SOAK
    for i in range(min(2000, max(100, SOAK * 4))):
        response = gateway.request("GET", "/v1/account", headers={"Authorization": f"Bearer ebx_p_{i:040d}"})
        assert response.status_code in (401, 429), response.status_code
    assert gateway.request("GET", "/v1/account", key=account).status_code == 200
