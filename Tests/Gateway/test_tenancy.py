"""Tenancy over every `{id}` route of the OpenAPI document (TESTPLAN 66, the BOLA matrix): account B's key
on account A's session and keys answers 404 with the same body as a made-up id — never 200/204/101 —
on every method, the WebSocket handshakes included, and A's session, files and keys are unchanged
afterwards."""
import base64
import json
import os
import socket
import uuid

import pytest

from conftest import assert_error_body
from test_openapi import DOCUMENT, METHODS, deref

MISSING_SESSION = "sess_" + "0" * 24


@pytest.fixture(scope="module")
def document():
    with open(DOCUMENT) as f:
        return json.load(f)


def upgrade(gateway, path, key):
    """An RFC 6455 handshake over a raw socket; returns (status, head, body)."""
    host, port = gateway.address.rsplit(":", 1)
    request = (f"GET {path} HTTP/1.1\r\nHost: {gateway.address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {key}\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), None)
        while length is not None and len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, head.decode("latin-1"), body


def request_for(document, path, method):
    """Query and body that get a request of this operation past validation."""
    operation = document["paths"][path][method]
    kwargs = {"params": {}}
    for parameter in map(lambda p: deref(document, p), operation.get("parameters", [])):
        if parameter["in"] == "query" and parameter.get("required"):
            kwargs["params"][parameter["name"]] = {"path": "/workspace/a.txt", "port": 8080,
                                                   "cmd": ["true"]}.get(parameter["name"], "1")
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kwargs["json"] = {"name": "hijacked", "description": "hijacked"}
    elif "application/octet-stream" in content:
        kwargs["params"]["path"] = "/workspace/b.txt"
        kwargs["data"] = b"written by another account\n"
        kwargs["headers"] = {"Content-Type": "application/octet-stream"}
    if path.endswith("/files") and method == "get":
        kwargs["params"]["list"] = "false"
    return kwargs


def snapshot(gateway, owner, session_id, secondary):
    session = gateway.request("GET", f"/v1/sessions/{session_id}", key=owner)
    keys = gateway.request("GET", "/v1/account/keys", key=owner)
    content = gateway.request("GET", f"/v1/sessions/{session_id}/files", key=owner, params={"path": "/workspace/a.txt"})
    assert session.status_code == keys.status_code == content.status_code == 200, (session.text, keys.text,
                                                                                   content.text)
    listed = sorted(({k: v for k, v in key.items() if k != "last_used_at"} for key in keys.json()["keys"]),
                    key=lambda key: key["id"])
    return {"session": session.json(), "keys": listed, "a.txt": content.content,
            "secondary works": gateway.request("GET", "/v1/account", key=secondary).status_code}


def test_another_accounts_ids_are_404_on_every_id_route(gateway, document):
    a, b = gateway.new_account("tenant-a"), gateway.new_account("tenant-b")
    created = gateway.request("POST", "/v1/sessions", key=a, json={"image": "default", "command": ["sleep", "600"]})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    uploaded = gateway.request("POST", f"/v1/sessions/{session_id}/files", key=a, params={"path": "/workspace/a.txt"},
                               data=b"A's file\n", headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 201, uploaded.text
    secondary = gateway.request("POST", "/v1/account/keys", key=a, json={"name": "a-secondary"})
    assert secondary.status_code == 201, secondary.text
    secondary_id, secondary_key = secondary.json()["id"], secondary.json()["key"]
    gateway.track(secondary_key)
    before = snapshot(gateway, a, session_id, secondary_key)

    routes = [(path, method) for path, item in document["paths"].items() if "{id}" in path
              for method in item if method in METHODS]
    assert len(routes) >= 12, routes
    tried = []
    for path, method in routes:
        if path.startswith("/v1/account/keys/"):
            targets = [(secondary_id, str(uuid.uuid4())), (a.key_id, str(uuid.uuid4()))]
        else:
            targets = [(session_id, MISSING_SESSION)]
        for target, missing in targets:
            kwargs = request_for(document, path, method)
            label = f"{method.upper()} {path.replace('{id}', target)}"
            theirs = gateway.request(method.upper(), path.replace("{id}", target), key=b, **kwargs)
            made_up = gateway.request(method.upper(), path.replace("{id}", missing), key=b, **kwargs)
            assert theirs.status_code == 404, (label, theirs.status_code, theirs.text[:300])
            body = assert_error_body(theirs, 404, "NOT_FOUND")
            assert made_up.status_code == 404, (label, "made-up id", made_up.status_code, made_up.text[:300])
            assert body["detail"] == made_up.json()["detail"], (label, body, made_up.json())
            if path.endswith(("/attach", "/exec")):
                query = "?cmd=true" if path.endswith("/exec") else ""
                status, head, _ = upgrade(gateway, path.replace("{id}", target) + query, b.key)
                assert status == 404, (label, "upgrade", head)
            tried.append(label)

    after = snapshot(gateway, a, session_id, secondary_key)
    assert after == before, (before, after)
    assert after["session"]["status"] == "running"
    absent = gateway.request("GET", f"/v1/sessions/{session_id}/files", key=a, params={"path": "/workspace/b.txt"})
    assert absent.status_code == 404, absent.text
    assert [s["id"] for s in gateway.request("GET", "/v1/sessions", key=b).json()["sessions"]] == []
    assert {k["id"] for k in gateway.request("GET", "/v1/account/keys", key=b).json()["keys"]} == {b.key_id}
    print(f"{len(tried)} cross-account requests, all 404: {tried}")
