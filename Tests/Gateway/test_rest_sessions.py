"""Sessions over the REST /v1 gateway (gateway-spec.md "Routes"; CONTRACT.md §3.16–§3.20, §10; TESTPLAN
§E 66, 68, 77, 80): the legacy README flow replayed (waitlist → key → session → attach: stdin, stdout,
stderr, one Exit, Close 1000 → 409 once ended); create/get/list shapes, newest first, the status
filter and cursor pages; Idempotency-Key; setup on `default` and files outside /workspace|/tmp 400
(builds: test_images.py); tier caps 403; mass assignment ignored;
stop (200 {status:stopped}, again 409) and kill (200 {status:killed}); files up and down
binary-exact by SHA-256, listing with mode bits 420/493, parents created, relative path 400,
missing 404, ended session 409, upload caps 413 (early on Content-Length, and streamed); the port
URL of an exposed session answering HTTP, an undeclared port 400; the session quotas of a free
account (429 QUOTA_EXCEEDED with the legacy texts); a BOLA matrix over every {id} route; and a server
with a pool of started containers (--pool), whose sessions cannot tell, and its malformed values."""
import hashlib
import json
import os
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import server_binary
from gateway_testlib import (
    MiB, assert_error, assert_security_headers, assert_timestamp, collect, create_session,
    get_session, handshake_refusal, assert_handshake_error, is_int, kill_session, open_ws, run_exec, stdin,
    wait_status)

SESSION_FIELDS = {"id", "status", "image", "createdAt", "startedAt", "endedAt", "exitCode", "network"}
CREATE_FIELDS = {"id", "status", "createdAt", "network"}
STATUSES = {"pending", "building", "running", "stopped", "failed", "killed"}


def ok(response, status=200):
    assert response.status_code == status, (
        f"{response.request.method} {response.request.path_url}: expected {status}, got {response.status_code} "
        f"{response.text[:600]!r}")
    assert_security_headers(response)
    if response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict):
            assert "$schema" not in body, body
        return body
    return response.content


def assert_session(body, status=None):
    assert set(body) <= SESSION_FIELDS, f"undocumented session fields {set(body) - SESSION_FIELDS}"
    assert body["id"].startswith("sess_") and body["status"] in STATUSES and isinstance(body["image"], str), body
    assert_timestamp(body["createdAt"])
    for name in ["startedAt", "endedAt"]:
        if name in body:
            assert_timestamp(body[name], name)
    if "exitCode" in body:
        assert is_int(body["exitCode"]), body
    if status is not None:
        assert body["status"] == status, body
    return body


def files_path(session_id):
    return f"/v1/sessions/{session_id}/files"


def upload(gateway, key, session_id, path, data, expect=201):
    response = gateway.request("POST", files_path(session_id), key=key, params={"path": path}, data=data,
                               headers={"Content-Type": "application/octet-stream"})
    if expect != 201:
        return response
    body = ok(response, 201)
    assert body == {"path": path, "size": len(data) if isinstance(data, bytes) else body["size"]}, body
    return body


def download(gateway, key, session_id, path):
    response = gateway.request("GET", files_path(session_id), key=key, params={"path": path})
    ok(response)
    assert response.headers["Content-Type"] == "application/octet-stream", response.headers
    return response.content


def listing(gateway, key, session_id, path):
    body = ok(gateway.request("GET", files_path(session_id), key=key, params={"path": path, "list": "true"}))
    assert set(body) == {"path", "entries"} and body["path"] == path, body
    for entry in body["entries"]:
        assert set(entry) == {"name", "size", "isDir", "mode"}, entry
        assert isinstance(entry["name"], str) and is_int(entry["size"]) and isinstance(entry["isDir"], bool), entry
        assert is_int(entry["mode"]) and 0 <= entry["mode"] <= 0o7777, entry
    return {entry["name"]: entry for entry in body["entries"]}


@pytest.fixture
def idle(gateway):
    """An idle running session of the admin key."""
    created = create_session(gateway, gateway.key)
    yield created["id"]
    kill_session(gateway, gateway.key, created["id"])


# MARK: the legacy README flow


def test_readme_flow_waitlist_key_session_attach(gateway):
    joined = gateway.request("POST", "/v1/waitlist", json={"email": f"readme-{os.urandom(4).hex()}@example.com"})
    key = ok(joined, 201)["key"]
    gateway.track(key)
    program = ("import sys\nprint('hello from execbox', flush=True)\nline = sys.stdin.readline()\n"
               "print('echo: ' + line.strip(), flush=True)\nprint('to stderr', file=sys.stderr, flush=True)\n"
               "sys.exit(2)\n")
    created = ok(gateway.request("POST", "/v1/sessions", key=key,
                                 json={"image": "default", "command": ["python3", "-c", program],
                                       "env": {"GREETING": "hi"}, "resources": {"memoryMB": 256}}), 201)
    assert set(created) <= CREATE_FIELDS and created["status"] in ("pending", "running"), created
    assert "network" not in created
    session = created["id"]
    try:
        with open_ws(gateway, session, key, what="attach") as ws:
            out = collect(ws, timeout=30, stop_when=lambda o: b"hello from execbox\n" in o.stdout or o.errors)
            if out.errors:
                pytest.fail(f"attach sent Error frames {out.errors} (main-process attach UNIMPLEMENTED? issue 6)")
            ws.send(stdin(b"ping\n"))
            collect(ws, out, timeout=30).check()
        assert bytes(out.stdout) == b"hello from execbox\necho: ping\n" and bytes(out.stderr) == b"to stderr\n"
        assert out.exit_code == 2
        ended = wait_status(gateway, key, session, {"failed", "stopped"})
        assert_session(ended, "failed")
        assert ended["exitCode"] == 2 and "endedAt" in ended
        refused = handshake_refusal(gateway, session, key, what="attach")
        assert_handshake_error(refused, 409, "CONFLICT")
        assert session in [s["id"] for s in ok(gateway.request("GET", "/v1/sessions", key=key))["sessions"]]
    finally:
        kill_session(gateway, key, session)


# MARK: create, get, list


def test_create_get_and_list(gateway, account):
    first = create_session(gateway, account.key)
    assert set(first) <= CREATE_FIELDS and first["id"].startswith("sess_"), first
    assert first["status"] in ("pending", "running")
    _, age = assert_timestamp(first["createdAt"])
    assert -5 < age < 60
    got = assert_session(ok(gateway.request("GET", f"/v1/sessions/{first['id']}", key=account)), "running")
    assert got["image"] == "default" and got["createdAt"] == first["createdAt"]
    time.sleep(1.1)  # distinct createdAt seconds
    second = create_session(gateway, account.key, command=["sh", "-c", "exit 0"])
    wait_status(gateway, account.key, second["id"], {"stopped"})
    third = create_session(gateway, account.key)

    listed = ok(gateway.request("GET", "/v1/sessions", key=account))
    assert set(listed) <= {"sessions", "next_cursor"}
    ids = [s["id"] for s in listed["sessions"]]
    assert ids == [third["id"], second["id"], first["id"]], ids  # newest first
    for s in listed["sessions"]:
        assert_session(s)
    running = ok(gateway.request("GET", "/v1/sessions", key=account, params={"status": "running"}))["sessions"]
    assert [s["id"] for s in running] == [third["id"], first["id"]]
    stopped = ok(gateway.request("GET", "/v1/sessions", key=account, params={"status": "stopped"}))["sessions"]
    assert [s["id"] for s in stopped] == [second["id"]] and stopped[0].get("exitCode", 0) == 0

    pages, cursor = [], None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = ok(gateway.request("GET", "/v1/sessions", key=account, params=params))
        assert len(page["sessions"]) <= 1
        pages += [s["id"] for s in page["sessions"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
        assert isinstance(cursor, str) and len(pages) <= 3
    assert pages == ids
    assert_error(gateway.request("GET", "/v1/sessions", key=account, params={"cursor": "garbage!"}), 400)
    other = gateway.new_account("lister")
    assert ok(gateway.request("GET", "/v1/sessions", key=other)) in ({"sessions": []},)


def test_idempotency_key(gateway, account):
    headers = {"Idempotency-Key": f"idem-{os.urandom(6).hex()}"}
    body = {"image": "default", "env": {"A": "1"}}
    first = gateway.request("POST", "/v1/sessions", key=account, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = gateway.request("POST", "/v1/sessions", key=account, json=body, headers=headers)
    assert again.status_code in (200, 201), again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true", dict(again.headers)
    assert first.headers.get("Idempotent-Replayed") in (None, "false")
    # Env values are secrets and take no part in the request digest (docs/service.md); names and the
    # rest of the request do.
    same = gateway.request("POST", "/v1/sessions", key=account, json={**body, "env": {"A": "2"}}, headers=headers)
    assert same.status_code in (200, 201) and same.json()["id"] == first.json()["id"], same.text
    other = gateway.request("POST", "/v1/sessions", key=account, json={**body, "command": ["sleep", "9"]},
                            headers=headers)
    assert_error(other, 409, "CONFLICT")
    other = gateway.request("POST", "/v1/sessions", key=account, json={**body, "env": {"B": "1"}}, headers=headers)
    assert_error(other, 409, "CONFLICT")
    assert len(ok(gateway.request("GET", "/v1/sessions", key=account))["sessions"]) == 1


@pytest.mark.parametrize("extra,detail", [
    # Setup builds an image on the named base (test_images.py); the built-in default cannot be one.
    ({"setup": ["pip install requests"]}, "the built-in default image cannot be a build base"),
    # Without setup there is no image to put them in: files go into the session, under /workspace or /tmp.
    ({"files": [{"path": "/app/main.py", "content": "print(1)"}]}, "must be under /workspace or /tmp"),
])
def test_setup_on_default_and_files_outside_the_session_mounts_are_400(gateway, extra, detail):
    response = gateway.request("POST", "/v1/sessions", key=gateway.key, json={"image": "default", **extra})
    assert_error(response, 400, "BAD_REQUEST", contains=detail)


def test_empty_setup_and_files_are_fine(gateway):
    created = create_session(gateway, gateway.key, setup=[], files=None)
    kill_session(gateway, gateway.key, created["id"])


def test_unknown_image_is_a_client_error(gateway):
    response = gateway.request("POST", "/v1/sessions", key=gateway.key, json={"image": "no-such-image:1"})
    assert_error(response, 400, "BAD_REQUEST")


def test_tier_caps_are_403(gateway, account):
    for resources in [{"memoryMB": 2048}, {"cpuMillis": 4000}, {"timeoutMs": 300000}]:
        response = gateway.request("POST", "/v1/sessions", key=account, json={"image": "default",
                                                                               "resources": resources})
        assert_error(response, 403, "FORBIDDEN")
    assert ok(gateway.request("GET", "/v1/account/usage", key=account))["sessions_today"] == 0


def test_mass_assignment_is_ignored(gateway, account):
    """TESTPLAN 68: privileged-looking fields are ignored; the sandbox is the same as a plain one."""
    plain = create_session(gateway, account.key)["id"]
    loaded = create_session(gateway, account.key, **{
        "tenant_id": "someone-else", "account_id": "00000000-0000-4000-8000-000000000000", "privileged": True,
        "runtime": "runc-unconfined", "host_network": True, "mounts": [{"source": "/", "target": "/host"}],
        "cap_add": ["SYS_ADMIN"], "seccomp": "unconfined", "__proto__": {"admin": True}, "status": "killed",
        "id": "sess_chosen", "resources": {"cpuMillis": 1000, "computePower": 99, "storageMB": 999999,
                                           "timeout": "999h"}})["id"]
    assert loaded != "sess_chosen"
    probe = ["sh", "-c", "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs)' /proc/self/status; ls /; id -u; "
                         "test -e /host && echo HOST-MOUNT; ip -o link 2>/dev/null | wc -l"]
    plain_out = run_exec(gateway, plain, account.key, probe).check()
    loaded_out = run_exec(gateway, loaded, account.key, probe).check()
    assert bytes(loaded_out.stdout) == bytes(plain_out.stdout), (plain_out, loaded_out)
    assert b"HOST-MOUNT" not in bytes(loaded_out.stdout)
    got = assert_session(ok(gateway.request("GET", f"/v1/sessions/{loaded}", key=account)), "running")
    assert got["image"] == "default"


# MARK: stop and kill


def test_stop_then_again_409_and_kill(gateway, account):
    session = create_session(gateway, account.key)["id"]
    stopped = ok(gateway.request("POST", f"/v1/sessions/{session}/stop", key=account))
    assert stopped == {"status": "stopped"}, stopped
    got = assert_session(ok(gateway.request("GET", f"/v1/sessions/{session}", key=account)), "stopped")
    assert "endedAt" in got
    assert_error(gateway.request("POST", f"/v1/sessions/{session}/stop", key=account), 409, "CONFLICT")
    # Files and URL of an ended session: 409.
    assert_error(upload(gateway, account.key, session, "/tmp/x", b"x", expect=409), 409, "CONFLICT")
    assert_error(gateway.request("GET", files_path(session), key=account, params={"path": "/etc/hostname"}), 409,
                 "CONFLICT")
    # DELETE works on an ended session too.
    assert ok(gateway.request("DELETE", f"/v1/sessions/{session}", key=account))["status"] in ("killed", "stopped")

    running = create_session(gateway, account.key)["id"]
    killed = ok(gateway.request("DELETE", f"/v1/sessions/{running}", key=account))
    assert killed == {"status": "killed"}, killed
    got = assert_session(ok(gateway.request("GET", f"/v1/sessions/{running}", key=account)), "killed")
    assert "endedAt" in got
    assert_error(gateway.request("POST", f"/v1/sessions/{running}/stop", key=account), 409, "CONFLICT")
    assert ok(gateway.request("DELETE", f"/v1/sessions/{running}", key=account)) is not None


def test_main_process_exit_ends_the_session(gateway, account):
    zero = create_session(gateway, account.key, command=["true"])["id"]
    three = create_session(gateway, account.key, command=["sh", "-c", "exit 3"])["id"]
    assert wait_status(gateway, account.key, zero, {"stopped", "failed"})["status"] == "stopped"
    failed = wait_status(gateway, account.key, three, {"stopped", "failed"})
    assert failed["status"] == "failed" and failed["exitCode"] == 3, failed


# MARK: files


def test_files_upload_download_list_binary_exact(gateway, account):
    session = create_session(gateway, account.key)["id"]
    data = os.urandom(3 * MiB + 12345)
    body = upload(gateway, account.key, session, "/workspace/gw/deep/er/blob.bin", data)  # parents created
    assert body["size"] == len(data)
    got = download(gateway, account.key, session, "/workspace/gw/deep/er/blob.bin")
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest() and len(got) == len(data)
    # Checked from inside the sandbox too.
    inside = run_exec(gateway, session, account.key, ["sha256sum", "/workspace/gw/deep/er/blob.bin"]).check()
    assert bytes(inside.stdout).split()[0].decode() == hashlib.sha256(data).hexdigest()

    upload(gateway, account.key, session, "/workspace/gw/empty", b"")
    assert download(gateway, account.key, session, "/workspace/gw/empty") == b""
    upload(gateway, account.key, session, "/workspace/gw/script.sh", b"#!/bin/sh\necho hi\n")
    upload(gateway, account.key, session, "/workspace/gw/script.sh", b"#!/bin/sh\necho replaced\n")  # overwrite
    assert download(gateway, account.key, session, "/workspace/gw/script.sh") == b"#!/bin/sh\necho replaced\n"
    made = run_exec(gateway, session, account.key, [
        "sh", "-c", "chmod 755 /workspace/gw/script.sh && chmod 644 /workspace/gw/empty && "
                    "mkdir -m 755 /workspace/gw/sub && chmod 755 /workspace/gw/sub && /workspace/gw/script.sh"]).check()
    assert bytes(made.stdout) == b"replaced\n", made
    entries = listing(gateway, account.key, session, "/workspace/gw")
    assert set(entries) == {"deep", "empty", "script.sh", "sub"}, entries
    assert entries["script.sh"] == {"name": "script.sh", "size": len(b"#!/bin/sh\necho replaced\n"), "isDir": False,
                                    "mode": 493}
    assert entries["empty"] == {"name": "empty", "size": 0, "isDir": False, "mode": 420}
    assert entries["sub"]["isDir"] is True and entries["sub"]["mode"] == 493
    assert entries["deep"]["isDir"] is True
    deep = listing(gateway, account.key, session, "/workspace/gw/deep/er")
    assert deep["blob.bin"]["size"] == len(data) and deep["blob.bin"]["isDir"] is False
    assert listing(gateway, account.key, session, "/workspace/gw/sub") == {}


def test_files_errors(gateway, account):
    session = create_session(gateway, account.key)["id"]
    upload(gateway, account.key, session, "/workspace/present", b"here")
    for path in ["workspace/present", "relative", "./x", "~/x"]:
        assert_error(gateway.request("GET", files_path(session), key=account, params={"path": path}), 400)
        assert_error(upload(gateway, account.key, session, path, b"x", expect=400), 400)
    # No path (or an empty one): the required query parameter is missing.
    for params in [{}, {"path": ""}]:
        assert_error(gateway.request("GET", files_path(session), key=account, params=params), 422,
                     "VALIDATION_FAILED", location="query.path")
        assert_error(gateway.request("POST", files_path(session), key=account, params=params, data=b"x"), 422,
                     "VALIDATION_FAILED", location="query.path")
    assert_error(gateway.request("GET", files_path(session), key=account, params={"path": "/workspace/missing"}),
                 404, "NOT_FOUND")
    assert_error(gateway.request("GET", files_path(session), key=account,
                                 params={"path": "/workspace/missing-dir", "list": "true"}), 404, "NOT_FOUND")
    # `..` stays inside the sandbox: it resolves against the sandbox root, never the host's.
    escaped = gateway.request("GET", files_path(session), key=account,
                              params={"path": "/../../../../etc/../workspace/present"})
    assert escaped.status_code in (200, 400), (escaped.status_code, escaped.text[:200])
    if escaped.status_code == 200:
        assert escaped.content == b"here"
    host_only = f"/tmp/gateway-host-only-{os.urandom(4).hex()}"
    with open(host_only, "w") as f:
        f.write("host secret")
    try:
        response = gateway.request("GET", files_path(session), key=account, params={"path": "/../../.." + host_only})
        assert b"host secret" not in response.content
    finally:
        os.remove(host_only)


def test_upload_with_a_content_length_over_the_cap_is_413_before_the_body(gateway, account):
    session = create_session(gateway, account.key)["id"]
    host, port = gateway.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        head = (f"POST {files_path(session)}?path=/workspace/huge HTTP/1.1\r\nHost: {gateway.address}\r\n"
                f"Authorization: Bearer {account.key}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {100 * MiB + 1}\r\n\r\n")
        sock.sendall(head.encode() + b"x" * 65536)
        started, answer = time.monotonic(), b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert time.monotonic() - started < 10
    # The server does not read the 100 MiB: it must say it closes the connection (RFC 9112 §9.6).
    assert b"\r\nconnection: close\r\n" in answer.lower(), answer[:600]
    assert_error(gateway.request("GET", files_path(session), key=account, params={"path": "/workspace/huge"}), 404)


def test_streamed_upload_over_max_upload_bytes_is_413_and_leaves_nothing(start_gateway):
    server = start_gateway(extra=["--max-upload-bytes", str(MiB)])
    session = create_session(server, server.key)["id"]
    exact = os.urandom(MiB)
    upload(server, server.key, session, "/workspace/exact", exact)
    assert download(server, server.key, session, "/workspace/exact") == exact
    chunks = iter([exact[:MiB // 2], exact[MiB // 2:], b"+"])  # chunked: no Content-Length
    response = server.request("POST", files_path(session), key=server.key, params={"path": "/workspace/over"},
                              data=chunks, headers={"Content-Type": "application/octet-stream"})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert_error(server.request("GET", files_path(session), key=server.key, params={"path": "/workspace/over"}),
                 404)
    assert server.request("GET", "/health").status_code == 200


def test_upload_over_max_upload_bytes_with_a_content_length_keeps_the_connection_usable(start_gateway):
    """413, nothing written, and the next request on the same keep-alive connection still works (a
    server that closes after the 413 without reading the body must say `Connection: close`)."""
    server = start_gateway(extra=["--max-upload-bytes", str(MiB)])
    session = create_session(server, server.key)["id"]
    exact = os.urandom(MiB)
    response = server.request("POST", files_path(session), key=server.key, params={"path": "/workspace/over2"},
                              data=exact + b"+", headers={"Content-Type": "application/octet-stream"})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert_error(server.request("GET", files_path(session), key=server.key, params={"path": "/workspace/over2"}),
                 404)
    assert server.request("GET", "/health").status_code == 200


# MARK: port URL


def test_url_of_an_exposed_port_answers_http(gateway, account):
    created = create_session(gateway, account.key, network="exposed", ports=[{"container": 8000}],
                             command=["python3", "-m", "http.server", "8000", "--bind", "0.0.0.0",
                                      "--directory", "/usr/share"])
    session = created["id"]
    url = ok(gateway.request("GET", f"/v1/sessions/{session}/url", key=account, params={"port": "8000"}))
    assert set(url) == {"containerPort", "hostPort", "url", "protocol"}, url
    assert url["containerPort"] == 8000 and url["protocol"] == "tcp" and is_int(url["hostPort"])
    assert url["url"].endswith(f":{url['hostPort']}") and url["url"].startswith("http"), url
    if "network" in created:
        network = created["network"]
        assert network["mode"] == "exposed" and network["ports"]["8000"]["hostPort"] == url["hostPort"], network
    body = None
    for _ in range(100):
        try:
            body = urllib.request.urlopen(url["url"], timeout=5).read()
            break
        except OSError:
            time.sleep(0.1)
    assert body is not None and b"<html" in body.lower(), body
    got = assert_session(ok(gateway.request("GET", f"/v1/sessions/{session}", key=account)))
    if "network" in got:
        assert got["network"]["ports"]["8000"]["hostPort"] == url["hostPort"], got
    assert_error(gateway.request("GET", f"/v1/sessions/{session}/url", key=account, params={"port": "9000"}), 400,
                 "BAD_REQUEST")
    assert_error(gateway.request("GET", f"/v1/sessions/{session}/url", key=account, params={"port": "22"}), 400)
    for bad in ["0", "65536", "-1", "abc"]:
        assert_error(gateway.request("GET", f"/v1/sessions/{session}/url", key=account, params={"port": bad}), 422,
                     "VALIDATION_FAILED", location="query.port")
    assert_error(gateway.request("GET", f"/v1/sessions/{session}/url", key=account), 422, location="query.port")


def test_url_of_a_session_that_is_not_exposed_is_400(gateway, account):
    session = create_session(gateway, account.key, ports=[{"container": 8000}])["id"]  # network outgoing
    assert_error(gateway.request("GET", f"/v1/sessions/{session}/url", key=account, params={"port": "8000"}), 400,
                 "BAD_REQUEST")


# MARK: quotas (free tier: 5 concurrent, 10 a day)


def test_session_quotas_of_a_free_account(gateway, account):
    sessions = [create_session(gateway, account.key)["id"] for _ in range(5)]
    refused = gateway.request("POST", "/v1/sessions", key=account, json={"image": "default"})
    body = assert_error(refused, 429, "QUOTA_EXCEEDED", detail="concurrent session limit reached (5/5)")
    assert refused.headers.get("Retry-After", "").isdigit() and int(refused.headers["Retry-After"]) >= 1, (
        dict(refused.headers))
    assert body["detail"] == body["error"]
    for session in sessions:
        ok(gateway.request("DELETE", f"/v1/sessions/{session}", key=account))
    for _ in range(5):
        session = create_session(gateway, account.key)["id"]
        ok(gateway.request("DELETE", f"/v1/sessions/{session}", key=account))
    refused = gateway.request("POST", "/v1/sessions", key=account, json={"image": "default"})
    assert_error(refused, 429, "QUOTA_EXCEEDED", detail="daily session limit reached (10/10)")
    assert refused.headers.get("Retry-After", "").isdigit(), dict(refused.headers)
    usage = ok(gateway.request("GET", "/v1/account/usage", key=account))
    assert usage["sessions_today"] == 10 and usage["quota_remaining"] == 0 and usage["active_sessions"] == 0


# MARK: BOLA (TESTPLAN 66)


def test_another_accounts_session_is_404_on_every_route_with_no_side_effect(gateway, mint_account):
    owner, intruder = mint_account("owner"), mint_account("intruder")
    session = create_session(gateway, owner.key, network="exposed", ports=[{"container": 8000}])["id"]
    upload(gateway, owner.key, session, "/workspace/secret.txt", b"owner's")
    made_up = "sess_" + "0" * 24
    routes = [
        ("GET", "", {}), ("POST", "/stop", {}), ("DELETE", "", {}),
        ("GET", "/files", {"params": {"path": "/workspace/secret.txt"}}),
        ("GET", "/files", {"params": {"path": "/workspace", "list": "true"}}),
        ("POST", "/files", {"params": {"path": "/workspace/secret.txt"}, "data": b"intruder's",
                            "headers": {"Content-Type": "application/octet-stream"}}),
        ("GET", "/url", {"params": {"port": "8000"}}),
    ]
    details = set()
    for target in [session, made_up]:
        for method, suffix, kwargs in routes:
            response = gateway.request(method, f"/v1/sessions/{target}{suffix}", key=intruder, **kwargs)
            details.add(assert_error(response, 404, "NOT_FOUND")["detail"])
        for what, query in [("exec", [("cmd", "true")]), ("attach", None)]:
            refused = handshake_refusal(gateway, target, intruder.key, what=what, query=query)
            details.add(assert_handshake_error(refused, 404, "NOT_FOUND")["detail"])
    assert len(details) == 1, details  # identical to a made-up id
    assert ok(gateway.request("GET", "/v1/sessions", key=intruder)) == {"sessions": []}
    assert get_session(gateway, owner.key, session)["status"] == "running"
    assert download(gateway, owner.key, session, "/workspace/secret.txt") == b"owner's"


def runc_containers(server):
    """The runc containers of a server's namespace (pooled ones are named pool.…)."""
    listed = subprocess.run(["runc", "--root", f"/run/{server.namespace}/runc", "list", "-q"],
                            capture_output=True, text=True, timeout=30)
    return set(listed.stdout.split())


def wait_pooled(server, count, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        pooled = {name for name in runc_containers(server) if name.startswith("pool.")}
        if len(pooled) == count or time.monotonic() > deadline:
            assert len(pooled) == count, pooled
            return pooled
        time.sleep(0.05)


def test_a_pool_of_started_containers_serves_sessions_that_cannot_tell(start_gateway):
    """--pool default=2: two started containers wait; a session is given one (its hostname, /etc
    files, environment and files are its own), the pool refills, a container is never given twice,
    and a stopped server leaves none."""
    server = start_gateway(extra=["--pool", "default=2"])
    pooled = wait_pooled(server, 2)
    session = create_session(server, server.key, env={"GREETING": "pooled"})["id"]
    output = run_exec(server, session, server.key,
                      ["sh", "-c", "hostname; cat /etc/hostname; echo $GREETING; pwd"])
    assert output.stdout.decode() == f"{session}\n{session}\npooled\n/workspace\n", output
    assert output.exit_code == 0
    # The given container keeps its name; its record (read by a next server) names the session.
    records = {name: f"/run/{server.namespace}/sandboxes/{name}/sandbox.json" for name in pooled}
    given = {name for name, record in records.items()
             if os.path.exists(record) and json.load(open(record))["id"] == session}
    assert len(given) == 1, pooled
    assert given < wait_pooled(server, 3), "the filler replaced it"
    exact = os.urandom(4096)
    upload(server, server.key, session, "/workspace/data", exact)
    assert download(server, server.key, session, "/workspace/data") == exact
    kill_session(server, server.key, session)
    wait_status(server, server.key, session, {"killed"})
    assert not (given & runc_containers(server)), "the given container went with its session"
    # Its own memory limit is set in the pooled container's cgroup; another working directory
    # shapes the container, so that session is created the ordinary way.
    wait_pooled(server, 2)
    sized = create_session(server, server.key, resources={"memoryMB": 256})["id"]
    assert sized not in runc_containers(server), "given a pooled container"
    # 300 MiB fits the pool's default 512 MiB, not the session's 256 MiB: an OOM kill.
    output = run_exec(server, sized, server.key, ["python3", "-c", "a = b'x' * (300 << 20); print(len(a))"])
    assert output.exit_code == 137, output
    output = run_exec(server, sized, server.key, ["python3", "-c", "a = b'x' * (100 << 20); print(len(a))"])
    assert (output.stdout.decode(), output.exit_code) == (f"{100 << 20}\n", 0), output
    other = create_session(server, server.key, workDir="/workspace/project")["id"]
    assert other in runc_containers(server)
    for session_id in (sized, other):
        kill_session(server, server.key, session_id)
    assert server.shutdown() == 0
    assert not runc_containers(server), "no pooled container outlives the server"


@pytest.mark.parametrize("value", ["default", "default=x", "default=-1", "default=65", "=2", "default=1,default=2"])
def test_a_malformed_pool_option_stops_the_server_with_the_reason(value, tmp_path):
    binary = server_binary()
    result = subprocess.run([binary, "serve", "--backend", "runc", "--data-dir", str(tmp_path), "--pool", value,
                             "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "--pool" in result.stderr and ("IMAGE=COUNT" in result.stderr or "twice" in result.stderr), result.stderr
