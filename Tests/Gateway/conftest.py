"""Fixtures for the REST /v1 gateway tests (docs/gateway.md, docs/api-legacy-mapping.md).

One `execbox-server serve --backend runc` per test module, with a sandbox namespace of its own
(`gw` + 5 random lowercase letters) so concurrent runs never reap each other's sandboxes, a data
directory under /tmp and a free loopback port (`--listen 127.0.0.1:0`; the server prints the port
it bound). The REST gateway answers on the same port as gRPC.

Fixtures:
  gateway        the module's server: `.url` (http://127.0.0.1:PORT), `.key` (the bootstrap admin key,
                 read from the data dir's key file), `.request(method, path, key=…)` and
                 `.new_account(name)`.
  mint_account   a callable: `mint_account("name")` → Account (`.key` the secret, `.key_id`, `.email`,
                 `.headers`), a fresh free account made through the public POST /v1/waitlist.
  account        one fresh Account per test.
  start_gateway  a callable starting an extra server (own namespace; `extra=[flags]`, `tiers={…}`,
                 `env={…}`), stopped and cleaned after the test.

Teardown kills every session of every account the fixtures know (a test that rotates a key should
store the new secret in `account.key`), stops the server, force-deletes any runc container left in
the namespace and removes its host state (nftables table, cgroup parents, /run/NAME).

The binary is `$EXECBOX_SERVER_BINARY`, else `$EXECBOX_SERVER` (scripts/test exports it), else
`$(swift build --show-bin-path)/execbox-server`. Without root, runc or nft the tests skip, except
under CI=true where they fail.
"""
import glob
import os
import pathlib
import random
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "GRPCInterop"))
from test_service_accounts import ROOMY, Server  # noqa: E402
from test_service_sessions import remove_host_state  # noqa: E402

TERMINAL = {"stopped", "failed", "killed"}
TIMEOUT = 60


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "debootstrap: runs debootstrap from the host's apt mirror (about 25 s); -m 'not debootstrap' "
        "deselects it")


def server_binary():
    for variable in ("EXECBOX_SERVER_BINARY", "EXECBOX_SERVER"):
        if os.environ.get(variable):
            return os.environ[variable]
    bin_path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    return os.path.join(bin_path, "execbox-server")


def require_sandboxes():
    if os.geteuid() == 0 and shutil.which("runc") and shutil.which("nft"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("the gateway tests need root, runc and nft (CI=true requires them)")
    pytest.skip("the gateway tests need root, runc and nft (execbox-server --backend runc)")


def new_namespace():
    return "gw" + "".join(random.choices(string.ascii_lowercase, k=5))


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


class Account:
    """A key of an account: `key` is the secret (update it after a rotation), `key_id` its id."""

    def __init__(self, key, key_id=None, email=None):
        self.key, self.key_id, self.email = key, key_id, email

    @property
    def headers(self):
        return bearer(self.key)

    def __repr__(self):
        return f"Account(key_id={self.key_id!r}, email={self.email!r})"


class Gateway:
    """`execbox-server serve --backend runc` in a namespace of its own; its REST base URL and
    bootstrap admin key. `shutdown` kills every known session, stops it and cleans the host."""

    def __init__(self, extra=(), tiers=ROOMY, env=None):
        # Server (Tests/GRPCInterop) runs $EXECBOX_SERVER.
        os.environ["EXECBOX_SERVER"] = server_binary()
        self.namespace = new_namespace()
        root = tempfile.mkdtemp(prefix="execbox-gateway-")
        self.server = Server(data_dir=root, tiers=tiers, env=env,
                             extra=["--backend", "runc", "--sandbox-namespace", self.namespace, *extra])
        self.root, self.data_dir = self.server.root, self.server.data_dir
        self.address = self.server.address
        self.url = f"http://{self.address}"
        with open(self.server.key_file) as f:
            self.key = f.read().strip()
        self.admin = Account(self.key, email="admin")
        self.accounts = [self.admin]
        self.http = requests.Session()

    # MARK: calls

    def request(self, method, path, key=None, headers=None, timeout=TIMEOUT, **kwargs):
        """One HTTP/1.1 call; `key` (a secret or an Account) adds `Authorization: Bearer`."""
        if isinstance(key, Account):
            key = key.key
        all_headers = {**(bearer(key) if key else {}), **(headers or {})}
        return self.http.request(method, self.url + path, headers=all_headers, timeout=timeout, **kwargs)

    def new_account(self, name="user"):
        """A fresh free account through the public POST /v1/waitlist, tracked for teardown."""
        email = f"{name}-{random.getrandbits(32):08x}@example.com"
        response = self.request("POST", "/v1/waitlist", json={"email": email, "name": name})
        assert response.status_code == 201, (response.status_code, response.text)
        body = response.json()
        account = Account(body["key"], body["id"], email)
        self.accounts.append(account)
        return account

    def track(self, account):
        """Teardown also kills the sessions of `account` (an Account or a secret)."""
        if not isinstance(account, Account):
            account = Account(account)
        self.accounts.append(account)
        return account

    def log_text(self):
        return self.server.log_text()

    # MARK: teardown

    def sessions_of(self, account):
        """Every session of the key (all pages), or None when the key no longer authenticates."""
        sessions, cursor = [], None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            response = self.request("GET", "/v1/sessions", key=account, params=params)
            if response.status_code != 200:
                return None
            body = response.json()
            sessions += body.get("sessions") or []
            cursor = body.get("next_cursor")
            if not cursor:
                return sessions

    def kill_everything(self):
        for account in self.accounts:
            try:
                for session in self.sessions_of(account) or []:
                    if session.get("status") not in TERMINAL:
                        self.request("DELETE", f"/v1/sessions/{session['id']}", key=account)
            except requests.RequestException:
                pass

    def sweep_containers(self):
        """Whatever the API could not kill (a key rotated or revoked by a test, a dead server):
        runc containers of the namespace are force-deleted and their monitors killed. Returns their
        names, so a caller can tell."""
        state = f"/run/{self.namespace}/runc"
        left = []
        if os.path.isdir(state) and shutil.which("runc"):
            listed = subprocess.run(["runc", "--root", state, "list", "-q"], capture_output=True, text=True,
                                    timeout=30)
            left = listed.stdout.split()
            for container in left:
                subprocess.run(["runc", "--root", state, "delete", "--force", container], capture_output=True,
                               timeout=30)
        marker = f"/run/{self.namespace}/".encode()
        for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                with open(cmdline, "rb") as f:
                    command = f.read()
                if b"ExecboxSandboxMonitor" in command and marker in command:
                    os.kill(int(cmdline.split("/")[2]), signal.SIGKILL)
            except (OSError, ValueError):
                continue
        return left

    def shutdown(self):
        """Kills every known session, stops the server and removes the namespace's host state;
        the data directory goes too when the server exited cleanly. Returns the exit code."""
        code = None
        try:
            if self.server.proc.poll() is None:
                self.kill_everything()
        finally:
            self.http.close()
            code = self.server.stop()
            left = self.sweep_containers()
            if left:
                time.sleep(1)
                print(f"gateway teardown: force-deleted runc containers {left} of {self.namespace}")
            remove_host_state(self.namespace)
            # Bundles of force-deleted containers: /run/NAME goes too once nothing is mounted there.
            if left and not any(f"/run/{self.namespace}/" in line for line in open("/proc/self/mountinfo")):
                shutil.rmtree(f"/run/{self.namespace}", ignore_errors=True)
        if code == 0:
            shutil.rmtree(self.root, ignore_errors=True)
        return code


@pytest.fixture(scope="module")
def gateway():
    require_sandboxes()
    server = Gateway()
    yield server
    code = server.shutdown()
    assert code == 0, f"execbox-server exited with {code}; log in {server.root}"


@pytest.fixture
def mint_account(gateway):
    """`mint_account(name="user")` → a fresh free Account (POST /v1/waitlist) of the module's server."""
    return gateway.new_account


@pytest.fixture
def account(gateway):
    return gateway.new_account("test")


@pytest.fixture
def start_gateway():
    """`start_gateway(extra=[…], tiers={…}, env={…})` → an extra Gateway, shut down after the test."""
    require_sandboxes()
    started = []

    def start(extra=(), tiers=ROOMY, env=None):
        server = Gateway(extra=extra, tiers=tiers, env=env)
        started.append(server)
        return server

    yield start
    codes = [server.shutdown() for server in started]
    assert all(code == 0 for code in codes), codes


def assert_error_body(response, status, code=None):
    """The gateway's error body (gateway-spec.md): `title`, `status`, `detail`, `error` (= detail), `code`,
    `request_id` (= the X-Request-Id header), optional `errors[]`; application/problem+json, except 401
    (application/json). Returns the parsed body."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert content_type == ("application/json" if status == 401 else "application/problem+json"), content_type
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("status") == status, body
    assert isinstance(body.get("title"), str) and body["title"], body
    assert isinstance(body.get("detail"), str), body
    assert body.get("error") == body["detail"], body
    if code is not None:
        assert body.get("code") == code, body
    assert body.get("request_id") and body["request_id"] == response.headers.get("X-Request-Id"), body
    for item in body.get("errors") or []:
        assert isinstance(item.get("message"), str) and isinstance(item.get("location"), str), item
    assert "$schema" not in body, body
    return body
