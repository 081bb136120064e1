"""`execbox`, the CLI, end to end against a real `execbox-server serve --backend runc`: run with
exit codes, stdin and separate streams; uploads; cp of 100 MiB both ways byte-exact; exec -it
through a pseudo-terminal (resize, Ctrl-C, exit code); sessions, processes and logs; port URLs;
keys and usage as JSON; login and the config file; errors and their exit codes; TLS with a CA file;
completions and help."""
import hashlib
import json
import os
import stat
import subprocess
import time
import urllib.request

import pexpect
import pytest

from conftest import ServerProcess, binary

MiB = 1 << 20


@pytest.fixture(scope="module")
def cli():
    return binary("EXECBOX_CLI", "execbox")


@pytest.fixture()
def home(tmp_path):
    """A HOME of its own, so no test reads or writes the caller's config file."""
    path = tmp_path / "home"
    path.mkdir()
    return path


class CLI:
    """Runs `execbox` with the server's URL and admin key in the environment."""

    def __init__(self, binary_path, server, home):
        self.binary = binary_path
        self.env = {"PATH": os.environ["PATH"], "HOME": str(home),
                    "EXECBOX_URL": f"http://{server.address}", "EXECBOX_API_KEY": server.key}

    def __call__(self, *args, input=None, env=None, timeout=120, check=None):
        result = subprocess.run([self.binary, *args], input=input, capture_output=True, timeout=timeout,
                                env={**self.env, **(env or {})})
        if check is not None:
            assert result.returncode == check, (args, result.returncode, result.stdout[-2000:], result.stderr[-2000:])
        return result

    def json(self, *args, check=0, **kwargs):
        """`--json` output, parsed; the flag goes before a `--` (after it, it would be the command's)."""
        args = list(args)
        at = args.index("--") if "--" in args else len(args)
        return json.loads(self(*args[:at], "--json", *args[at:], check=check, **kwargs).stdout)

    def keep_session(self):
        """A running session made with `run --keep`: its id, read from stderr."""
        result = self("run", "--keep", "--", "true", check=0)
        line = [line for line in result.stderr.decode().splitlines() if "kept session" in line][0]
        return line.split("kept session ")[1].split(";")[0]


@pytest.fixture()
def execbox(cli, server, home):
    return CLI(cli, server, home)


# MARK: run


def test_run_prints_exactly_the_commands_stdout(execbox):
    result = execbox("run", "--", "python3", "-c", "print(6*7)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"42\n"


def test_run_passes_the_exit_code_through(execbox):
    assert execbox("run", "--", "sh", "-c", "exit 7").returncode == 7
    assert execbox("run", "--", "false").returncode == 1
    # Killed by SIGTERM: 128 + 15, as a shell reports it.
    assert execbox("run", "--", "sh", "-c", "kill -TERM $$").returncode == 143


def test_run_pipes_stdin(execbox):
    result = execbox("run", "--", "cat", input=b"hi\n", check=0)
    assert result.stdout == b"hi\n"
    data = os.urandom(3 * MiB)
    result = execbox("run", "--", "sha256sum", input=data, check=0)
    assert result.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_run_keeps_stdout_and_stderr_apart(execbox):
    result = execbox("run", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"


def test_run_reports_a_command_that_cannot_start(execbox):
    result = execbox("run", "--", "pyhton3")
    assert result.returncode == 127
    assert b"could not be started" in result.stderr
    assert result.stdout == b""


def test_run_with_options_env_upload_and_limits(execbox, tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import os\nprint(os.environ['MODE'], open('/workspace/data.txt').read().strip())\n")
    (tmp_path / "data.txt").write_text("payload\n")
    result = execbox("run", "--env", "MODE=fast", "--memory", "256", "--cpu", "500", "--timeout", "30",
                     "--network", "none", "--upload", f"{script}:/workspace/job.py",
                     "--upload", f"{tmp_path / 'data.txt'}:/workspace/", "--", "python3", "/workspace/job.py", check=0)
    assert result.stdout == b"fast payload\n"


def test_run_json_and_the_session_is_killed_afterwards(execbox):
    out = execbox.json("run", "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=3)
    assert out["exitCode"] == 3 and out["stdout"] == "out\n" and out["stderr"] == "err\n"
    assert out["id"].startswith("sess_")
    assert execbox.json("sessions", "get", out["id"])["status"] == "killed"


def test_run_forwards_sigint_and_kills_the_session(execbox):
    proc = subprocess.Popen([execbox.binary, "run", "--json", "--", "sh", "-c", "echo ready; exec sleep 100"],
                            env=execbox.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)
    proc.send_signal(2)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    session = json.loads(out)["id"]
    assert execbox.json("sessions", "get", session)["status"] == "killed"


# MARK: files


def test_cp_round_trips_100_mib_byte_exact(execbox, tmp_path):
    session = execbox.keep_session()
    source, back = tmp_path / "random.bin", tmp_path / "back.bin"
    data = os.urandom(100 * MiB)
    source.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    started = time.monotonic()
    up = execbox.json("cp", str(source), f"{session}:/workspace/random.bin")
    assert up == {"path": "/workspace/random.bin", "size": 100 * MiB, "sha256": digest}
    execbox("cp", f"{session}:/workspace/random.bin", str(back), check=0)
    elapsed = time.monotonic() - started
    assert hashlib.sha256(back.read_bytes()).hexdigest() == digest
    inside = execbox("exec", session, "--", "sha256sum", "/workspace/random.bin", check=0)
    assert inside.stdout.split()[0].decode() == digest
    assert elapsed < 60, elapsed
    # Into a directory, keeping the name; to stdout; the mode of an executable survives.
    execbox("cp", f"{session}:/workspace/random.bin", str(tmp_path), check=0)
    assert (tmp_path / "random.bin").read_bytes() == data
    tool = tmp_path / "tool.sh"
    tool.write_text("#!/bin/sh\necho tool ran\n")
    tool.chmod(0o755)
    execbox("cp", str(tool), f"{session}:/workspace/bin/", check=0)
    assert execbox("exec", session, "--", "/workspace/bin/tool.sh", check=0).stdout == b"tool ran\n"
    assert execbox("cp", f"{session}:/workspace/bin/tool.sh", "-", check=0).stdout == tool.read_bytes()
    execbox("sessions", "kill", session, check=0)


def test_cp_errors(execbox, tmp_path):
    session = execbox.keep_session()
    missing = execbox("cp", f"{session}:/nope", str(tmp_path / "x"))
    assert missing.returncode == 1 and b"error:" in missing.stderr
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x.*"))
    assert execbox("cp", "a", "b").returncode == 2
    assert execbox("cp", str(tmp_path), f"{session}:/workspace/").returncode == 1
    execbox("sessions", "kill", session, check=0)


# MARK: interactive


def spawn(execbox, *args, rows=24, cols=80):
    child = pexpect.spawn(execbox.binary, list(args), env=execbox.env, dimensions=(rows, cols),
                          encoding="utf-8", timeout=20)
    return child


def test_exec_it_resize_ctrl_c_and_exit_code(execbox):
    session = execbox.keep_session()
    child = spawn(execbox, "exec", session, "-it", "--", "sh")
    child.expect(r"[#$] ")
    child.sendline("stty size")
    child.expect(r"24 80\r\n")
    child.expect(r"[#$] ")
    child.setwinsize(40, 132)
    time.sleep(0.5)
    child.sendline("stty size")
    child.expect(r"40 132\r\n")
    child.expect(r"[#$] ")
    child.sendline("sleep 100")
    time.sleep(1)
    started = time.monotonic()
    child.sendcontrol("c")
    child.expect(r"[#$] ")
    assert time.monotonic() - started < 5
    child.sendline("echo status=$?")
    child.expect(r"status=130")
    child.sendline("exit 5")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    execbox("sessions", "kill", session, check=0)


def test_run_it_shell_and_terminal_restored(execbox):
    child = spawn(execbox, "run", "-it", "--", "sh")
    child.expect(r"[#$] ")
    child.sendline("tty")
    child.expect(r"/dev/pts/\d+")
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    # The caller's terminal is back in cooked mode: a shell in the same pty sees echo and icanon.
    shell = pexpect.spawn("sh", ["-c", f"{execbox.binary} run -it -- true; stty -a"], env=execbox.env,
                          encoding="utf-8", timeout=20)
    shell.expect(pexpect.EOF)
    assert " icanon" in shell.before and " echo" in shell.before


# MARK: sessions, processes, logs, url


def test_sessions_ls_get_watch_stop(execbox):
    session = execbox.keep_session()
    listed = execbox.json("sessions", "ls", "--status", "running")["sessions"]
    assert session in [s["id"] for s in listed]
    got = execbox.json("sessions", "get", session)
    assert got["status"] == "running" and got["image"] == "default" and "createdAt" in got
    assert session in execbox("sessions", "ls", check=0).stdout.decode()
    watcher = subprocess.Popen([execbox.binary, "sessions", "watch", session, "--json"], env=execbox.env,
                               stdout=subprocess.PIPE, text=True)
    snapshot = json.loads(watcher.stdout.readline())
    assert snapshot["type"] == "snapshot" and snapshot["session"]["status"] == "running"
    assert execbox.json("sessions", "stop", session, "--grace", "1") == {"id": session, "status": "stopped"}
    rest, _ = watcher.communicate(timeout=30)
    assert watcher.returncode == 0
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["session"]["status"] == "stopped"
    stopped_again = execbox("sessions", "stop", session)
    assert stopped_again.returncode == 1 and b"already" in stopped_again.stderr
    assert execbox.json("sessions", "kill", session)["status"] == "killed"


def test_exec_detached_then_ps_and_logs_from_an_offset(execbox):
    session = execbox.keep_session()
    process = execbox("exec", session, "-d", "--", "sh", "-c",
                      "printf 'one\\ntwo\\n'; printf 'bad\\n' >&2; sleep 1; printf 'three\\n'; exit 4",
                      check=0).stdout.decode().strip()
    listed = execbox.json("ps", session, "--all")["processes"]
    assert process in [p["process_id"] for p in listed]
    follow = execbox("logs", session, process, "--follow", check=0)
    assert follow.stdout == b"one\ntwo\nthree\n" and follow.stderr == b"bad\n"
    replay = execbox.json("logs", session, process, "--from-offset", "4")
    assert replay["stdout"] == "two\nthree\n" and replay["stderr"] == ""
    assert replay["exitCode"] == 4 and replay["stdout_offset"] == 14
    execbox("sessions", "kill", session, check=0)


def test_url_of_an_exposed_port(execbox):
    result = execbox("run", "--network", "exposed", "--port", "8000", "--keep", "--", "true", check=0)
    session = result.stderr.decode().split("kept session ")[1].split(";")[0]
    execbox("exec", session, "-d", "--", "python3", "-m", "http.server", "8000", check=0)
    url = execbox("url", session, "8000", check=0).stdout.decode().strip()
    body = None
    for _ in range(50):
        try:
            body = urllib.request.urlopen(url, timeout=5).read()
            break
        except OSError:
            time.sleep(0.2)
    assert body is not None and b"<html" in body.lower()
    assert execbox.json("url", session, "8000") == {
        "containerPort": 8000, "hostPort": int(url.rsplit(":", 1)[1]), "url": url, "protocol": "tcp"}
    execbox("sessions", "kill", session, check=0)


# MARK: keys and usage


def test_keys_lifecycle_as_json(execbox):
    created = execbox.json("keys", "create", "--name", "ci", "--daily-limit", "5")
    assert created["id"] and created["key"].startswith("ebx_s_")
    assert created["name"] == "ci" and created["is_active"] is True and created["custom_daily_limit"] == 5
    listed = execbox.json("keys", "ls")["keys"]
    assert created["id"] in [key["id"] for key in listed]
    assert all("key" not in key for key in listed)
    # The new key works on its own.
    assert execbox("usage", env={"EXECBOX_API_KEY": created["key"]}).returncode == 0
    updated = execbox.json("keys", "update", created["id"], "--name", "ci-2")
    assert updated["name"] == "ci-2"
    assert execbox.json("keys", "get", created["id"])["name"] == "ci-2"
    rotated = execbox.json("keys", "rotate", created["id"])
    assert rotated["id"] == created["id"] and rotated["key"] != created["key"]
    revoked = execbox.json("keys", "revoke", created["id"])
    assert revoked["is_active"] is False
    refused = execbox("usage", env={"EXECBOX_API_KEY": rotated["key"]})
    assert refused.returncode == 1 and b"refused the API key" in refused.stderr


def test_usage_json_has_numeric_counts(execbox):
    execbox("run", "--", "true", check=0)
    usage = execbox.json("usage")
    for field in ["sessions_today", "active_sessions", "quota_used", "quota_remaining", "daily_limit",
                  "concurrent_limit", "max_duration_seconds", "max_memory_mb"]:
        assert isinstance(usage[field], int) and not isinstance(usage[field], bool), field
    assert usage["sessions_today"] >= 1 and usage["tier"] == "enterprise"
    text = execbox("usage", check=0).stdout.decode()
    assert "sessions today" in text and "tier: enterprise" in text


# MARK: configuration and errors


def test_login_writes_a_private_config_and_env_wins(cli, server, home):
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    login = subprocess.run([cli, "login", "--url", f"http://{server.address}"], input=server.key.encode() + b"\n",
                           env=env, capture_output=True, timeout=60)
    assert login.returncode == 0, login.stderr
    config = home / ".config" / "execbox" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": f"http://{server.address}", "api_key": server.key}
    ok = subprocess.run([cli, "usage", "--json"], env=env, capture_output=True, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["tier"] == "enterprise"
    bad = subprocess.run([cli, "usage"], env={**env, "EXECBOX_API_KEY": "bad"}, capture_output=True, timeout=60)
    assert bad.returncode == 1 and b"EXECBOX_API_KEY" in bad.stderr
    refused = subprocess.run([cli, "login", "--url", f"http://{server.address}"], input=b"nope\n", env=env,
                             capture_output=True, timeout=60)
    assert refused.returncode == 1 and b"refused the API key" in refused.stderr
    assert json.loads(config.read_text())["api_key"] == server.key


def test_a_bad_key_is_a_clear_error(execbox):
    result = execbox("run", "--", "true", env={"EXECBOX_API_KEY": "sk_bad"})
    assert result.returncode == 1
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert lines[0] == "execbox: error: the server refused the API key in EXECBOX_API_KEY"
    assert lines[1].startswith("execbox: hint: ")


def test_errors_and_exit_codes(execbox):
    missing = execbox("sessions", "get", "sess_000000000000")
    assert missing.returncode == 1 and b"session not found" in missing.stderr
    assert execbox("run").returncode == 2
    assert execbox("run", "--network", "sideways", "--", "true").returncode == 2
    assert execbox("frobnicate").returncode == 2
    refused = execbox("usage", env={"EXECBOX_URL": "http://127.0.0.1:1"})
    assert refused.returncode == 1 and b"cannot connect to http://127.0.0.1:1: connection refused" in refused.stderr
    bad_url = execbox("usage", env={"EXECBOX_URL": "127.0.0.1:8080"})
    assert bad_url.returncode == 1 and b"http://" in bad_url.stderr
    too_big = execbox("run", "--memory", "99999", "--", "true")
    assert too_big.returncode == 1 and b"memory" in too_big.stderr
    no_key = execbox("usage", env={"EXECBOX_API_KEY": ""})
    assert no_key.returncode == 1 and b"no API key" in no_key.stderr


def test_tls_with_a_ca_file(cli, tmp_path, home):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = ServerProcess(extra=["--tls-cert", str(cert), "--tls-key", str(key)], backend="none")
    try:
        port = server.address.rsplit(":", 1)[1]
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "EXECBOX_API_KEY": server.key}
        url = f"https://localhost:{port}"
        ok = subprocess.run([cli, "usage", "--json", "--url", url, "--ca-file", str(cert)], env=env,
                            capture_output=True, timeout=60)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["tier"] == "enterprise"
        untrusted = subprocess.run([cli, "usage", "--url", url], env=env, capture_output=True, timeout=60)
        assert untrusted.returncode == 1 and b"TLS" in untrusted.stderr and b"--ca-file" in untrusted.stderr
        via_env = subprocess.run([cli, "keys", "ls"], env={**env, "EXECBOX_URL": url, "EXECBOX_CA_FILE": str(cert)},
                                 capture_output=True, timeout=60)
        assert via_env.returncode == 0 and b"bootstrap admin" in via_env.stdout
    finally:
        server.stop()


def test_help_and_completions(cli):
    for args in [["--help"], ["run", "--help"], ["exec", "--help"], ["cp", "--help"], ["keys", "--help"]]:
        result = subprocess.run([cli, *args], capture_output=True, timeout=30)
        assert result.returncode == 0 and b"Examples:" in result.stdout, args
    for shell, marker in [("bash", b"complete"), ("zsh", b"#compdef"), ("fish", b"complete -c 'execbox'")]:
        result = subprocess.run([cli, "completions", shell], capture_output=True, timeout=30)
        assert result.returncode == 0 and marker in result.stdout, shell
    assert subprocess.run([cli, "completions", "tcsh"], capture_output=True, timeout=30).returncode == 2


# MARK: images


def busybox_layout(directory):
    """An OCI image layout of one gzip layer: Debian's static busybox as /bin/sh and friends."""
    import gzip
    import hashlib
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in ["bin", "etc", "opt"]:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        with open("/bin/busybox", "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for command in ["sh", "cat", "echo", "ls"]:
            info = tarfile.TarInfo(f"bin/{command}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
    layer = raw.getvalue()
    blob = gzip.compress(layer, mtime=0)
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    config = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                             "rootfs": {"type": "layers",
                                        "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]}}).encode())
    manifest = put(json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                                               **config},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                           **put(blob)}]}).encode())
    (directory / "index.json").write_text(json.dumps(
        {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest}]}))
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return directory


def test_images_build_cache_ls_get_and_run(execbox, server, tmp_path):
    imported = subprocess.run([binary("EXECBOX_SERVER", "execbox-server"), "images", "import",
                               str(busybox_layout(tmp_path / "layout")), "--name", "busybox:cli",
                               "--data-dir", server.data_dir], capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert "name: busybox:cli" in imported.stdout and "unpacking" in imported.stderr
    local = tmp_path / "greeting.txt"
    local.write_bytes(b"from the cli\n")
    build = ["images", "build", "busybox:cli", "--setup", "echo built-line; echo to-stderr >&2",
             "--setup", "cat /opt/greeting.txt > /opt/copy", "--file", f"{local}:/opt/greeting.txt"]
    first = execbox(*build, check=0)
    assert b"[1] built-line" in first.stdout and b"[1] to-stderr" in first.stderr, first
    assert b"building" in first.stderr and b"status: ready" in first.stdout
    image_id = [line.split(": ")[1] for line in first.stdout.decode().splitlines() if line.startswith("id: ")][0]
    second = execbox(*build, check=0)
    assert b"cached, nothing to build" in second.stderr and b"[1]" not in second.stdout, second
    listed = execbox.json("images", "ls")["images"]
    assert [image["id"] for image in listed] == [image_id] and listed[0]["status"] == "ready"
    got = execbox.json("images", "get", listed[0]["setup_hash"])
    assert got["id"] == image_id and got["files"] == [{"path": "/opt/greeting.txt", "size_bytes": 13}]
    ran = execbox("run", "--image", image_id, "--", "cat", "/opt/copy", check=0)
    assert ran.stdout == b"from the cli\n"
    failed = execbox("images", "build", "busybox:cli", "--setup", "true", "--setup", "exit 3")
    assert failed.returncode == 1 and b"setup command 2" in failed.stderr, failed
    unknown = execbox("images", "build", "no-such-base", "--setup", "true")
    assert unknown.returncode != 0 and b"unknown base image" in unknown.stderr, unknown
