"""Images on the runc backend end to end (issue 10; TESTPLAN 35): `execbox-server images import|ls|rm|bootstrap`
as subprocesses against a store in a temporary directory, and `execbox-server serve --backend runc
--image-store DIR` over real HTTP/2 (grpcio) and HTTP/1.1 (REST, WebSocket) with real sandboxes.

* A busybox root (Debian's busybox-static) made into an image by podman (`podman import --change …`), saved as
  both an oci-archive and a docker-archive and imported: progress on stderr, `images ls`, one layer shared by
  digest; sessions on it over REST and gRPC honour its entrypoint, cmd, env and workdir (a request's command,
  env and workDir override them).
* Hostile layers, each an OCI layout written here (tar by Python's tarfile, GNU tar or raw 512-byte headers):
  `/dev/null`, `/dev/console` and `/proc` symlinks, device nodes, setuid/setgid files (accepted with
  --allow-setuid), 10 GiB sparse and declared sizes, 10^6 entries, `..` and absolute `/../` paths, escaping
  hard links, symlinks where runc mounts, digest and diff_id mismatches: each import fails naming the entry and
  the rule, quickly, and leaves nothing in the store.
* Builds (ImageService.BuildImage): accepted → progress → step logs in order → result; a cache hit with no logs
  and much faster; GetImage by id and legacy hash; ListImages and GetImage per account (tenancy); a failing step
  (FAILED, failed_step, its exit) and sessions naming the failed image; INVALID_ARGUMENT for FROM lines, bad
  base64, unknown or `default` bases; the CONTRACT §8.6 test vectors out of the server's accepted message.
* REST POST /v1/sessions with setup + files: BUILDING while it builds, the files and the setup's results in the
  session, a second identical create a cache hit (seen through gRPC GetSession: the legacy REST session JSON has
  no setup_hash or image_cache_hit field, its schema is closed).
* `images bootstrap debian:bookworm` (about 25 s, from the host's apt mirror; marked `debootstrap`, so
  `-m "not debootstrap"` deselects it) and a session running `cat /etc/debian_version` and `apt --version`.

Everything the module makes (the store, the archives, the podman image, the layouts) goes at its end."""
import base64
import concurrent.futures
import fnmatch
import gzip
import hashlib
import importlib
import io
import json
import os
import random
import shutil
import string
import subprocess
import tarfile
import tempfile
import time
import zlib

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import Gateway, require_sandboxes, server_binary
from gateway_testlib import assert_error, collect, open_ws, run_exec
from test_service_accounts import bearer, fields
from test_service_sessions import Stream, api  # noqa: F401 (api: the stub loader, a module fixture)

BUSYBOX = "busybox:e2e"
GREETING = "hello-from-env"
WORKDIR = "/app"
MAIN_LINE = f"main:{GREETING}:{WORKDIR}:0\n".encode()
APPLETS = ["sh", "ls", "cat", "echo", "id", "pwd", "env", "mkdir", "rm", "sleep", "true", "stat", "sha256sum"]
# A build's inputs: one UTF-8 file (not ASCII), one base64 file, three steps (the last one makes the build take
# a second, so a cache hit can be told from a build by time alone).
UTF8_TEXT = "h\u00e9llo w\u00f6rld\n"
BLOB = bytes(range(256)) * 12
SETUP = [
    "echo step-one; echo one-err >&2",
    "cat /opt/e2e/utf8.txt; sha256sum /opt/e2e/blob.bin > /opt/e2e/blob.sha256",
    "sleep 1; echo done > /opt/e2e/done",
]
MiB = 1 << 20
GiB = 1 << 30


def run(command, timeout=120, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def content_hash(base, setup=(), files=()):
    """CONTRACT.md §8.6: SHA-256 over base ‖ 00 ‖ (cmd ‖ 00)* ‖ (path ‖ 00 ‖ content ‖ 00)* with the files
    sorted by path byte-wise and contents as sent (base64 not decoded). Returns the 64 hex digits; the legacy
    setup_hash is the first 16."""
    hasher = hashlib.sha256()
    for part in [base, *setup]:
        hasher.update(part.encode() + b"\0")
    for path, content in sorted(files, key=lambda file: file[0].encode()):
        hasher.update(path.encode() + b"\0" + content.encode() + b"\0")
    return hasher.hexdigest()


# MARK: the store and the images CLI


class Store:
    """An image store under a temporary directory and `execbox-server images …` against it."""

    def __init__(self, root):
        self.path = os.path.join(root, "store")
        self.data_dir = os.path.join(root, "cli-data")

    def cli(self, *args, timeout=120):
        return run([server_binary(), "images", *args, "--image-store", self.path, "--data-dir", self.data_dir],
                   timeout=timeout)

    def imported(self, source, name, *flags):
        result = self.cli("import", source, "--name", name, *flags)
        assert result.returncode == 0, (source, name, result.stdout, result.stderr)
        return result

    def listed(self):
        """`images ls` as {name: row}; the header line first, tab-separated."""
        result = self.cli("ls")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "name\tid\tsource\tlayers\tsize_bytes\tlast_used", lines
        rows = [dict(zip(lines[0].split("\t"), line.split("\t"))) for line in lines[1:]]
        return {row["name"]: row for row in rows}

    def state(self):
        """What an import may leave: the layer directories, the image records and the scratch space."""
        return {folder: sorted(os.listdir(os.path.join(self.path, folder))) for folder in ["layers", "images", "tmp"]}

    def disk_bytes(self):
        """Allocated bytes under the store (du), without following symlinks."""
        total = 0
        for directory, folders, files in os.walk(self.path):
            for name in folders + files:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
        return total


@pytest.fixture(scope="module")
def work():
    require_sandboxes()
    for tool in ["podman", "skopeo"]:
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed (scripts/setup installs it)")
    if not os.access("/bin/busybox", os.X_OK):
        pytest.fail("/bin/busybox is missing (busybox-static; scripts/setup installs it)")
    root = tempfile.mkdtemp(prefix="execbox-images-e2e-", dir="/var/tmp")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def store(work):
    return Store(work)


def busybox_root(root, applets=APPLETS):
    for folder in ["bin", "etc", "app", "root"]:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for applet in applets:
        os.symlink("busybox", os.path.join(root, "bin", applet))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\napp:x:1000:\n")
    with open(os.path.join(root, "app", "greeting"), "w") as f:
        f.write("hello\n")


@pytest.fixture(scope="module")
def archives(work):
    """The busybox image as podman saves it: {"oci-archive": path, "docker-archive": path}. The podman image
    is removed at once (the archives are all the tests need)."""
    root = os.path.join(work, "busybox-root")
    busybox_root(root)
    rootfs = os.path.join(work, "rootfs.tar")
    result = run(["tar", "--numeric-owner", "-C", root, "-cf", rootfs, "."])
    assert result.returncode == 0, result.stderr
    tag = "localhost/execbox-e2e-" + "".join(random.choices(string.ascii_lowercase, k=8)) + ":busybox"
    changes = [
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo main:$GREETING:$(pwd):$(id -u); exec sleep 3600"]',
        f"ENV GREETING={GREETING}",
        f"WORKDIR {WORKDIR}",
    ]
    paths = {}
    try:
        result = run(["podman", "import", *[arg for change in changes for arg in ("--change", change)], rootfs, tag])
        assert result.returncode == 0, result.stderr
        for form in ["oci-archive", "docker-archive"]:
            paths[form] = os.path.join(work, f"busybox.{form}.tar")
            result = run(["podman", "save", "--format", form, "-o", paths[form], tag])
            assert result.returncode == 0, (form, result.stderr)
    finally:
        removed = run(["podman", "rmi", "--force", tag])
    assert removed.returncode == 0, removed.stderr
    left = run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()
    assert tag not in left, left
    return paths


@pytest.fixture(scope="module")
def busybox(store, archives):
    """busybox:e2e imported from the oci-archive: the CLI's result (stdout, stderr)."""
    return store.imported(archives["oci-archive"], BUSYBOX)


@pytest.fixture(scope="module")
def busybox_layer(store, busybox):
    layers = os.listdir(os.path.join(store.path, "layers"))
    assert len(layers) == 1, layers
    return layers[0]


@pytest.fixture(scope="module")
def server(store, busybox):
    """`execbox-server serve --backend runc --image-store STORE` in a namespace of its own."""
    gateway = Gateway(extra=["--image-store", store.path])
    yield gateway
    code = gateway.shutdown()
    assert code == 0, f"execbox-server exited with {code}; log in {gateway.root}"


@pytest.fixture(scope="module")
def pb(api):  # noqa: F811
    """Every execbox.v1 module (test_service_sessions' loader compiles all of proto/), image_pb2 too."""
    for name in ["image_pb2", "image_pb2_grpc"]:
        setattr(api, name, importlib.import_module(f"execbox.v1.{name}"))
    return api


class Client:
    """The gRPC stubs of one server on its channel, and the calls the tests make with a caller's key."""

    def __init__(self, server, pb):
        self.server, self.pb = server, pb
        channel = server.server.channel
        self.images = pb.image_pb2_grpc.ImageServiceStub(channel)
        self.sessions = pb.session_pb2_grpc.SessionServiceStub(channel)
        self.processes = pb.process_pb2_grpc.ProcessServiceStub(channel)

    def build(self, key, timeout=300, **request):
        """A BuildImage call to its end: (responses, seconds)."""
        started = time.monotonic()
        responses = list(self.images.BuildImage(self.pb.image_pb2.BuildImageRequest(**request),
                                                metadata=bearer(key), timeout=timeout))
        return responses, time.monotonic() - started

    def build_error(self, key, **request):
        """A BuildImage call that must fail: (the messages before the error, the error)."""
        received = []
        with pytest.raises(grpc.RpcError) as error:
            for response in self.images.BuildImage(self.pb.image_pb2.BuildImageRequest(**request),
                                                   metadata=bearer(key), timeout=60):
                received.append(response)
        return received, error.value

    def get_image(self, key, **request):
        return self.images.GetImage(self.pb.image_pb2.GetImageRequest(**request), metadata=bearer(key),
                                    timeout=10).image

    def list_images(self, key):
        request = self.pb.image_pb2.ListImagesRequest(page=self.pb.common_pb2.PageRequest(page_size=1000))
        return list(self.images.ListImages(request, metadata=bearer(key), timeout=10).images)

    def create(self, key, **request):
        request = self.pb.session_pb2.CreateSessionRequest(**request)
        return self.sessions.CreateSession(request, metadata=bearer(key), timeout=300).session

    def get(self, key, session_id):
        request = self.pb.session_pb2.GetSessionRequest(session_id=session_id)
        return self.sessions.GetSession(request, metadata=bearer(key), timeout=10).session

    def kill(self, key, session_id):
        request = self.pb.session_pb2.KillSessionRequest(session_id=session_id)
        self.sessions.KillSession(request, metadata=bearer(key), timeout=30)

    def exec(self, key, session_id, argv, **start):
        first = self.pb.process_pb2.ExecRequest(start=self.pb.process_pb2.ExecStart(
            session_id=session_id, argv=argv, **start))
        stream = Stream(self.processes.Exec, first, bearer(key), 60)
        stream.close()
        return stream.collect()

    def attach_main(self, key, session_id, until):
        """Attaches to the main process and reads until `until` bytes of stdout arrived (it keeps running)."""
        first = self.pb.process_pb2.AttachRequest(start=self.pb.process_pb2.AttachStart(session_id=session_id))
        stream = Stream(self.processes.Attach, first, bearer(key), 30)
        try:
            while len(stream.output.stdout) < len(until):
                stream.next()
        finally:
            stream.cancel()
        return stream.output


@pytest.fixture(scope="module")
def client(server, pb):
    return Client(server, pb)


def utf8_file(pb, path, text):
    return pb.common_pb2.FileSpec(path=path, content=text, encoding=pb.common_pb2.FILE_ENCODING_UTF8)


def base64_file(pb, path, data):
    return pb.common_pb2.FileSpec(path=path, content=base64.b64encode(data).decode(),
                                  encoding=pb.common_pb2.FILE_ENCODING_BASE64)


def build_files(pb):
    return [utf8_file(pb, "/opt/e2e/utf8.txt", UTF8_TEXT), base64_file(pb, "/opt/e2e/blob.bin", BLOB)]


def kinds(responses):
    return [response.WhichOneof("payload") for response in responses]


def logs(responses):
    """The log lines as (step, stream name, line), in the order they came."""
    return [(r.log.step, "stderr" if r.log.stream == 2 else "stdout", r.log.line)
            for r in responses if r.WhichOneof("payload") == "log"]


# MARK: import of podman's archives, sessions on the image


def test_podman_oci_and_docker_archives_import_with_progress_and_share_their_layer(store, archives, busybox):
    # The oci-archive (imported by the fixture): skopeo's conversion, the layer checked then unpacked, stored.
    progress = busybox.stderr.splitlines()
    assert any("reading" in line and "with skopeo" in line for line in progress), progress
    assert any("layer 1/1" in line and "unpacking" in line for line in progress), progress
    assert any("layer 1/1" in line and "checked" in line for line in progress), progress
    assert any(f"stored {BUSYBOX}" in line for line in progress), progress
    assert all(line[:8].count(":") == 2 for line in progress), progress  # HH:MM:SS before every line
    described = fields(busybox.stdout)
    assert described["name"] == BUSYBOX and described["source"] == "imported" and described["layers"] == "1"
    assert described["entrypoint"] == "/bin/sh -c" and described["working_dir"] == WORKDIR
    assert described["cmd"] == "echo main:$GREETING:$(pwd):$(id -u); exec sleep 3600"
    assert described["id"].startswith("sha256:") and len(described["id"]) == 71
    layers = store.state()["layers"]
    assert len(layers) == 1 and store.state()["tmp"] == []

    # The docker-archive of the same image: the same layer, already stored (shared by digest, not unpacked).
    docker = store.imported(archives["docker-archive"], "busybox:e2e-docker")
    assert any("already stored" in line for line in docker.stderr.splitlines()), docker.stderr
    assert not any("unpacking" in line for line in docker.stderr.splitlines()), docker.stderr
    assert fields(docker.stdout)["cmd"] == described["cmd"]
    assert fields(docker.stdout)["working_dir"] == WORKDIR
    assert store.state()["layers"] == layers

    listed = store.listed()
    assert set(listed) == {BUSYBOX, "busybox:e2e-docker"}, listed
    for name, row in listed.items():
        assert row["source"] == "imported" and row["layers"] == "1", row
        assert int(row["size_bytes"]) > 1_000_000, row  # busybox itself is about 2 MB
    assert listed[BUSYBOX]["id"] == described["id"]

    # rm takes the record; the layer stays while busybox:e2e uses it.
    removed = store.cli("rm", "busybox:e2e-docker")
    assert removed.returncode == 0 and "removed: busybox:e2e-docker" in removed.stdout, removed
    assert set(store.listed()) == {BUSYBOX}
    assert store.state()["layers"] == layers
    again = store.cli("rm", "busybox:e2e-docker")
    assert again.returncode != 0 and "no image named busybox:e2e-docker" in again.stderr, again


def test_image_names_the_cli_refuses(store, archives):
    for name in ["default", "Busybox:UPPER", "sha256:" + "0" * 64, "_underscore", ""]:
        result = store.cli("import", archives["oci-archive"], "--name", name)
        assert result.returncode != 0, (name, result.stdout)
        assert name not in store.listed()
    missing = store.cli("import", os.path.join(store.path, "..", "no-such-archive.tar"), "--name", "missing:1")
    assert missing.returncode != 0 and "missing:1" not in store.listed()
    assert store.state()["tmp"] == []


def test_image_service_is_served_with_a_runc_backend(server):
    health = health_pb2_grpc.HealthStub(server.server.channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service="execbox.v1.ImageService"), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_rest_session_on_the_image_runs_its_entrypoint_and_cmd_with_its_env_and_workdir(server):
    created = server.request("POST", "/v1/sessions", key=server.key, json={"image": BUSYBOX})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    got = server.request("GET", f"/v1/sessions/{session_id}", key=server.key).json()
    assert got["image"] == BUSYBOX and got["status"] == "running", got
    # The main process is the image's ENTRYPOINT + CMD; its first line says what it saw.
    with open_ws(server, session_id, server.key, what="attach") as ws:
        output = collect(ws, timeout=30, stop_when=lambda out: b"\n" in out.stdout)
    assert not output.problems, output
    line = bytes(output.stdout)
    assert line.startswith(f"main:{GREETING}:".encode()), line  # entrypoint, cmd and env
    assert line == MAIN_LINE, f"the image's WORKDIR {WORKDIR} is not the main process's directory: {line!r}"


def test_rest_exec_on_the_image_sees_its_env_and_workdir_and_a_request_overrides_them(server):
    created = server.request("POST", "/v1/sessions", key=server.key,
                             json={"image": BUSYBOX, "command": ["sleep", "600"]})
    assert created.status_code == 201, created.text
    out = run_exec(server, created.json()["id"], server.key, ["sh", "-c", "echo $GREETING; ls /app; id -u"])
    assert out.check().exit_code == 0 and bytes(out.stdout) == f"{GREETING}\ngreeting\n0\n".encode(), out

    overridden = server.request("POST", "/v1/sessions", key=server.key, json={
        "image": BUSYBOX, "command": ["sleep", "600"], "env": {"GREETING": "override"}, "workDir": "/root"})
    assert overridden.status_code == 201, overridden.text
    out = run_exec(server, overridden.json()["id"], server.key, ["sh", "-c", "echo $GREETING; pwd"])
    assert out.check().exit_code == 0 and bytes(out.stdout) == b"override\n/root\n", out

    out = run_exec(server, created.json()["id"], server.key, ["pwd"])
    assert out.check().exit_code == 0
    assert bytes(out.stdout) == f"{WORKDIR}\n".encode(), f"an exec's default directory is not WORKDIR: {out}"


def test_grpc_session_on_the_image_runs_its_entrypoint_and_cmd_with_its_env_and_workdir(client, server, pb):
    session = client.create(server.key, image=BUSYBOX)
    assert session.status == pb.common_pb2.SESSION_STATUS_RUNNING and session.image == BUSYBOX, session
    assert session.setup_hash == "" and not session.image_cache_hit
    out = client.exec(server.key, session.id, ["sh", "-c", "echo $GREETING; cat greeting 2>&1 || true"])
    assert out.exit.exit_code == 0 and out.stdout.startswith(f"{GREETING}\n".encode()), out.stdout
    main = client.attach_main(server.key, session.id, MAIN_LINE)
    assert main.stdout.startswith(f"main:{GREETING}:".encode()), main.stdout
    assert main.stdout == MAIN_LINE, f"the image's WORKDIR is not the main process's directory: {main.stdout!r}"
    assert out.stdout == f"{GREETING}\nhello\n".encode(), f"an exec's default directory is not WORKDIR: {out.stdout!r}"
    client.kill(server.key, session.id)


def test_a_session_on_an_image_whose_cmd_ends_fails_with_its_exit(server, store, busybox_layer, work):
    layout = os.path.join(work, "layout-exits")
    write_layout(layout, [], config={"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo bye; exit 4"]},
                 stored_diff_ids=[busybox_layer])
    result = store.imported(layout, "busybox:exits")
    assert "already stored" in result.stderr
    created = server.request("POST", "/v1/sessions", key=server.key, json={"image": "busybox:exits"})
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 30
    while True:
        got = server.request("GET", f"/v1/sessions/{created.json()['id']}", key=server.key).json()
        if got["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got["status"] == "failed" and got.get("exitCode") == 4, got  # exit code 0 would be "stopped"


# MARK: hostile layers


def tar_entry(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", device=(0, 0)):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.mtime = kind, mode, link, 1_700_000_000
    info.devmajor, info.devminor = device
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def tar_bytes(*entries, format=tarfile.GNU_FORMAT):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return buffer.getvalue()


def put_blob(blobs, data, name=None):
    digest = sha256(data)
    with open(os.path.join(blobs, name or digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def write_layout(directory, layers, config=None, gzipped=True, diff_ids=None, stored_diff_ids=(),
                 blob_names=None, tamper_config=False):
    """An OCI image layout: `layers` are tar streams (gzip level 1 when `gzipped`), or (path of a blob file
    already in blobs/sha256, its diff id) pairs; `stored_diff_ids` are layers the store already has (put first,
    their blobs left out: an import never reads the blob of a layer it has). `diff_ids` replaces the config's
    list, `blob_names` the file names of the layer blobs (a descriptor whose digest the bytes do not have) and
    `tamper_config` changes the config's bytes after its digest was taken."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gzipped else "")
    descriptors = [{"mediaType": media, "digest": "sha256:" + hex_, "size": 1} for hex_ in stored_diff_ids]
    computed = ["sha256:" + hex_ for hex_ in stored_diff_ids]
    for index, layer in enumerate(layers):
        if isinstance(layer, tuple):
            path, diff_id = layer
            with open(path, "rb") as f:
                digest = "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()
            os.rename(path, os.path.join(blobs, digest.split(":")[1]))
            size = os.path.getsize(os.path.join(blobs, digest.split(":")[1]))
        else:
            diff_id = "sha256:" + sha256(layer)
            blob = gzip.compress(layer, compresslevel=1, mtime=0) if gzipped else layer
            name = blob_names[index] if blob_names else None
            digest = "sha256:" + name if name else put_blob(blobs, blob)
            if name:
                put_blob(blobs, blob, name=name)
            size = len(blob)
        computed.append(diff_id)
        descriptors.append({"mediaType": media, "digest": digest, "size": size})
    image_config = {"architecture": "amd64", "os": "linux", "config": config or {},
                    "rootfs": {"type": "layers", "diff_ids": diff_ids or computed}}
    config_bytes = json.dumps(image_config, sort_keys=True).encode()
    config_digest = put_blob(blobs, config_bytes)
    if tamper_config:
        with open(os.path.join(blobs, config_digest.split(":")[1]), "wb") as f:
            f.write(config_bytes.replace(b'"os": "linux"', b'"os": "linux" '))
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config_bytes)},
        "layers": descriptors}).encode()
    manifest_digest = put_blob(blobs, manifest)
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
            "size": len(manifest)}]}, f)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return directory


def gnu_tar_sparse(work, form):
    """A 10 GiB file of holes as GNU tar stores it with --sparse: an old-GNU 'S' entry (gnu) or a pax
    GNU.sparse 1.0 entry (posix). Neither tar nor the file takes any space."""
    folder = tempfile.mkdtemp(dir=work)
    with open(os.path.join(folder, "big"), "wb") as f:
        f.truncate(10 * GiB)
    output = os.path.join(folder, "layer.tar")
    result = run(["tar", f"--format={form}", "--sparse", "-C", folder, "-cf", output, "big"])
    assert result.returncode == 0, result.stderr
    with open(output, "rb") as f:
        data = f.read()
    shutil.rmtree(folder)
    assert len(data) < 64 << 10
    return data


def declared_ten_gib(format):
    """A header declaring a 10 GiB regular file (GNU base-256 size, or a pax `size`), 4 KiB of its data, then
    the end of the stream."""
    info = tarfile.TarInfo("big")
    info.size, info.mtime = 10 * GiB, 1_700_000_000
    return info.tobuf(format=format) + b"\0" * 4096


SMALL_ROOT = [tar_entry("bin", tarfile.DIRTYPE, mode=0o755), tar_entry("bin/tool", data=b"#!/bin/sh\n", mode=0o755)]

# (case, layer entries or a function of the work directory, the entry the error must name (a glob), the rule)
HOSTILE = [
    ("dev-null-symlink", [tar_entry("dev", tarfile.DIRTYPE, mode=0o755),
                          tar_entry("dev/null", tarfile.SYMTYPE, link="/proc/sys/kernel/core_pattern")],
     "dev/null", "entries under dev/ are not allowed"),
    ("dev-console-symlink", [tar_entry("dev/console", tarfile.SYMTYPE, link="/etc/shadow")],
     "dev/console", "entries under dev/ are not allowed"),
    ("proc-symlink", [tar_entry("proc", tarfile.SYMTYPE, link="/")],
     "proc", "the runtime mounts a directory here"),
    ("char-device", [tar_entry("app", tarfile.DIRTYPE), tar_entry("app/mem", tarfile.CHRTYPE, device=(1, 1))],
     "app/mem", "device nodes are not allowed"),
    ("block-device", [tar_entry("sda", tarfile.BLKTYPE, device=(8, 0))], "sda", "device nodes are not allowed"),
    ("setuid-file", SMALL_ROOT + [tar_entry("bin/su", data=b"\x7fELF", mode=0o4755)],
     "bin/su", "setuid and setgid files are not allowed"),
    ("setgid-file", SMALL_ROOT + [tar_entry("bin/wall", data=b"\x7fELF", mode=0o2755)],
     "bin/wall", "setuid and setgid files are not allowed"),
    ("dotdot-path", SMALL_ROOT + [tar_entry("../etc/passwd", data=b"root::0:0::/:/bin/sh\n")],
     "../etc/passwd", 'has a ".." component'),
    ("absolute-dotdot-path", [tar_entry("/../x", data=b"x")], "/../x", 'has a ".." component'),
    ("hardlink-out-of-the-root", SMALL_ROOT + [tar_entry("outside", tarfile.LNKTYPE, link="../../outside")],
     "outside", 'target has a ".." component'),
    ("hardlink-through-a-symlink", [tar_entry("hostetc", tarfile.SYMTYPE, link="/etc"),
                                    tar_entry("stolen", tarfile.LNKTYPE, link="hostetc/passwd")],
     "stolen", "is not in the layer"),
    ("tmp-symlink", [tar_entry("tmp", tarfile.SYMTYPE, link="/etc")], "tmp", "the runtime mounts a directory here"),
    ("resolv-conf-symlink", [tar_entry("etc", tarfile.DIRTYPE, mode=0o755),
                             tar_entry("etc/resolv.conf", tarfile.SYMTYPE, link="/etc/shadow")],
     "etc/resolv.conf", "the runtime mounts a file here"),
    ("etc-symlink", [tar_entry("etc", tarfile.SYMTYPE, link="/var/lib")], "etc", "under this path; it must be a"),
    ("gnu-sparse-10-gib", lambda work: gnu_tar_sparse(work, "gnu"), "big", "sparse files are not supported"),
    ("pax-sparse-10-gib", lambda work: gnu_tar_sparse(work, "posix"), "GNUSparseFile.*/big",
     "sparse files are not supported"),
    ("declared-10-gib-gnu", lambda work: declared_ten_gib(tarfile.GNU_FORMAT), "big",
     "the file's 10737418240 bytes exceed the 4294967296-byte limit"),
    ("declared-10-gib-pax", lambda work: declared_ten_gib(tarfile.PAX_FORMAT), "big",
     "the file's 10737418240 bytes exceed the 4294967296-byte limit"),
]


def refused_import(store, layout, name, allowed_seconds=30):
    """Imports `layout` as `name`, which must fail quickly and leave the store as it was (no record, no layer,
    no scratch directory, no disk used). Returns stderr."""
    before, used = store.state(), store.disk_bytes()
    started = time.monotonic()
    result = store.cli("import", layout, "--name", name)
    elapsed = time.monotonic() - started
    assert result.returncode != 0, (name, result.stdout, result.stderr)
    assert elapsed < allowed_seconds, f"refusing {name} took {elapsed:.1f} s"
    assert store.state() == before, (name, before, store.state())
    assert store.disk_bytes() == used, (name, used, store.disk_bytes())
    assert name not in store.listed()
    return result.stderr


@pytest.mark.parametrize("case,entries,path,rule", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_a_hostile_layer_is_refused_naming_the_entry_and_leaves_nothing(store, work, busybox, case, entries,
                                                                        path, rule):
    layer = entries(work) if callable(entries) else tar_bytes(*entries)
    layout = write_layout(os.path.join(work, "hostile", case), [layer])
    passwd = os.stat("/etc/passwd")
    stderr = refused_import(store, layout, f"hostile:{case}")
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and fnmatch.fnmatchcase(errors[0], f'*layer entry "{path}": *{rule}*'), stderr
    assert os.stat("/etc/passwd").st_nlink == passwd.st_nlink  # no hard link to a host file was made


def test_setuid_files_are_accepted_with_allow_setuid_and_rm_collects_the_layer(store, work, busybox):
    layer = tar_bytes(*SMALL_ROOT, tar_entry("bin/su", data=b"\x7fELF", mode=0o4755))
    layout = write_layout(os.path.join(work, "setuid-allowed"), [layer])
    before = store.state()
    refused_import(store, layout, "setuid:refused")
    result = store.imported(layout, "setuid:allowed", "--allow-setuid")
    assert fields(result.stdout)["layers"] == "1"
    new_layers = sorted(set(store.state()["layers"]) - set(before["layers"]))
    assert new_layers == [sha256(layer)], new_layers
    mode = os.stat(os.path.join(store.path, "layers", new_layers[0], "bin", "su")).st_mode & 0o7777
    assert mode == 0o4755, oct(mode)
    assert store.listed()["setuid:allowed"]["source"] == "imported"
    removed = store.cli("rm", "setuid:allowed")
    assert removed.returncode == 0, removed.stderr
    assert store.state() == before  # the record and the layer nothing else uses are gone


def test_layer_config_and_diff_id_digest_mismatches_are_refused(store, work, busybox):
    clean = tar_bytes(*SMALL_ROOT)
    wrong = sha256(b"not this layer")
    layout = write_layout(os.path.join(work, "digest-blob"), [clean], blob_names=[wrong])
    stderr = refused_import(store, layout, "mismatch:blob")
    assert f"the blob does not match its digest sha256:{wrong}" in stderr, stderr
    layout = write_layout(os.path.join(work, "digest-diff-id"), [clean], diff_ids=["sha256:" + wrong])
    stderr = refused_import(store, layout, "mismatch:diff-id")
    assert f"the uncompressed layer does not match its diff id sha256:{wrong}" in stderr, stderr
    layout = write_layout(os.path.join(work, "digest-config"), [clean], tamper_config=True)
    stderr = refused_import(store, layout, "mismatch:config")
    assert "does not match its digest" in stderr, stderr
    layout = write_layout(os.path.join(work, "digest-count"), [clean], diff_ids=["sha256:" + wrong] * 2)
    stderr = refused_import(store, layout, "mismatch:count")
    assert "names 2 layers, its manifest 1" in stderr, stderr


def million_entry_layer(path, count=1_000_000):
    """A gzip (level 1) tar of `count` empty regular files written as raw ustar headers; returns its diff id.
    512 MB of tar, a few MB on disk, a few seconds to make."""
    template = bytearray(512)
    template[100:108], template[108:116], template[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    template[124:136], template[136:148] = b"00000000000\0", b"14631463150\0"
    template[148:156], template[156] = b" " * 8, ord("0")
    template[257:263], template[263:265] = b"ustar\0", b"00"
    base = sum(template)
    hasher = hashlib.sha256()
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    batch = 4096
    with open(path, "wb") as out:
        for start in range(0, count, batch):
            blocks = bytearray()
            for number in range(start, min(start + batch, count)):
                name = b"f%07d" % number
                block = bytearray(template)
                block[0:8] = name
                block[148:155] = b"%06o\0" % (base + sum(name))  # the checksum counts its field as spaces
                blocks += block
            hasher.update(blocks)
            out.write(compressor.compress(bytes(blocks)))
        end = bytes(1024)
        hasher.update(end)
        out.write(compressor.compress(end) + compressor.flush())
    return "sha256:" + hasher.hexdigest()


def test_a_layer_of_a_million_entries_is_refused_by_the_entry_limit(store, work, busybox):
    layout = os.path.join(work, "million")
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    blob = os.path.join(layout, "million.tar.gz")
    diff_id = million_entry_layer(blob)
    assert os.path.getsize(blob) < 16 * MiB
    write_layout(layout, [(blob, diff_id)])
    stderr = refused_import(store, layout, "hostile:million", allowed_seconds=60)
    # LayerPolicy's default maxEntries is 500,000 (exclusive): the 500,001st entry is the one refused.
    assert 'layer entry "f0500000": the layer has more than 500000 entries' in stderr, stderr


def test_an_images_command_leaves_the_work_of_another_in_progress_alone(store, work, busybox):
    """`images ls` while an import unpacks: the store's tmp/ holds the import's layer being written. A command
    that wipes tmp/ on opening the store breaks every import, bootstrap and build running beside it (a running
    server's builds capture their layers there too)."""
    # One 256 MiB file of zeros (about 1 MB of gzip): unpacking it takes a second or so.
    info = tarfile.TarInfo("zeros")
    info.size, info.mtime = 256 * MiB, 1_700_000_000
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    hasher = hashlib.sha256()
    layer_file = os.path.join(work, "slow-layer.tar.gz")
    with open(layer_file, "wb") as out:
        for chunk in [info.tobuf(format=tarfile.GNU_FORMAT)] + [bytes(8 * MiB)] * 32 + [bytes(1024)]:
            hasher.update(chunk)
            out.write(compressor.compress(chunk))
        out.write(compressor.flush())
    layout = os.path.join(work, "slow")
    write_layout(layout, [(layer_file, "sha256:" + hasher.hexdigest())])
    tmp = os.path.join(store.path, "tmp")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        importing = pool.submit(store.cli, "import", layout, "--name", "slow:1", timeout=300)
        deadline = time.monotonic() + 120
        while not any(name.startswith("layer-") for name in os.listdir(tmp)) and not importing.done():
            assert time.monotonic() < deadline, "the import never started unpacking"
            time.sleep(0.01)
        assert not importing.done(), "the import finished before it could be disturbed"
        listed = store.cli("ls")
        result = importing.result()
    assert listed.returncode == 0, listed.stderr
    try:
        assert result.returncode == 0, f"an `images ls` beside it broke the import: {result.stderr}"
        assert "slow:1" in store.listed()
    finally:
        store.cli("rm", "slow:1")


# MARK: builds over gRPC


@pytest.fixture(scope="module")
def built(client, server, pb, busybox):
    """The first BuildImage of busybox:e2e + SETUP + two files: (responses, seconds)."""
    return client.build(server.key, base_image=BUSYBOX, setup=SETUP, files=build_files(pb))


def test_build_streams_accepted_progress_step_logs_in_order_and_result(built, pb):
    responses, _ = built
    image_pb2 = pb.image_pb2
    assert kinds(responses)[0] == "accepted" and kinds(responses)[-1] == "result", kinds(responses)
    assert kinds(responses).count("accepted") == 1 and kinds(responses).count("result") == 1
    accepted = responses[0].accepted
    files = [("/opt/e2e/utf8.txt", UTF8_TEXT), ("/opt/e2e/blob.bin", base64.b64encode(BLOB).decode())]
    digest = content_hash(BUSYBOX, SETUP, files)
    assert not accepted.cache_hit
    assert accepted.image_id == "sha256:" + digest and accepted.setup_hash == digest[:16], accepted

    # Each step's lines, in order, after the progress message that starts that step.
    steps = [step for step, _, _ in logs(responses)]
    assert steps and steps == sorted(steps), steps
    by_stream = {}
    for step, stream, line in logs(responses):
        by_stream.setdefault((step, stream), []).append(line)
    assert by_stream == {(1, "stdout"): ["step-one"], (1, "stderr"): ["one-err"],
                         (2, "stdout"): [UTF8_TEXT.rstrip("\n")]}, by_stream
    current = None
    elapsed = 0
    phases = []
    for response in responses:
        kind = response.WhichOneof("payload")
        if kind == "progress":
            progress = response.progress
            assert progress.total_steps == len(SETUP) and progress.elapsed_ms >= elapsed, progress
            elapsed = progress.elapsed_ms
            phases.append(progress.phase)
            current = progress.current_step if progress.phase == image_pb2.BUILD_PHASE_RUNNING_SETUP else None
        elif kind == "log":
            assert current == response.log.step, (current, response.log)
            assert response.log.logged_at.seconds > 0
    assert phases[0] == image_pb2.BUILD_PHASE_CACHE_LOOKUP and phases[-1] == image_pb2.BUILD_PHASE_DONE, phases
    for phase in [image_pb2.BUILD_PHASE_COPYING_FILES, image_pb2.BUILD_PHASE_RUNNING_SETUP,
                  image_pb2.BUILD_PHASE_EXPORTING]:
        assert phase in phases, phases
    assert phases.index(image_pb2.BUILD_PHASE_COPYING_FILES) < phases.index(image_pb2.BUILD_PHASE_RUNNING_SETUP)
    assert phases.index(image_pb2.BUILD_PHASE_RUNNING_SETUP) < phases.index(image_pb2.BUILD_PHASE_EXPORTING)

    result = responses[-1].result
    assert not result.cache_hit and result.failed_step == 0 and not result.HasField("failed_step_exit"), result
    image = result.image
    assert image.status == image_pb2.IMAGE_STATUS_READY and image.id == accepted.image_id, image
    assert image.setup_hash == accepted.setup_hash and image.base_image == BUSYBOX and list(image.setup) == SETUP
    assert [(f.path, f.size_bytes) for f in image.files] == [("/opt/e2e/utf8.txt", len(UTF8_TEXT.encode())),
                                                           ("/opt/e2e/blob.bin", len(BLOB))]
    assert image.build_duration_ms >= 1000 and image.size_bytes > 1_000_000 and image.failure_message == ""
    assert image.reference and image.created_at.seconds > 0


def test_a_session_on_the_built_image_has_its_files_and_the_setup_results(built, client, server, pb):
    image_id = built[0][0].accepted.image_id
    session = client.create(server.key, image=image_id, command=["sleep", "600"])
    assert session.status == pb.common_pb2.SESSION_STATUS_RUNNING and session.image == image_id
    out = client.exec(server.key, session.id, ["sh", "-c",
                                               "cat /opt/e2e/done /opt/e2e/utf8.txt /opt/e2e/blob.sha256; "
                                               "sha256sum /opt/e2e/blob.bin; echo $GREETING"])
    assert out.exit.exit_code == 0, out.stderr
    digest_line = f"{sha256(BLOB)}  /opt/e2e/blob.bin\n"
    assert out.stdout.decode() == "done\n" + UTF8_TEXT + digest_line + digest_line + GREETING + "\n"
    client.kill(server.key, session.id)


def test_the_same_build_again_is_a_cache_hit_without_logs_and_fast(built, client, server, pb):
    first, build_seconds = built
    responses, seconds = client.build(server.key, base_image=BUSYBOX, setup=SETUP, files=build_files(pb))
    assert kinds(responses) == ["accepted", "result"], kinds(responses)
    assert responses[0].accepted.cache_hit and responses[-1].result.cache_hit
    assert responses[0].accepted.image_id == first[0].accepted.image_id
    assert responses[-1].result.image.status == pb.image_pb2.IMAGE_STATUS_READY
    assert seconds < build_seconds / 2, f"cache hit {seconds:.3f} s, build {build_seconds:.3f} s"
    # Other inputs (one byte more in a file, one step less) are another image: a build, not a hit.
    changed = [utf8_file(pb, "/opt/e2e/utf8.txt", UTF8_TEXT + "!"), base64_file(pb, "/opt/e2e/blob.bin", BLOB)]
    responses, _ = client.build(server.key, base_image=BUSYBOX, setup=SETUP[:2], files=changed)
    assert not responses[0].accepted.cache_hit and responses[0].accepted.image_id != first[0].accepted.image_id
    assert responses[-1].result.image.status == pb.image_pb2.IMAGE_STATUS_READY


def test_get_image_by_id_and_setup_hash_and_list_images(built, client, server, pb):
    accepted = built[0][0].accepted
    by_id = client.get_image(server.key, image_id=accepted.image_id)
    by_hash = client.get_image(server.key, setup_hash=accepted.setup_hash)
    assert by_id.id == by_hash.id == accepted.image_id and by_id.status == pb.image_pb2.IMAGE_STATUS_READY
    assert by_id.last_used_at.seconds > 0
    assert accepted.image_id in [image.id for image in client.list_images(server.key)]
    for request in [{"image_id": "sha256:" + "0" * 64}, {"setup_hash": "0" * 16}]:
        with pytest.raises(grpc.RpcError) as error:
            client.get_image(server.key, **request)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND, request
    for request in [{"image_id": "sha256:ABC"}, {"setup_hash": "xyz"}, {}]:
        with pytest.raises(grpc.RpcError) as error:
            client.get_image(server.key, **request)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request


def test_another_account_sees_the_image_only_after_it_builds_the_same_inputs(built, client, server, pb):
    accepted = built[0][0].accepted
    other = server.new_account("images-tenant")
    assert accepted.image_id not in [image.id for image in client.list_images(other.key)]
    for request in [{"image_id": accepted.image_id}, {"setup_hash": accepted.setup_hash}]:
        with pytest.raises(grpc.RpcError) as error:
            client.get_image(other.key, **request)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND, request
    with pytest.raises(grpc.RpcError) as error:
        client.create(other.key, image=accepted.image_id, command=["sleep", "60"])
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    # The same inputs: a cache hit for this account too, and from then on its image.
    responses, _ = client.build(other.key, base_image=BUSYBOX, setup=SETUP, files=build_files(pb))
    assert kinds(responses) == ["accepted", "result"] and responses[-1].result.cache_hit
    assert accepted.image_id in [image.id for image in client.list_images(other.key)]
    assert client.get_image(other.key, setup_hash=accepted.setup_hash).id == accepted.image_id
    session = client.create(other.key, image=accepted.image_id, command=["sleep", "60"])
    assert session.status == pb.common_pb2.SESSION_STATUS_RUNNING
    client.kill(other.key, session.id)


def test_a_failing_step_fails_the_build_with_its_step_and_exit(client, server, pb, busybox):
    setup = ["echo before-the-failure", "echo failing >&2; exit 3", "echo never"]
    responses, _ = client.build(server.key, base_image=BUSYBOX, setup=setup)
    assert kinds(responses)[0] == "accepted" and kinds(responses)[-1] == "result", kinds(responses)
    assert logs(responses) == [(1, "stdout", "before-the-failure"), (2, "stderr", "failing")]
    result = responses[-1].result
    assert result.image.status == pb.image_pb2.IMAGE_STATUS_FAILED and not result.cache_hit
    assert result.failed_step == 2
    assert result.failed_step_exit.exit_code == 3
    assert result.failed_step_exit.reason == pb.common_pb2.EXIT_REASON_EXITED
    assert "setup command 2" in result.image.failure_message, result.image.failure_message
    image_id = responses[0].accepted.image_id
    assert client.get_image(server.key, image_id=image_id).status == pb.image_pb2.IMAGE_STATUS_FAILED
    with pytest.raises(grpc.RpcError) as error:
        client.create(server.key, image=image_id, command=["sleep", "60"])
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "build failed" in error.value.details(), error.value.details()
    # A failed build is not a cached result: the same inputs build (and fail) again.
    again, _ = client.build(server.key, base_image=BUSYBOX, setup=setup)
    assert not again[0].accepted.cache_hit and again[-1].result.failed_step == 2


def test_invalid_builds_are_invalid_argument_before_anything_runs(client, server, pb, busybox):
    bad_base64 = pb.common_pb2.FileSpec(path="/opt/x", content="not*base64!",
                                        encoding=pb.common_pb2.FILE_ENCODING_BASE64)
    cases = [
        ({"base_image": BUSYBOX, "setup": ["FROM alpine:3.19", "true"]}, "FROM"),
        ({"base_image": BUSYBOX, "setup": ["  from   alpine"]}, "FROM"),
        ({"base_image": BUSYBOX, "setup": ["true"], "files": [bad_base64]}, "base64"),
        ({"base_image": BUSYBOX, "setup": ["true"], "files": [utf8_file(pb, "/workspace/x", "x")]}, "/workspace"),
        ({"base_image": BUSYBOX, "setup": ["true"], "files": [utf8_file(pb, "/opt/../etc/x", "x")]}, ".."),
        ({"base_image": "no-such-base:1", "setup": ["true"]}, "unknown base image"),
        ({"base_image": "default", "setup": ["true"]}, "default image cannot be a build base"),
        ({"base_image": "", "setup": ["true"]}, "base_image"),
        ({"base_image": BUSYBOX, "setup": ["true"] * 65}, "64"),
    ]
    for request, words in cases:
        received, error = client.build_error(server.key, **request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, error.code(), error.details())
        assert words in error.details(), (request, error.details())
        assert received == [], (request, received)


def test_the_contract_hash_vectors(client, server, store, archives, pb, busybox):
    """CONTRACT.md §8.6's vectors out of the rule here, and out of the server (its accepted message) on bases of
    those names (the busybox archive imported as python:3.12 and alpine:3.19; its layer already stored)."""
    vectors = [
        ("python:3.12", ["pip install requests"], [], "ddd87a64371229b3"),
        ("python:3.12", [], [("/app/main.py", "print('hi')\n")], "6722976340c6efda"),
        ("alpine:3.19", ["apk add curl", "echo ok"], [("/b.txt", "B"), ("/a.txt", "A")], "f4b55e9f771fdb28"),
    ]
    for base, setup, files, expected in vectors:
        assert content_hash(base, setup, files)[:16] == expected, (base, setup, files)
    for name in ["python:3.12", "alpine:3.19"]:
        assert "already stored" in store.imported(archives["oci-archive"], name).stderr
    for base, setup, files, expected in vectors:
        responses, _ = client.build(server.key, base_image=base, setup=setup,
                                    files=[utf8_file(pb, path, content) for path, content in files])
        accepted = responses[0].accepted
        assert accepted.setup_hash == expected, (base, accepted)
        assert accepted.image_id == "sha256:" + content_hash(base, setup, files)
        # pip and apk are not in busybox: those builds fail at step 1 with 127; the file-only one is READY.
        result = responses[-1].result
        if setup:
            assert result.failed_step == 1 and result.failed_step_exit.exit_code == 127, result
        else:
            assert result.image.status == pb.image_pb2.IMAGE_STATUS_READY, result


def test_a_base_whose_cmd_ends_at_once_can_be_built_on(client, server, pb, store, busybox_layer, work):
    """A build runs its steps as execs in a sandbox on the base: the base's own ENTRYPOINT/CMD must not be what
    keeps (or fails to keep) that sandbox alive. Most images' CMD ends at once without a terminal
    (`python3`, `bash`; the bootstrapped debian:bookworm's CMD is /bin/bash)."""
    if "busybox:exits" not in store.listed():
        layout = os.path.join(work, "layout-exits-build")
        write_layout(layout, [], config={"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo bye; exit 4"]},
                     stored_diff_ids=[busybox_layer])
        store.imported(layout, "busybox:exits")
    try:
        responses, _ = client.build(server.key, base_image="busybox:exits", setup=["echo built-on-an-ending-base"])
    except grpc.RpcError as error:  # the build sandbox stopped before its first step could start
        pytest.fail(f"BuildImage on a base whose CMD ends: {error.code()} {error.details()}")
    result = responses[-1].result
    assert result.image.status == pb.image_pb2.IMAGE_STATUS_READY, (
        f"failed_step {result.failed_step}: {result.image.failure_message}")
    assert logs(responses) == [(1, "stdout", "built-on-an-ending-base")]


# MARK: builds through the REST gateway


def test_rest_create_with_setup_and_files_builds_then_hits_the_cache(server, client, pb, busybox):
    payload = os.urandom(2048)
    body = {
        "image": BUSYBOX,
        "command": ["sleep", "600"],
        "setup": ["sleep 1", "test -s /opt/rest/data.bin && echo rest-setup > /opt/rest/out"],
        "files": [
            {"path": "/opt/rest/data.bin", "content": base64.b64encode(payload).decode(), "encoding": "base64"},
            {"path": "/workspace/in-session.txt", "content": "a session file"},
        ],
    }
    digest = content_hash(BUSYBOX, body["setup"], [(f["path"], f["content"]) for f in body["files"]])
    key = server.key
    statuses = set()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        creating = pool.submit(server.request, "POST", "/v1/sessions", key=key, json=body, timeout=300)
        while not creating.done():  # the session is BUILDING while its image builds
            for session in server.request("GET", "/v1/sessions", key=key).json()["sessions"]:
                statuses.add(session["status"])
            time.sleep(0.05)
        first = creating.result()
        first_seconds = time.monotonic() - started
    assert first.status_code == 201, first.text
    assert "building" in statuses, statuses
    session_id = first.json()["id"]
    assert first.json()["status"] == "running" and set(first.json()) <= {"id", "status", "createdAt", "network"}
    got = server.request("GET", f"/v1/sessions/{session_id}", key=key).json()
    assert got["image"] == BUSYBOX and got["status"] == "running", got  # the image as requested
    session = client.get(key, session_id)
    assert session.setup_hash == digest[:16] and session.image_id == "sha256:" + digest, session
    assert not session.image_cache_hit and list(session.setup) == body["setup"]

    def download(path):
        response = server.request("GET", f"/v1/sessions/{session_id}/files", key=key, params={"path": path})
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.content

    assert download("/opt/rest/data.bin") == payload
    assert download("/opt/rest/out") == b"rest-setup\n"  # written only when data.bin was there before the setup
    assert download("/workspace/in-session.txt") == b"a session file"
    out = run_exec(server, session_id, key, ["sh", "-c", "cat /opt/rest/out; ls /workspace"])
    assert out.check().exit_code == 0 and bytes(out.stdout) == b"rest-setup\nin-session.txt\n", out

    started = time.monotonic()
    second = server.request("POST", "/v1/sessions", key=key, json=body, timeout=300)
    second_seconds = time.monotonic() - started
    assert second.status_code == 201 and second.json()["status"] == "running", second.text
    cached = client.get(key, second.json()["id"])
    assert cached.image_cache_hit and cached.setup_hash == digest[:16] and cached.image_id == session.image_id
    assert second_seconds < first_seconds / 2, f"cache hit {second_seconds:.3f} s, build {first_seconds:.3f} s"
    response = server.request("GET", f"/v1/sessions/{second.json()['id']}/files", key=key,
                              params={"path": "/workspace/in-session.txt"})
    assert response.status_code == 200 and response.content == b"a session file"
    for created in [session_id, second.json()["id"]]:
        server.request("DELETE", f"/v1/sessions/{created}", key=key)


def test_rest_create_with_a_failing_setup_or_a_bad_base(server, busybox):
    failing = server.request("POST", "/v1/sessions", key=server.key,
                             json={"image": BUSYBOX, "setup": ["echo no; exit 5"]}, timeout=300)
    body = assert_error(failing, 409, "CONFLICT")
    assert "setup command 1" in body["detail"], body
    for image, words in [("default", "default image cannot be a build base"),
                         ("no-such-image:2", "unknown base image")]:
        response = server.request("POST", "/v1/sessions", key=server.key, json={"image": image, "setup": ["true"]})
        body = assert_error(response, 400, "BAD_REQUEST")
        assert words in body["detail"], body
    bad = server.request("POST", "/v1/sessions", key=server.key, json={
        "image": BUSYBOX, "setup": ["true"], "files": [{"path": "/x", "content": "@@@", "encoding": "base64"}]})
    assert "base64" in assert_error(bad, 400, "BAD_REQUEST")["detail"]


# MARK: debootstrap


@pytest.mark.debootstrap
def test_bootstrap_debian_bookworm_and_run_a_session_on_it(store, server, busybox):
    started = time.monotonic()
    result = store.cli("bootstrap", "debian:bookworm", timeout=900)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, (result.stdout, result.stderr[-3000:])
    progress = result.stderr.splitlines()
    assert any("debootstrap --variant=minbase bookworm from" in line for line in progress), progress
    assert any("cleaning and checking" in line for line in progress), progress
    assert any("stored debian:bookworm" in line for line in progress), progress
    described = fields(result.stdout)
    assert described["source"] == "bootstrapped" and described["layers"] == "1" and described["cmd"] == "/bin/bash"
    assert store.listed()["debian:bookworm"]["source"] == "bootstrapped"
    assert store.state()["tmp"] == []
    print(f"bootstrap took {elapsed:.1f} s")

    created = server.request("POST", "/v1/sessions", key=server.key,
                             json={"image": "debian:bookworm", "command": ["sleep", "600"]})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    out = run_exec(server, session_id, server.key, ["cat", "/etc/debian_version"])
    assert out.check().exit_code == 0 and bytes(out.stdout).startswith(b"12."), out
    out = run_exec(server, session_id, server.key, ["apt", "--version"])
    assert out.check().exit_code == 0 and bytes(out.stdout).startswith(b"apt 2.6"), out
    # Cleaned: no setuid or setgid file left, no package lists or caches, no devices.
    out = run_exec(server, session_id, server.key, [
        "sh", "-c", "find / -xdev \\( -perm -4000 -o -perm -2000 \\) -type f; ls /var/lib/apt/lists | wc -l"])
    assert out.check().exit_code == 0 and bytes(out.stdout) == b"0\n", out
    server.request("DELETE", f"/v1/sessions/{session_id}", key=server.key)
