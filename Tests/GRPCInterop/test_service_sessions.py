"""SessionService, ProcessService, FileService and NetworkService of `execbox-server serve --backend
runc`, end to end over real HTTP/2 with grpcio stubs generated from proto/execbox/v1: exec with stdin,
separate streams and per-stream offsets, 20 MiB of output, a TTY and its resize, START_FAILED; file
upload and download with SHA-256, failed uploads leaving nothing, directories, `..` and symlink
escapes; a port URL that answers HTTP; a background exec reached again with Attach; usage counted once
per session; a tenancy matrix over every session call; the concurrent-session quota under a race; a
key revoked under an open stream; a server killed with SIGKILL and restarted on its sandboxes; and
WatchSession.

Every server gets its own `--sandbox-namespace` (`pyt` + 5 random letters), so concurrent servers never
reap each other's sandboxes; teardown kills every session through the API and removes the namespace's
host state (nftables table, cgroup parents, /run/NAME). EXECBOX_SOAK (default 50) scales the quota race,
the crash loop and the large output."""
import glob
import hashlib
import importlib
import os
import queue
import random
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc
import pytest

from test_service_accounts import ROOMY, ROOT, Server, bearer, fields

SOAK = int(os.environ.get("EXECBOX_SOAK", "50"))
# Rounds of the slow tests: 1 in CI, more under scripts/soak (EXECBOX_SOAK=10000), bounded.
ROUNDS = max(1, min(SOAK // 50, 10))
MiB = 1 << 20
STDOUT, STDERR = 1, 2


def _require_sandboxes():
    if os.geteuid() == 0 and shutil.which("runc") and shutil.which("nft"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("the session tests need root, runc and nft (CI=true requires them)")
    pytest.skip("the session tests need root, runc and nft")


@pytest.fixture(scope="module")
def api():
    """Every execbox.v1 Python module, compiled from proto/ with grpc_tools.protoc."""
    _require_sandboxes()
    out = tempfile.mkdtemp(prefix="execbox-api-stubs-")
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto" / "execbox" / "v1").glob("*.proto"))
    subprocess.check_call([
        sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT / "proto"), "-I", "/usr/include",
        f"--python_out={out}", f"--grpc_python_out={out}", *protos,
    ])
    sys.path.insert(0, out)

    class Modules:
        pass

    modules = Modules()
    for name in ["account", "common", "session", "process", "file", "network"]:
        for suffix in ["_pb2", "_pb2_grpc"]:
            setattr(modules, name + suffix, importlib.import_module(f"execbox.v1.{name}{suffix}"))
    return modules


def new_namespace():
    return "pyt" + "".join(random.choices(string.ascii_lowercase, k=5))


def remove_host_state(namespace):
    """What a runc backend leaves on the host after its last session was killed: the nftables table,
    the cgroup parents and /run/NAME (kept only if a sandbox directory is still there)."""
    subprocess.run(["nft", "delete", "table", "inet", namespace.replace("-", "_")], capture_output=True, timeout=30)
    for hierarchy in glob.glob("/sys/fs/cgroup/*/"):
        try:
            os.rmdir(os.path.join(hierarchy, namespace))
        except OSError:
            pass
    sandboxes = f"/run/{namespace}/sandboxes"
    if not os.path.isdir(sandboxes) or not os.listdir(sandboxes):
        shutil.rmtree(f"/run/{namespace}", ignore_errors=True)


class Caller:
    """Whoever calls: the metadata of one API key."""

    def __init__(self, secret):
        self.secret = secret
        self.auth = bearer(secret)


class Account(Caller):
    """A `pro` account made with `execbox-server admin create-account`, called with its primary key."""

    def __init__(self, server, email):
        created = fields(server.admin("create-account", "--email", email, "--tier", "pro").stdout)
        super().__init__(created["secret"])
        self.id, self.key_id = created["account_id"], created["key_id"]


class SandboxServer:
    """`execbox-server serve --backend runc` with a namespace of its own, and the stubs of every
    service on its channel. `shutdown` kills every session of the accounts it made, stops the server
    and removes the namespace's host state."""

    def __init__(self, api, namespace=None, root=None):
        self.api = api
        self.namespace = namespace or new_namespace()
        self.server = Server(data_dir=root, tiers=ROOMY,
                             extra=["--backend", "runc", "--sandbox-namespace", self.namespace])
        self.root = self.server.root
        self.accounts = []
        channel = self.server.channel
        self.sessions = api.session_pb2_grpc.SessionServiceStub(channel)
        self.processes = api.process_pb2_grpc.ProcessServiceStub(channel)
        self.files = api.file_pb2_grpc.FileServiceStub(channel)
        self.network = api.network_pb2_grpc.NetworkServiceStub(channel)
        self.account_service = api.account_pb2_grpc.AccountServiceStub(channel)

    def account(self, name):
        account = Account(self.server, f"{name}-{random.getrandbits(32):08x}@example.com")
        self.accounts.append(account)
        return account

    def create(self, account, **fields_):
        request = self.api.session_pb2.CreateSessionRequest(image="default", **fields_)
        return self.sessions.CreateSession(request, metadata=account.auth, timeout=30).session

    def get(self, account, session_id):
        request = self.api.session_pb2.GetSessionRequest(session_id=session_id)
        return self.sessions.GetSession(request, metadata=account.auth, timeout=10).session

    def kill(self, account, session_id):
        request = self.api.session_pb2.KillSessionRequest(session_id=session_id)
        return self.sessions.KillSession(request, metadata=account.auth, timeout=30).session

    def list_all(self, account):
        pb = self.api
        sessions, token = [], ""
        while True:
            page = self.sessions.ListSessions(pb.session_pb2.ListSessionsRequest(
                page=pb.common_pb2.PageRequest(page_size=1000, page_token=token)), metadata=account.auth, timeout=10)
            sessions += page.sessions
            token = page.page.next_page_token
            if not token:
                return sessions

    def history(self, account):
        pb = self.api.account_pb2
        return self.account_service.GetUsageHistory(
            pb.GetUsageHistoryRequest(granularity=pb.USAGE_GRANULARITY_DAILY, days=2), metadata=account.auth,
            timeout=10)

    def usage(self, account):
        return self.account_service.GetUsage(self.api.account_pb2.GetUsageRequest(), metadata=account.auth,
                                             timeout=10)

    def exec(self, account, session_id, argv, stdin=(), **start):
        """Runs argv to its end: stdin chunks, then half-close. Returns the checked Output."""
        stream = self.exec_stream(account, session_id, argv, **start)
        for chunk in stdin:
            stream.send(self.api.process_pb2.ExecRequest(stdin=chunk))
        stream.close()
        return stream.collect()

    def exec_stream(self, account, session_id, argv, timeout=120, **start):
        pb = self.api.process_pb2
        first = pb.ExecRequest(start=pb.ExecStart(session_id=session_id, argv=argv, **start))
        return Stream(self.processes.Exec, first, account.auth, timeout)

    def attach(self, account, session_id, process_id, stdout_offset=0, stderr_offset=0):
        pb = self.api.process_pb2
        first = pb.AttachRequest(start=pb.AttachStart(
            session_id=session_id, process_id=process_id, stdout_offset=stdout_offset, stderr_offset=stderr_offset))
        return Stream(self.processes.Attach, first, account.auth, 60)

    def write_file(self, account, session_id, path, data, chunk=MiB, **header):
        pb = self.api.file_pb2

        def requests():
            yield pb.WriteFileRequest(header=pb.WriteFileHeader(session_id=session_id, path=path, **header))
            for start in range(0, len(data), chunk):
                yield pb.WriteFileRequest(data=data[start:start + chunk])

        return self.files.WriteFile(requests(), metadata=account.auth, timeout=60)

    def read_file(self, account, session_id, path):
        request = self.api.file_pb2.ReadFileRequest(session_id=session_id, path=path)
        return list(self.files.ReadFile(request, metadata=account.auth, timeout=60))

    def stat(self, account, session_id, path):
        request = self.api.file_pb2.StatRequest(session_id=session_id, path=path)
        return self.files.Stat(request, metadata=account.auth, timeout=10).info

    def kill_everything(self):
        terminal = {self.api.common_pb2.SESSION_STATUS_STOPPED, self.api.common_pb2.SESSION_STATUS_FAILED,
                    self.api.common_pb2.SESSION_STATUS_KILLED}
        for account in self.accounts:
            for session in self.list_all(account):
                if session.status not in terminal:
                    self.kill(account, session.id)

    def crash(self):
        """SIGKILL: no graceful shutdown, sandboxes and their monitors keep running."""
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=20)
        self.server.channel.close()
        self.server.log.close()

    def shutdown(self):
        """Kills every session, stops the server and removes the host state; the data directory
        (spools, the log) goes too when all that went well."""
        try:
            self.kill_everything()
        finally:
            code = self.server.stop()
            remove_host_state(self.namespace)
        if code == 0:
            shutil.rmtree(self.root, ignore_errors=True)
        return code


class Stream:
    """An Exec or Attach call whose request stream is a queue: `send` adds a message, `close`
    half-closes it. The first message is sent at once."""

    def __init__(self, method, first, metadata, timeout):
        self._requests = queue.Queue()
        self._requests.put(first)
        self.call = method(self._generate(), metadata=metadata, timeout=timeout)
        self.output = Output()

    def _generate(self):
        while True:
            message = self._requests.get()
            if message is None:
                return
            yield message

    def send(self, message):
        self._requests.put(message)

    def close(self):
        self._requests.put(None)

    def cancel(self):
        self.call.cancel()
        self.close()

    def next(self):
        """The next response, checked and added to `output`."""
        response = next(self.call)
        self.output.add(response)
        return response

    def collect(self):
        """Every remaining response; the call must end OK right after `exit`."""
        try:
            for response in self.call:
                self.output.add(response)
        finally:
            self.close()
        assert self.output.exit is not None, "the stream ended without exit"
        assert self.call.code() == grpc.StatusCode.OK
        return self.output


class Output:
    """The responses of one Exec or Attach call, checked as they arrive: `started` first, each
    stream's chunks 1..64 KiB with offsets continuing where the stream's previous chunk ended, and
    nothing after `exit`."""

    def __init__(self):
        self.started = None
        self.exit = None
        self.errors = []
        self.streams = {STDOUT: bytearray(), STDERR: bytearray()}
        self.base = {STDOUT: 0, STDERR: 0}
        self.chunks = 0

    def add(self, response):
        kind = response.WhichOneof("payload")
        assert self.exit is None, f"{kind} after exit"
        if kind == "started":
            assert self.started is None, "a second started"
            self.started = response.started
            if self.started.DESCRIPTOR.name == "AttachStarted":  # replay begins at its offsets
                self.base = {STDOUT: self.started.stdout_offset, STDERR: self.started.stderr_offset}
            return
        assert self.started is not None, f"{kind} before started"
        if kind == "output":
            chunk = response.output
            assert chunk.stream in self.streams, chunk.stream
            data = self.streams[chunk.stream]
            assert chunk.offset == self.base[chunk.stream] + len(data), (chunk.stream, chunk.offset, len(data))
            assert 1 <= len(chunk.data) <= 65536, len(chunk.data)
            data += chunk.data
            self.chunks += 1
        elif kind == "exit":
            self.exit = response.exit
        elif kind == "error":
            self.errors.append(response.error)
        else:
            raise AssertionError(f"unexpected response {response}")

    @property
    def stdout(self):
        return bytes(self.streams[STDOUT])

    @property
    def stderr(self):
        return bytes(self.streams[STDERR])


def error_of(call):
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(api):
    server = SandboxServer(api)
    yield server
    assert server.shutdown() == 0


@pytest.fixture(scope="module")
def owner(server):
    return server.account("owner")


@pytest.fixture(scope="module")
def session(server, owner):
    """One RUNNING session shared by the exec and file tests."""
    session = server.create(owner)
    assert session.status == server.api.common_pb2.SESSION_STATUS_RUNNING
    assert session.id.startswith("sess_") and session.backend == "runc"
    return session


# MARK: exec


def test_exec_stdin_in_order_and_streams_apart(server, owner, session, api):
    payload = os.urandom(300_000)
    chunks = [payload[:1], payload[1:1000], payload[1000:66536], payload[66536:]]
    script = "cat; printf E1 >&2; printf O2; printf E2 >&2; exit 7"
    out = server.exec(owner, session.id, ["sh", "-c", script], stdin=chunks)
    assert out.started.process_id and out.started.pid > 0 and not out.started.tty
    assert out.stdout == payload + b"O2"
    assert out.stderr == b"E1E2"
    assert out.exit.reason == api.common_pb2.EXIT_REASON_EXITED
    assert out.exit.exit_code == 7 and out.exit.signal == 0
    assert out.errors == []

    # Interleaved writes land on their own stream, each at its own offsets.
    script = "for i in 1 2 3; do echo out$i; echo err$i >&2; done"
    out = server.exec(owner, session.id, ["sh", "-c", script])
    assert out.stdout == b"out1\nout2\nout3\n" and out.stderr == b"err1\nerr2\nerr3\n"
    assert out.exit.exit_code == 0


def test_exec_large_output_arrives_complete(server, owner, session):
    size = 20 * MiB * max(1, min(SOAK // 50, 16))
    out = server.exec(owner, session.id, ["sh", "-c", f"head -c {size} /dev/urandom | tee /workspace/large.bin"])
    assert out.exit.exit_code == 0, out.stderr
    assert len(out.stdout) == size
    digest = server.exec(owner, session.id, ["sha256sum", "/workspace/large.bin"])
    assert digest.stdout.split()[0].decode() == hashlib.sha256(out.stdout).hexdigest()
    assert server.exec(owner, session.id, ["rm", "/workspace/large.bin"]).exit.exit_code == 0


def test_exec_with_a_tty_reports_its_size_and_follows_resize(server, owner, session, api):
    stream = server.exec_stream(owner, session.id, ["sh", "-c", "stty size; read line; stty size"], tty=True,
                                terminal_size=api.common_pb2.TerminalSize(cols=100, rows=30))
    try:
        while b"\n" not in stream.output.stdout:
            stream.next()
        assert stream.output.started.tty
        assert stream.output.stdout == b"30 100\r\n"
        stream.send(api.process_pb2.ExecRequest(resize=api.common_pb2.TerminalSize(cols=120, rows=40)))
        stream.send(api.process_pb2.ExecRequest(stdin=b"go\n"))
        out = stream.collect()
    finally:
        stream.cancel()
    assert out.stdout == b"30 100\r\ngo\r\n40 120\r\n"
    assert out.stderr == b""  # a TTY merges stderr into stdout
    assert out.exit.exit_code == 0 and out.errors == []


def test_exec_of_a_missing_or_unexecutable_program_is_start_failed(server, owner, session, api):
    out = server.exec(owner, session.id, ["no-such-program-3f9a"])
    assert out.exit.reason == api.common_pb2.EXIT_REASON_START_FAILED
    assert out.exit.exit_code == 127
    server.write_file(owner, session.id, "/workspace/not-executable", b"#!/bin/sh\necho no\n", mode=0o644)
    out = server.exec(owner, session.id, ["/workspace/not-executable"])
    assert out.exit.reason == api.common_pb2.EXIT_REASON_START_FAILED
    assert out.exit.exit_code == 126
    assert b"no" not in out.stdout


# MARK: files


def test_upload_and_download_5_mib_with_sha256(server, owner, session, api):
    data = os.urandom(5 * MiB)
    digest = hashlib.sha256(data).hexdigest()
    written = server.write_file(owner, session.id, "/workspace/upload.bin", data, sha256=digest, size_bytes=len(data))
    assert (written.path, written.size_bytes, written.sha256) == ("/workspace/upload.bin", len(data), digest)
    assert written.info.file_type == api.file_pb2.FILE_TYPE_REGULAR and written.info.mode == 0o644
    messages = server.read_file(owner, session.id, "/workspace/upload.bin")
    assert messages[0].info.size_bytes == len(data) and messages[0].info.name == "upload.bin"
    assert all(not m.HasField("info") for m in messages[1:])
    assert [m.offset for m in messages] == [sum(len(m.data) for m in messages[:i]) for i in range(len(messages))]
    assert all(len(m.data) <= MiB for m in messages)
    assert b"".join(m.data for m in messages) == data
    assert messages[-1].sha256 == digest and all(not m.sha256 for m in messages[:-1])
    # The sandbox sees the same bytes.
    seen = server.exec(owner, session.id, ["sha256sum", "/workspace/upload.bin"]).stdout
    assert seen.split()[0].decode() == digest


def test_upload_with_a_wrong_sha256_leaves_nothing(server, owner, session):
    data = os.urandom(5 * MiB)
    wrong = hashlib.sha256(b"something else").hexdigest()
    error = error_of(lambda: server.write_file(owner, session.id, "/workspace/rejected.bin", data, sha256=wrong))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    missing = error_of(lambda: server.stat(owner, session.id, "/workspace/rejected.bin"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    # A rejected replacement keeps the old content.
    server.write_file(owner, session.id, "/workspace/kept.txt", b"old")
    error = error_of(lambda: server.write_file(owner, session.id, "/workspace/kept.txt", data, sha256=wrong))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert b"".join(m.data for m in server.read_file(owner, session.id, "/workspace/kept.txt")) == b"old"


def test_directories_list_make_and_remove(server, owner, session, api):
    pb = api.file_pb2
    files = server.files
    made = files.MakeDir(pb.MakeDirRequest(session_id=session.id, path="/workspace/d1/d2", parents=True),
                         metadata=owner.auth, timeout=10).info
    assert made.file_type == pb.FILE_TYPE_DIRECTORY and made.mode == 0o755 and made.path == "/workspace/d1/d2"
    again = error_of(lambda: files.MakeDir(pb.MakeDirRequest(session_id=session.id, path="/workspace/d1/d2"),
                                           metadata=owner.auth, timeout=10))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    orphan = error_of(lambda: files.MakeDir(pb.MakeDirRequest(session_id=session.id, path="/workspace/nope/x"),
                                            metadata=owner.auth, timeout=10))
    assert orphan.code() == grpc.StatusCode.NOT_FOUND
    server.write_file(owner, session.id, "/workspace/d1/b.txt", b"bb")
    server.write_file(owner, session.id, "/workspace/d1/a.txt", b"a")
    listed = files.ListDir(pb.ListDirRequest(session_id=session.id, path="/workspace/d1"), metadata=owner.auth,
                           timeout=10)
    assert [(e.name, e.file_type, e.size_bytes) for e in listed.entries if e.file_type != pb.FILE_TYPE_DIRECTORY] == \
        [("a.txt", pb.FILE_TYPE_REGULAR, 1), ("b.txt", pb.FILE_TYPE_REGULAR, 2)]
    assert [e.name for e in listed.entries] == ["a.txt", "b.txt", "d2"]
    assert listed.entries[0].path == "/workspace/d1/a.txt" and not listed.page.next_page_token
    full = error_of(lambda: files.Remove(pb.RemoveRequest(session_id=session.id, path="/workspace/d1"),
                                         metadata=owner.auth, timeout=10))
    assert full.code() == grpc.StatusCode.FAILED_PRECONDITION
    removed = files.Remove(pb.RemoveRequest(session_id=session.id, path="/workspace/d1", recursive=True),
                           metadata=owner.auth, timeout=10)
    assert removed.removed_count == 4
    gone = error_of(lambda: server.stat(owner, session.id, "/workspace/d1"))
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    root = error_of(lambda: files.Remove(pb.RemoveRequest(session_id=session.id, path="/", recursive=True),
                                         metadata=owner.auth, timeout=10))
    assert root.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_paths_never_reach_host_files(server, owner, session):
    name = "execbox-escape-" + "".join(random.choices(string.ascii_lowercase, k=10))
    assert not os.path.exists(f"/tmp/{name}")
    # `..` stops at the sandbox root: the file lands in the sandbox's /tmp.
    server.write_file(owner, session.id, f"/../../tmp/{name}", b"inside")
    assert not os.path.exists(f"/tmp/{name}")
    assert server.exec(owner, session.id, ["cat", f"/tmp/{name}"]).stdout == b"inside"
    # Symlinks resolve as the sandbox sees them: absolute ones from its root, `..` stopping there.
    script = f"ln -s ../../../../../../tmp/{name}-link /tmp/link && ln -s / /tmp/rootlink && ln -s /tmp /workspace/abs"
    assert server.exec(owner, session.id, ["sh", "-c", script]).exit.exit_code == 0
    through = {
        "/tmp/link": f"{name}-link",
        f"/tmp/rootlink/../../tmp/{name}-dir": f"{name}-dir",
        f"/workspace/abs/{name}-abs": f"{name}-abs",
    }
    for path, file_name in through.items():
        try:
            server.write_file(owner, session.id, path, b"through a link")
            assert server.exec(owner, session.id, ["cat", f"/tmp/{file_name}"]).stdout == b"through a link", path
        except grpc.RpcError as error:
            # Refusing is fine too (the server does not write through a final symlink).
            assert error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                                    grpc.StatusCode.FAILED_PRECONDITION), (path, error)
    for file_name in through.values():
        assert not os.path.exists(f"/tmp/{file_name}"), file_name
    # Host files are not read through `..` either.
    with open(f"/tmp/{name}-host", "wb") as f:
        f.write(b"host only")
    try:
        error = error_of(lambda: server.read_file(owner, session.id, f"/../../../tmp/{name}-host"))
        assert error.code() == grpc.StatusCode.NOT_FOUND
        error = error_of(lambda: server.stat(owner, session.id, f"/tmp/../../../../tmp/{name}-host"))
        assert error.code() == grpc.StatusCode.NOT_FOUND
    finally:
        os.unlink(f"/tmp/{name}-host")


# MARK: ports


def test_exposed_port_url_answers_http(server, api):
    account = server.account("ports")
    session = server.create(account, network=api.common_pb2.NETWORK_MODE_EXPOSED,
                            ports=[api.common_pb2.PortSpec(container_port=8000)])
    try:
        stream = server.exec_stream(account, session.id, ["python3", "-m", "http.server", "8000"], background=True,
                                    work_dir="/usr")
        assert stream.next().WhichOneof("payload") == "started"
        stream.cancel()  # background: the server keeps running without the call
        request = api.network_pb2.GetPortURLRequest(session_id=session.id, container_port=8000)
        deadline = time.monotonic() + 20
        status, body = None, b""
        while time.monotonic() < deadline:
            try:
                url = server.network.GetPortURL(request, metadata=account.auth, timeout=5)
                with urllib.request.urlopen(url.url, timeout=2) as response:
                    status, body = response.status, response.read()
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error  # declared but not bound yet
            except OSError:
                pass
            time.sleep(0.2)
        assert status == 200, "the port never answered within 20 s"
        assert b"Directory listing" in body and b"bin/" in body
        assert url.url == f"http://127.0.0.1:{url.host_port}" and url.container_port == 8000
        assert url.transport == api.common_pb2.TRANSPORT_PROTOCOL_TCP

        undeclared = error_of(lambda: server.network.GetPortURL(
            api.network_pb2.GetPortURLRequest(session_id=session.id, container_port=9000), metadata=account.auth,
            timeout=5))
        assert undeclared.code() == grpc.StatusCode.INVALID_ARGUMENT
        closed = server.create(account, ports=[api.common_pb2.PortSpec(container_port=8000)])
        not_exposed = error_of(lambda: server.network.GetPortURL(
            api.network_pb2.GetPortURLRequest(session_id=closed.id, container_port=8000), metadata=account.auth,
            timeout=5))
        assert not_exposed.code() == grpc.StatusCode.FAILED_PRECONDITION
        server.kill(account, closed.id)
    finally:
        server.kill(account, session.id)


# MARK: background exec and attach


def test_background_exec_survives_its_call_and_attach_replays_it(server, owner, session, api):
    script = "for i in $(seq 1 50); do echo line$i; sleep 0.02; done"
    stream = server.exec_stream(owner, session.id, ["sh", "-c", script], background=True)
    while stream.output.chunks == 0:
        stream.next()
    process_id = stream.output.started.process_id
    stream.cancel()
    expected = "".join(f"line{i}\n" for i in range(1, 51)).encode()

    attached = server.attach(owner, session.id, process_id, stdout_offset=0, stderr_offset=0)
    out = attached.collect()
    assert out.started.process.process_id == process_id
    assert out.started.stdout_offset == 0
    assert out.stdout == expected and out.stderr == b""
    assert out.exit.reason == api.common_pb2.EXIT_REASON_EXITED and out.exit.exit_code == 0

    # From an offset: replay starts exactly there.
    resumed = server.attach(owner, session.id, process_id, stdout_offset=len(b"line1\n")).collect()
    assert resumed.started.stdout_offset == 6 and resumed.stdout == expected[6:]

    request = api.process_pb2.GetProcessRequest(session_id=session.id, process_id=process_id)
    info = server.processes.GetProcess(request, metadata=owner.auth, timeout=10).process
    assert info.state == api.process_pb2.PROCESS_STATE_EXITED and info.background
    assert info.exit.reason == api.common_pb2.EXIT_REASON_EXITED and info.exit.exit_code == 0
    assert info.stdout_bytes == len(expected) and info.stderr_bytes == 0
    assert list(info.argv) == ["sh", "-c", script]
    # The exit is a fact of the past: when it ended and how long it ran (49 sleeps of 20 ms at least).
    time.sleep(0.3)
    again = server.processes.GetProcess(request, metadata=owner.auth, timeout=10).process
    assert again.exit.ended_at == info.exit.ended_at, (again.exit.ended_at, info.exit.ended_at)
    assert info.exit.duration_ms >= 900, info.exit.duration_ms
    assert out.exit.duration_ms == info.exit.duration_ms


# MARK: usage


def test_usage_counts_each_ended_session_once(server, api):
    account = server.account("usage")
    assert server.history(account).total_executions == 0
    session = server.create(account)
    assert server.exec(account, session.id, ["sh", "-c", "echo hi; sleep 0.2"]).stdout == b"hi\n"
    assert server.history(account).total_executions == 0  # still running: nothing ended yet
    killed = server.kill(account, session.id)
    assert killed.status == api.common_pb2.SESSION_STATUS_KILLED
    assert killed.usage.duration_ms > 0 and killed.usage.cost_usd > 0
    history = server.history(account)
    assert history.total_executions == 1
    assert history.total_cost_usd > 0 and history.total_duration_ms > 0
    usage = server.usage(account)
    assert usage.period_cost_usd > 0 and usage.active_sessions == 0

    # Killing again, and a stop followed by a kill, count nothing twice.
    assert server.kill(account, session.id).status == api.common_pb2.SESSION_STATUS_KILLED
    assert server.history(account).total_executions == 1
    second = server.create(account)
    stopped = server.sessions.StopSession(
        api.session_pb2.StopSessionRequest(session_id=second.id, grace_period_ms=100), metadata=account.auth,
        timeout=30).session
    assert stopped.status == api.common_pb2.SESSION_STATUS_STOPPED
    server.kill(account, second.id)
    stopped_again = error_of(lambda: server.sessions.StopSession(
        api.session_pb2.StopSessionRequest(session_id=second.id), metadata=account.auth, timeout=30))
    assert stopped_again.code() == grpc.StatusCode.FAILED_PRECONDITION
    history = server.history(account)
    assert history.total_executions == 2
    assert sum(bucket.executions for bucket in history.buckets) == 2
    hourly = server.account_service.GetUsageHistory(
        api.account_pb2.GetUsageHistoryRequest(granularity=api.account_pb2.USAGE_GRANULARITY_HOURLY),
        metadata=account.auth, timeout=10)
    assert hourly.total_executions == 2 and hourly.total_cost_usd == pytest.approx(history.total_cost_usd)
    assert server.usage(account).period_cost_usd > usage.period_cost_usd


# MARK: tenancy


def test_tenancy_matrix_over_every_session_call(server, api):
    pb, common = api, api.common_pb2
    alice, bob = server.account("alice"), server.account("bob")
    session = server.create(alice, network=common.NETWORK_MODE_EXPOSED, ports=[common.PortSpec(container_port=8000)])
    process_id = server.exec(alice, session.id, ["true"]).started.process_id
    server.write_file(alice, session.id, "/workspace/alice.txt", b"alice's")
    as_bob = bob.auth
    calls = {
        "GetSession": lambda i: server.sessions.GetSession(
            pb.session_pb2.GetSessionRequest(session_id=i), metadata=as_bob, timeout=10),
        "StopSession": lambda i: server.sessions.StopSession(
            pb.session_pb2.StopSessionRequest(session_id=i), metadata=as_bob, timeout=10),
        "KillSession": lambda i: server.sessions.KillSession(
            pb.session_pb2.KillSessionRequest(session_id=i), metadata=as_bob, timeout=10),
        "ExtendTimeout": lambda i: server.sessions.ExtendTimeout(
            pb.session_pb2.ExtendTimeoutRequest(session_id=i, extend_by_ms=5000), metadata=as_bob, timeout=10),
        "WatchSession": lambda i: list(server.sessions.WatchSession(
            pb.session_pb2.WatchSessionRequest(session_id=i), metadata=as_bob, timeout=10)),
        "Exec": lambda i: list(server.processes.Exec(iter([pb.process_pb2.ExecRequest(
            start=pb.process_pb2.ExecStart(session_id=i, argv=["true"]))]), metadata=as_bob, timeout=10)),
        "Attach": lambda i: list(server.processes.Attach(iter([pb.process_pb2.AttachRequest(
            start=pb.process_pb2.AttachStart(session_id=i, process_id=process_id))]), metadata=as_bob, timeout=10)),
        "ListProcesses": lambda i: server.processes.ListProcesses(
            pb.process_pb2.ListProcessesRequest(session_id=i, include_exited=True), metadata=as_bob, timeout=10),
        "GetProcess": lambda i: server.processes.GetProcess(
            pb.process_pb2.GetProcessRequest(session_id=i, process_id=process_id), metadata=as_bob, timeout=10),
        "SignalProcess": lambda i: server.processes.SignalProcess(
            pb.process_pb2.SignalProcessRequest(session_id=i, signal=common.SIGNAL_KILL), metadata=as_bob,
            timeout=10),
        "WriteFile": lambda i: server.files.WriteFile(iter([
            pb.file_pb2.WriteFileRequest(header=pb.file_pb2.WriteFileHeader(session_id=i, path="/workspace/bob")),
            pb.file_pb2.WriteFileRequest(data=b"bob's")]), metadata=as_bob, timeout=10),
        "ReadFile": lambda i: list(server.files.ReadFile(
            pb.file_pb2.ReadFileRequest(session_id=i, path="/workspace/alice.txt"), metadata=as_bob, timeout=10)),
        "ListDir": lambda i: server.files.ListDir(
            pb.file_pb2.ListDirRequest(session_id=i, path="/workspace"), metadata=as_bob, timeout=10),
        "Stat": lambda i: server.files.Stat(
            pb.file_pb2.StatRequest(session_id=i, path="/workspace/alice.txt"), metadata=as_bob, timeout=10),
        "Remove": lambda i: server.files.Remove(
            pb.file_pb2.RemoveRequest(session_id=i, path="/workspace/alice.txt"), metadata=as_bob, timeout=10),
        "MakeDir": lambda i: server.files.MakeDir(
            pb.file_pb2.MakeDirRequest(session_id=i, path="/workspace/bobdir"), metadata=as_bob, timeout=10),
        "GetPortURL": lambda i: server.network.GetPortURL(
            pb.network_pb2.GetPortURLRequest(session_id=i, container_port=8000), metadata=as_bob, timeout=10),
    }
    made_up = "sess_" + os.urandom(12).hex()
    try:
        for name, call in calls.items():
            theirs, nobodys = error_of(lambda: call(session.id)), error_of(lambda: call(made_up))
            assert theirs.code() == grpc.StatusCode.NOT_FOUND, (name, theirs.code(), theirs.details())
            assert (theirs.code(), theirs.details()) == (nobodys.code(), nobodys.details()), name
        # Nothing of Alice's changed, and Bob's list shows only Bob's.
        assert server.get(alice, session.id).status == common.SESSION_STATUS_RUNNING
        assert server.exec(alice, session.id, ["cat", "/workspace/alice.txt"]).stdout == b"alice's"
        assert server.exec(alice, session.id, ["ls", "/workspace"]).stdout.split() == [b"alice.txt"]
        bobs = server.create(bob)
        assert [s.id for s in server.list_all(bob)] == [bobs.id]
        assert session.id not in [s.id for s in server.sessions.ListSessions(
            pb.session_pb2.ListSessionsRequest(statuses=[common.SESSION_STATUS_RUNNING]), metadata=as_bob,
            timeout=10).sessions]
        assert session.id in [s.id for s in server.list_all(alice)]
        server.kill(bob, bobs.id)
    finally:
        server.kill(alice, session.id)


# MARK: quota


def test_concurrent_creates_admit_exactly_the_session_limit(server, api):
    account = server.account("race")
    limits = server.account_service.UpdateLimits(
        api.account_pb2.UpdateLimitsRequest(concurrent_requests_limit=5), metadata=account.auth, timeout=10).limits
    assert limits.effective_concurrent_limit == 5
    channels = [grpc.insecure_channel(server.server.address, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(4)]
    stubs = [api.session_pb2_grpc.SessionServiceStub(channel) for channel in channels]
    try:
        for _ in range(ROUNDS):
            barrier = threading.Barrier(50)
            results = [None] * 50

            def create(index):
                barrier.wait(timeout=30)
                try:
                    results[index] = stubs[index % 4].CreateSession(
                        api.session_pb2.CreateSessionRequest(image="default"), metadata=account.auth,
                        timeout=60).session
                except grpc.RpcError as error:
                    results[index] = error

            threads = [threading.Thread(target=create, args=(index,)) for index in range(50)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=90)
            created = [r for r in results if not isinstance(r, grpc.RpcError)]
            refused = [r for r in results if isinstance(r, grpc.RpcError)]
            try:
                assert None not in created
                assert len(created) == 5, [(r.code(), r.details()) for r in refused][:3]
                assert all(s.status == api.common_pb2.SESSION_STATUS_RUNNING for s in created)
                assert len({s.id for s in created}) == 5
                assert {(e.code(), e.details()) for e in refused} == {
                    (grpc.StatusCode.RESOURCE_EXHAUSTED, "concurrent session limit reached (5/5)")}
                assert server.usage(account).active_sessions == 5
            finally:
                for s in created:
                    if s is not None:
                        server.kill(account, s.id)
        # Killed sessions free their places.
        assert server.usage(account).active_sessions == 0
        server.kill(account, server.create(account).id)
    finally:
        for channel in channels:
            channel.close()


# MARK: keys


def test_revoking_a_key_ends_its_open_exec_stream(server, api):
    account = server.account("revoke")
    pb = api.account_pb2
    second = server.account_service.CreateAPIKey(pb.CreateAPIKeyRequest(name="ci"), metadata=account.auth,
                                                 timeout=10)
    as_second = Caller(second.secret)
    session = server.create(as_second)
    try:
        stream = server.exec_stream(as_second, session.id, ["sleep", "30"])
        assert stream.next().WhichOneof("payload") == "started"
        process_id = stream.output.started.process_id
        started = time.monotonic()
        server.account_service.RevokeAPIKey(pb.RevokeAPIKeyRequest(key_id=second.api_key.id),
                                            metadata=account.auth, timeout=10)
        with pytest.raises(grpc.RpcError) as error:
            for response in stream.call:
                stream.output.add(response)
        stream.close()
        elapsed = time.monotonic() - started
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED, error.value
        assert elapsed < 5.5, elapsed
        assert stream.output.exit is None
        # The exec was not a background one: ending its call kills it.
        request = api.process_pb2.GetProcessRequest(session_id=session.id, process_id=process_id)
        info = wait_for(
            lambda: (lambda p: p if p.state == api.process_pb2.PROCESS_STATE_EXITED else None)(
                server.processes.GetProcess(request, metadata=account.auth, timeout=10).process),
            10, "the exec to be killed")
        assert info.exit.reason == api.common_pb2.EXIT_REASON_KILLED
        # The primary key still works on the session.
        assert server.get(account, session.id).status == api.common_pb2.SESSION_STATUS_RUNNING
    finally:
        server.kill(account, session.id)


# MARK: watch


def test_watch_session_snapshot_then_killed_then_ok(server, api):
    common, pb = api.common_pb2, api.session_pb2
    account = server.account("watch")
    session = server.create(account)
    call = server.sessions.WatchSession(pb.WatchSessionRequest(session_id=session.id), metadata=account.auth,
                                        timeout=30)
    events = queue.Queue()

    def read():
        try:
            for event in call:
                events.put(event)
        finally:
            events.put(None)

    reader = threading.Thread(target=read)
    reader.start()
    snapshot = events.get(timeout=10)
    assert snapshot.type == pb.SESSION_EVENT_TYPE_SNAPSHOT
    assert snapshot.session.id == session.id and snapshot.session.status == common.SESSION_STATUS_RUNNING
    assert events.empty()
    server.kill(account, session.id)
    reader.join(timeout=10)
    later = []
    while (event := events.get(timeout=1)) is not None:
        later.append(event)
    assert call.code() == grpc.StatusCode.OK
    assert later, "no event after the kill"
    final = later[-1]
    assert final.type == pb.SESSION_EVENT_TYPE_STATUS_CHANGED
    assert final.session.status == common.SESSION_STATUS_KILLED
    assert final.previous_status == common.SESSION_STATUS_RUNNING
    assert final.session.exit.reason == common.EXIT_REASON_KILLED
    assert {e.type for e in later[:-1]} <= {pb.SESSION_EVENT_TYPE_MAIN_PROCESS_EXITED}
    sequences = [e.sequence for e in [snapshot] + later]
    assert sequences == list(range(snapshot.sequence, snapshot.sequence + len(sequences)))

    # On a session that already ended: the snapshot alone, then OK.
    ended = list(server.sessions.WatchSession(pb.WatchSessionRequest(session_id=session.id), metadata=account.auth,
                                              timeout=10))
    assert [(e.type, e.session.status) for e in ended] == [(pb.SESSION_EVENT_TYPE_SNAPSHOT,
                                                           common.SESSION_STATUS_KILLED)]


# MARK: crash


def test_server_crash_soak_counts_every_session_once(api):
    """SIGKILL the server while sessions are created and execs run, restart it on the same data
    directory and namespace, let the reconciler end what ended and adopt what runs; a background
    exec of the dead server is attached again and its output (written before, during and after the
    downtime) arrives complete with its exit; after every session is killed, usage holds exactly one
    execution per session."""
    common = api.common_pb2
    namespace = new_namespace()
    server = SandboxServer(api, namespace=namespace)
    root = server.root
    account = server.account("crash")
    seen = set()
    seen_lock = threading.Lock()
    try:
        for _ in range(ROUNDS):
            # One session whose main process ends while no server runs, one that outlives the crash
            # with a background exec.
            ending = server.create(account, command=["sh", "-c", "sleep 2"])
            ending_started = time.monotonic()
            lasting = server.create(account)
            script = ("echo before; seq 1 5000 >&2; while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                      "seq 1 20000; echo after >&2; exit 4")
            background = server.exec_stream(account, lasting.id, ["sh", "-c", script], background=True)
            while background.output.chunks == 0:
                background.next()
            process_id = background.output.started.process_id
            background.cancel()
            seen.update({ending.id, lasting.id})
            crashing = threading.Event()
            failures = []

            def work(index, server=server, crashing=crashing, failures=failures):
                iteration = 0
                while not crashing.is_set():
                    try:
                        session = server.create(account)
                        with seen_lock:
                            seen.add(session.id)
                        for _ in range(3):
                            out = server.exec(account, session.id, ["sh", "-c", "echo hi; sleep 0.3"])
                            assert (out.stdout, out.exit.exit_code) == (b"hi\n", 0), (out.stdout, out.exit)
                        if (index + iteration) % 2:
                            server.kill(account, session.id)
                        iteration += 1
                    except (grpc.RpcError, AssertionError) as error:
                        if not crashing.is_set():  # only the crash may end a call early
                            failures.append(repr(error))
                        return

            workers = [threading.Thread(target=work, args=(index,)) for index in range(3)]
            for worker in workers:
                worker.start()
            time.sleep(1.2)
            crashing.set()
            server.crash()
            for worker in workers:
                worker.join(timeout=60)
            assert not failures, failures[:3]
            # Let the main process of `ending` exit while the server is down.
            time.sleep(max(0.0, ending_started + 2.5 - time.monotonic()))

            server = SandboxServer(api, namespace=namespace, root=root)
            server.accounts.append(account)
            # The reconciler ends the session whose main process exited while no server ran (checked
            # below, after the counts).
            terminal = (common.SESSION_STATUS_STOPPED, common.SESSION_STATUS_FAILED, common.SESSION_STATUS_KILLED)
            ended = wait_for(lambda: (lambda s: s if s.status in terminal else None)(server.get(account, ending.id)),
                             15, "the reconciler to end the session whose sandbox ended")
            # The running one was adopted: still RUNNING and it runs new execs.
            assert server.get(account, lasting.id).status == common.SESSION_STATUS_RUNNING
            assert server.exec(account, lasting.id, ["echo", "adopted"]).stdout == b"adopted\n"
            # The dead server's background exec goes on under the new one: attached from the start.
            assert server.exec(account, lasting.id, ["touch", "/tmp/go"]).exit.exit_code == 0
            out = server.attach(account, lasting.id, process_id).collect()
            expected = "".join(f"{i}\n" for i in range(1, 20001)).encode()
            assert out.stdout == b"before\n" + expected, len(out.stdout)
            assert out.stderr == "".join(f"{i}\n" for i in range(1, 5001)).encode() + b"after\n"
            assert (out.exit.reason, out.exit.exit_code) == (common.EXIT_REASON_EXITED, 4), out.exit
            # Kill them all (some were killed before the crash, some were being created during it).
            sessions = server.list_all(account)
            assert seen <= {s.id for s in sessions}
            for s in sessions:
                assert server.kill(account, s.id).status in (
                    common.SESSION_STATUS_KILLED, common.SESSION_STATUS_STOPPED, common.SESSION_STATUS_FAILED)
            history = server.history(account)
            assert history.total_executions == len(sessions), (history.total_executions, len(sessions))
            assert server.usage(account).active_sessions == 0
            # Its main process ended while no server ran: its exit line waited on the agent's
            # connection, which the sandbox's monitor kept, so the session ended as it would have.
            assert (ended.status, ended.exit.reason, ended.exit.exit_code) == (
                common.SESSION_STATUS_STOPPED, common.EXIT_REASON_EXITED, 0), (ended.status_message, ended.exit)
        # Killing everything again counts nothing twice.
        sessions = server.list_all(account)
        for s in sessions:
            server.kill(account, s.id)
        assert server.history(account).total_executions == len(sessions) >= 2 * ROUNDS + 3 * ROUNDS
    finally:
        if server.server.proc.poll() is not None:  # crashed and not restarted: restart to kill what runs
            server = SandboxServer(api, namespace=namespace, root=root)
            server.accounts.append(account)
        assert server.shutdown() == 0


def _host_state(namespace, data_dir):
    """What a runc backend of `namespace` holds on the host beyond its empty parents: sandbox cgroups,
    host mounts under its /run directory (its sandboxes mount in their own namespaces), monitor
    processes, bundles and spools (veths are counted by the caller)."""
    cgroups = sorted(path for path in glob.glob(f"/sys/fs/cgroup/*/{namespace}/*") if os.path.isdir(path))
    mounts = [line for line in open("/proc/self/mountinfo") if f"/run/{namespace}/" in line]
    monitors = []
    for status in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(status, "rb") as f:
                command = f.read()
        except OSError:
            continue
        if b"ExecboxSandboxMonitor" in command and f"/run/{namespace}/".encode() in command:
            monitors.append(command)
    bundles = os.listdir(f"/run/{namespace}/sandboxes") if os.path.isdir(f"/run/{namespace}/sandboxes") else []
    spool = os.path.join(data_dir, f"spool-{namespace}")
    spools = os.listdir(spool) if os.path.isdir(spool) else []
    return {"cgroups": cgroups, "mounts": mounts, "monitors": monitors, "bundles": bundles, "spools": spools}


def test_session_lifecycles_leave_nothing_behind(api):
    """Create (with a network, so a veth and nftables rules exist), exec, and kill or stop sessions
    many times (20 in CI, 200 under scripts/soak); afterwards nothing of them is left on the host:
    no sandbox cgroup, mount, monitor process, bundle or spool, and the veth count is back where it
    was (TESTPLAN restart/leak scan)."""
    server = SandboxServer(api)
    account = server.account("leaks")
    count = 20 if SOAK < 1000 else 200
    links_before = len(subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines())
    try:
        for index in range(count):
            network = api.common_pb2.NETWORK_MODE_OUTGOING if index % 2 else api.common_pb2.NETWORK_MODE_NONE
            session = server.create(account, network=network)
            out = server.exec(account, session.id, ["sh", "-c", "echo $((6*7))"])
            assert (out.stdout, out.exit.exit_code) == (b"42\n", 0)
            if index == 0:
                # The probe sees a live session, so its empty answer at the end means something.
                live = _host_state(server.namespace, server.server.data_dir)
                assert live["cgroups"] and live["monitors"] and live["bundles"] and live["spools"], live
            if index % 3 == 0:
                stopped = server.sessions.StopSession(
                    api.session_pb2.StopSessionRequest(session_id=session.id, grace_period_ms=100),
                    metadata=account.auth, timeout=30).session
                assert stopped.status == api.common_pb2.SESSION_STATUS_STOPPED
            assert server.kill(account, session.id).status == api.common_pb2.SESSION_STATUS_KILLED
        state = wait_for(
            lambda: (lambda s: s if not any(s.values()) else None)(_host_state(server.namespace, server.server.data_dir)),
            20, "the host state of killed sessions to go")
        assert not any(state.values()), state
        links_after = len(subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines())
        assert links_after == links_before, (links_before, links_after)
        assert server.history(account).total_executions == count
        print(f"{count} session lifecycles, nothing left: {state}")
    finally:
        assert server.shutdown() == 0
