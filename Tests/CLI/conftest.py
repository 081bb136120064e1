"""Fixtures for the `execbox` CLI tests: the built binaries, and one `execbox-server serve --backend
runc` per module with a sandbox namespace of its own (`cli` + 5 random letters), so concurrent test
runs never reap each other's sandboxes. Teardown kills whatever sessions are left, stops the server
and removes the namespace's host state."""
import glob
import json
import os
import pathlib
import random
import shutil
import signal
import string
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def binary(variable, name):
    """The built executable: from the environment (scripts/test exports it) or the build folder."""
    if os.environ.get(variable):
        return os.environ[variable]
    bin_path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    return os.path.join(bin_path, name)


def require_sandboxes():
    if os.geteuid() == 0 and shutil.which("runc") and shutil.which("nft"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("the CLI tests need root, runc and nft (CI=true requires them)")
    pytest.skip("the CLI tests need root, runc and nft")


def remove_host_state(namespace):
    """What a runc backend leaves on the host after its last session was killed: the nftables
    table, the cgroup parents and /run/NAME."""
    subprocess.run(["nft", "delete", "table", "inet", namespace.replace("-", "_")], capture_output=True, timeout=30)
    for hierarchy in glob.glob("/sys/fs/cgroup/*/"):
        try:
            os.rmdir(os.path.join(hierarchy, namespace))
        except OSError:
            pass
    sandboxes = f"/run/{namespace}/sandboxes"
    if not os.path.isdir(sandboxes) or not os.listdir(sandboxes):
        shutil.rmtree(f"/run/{namespace}", ignore_errors=True)


class ServerProcess:
    """`execbox-server serve` on a free loopback port; its URL and bootstrap admin key."""

    def __init__(self, extra=(), backend="runc"):
        self.root = tempfile.mkdtemp(prefix="execbox-cli-")
        self.data_dir = os.path.join(self.root, "data")
        self.namespace = "cli" + "".join(random.choices(string.ascii_lowercase, k=5))
        self.log = open(os.path.join(self.root, "server.log"), "w")
        flags = ["--listen", "127.0.0.1:0", "--data-dir", self.data_dir, "--backend", backend, *extra]
        if backend == "runc":
            flags += ["--sandbox-namespace", self.namespace]
        self.proc = subprocess.Popen([binary("EXECBOX_SERVER", "execbox-server"), "serve", *flags],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        while True:
            line = self.proc.stdout.readline()
            assert line, ("server exited", self.proc.wait(), open(self.log.name).read())
            if line.startswith("listening on "):
                break
        self.address = line.split()[-1]
        with open(os.path.join(self.data_dir, "bootstrap-admin.key")) as f:
            self.key = f.read().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    require_sandboxes()
    server = ServerProcess()
    yield server
    try:
        cli = binary("EXECBOX_CLI", "execbox")
        env = {**os.environ, "EXECBOX_URL": f"http://{server.address}", "EXECBOX_API_KEY": server.key}
        listed = subprocess.run([cli, "sessions", "ls", "--limit", "1000", "--status", "running", "--json"],
                                env=env, capture_output=True, text=True, timeout=30)
        if listed.returncode == 0:
            for session in json.loads(listed.stdout)["sessions"]:
                subprocess.run([cli, "sessions", "kill", session["id"]], env=env, capture_output=True, timeout=30)
    finally:
        server.stop()
        remove_host_state(server.namespace)
