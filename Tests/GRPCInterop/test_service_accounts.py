"""AccountService, authentication, rate limits and the admin commands of `execbox-server`, end to end
over real HTTP/2 with grpcio stubs generated from proto/execbox/v1: the bootstrap key on first start,
UNAUTHENTICATED for missing/bad/revoked/expired keys, the key lifecycle and roles, a two-account
tenancy matrix, rate limits that more connections do not get around, the legacy CSV export header,
and `execbox-server admin …` against the store of a running server."""
import json
import os
import pathlib
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY = re.compile(r"^ebx_[ps]_[0-9a-f]{32}_[0-9A-Za-z]{46}$")
UNAUTHENTICATED_MESSAGE = "missing or invalid API key (send 'authorization: Bearer <key>')"


def _binary():
    if os.environ.get("EXECBOX_SERVER"):
        return os.environ["EXECBOX_SERVER"]
    bin_path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    return os.path.join(bin_path, "execbox-server")


@pytest.fixture(scope="module")
def api():
    """The execbox.v1 Python modules, compiled from proto/ with grpc_tools.protoc."""
    out = tempfile.mkdtemp(prefix="execbox-api-stubs-")
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto" / "execbox" / "v1").glob("*.proto"))
    subprocess.check_call([
        sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT / "proto"), "-I", "/usr/include",
        f"--python_out={out}", f"--grpc_python_out={out}", *protos,
    ])
    sys.path.insert(0, out)
    from execbox.v1 import account_pb2, account_pb2_grpc, common_pb2, session_pb2  # noqa: E402

    class Modules:
        pass

    modules = Modules()
    modules.account_pb2, modules.account_pb2_grpc = account_pb2, account_pb2_grpc
    modules.common_pb2, modules.session_pb2 = common_pb2, session_pb2
    return modules


class Server:
    """One `execbox-server serve` on a free loopback port. stdout is read up to the `listening on`
    line (the bootstrap announcement comes before it); stderr (the log) goes to a file."""

    def __init__(self, data_dir=None, tiers=None, extra=(), env=None):
        self.root = data_dir or tempfile.mkdtemp(prefix="execbox-accounts-")
        self.data_dir = os.path.join(self.root, "data")
        flags = ["--listen", "127.0.0.1:0", "--data-dir", self.data_dir, *extra]
        if tiers is not None:
            tiers_file = os.path.join(self.root, "tiers.json")
            with open(tiers_file, "w") as f:
                json.dump(tiers, f)
            flags += ["--tiers", tiers_file]
        self.log_path = os.path.join(self.root, f"server-{time.monotonic_ns()}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [_binary(), "serve", *flags], stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**os.environ, **(env or {})})
        self.stdout_lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line, ("server exited", self.proc.wait(), open(self.log_path).read())
            if line.startswith("listening on 127.0.0.1:"):
                break
            self.stdout_lines.append(line.rstrip("\n"))
        self.address = line.split()[-1]
        self.channel = grpc.insecure_channel(self.address)

    @property
    def printed_keys(self):
        return [line for line in self.stdout_lines if KEY.match(line)]

    @property
    def key_file(self):
        return os.path.join(self.data_dir, "bootstrap-admin.key")

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def admin(self, *args, check=True):
        result = subprocess.run(
            [_binary(), "admin", *args, "--data-dir", self.data_dir], capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def stop(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self.log.close()
        return code


def fields(output):
    """`name: value` lines as a dict."""
    return dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def bearer(key):
    return (("authorization", f"Bearer {key}"),)


ROOMY = {
    "tiers": {name: {"key_rate": None, "account_rate": None} for name in ["free", "starter", "pro"]},
    "public_rate": {"per_second": 1000, "burst": 1000},
}


@pytest.fixture(scope="module")
def server():
    server = Server(tiers=ROOMY)
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def accounts(server, api):
    return api.account_pb2_grpc.AccountServiceStub(server.channel)


def join(accounts, api, email):
    """A new free account through the public JoinWaitlist: (account id, key id, secret)."""
    reply = accounts.JoinWaitlist(api.account_pb2.JoinWaitlistRequest(email=email, name="primary"), timeout=10)
    return reply.api_key.account_id, reply.api_key.id, reply.secret


def code_of(call):
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


# MARK: bootstrap


def test_first_start_prints_and_writes_the_bootstrap_key_and_a_second_start_does_not(api):
    first = Server()
    try:
        assert len(first.printed_keys) == 1, first.stdout_lines
        key = first.printed_keys[0]
        assert key.startswith("ebx_p_")
        with open(first.key_file) as f:
            assert f.read() == key + "\n"
        assert stat.S_IMODE(os.stat(first.key_file).st_mode) == 0o600
        stub = api.account_pb2_grpc.AccountServiceStub(first.channel)
        reply = stub.GetAccount(api.account_pb2.GetAccountRequest(), metadata=bearer(key), timeout=10)
        assert reply.account.tier == api.common_pb2.TIER_ENTERPRISE
        assert reply.caller_key.is_primary
        assert reply.account.tier_limits.daily_limit == -1
        assert key not in first.log_text()
    finally:
        assert first.stop() == 0

    second = Server(data_dir=first.root)
    try:
        assert second.printed_keys == [] and second.stdout_lines == []
        with open(second.key_file) as f:
            assert f.read() == key + "\n"
        stub = api.account_pb2_grpc.AccountServiceStub(second.channel)
        assert stub.GetAccount(api.account_pb2.GetAccountRequest(), metadata=bearer(key), timeout=10).caller_key.id
    finally:
        assert second.stop() == 0


def test_bootstrap_key_file_flag_and_bad_database_url():
    root = tempfile.mkdtemp(prefix="execbox-accounts-")
    key_file = os.path.join(root, "admin.key")
    server = Server(data_dir=root, extra=["--bootstrap-key-file", key_file])
    try:
        with open(key_file) as f:
            assert f.read() == server.printed_keys[0] + "\n"
        assert not os.path.exists(server.key_file)
    finally:
        assert server.stop() == 0
    secret_url = "mysql://user:hunter2@db/execbox"
    result = subprocess.run(
        [_binary(), "serve", "--data-dir", root + "/d", "--database-url", secret_url],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--database-url" in result.stderr and "hunter2" not in result.stderr


def test_postgres_bootstraps_once_per_database_and_health_follows_it(api):
    """Two servers with their own data directories on one PostgreSQL: only the first start of the
    database mints the admin key. Stopping PostgreSQL turns health NOT_SERVING and calls UNAVAILABLE;
    starting it again brings both back."""
    if not list(pathlib.Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL is not installed")
    started = subprocess.run([str(ROOT / "scripts" / "with-postgres"), "--start"], capture_output=True, text=True,
                             check=True, timeout=120)
    pg = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    port = pg["URL"].rsplit(":", 1)[1].split("/")[0]
    env = {"EXECBOX_DATABASE_URL": pg["URL"], "EXECBOX_STORAGE_KEY": "A" * 43 + "="}
    servers = []
    try:
        servers.append(Server(env=env))
        servers.append(Server(env=env))
        assert len(servers[0].printed_keys) == 1 and servers[1].printed_keys == []
        key = servers[0].printed_keys[0]
        pb = api.account_pb2
        for server in servers:
            stub = api.account_pb2_grpc.AccountServiceStub(server.channel)
            assert stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(key), timeout=10).account.tier == \
                api.common_pb2.TIER_ENTERPRISE
        assert "postgres://" not in servers[0].log_text()

        health = health_pb2_grpc.HealthStub(servers[0].channel)
        stub = api.account_pb2_grpc.AccountServiceStub(servers[0].channel)

        def wait_for(status, service=""):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == status:
                    return
                time.sleep(0.25)
            raise AssertionError(f"health of {service!r} never became {status}")

        subprocess.run([pg["CTL"], "stop", "-m", "immediate"], capture_output=True, check=True, timeout=60)
        wait_for(health_pb2.HealthCheckResponse.NOT_SERVING)
        wait_for(health_pb2.HealthCheckResponse.NOT_SERVING, "execbox.v1.AccountService")
        down = code_of(lambda: stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(key), timeout=10))
        assert down.code() == grpc.StatusCode.UNAVAILABLE
        assert down.details() == "the database is unavailable; retry later"
        subprocess.run(
            [pg["CTL"], "start", "-o", f"-p {port} -k {pg['DIR']} -c listen_addresses=127.0.0.1"],
            capture_output=True, check=True, timeout=60)
        wait_for(health_pb2.HealthCheckResponse.SERVING)
        assert stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(key), timeout=10).caller_key.is_primary
    finally:
        for server in servers:
            server.stop()
        subprocess.run([pg["CTL"], "stop", "-m", "immediate"], capture_output=True, timeout=60)
        subprocess.run(["rm", "-rf", pg["DIR"]], timeout=60)


# MARK: authentication


def test_calls_without_a_valid_key_are_unauthenticated(server, accounts, api):
    _, key_id, secret = join(accounts, api, "auth@example.com")
    pb = api.account_pb2
    revoked = accounts.CreateAPIKey(pb.CreateAPIKeyRequest(name="gone"), metadata=bearer(secret), timeout=10)
    accounts.RevokeAPIKey(pb.RevokeAPIKeyRequest(key_id=revoked.api_key.id), metadata=bearer(secret), timeout=10)
    expires = int(time.time()) + 2
    expiring = accounts.CreateAPIKey(
        pb.CreateAPIKeyRequest(name="short", expires_at={"seconds": expires}), metadata=bearer(secret), timeout=10)
    assert accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(expiring.secret), timeout=10).caller_key.id
    time.sleep(max(0, expires - time.time()) + 0.2)

    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for metadata in [
        None, (("authorization", secret),), (("authorization", "Bearer"),), bearer("sk_" + "0" * 64),
        bearer(forged), bearer(revoked.secret), bearer(expiring.secret), bearer("ebx_" + secret[4:].upper()),
    ]:
        error = code_of(lambda: accounts.GetAccount(pb.GetAccountRequest(), metadata=metadata, timeout=10))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
        assert error.details() == UNAUTHENTICATED_MESSAGE
    # The placeholder services are behind authentication too; with a key they say UNIMPLEMENTED.
    sessions = server.channel.unary_unary(
        "/execbox.v1.SessionService/ListSessions", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    assert code_of(lambda: sessions(b"", timeout=10)).code() == grpc.StatusCode.UNAUTHENTICATED
    assert code_of(lambda: sessions(b"", metadata=bearer(secret), timeout=10)).code() == grpc.StatusCode.UNIMPLEMENTED


def test_health_and_reflection_need_no_key(server):
    health = health_pb2_grpc.HealthStub(server.channel)
    serving = health_pb2.HealthCheckResponse.SERVING
    assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == serving
    reply = health.Check(health_pb2.HealthCheckRequest(service="execbox.v1.AccountService"), timeout=10)
    assert reply.status == serving
    reply = health.Check(health_pb2.HealthCheckRequest(service="execbox.v1.SessionService"), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


# MARK: keys


def test_key_lifecycle(server, accounts, api):
    pb = api.account_pb2
    account_id, primary_id, secret = join(accounts, api, "keys@example.com")
    auth = bearer(secret)
    created = accounts.CreateAPIKey(
        pb.CreateAPIKeyRequest(name="ci", description="runner", tags=["env:ci"], custom_daily_limit=3),
        metadata=auth, timeout=10)
    assert KEY.match(created.secret) and created.secret.startswith("ebx_s_")
    key = created.api_key
    assert key.account_id == account_id and key.parent_key_id == primary_id and not key.is_primary
    assert key.key_preview == created.secret[:7] + "..." + created.secret[-4:]
    assert key.HasField("custom_daily_limit") and key.custom_daily_limit == 3

    listed = accounts.ListAPIKeys(pb.ListAPIKeysRequest(), metadata=auth, timeout=10)
    assert [k.id for k in listed.keys] == [primary_id, key.id]
    assert accounts.GetAPIKey(pb.GetAPIKeyRequest(key_id=key.id), metadata=auth, timeout=10).api_key.name == "ci"
    updated = accounts.UpdateAPIKey(
        pb.UpdateAPIKeyRequest(key_id=key.id, name="ci-2", custom_daily_limit=0), metadata=auth, timeout=10)
    assert updated.api_key.name == "ci-2" and not updated.api_key.HasField("custom_daily_limit")
    error = code_of(lambda: accounts.UpdateAPIKey(pb.UpdateAPIKeyRequest(key_id=key.id), metadata=auth, timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details() == "no fields to update"

    rotated = accounts.RotateAPIKey(pb.RotateAPIKeyRequest(key_id=key.id), metadata=auth, timeout=10)
    assert rotated.api_key.id == key.id and rotated.secret != created.secret
    old = code_of(lambda: accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(created.secret), timeout=10))
    assert old.code() == grpc.StatusCode.UNAUTHENTICATED
    me = accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(rotated.secret), timeout=10)
    assert me.caller_key.id == key.id

    revoked = accounts.RevokeAPIKey(pb.RevokeAPIKeyRequest(key_id=key.id, reason="done"), metadata=auth, timeout=10)
    assert not revoked.api_key.is_active and revoked.api_key.revoke_reason == "done"
    gone = code_of(lambda: accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(rotated.secret), timeout=10))
    assert gone.code() == grpc.StatusCode.UNAUTHENTICATED

    log = accounts.ListAuditLog(pb.ListAuditLogRequest(target_id=key.id), metadata=auth, timeout=10)
    assert [e.action for e in log.events] == [
        pb.AUDIT_ACTION_API_KEY_REVOKED, pb.AUDIT_ACTION_API_KEY_ROTATED, pb.AUDIT_ACTION_API_KEY_UPDATED,
        pb.AUDIT_ACTION_API_KEY_CREATED]
    assert all(e.performed_by == primary_id and e.source_ip == "127.0.0.1" for e in log.events)


def test_a_secondary_key_cannot_revoke_or_rotate_the_primary(accounts, api):
    pb = api.account_pb2
    _, primary_id, secret = join(accounts, api, "roles@example.com")
    second = accounts.CreateAPIKey(pb.CreateAPIKeyRequest(name="second"), metadata=bearer(secret), timeout=10)
    as_second = bearer(second.secret)
    revoke = code_of(lambda: accounts.RevokeAPIKey(
        pb.RevokeAPIKeyRequest(key_id=primary_id), metadata=as_second, timeout=10))
    assert revoke.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert revoke.details() == "cannot delete the primary API key"
    rotate = code_of(lambda: accounts.RotateAPIKey(
        pb.RotateAPIKeyRequest(key_id=primary_id), metadata=as_second, timeout=10))
    assert rotate.code() == grpc.StatusCode.PERMISSION_DENIED
    update = code_of(lambda: accounts.UpdateAPIKey(
        pb.UpdateAPIKeyRequest(key_id=primary_id, name="mine"), metadata=as_second, timeout=10))
    assert update.code() == grpc.StatusCode.PERMISSION_DENIED
    # The primary key still works and may manage the secondary one.
    assert accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(secret), timeout=10).caller_key.is_primary
    accounts.RevokeAPIKey(pb.RevokeAPIKeyRequest(key_id=second.api_key.id), metadata=bearer(secret), timeout=10)


def test_tenancy_matrix(accounts, api):
    """Every AccountService call with the other account's ids: NOT_FOUND, as for an id that exists nowhere."""
    pb = api.account_pb2
    _, _, alice = join(accounts, api, "alice@example.com")
    _, bob_primary, bob = join(accounts, api, "bob@example.com")
    bob_second = accounts.CreateAPIKey(pb.CreateAPIKeyRequest(name="bob-ci"), metadata=bearer(bob), timeout=10)
    as_alice = bearer(alice)
    calls = {
        "GetAPIKey": lambda k: accounts.GetAPIKey(pb.GetAPIKeyRequest(key_id=k), metadata=as_alice, timeout=10),
        "UpdateAPIKey": lambda k: accounts.UpdateAPIKey(
            pb.UpdateAPIKeyRequest(key_id=k, name="x"), metadata=as_alice, timeout=10),
        "RevokeAPIKey": lambda k: accounts.RevokeAPIKey(
            pb.RevokeAPIKeyRequest(key_id=k), metadata=as_alice, timeout=10),
        "RotateAPIKey": lambda k: accounts.RotateAPIKey(
            pb.RotateAPIKeyRequest(key_id=k), metadata=as_alice, timeout=10),
        "GetUsage": lambda k: accounts.GetUsage(pb.GetUsageRequest(api_key_id=k), metadata=as_alice, timeout=10),
        "GetUsageHistory": lambda k: accounts.GetUsageHistory(
            pb.GetUsageHistoryRequest(api_key_id=k), metadata=as_alice, timeout=10),
        "ExportUsage": lambda k: list(accounts.ExportUsage(
            pb.ExportUsageRequest(api_key_id=k), metadata=as_alice, timeout=10)),
    }
    for target in [bob_primary, bob_second.api_key.id, "6f1c1a52-0d1e-4a8e-9a55-000000000000"]:
        for name, call in calls.items():
            error = code_of(lambda: call(target))
            assert error.code() == grpc.StatusCode.NOT_FOUND, (name, target)
            assert error.details() == "API key not found", (name, target)
    # Nothing of Bob's changed, and Alice's lists show only Alice's.
    assert accounts.GetAPIKey(
        pb.GetAPIKeyRequest(key_id=bob_second.api_key.id), metadata=bearer(bob), timeout=10).api_key.is_active
    assert accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(bob_second.secret), timeout=10).caller_key.id
    assert len(accounts.ListAPIKeys(pb.ListAPIKeysRequest(), metadata=as_alice, timeout=10).keys) == 1
    assert not accounts.ListAuditLog(
        pb.ListAuditLogRequest(target_id=bob_second.api_key.id), metadata=as_alice, timeout=10).events


# MARK: usage, limits, public calls


def test_usage_export_has_the_legacy_csv_header(accounts, api):
    pb = api.account_pb2
    _, _, secret = join(accounts, api, "export@example.com")
    chunks = list(accounts.ExportUsage(
        pb.ExportUsageRequest(format=pb.USAGE_EXPORT_FORMAT_CSV), metadata=bearer(secret), timeout=10))
    document = b"".join(c.data for c in chunks).decode()
    assert document.split("\n")[0] == "Date,Executions,Duration (ms),Cost (cents),Errors"
    assert not document.endswith("\n")
    assert chunks[0].content_type == "text/csv; charset=utf-8"
    assert re.fullmatch(r"usage-export-\d{4}-\d{2}-\d{2}\.csv", chunks[0].filename)
    json_chunks = list(accounts.ExportUsage(pb.ExportUsageRequest(), metadata=bearer(secret), timeout=10))
    assert json.loads(b"".join(c.data for c in json_chunks)) == []
    assert json_chunks[0].content_type == "application/json"


def test_limits_usage_and_quota_requests(accounts, api):
    pb = api.account_pb2
    _, key_id, secret = join(accounts, api, "limits@example.com")
    auth = bearer(secret)
    limits = accounts.GetLimits(pb.GetLimitsRequest(), metadata=auth, timeout=10).limits
    assert (limits.effective_daily_limit, limits.effective_concurrent_limit) == (10, 5)
    changed = accounts.UpdateLimits(
        pb.UpdateLimitsRequest(daily_requests_limit=4, timezone="Europe/Berlin"), metadata=auth, timeout=10).limits
    assert changed.effective_daily_limit == 4 and changed.timezone == "Europe/Berlin"
    bad = code_of(lambda: accounts.UpdateLimits(pb.UpdateLimitsRequest(alert_threshold=101), metadata=auth, timeout=10))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    usage = accounts.GetUsage(pb.GetUsageRequest(), metadata=auth, timeout=10)
    assert usage.tier == api.common_pb2.TIER_FREE and usage.quota_remaining == 4
    assert accounts.GetUsageHistory(pb.GetUsageHistoryRequest(), metadata=auth, timeout=10).total_executions == 0

    anonymous = accounts.RequestQuota(pb.RequestQuotaRequest(email="who@example.com"), timeout=10)
    assert anonymous.quota_request.status == pb.QUOTA_REQUEST_STATUS_PENDING
    assert anonymous.quota_request.api_key_id == ""
    signed = accounts.RequestQuota(pb.RequestQuotaRequest(email="limits@example.com"), metadata=auth, timeout=10)
    assert signed.quota_request.api_key_id == key_id
    again = code_of(lambda: accounts.JoinWaitlist(pb.JoinWaitlistRequest(email="LIMITS@example.com"), timeout=10))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    alerts = code_of(lambda: accounts.ListAlertRules(pb.ListAlertRulesRequest(), metadata=auth, timeout=10))
    assert alerts.code() == grpc.StatusCode.UNIMPLEMENTED


def test_request_ids_are_echoed_and_keys_never_logged(server, accounts, api):
    pb = api.account_pb2
    _, _, secret = join(accounts, api, "logs@example.com")
    call = accounts.GetAccount.with_call(
        pb.GetAccountRequest(), metadata=bearer(secret) + (("x-request-id", "req-42"),), timeout=10)
    assert ("x-request-id", "req-42") in call[1].initial_metadata()
    log = server.log_text()
    assert "request_id=req-42" in log
    assert secret not in log and "ebx_" not in log and "Bearer" not in log


# MARK: rate limits


def test_rate_limit_is_per_key_across_connections(api):
    server = Server(tiers={
        "tiers": {"free": {"key_rate": {"per_second": 2, "burst": 3}, "account_rate": None}},
        "public_rate": {"per_second": 1000, "burst": 1000},
    })
    channels = []
    try:
        pb = api.account_pb2
        stub = api.account_pb2_grpc.AccountServiceStub(server.channel)
        _, _, secret = join(stub, api, "fast@example.com")
        channels = [grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(4)]
        stubs = [api.account_pb2_grpc.AccountServiceStub(c) for c in channels]
        # 24 calls at once, spread over four connections.
        started = time.monotonic()
        futures = [stubs[index % len(stubs)].GetLimits.future(pb.GetLimitsRequest(), metadata=bearer(secret),
                                                             timeout=10) for index in range(24)]
        admitted, refused = 0, []
        for future in futures:
            try:
                future.result()
                admitted += 1
            except grpc.RpcError as error:
                refused.append(error)
        elapsed = time.monotonic() - started
        assert admitted <= 3 + 2 * elapsed + 1, (admitted, elapsed)
        assert refused, "more connections must not add tokens"
        error = refused[-1]
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "per key" in error.details()
        trailers = dict(error.trailing_metadata())
        retry_ms = int(trailers["retry-after-ms"])
        assert 0 < retry_ms <= 500
        detail = api.common_pb2.ErrorDetail.FromString(trailers["execbox-error-bin"])
        assert detail.code == api.common_pb2.ERROR_CODE_RATE_LIMIT_EXCEEDED
        assert detail.retry_after_ms == retry_ms
        time.sleep(retry_ms / 1000 + 0.05)
        assert stubs[0].GetLimits(pb.GetLimitsRequest(), metadata=bearer(secret), timeout=10).limits
        # Another account has its own buckets.
        _, _, other = join(stub, api, "other@example.com")
        assert stubs[1].GetLimits(pb.GetLimitsRequest(), metadata=bearer(other), timeout=10).limits
    finally:
        for channel in channels:
            channel.close()
        assert server.stop() == 0


def test_public_calls_are_limited_per_client_address(api):
    server = Server(tiers={"public_rate": {"per_second": 0.5, "burst": 2}})
    channels = [grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(3)]
    try:
        pb = api.account_pb2
        results = []
        for index, channel in enumerate(channels):
            stub = api.account_pb2_grpc.AccountServiceStub(channel)
            try:
                stub.RequestQuota(pb.RequestQuotaRequest(email=f"ip{index}@example.com"), timeout=10)
                results.append("ok")
            except grpc.RpcError as error:
                results.append(error)
        assert results[:2] == ["ok", "ok"]
        assert results[2].code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "client address" in results[2].details()
        assert int(dict(results[2].trailing_metadata())["retry-after-ms"]) > 0
    finally:
        for channel in channels:
            channel.close()
        assert server.stop() == 0


# MARK: admin


def test_admin_subcommands_against_a_running_server(server, accounts, api):
    pb = api.account_pb2
    created = fields(server.admin("create-account", "--email", "ops@example.com", "--tier", "pro", "--name",
                                  "ops").stdout)
    assert KEY.match(created["secret"]) and created["secret"].startswith("ebx_p_")
    assert created["tier"] == "pro" and created["role"] == "primary"
    me = accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(created["secret"]), timeout=10)
    assert me.account.id == created["account_id"] and me.account.tier == api.common_pb2.TIER_PRO

    key = fields(server.admin("create-key", "--account", created["account_id"], "--name", "deploy").stdout)
    assert key["role"] == "secondary" and key["secret"].startswith("ebx_s_")
    me = accounts.GetAccount(pb.GetAccountRequest(), metadata=bearer(key["secret"]), timeout=10)
    assert me.caller_key.name == "deploy" and me.caller_key.parent_key_id == created["key_id"]

    tier = fields(server.admin("set-tier", "--account", created["account_id"], "--tier", "starter").stdout)
    assert tier["tier"] == "starter"
    usage = accounts.GetUsage(pb.GetUsageRequest(), metadata=bearer(key["secret"]), timeout=10)
    assert usage.tier == api.common_pb2.TIER_STARTER and usage.limits.daily_limit == 100

    request = accounts.RequestQuota(
        pb.RequestQuotaRequest(email="ops@example.com", use_case="CI\tand more"), metadata=bearer(key["secret"]),
        timeout=10).quota_request
    listed = server.admin("list-quota-requests", "--status", "pending").stdout.splitlines()
    assert listed[0].split("\t")[:4] == ["id", "status", "created_at", "email"]
    rows = [line.split("\t") for line in listed[1:]]
    mine = [row for row in rows if row[0] == str(request.id)]
    assert mine and mine[0][1] == "pending" and mine[0][6] == "starter" and mine[0][7] == created["account_id"]
    answered = fields(server.admin("answer-quota-request", "--id", str(request.id), "--status", "converted").stdout)
    assert answered == {"id": str(request.id), "status": "converted"}
    converted = server.admin("list-quota-requests", "--status", "converted").stdout
    assert any(line.split("\t")[0] == str(request.id) for line in converted.splitlines()[1:])

    for args, message in [
        (["set-tier", "--account", created["account_id"], "--tier", "gold"], "unknown tier"),
        (["create-key", "--account", "00000000-0000-4000-8000-00000000dead"], "not found"),
        (["answer-quota-request", "--id", "1", "--status", "maybe"], "unknown status"),
        (["create-account", "--email", "ops@example.com"], "exists"),
    ]:
        result = server.admin(*args, check=False)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert "ebx_" not in result.stdout
