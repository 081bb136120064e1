"""Runs the README: every ```sh and ```python block of README.md, against a real execbox-server.

Each fenced block is run unless the line before it marks it otherwise; a block that is neither run
nor skipped with a reason fails the suite, so nothing in the README goes untested by accident:

  <!-- readme-test: skip (REASON) -->   not run; the reason is required (e.g. the quick start itself,
                                        which scripts/test runs in its own step; long builds)
  <!-- readme-test: server (…) -->      started first, in the background, and stopped last: the server
                                        every other block talks to
  <!-- readme-test: env (…) -->         run; the environment it leaves (its `export`s) is the one every
                                        later block runs in
  <!-- readme-test: tty (…) -->         run through a pseudo-terminal (pexpect): it must give an
                                        interactive shell; the test types a command and `exit 3`
  (no marker)                           run: ```sh with `bash -e -o pipefail`, ```python with python3;
                                        it must exit 0, and CHECKS below say what its output must show

Every block runs in one temporary working directory laid out like a checkout after ./scripts/run:
`.build/release` is a link to the binaries scripts/test built (`$EXECBOX_SERVER`'s folder, else
`swift build --show-bin-path`: the debug build, so no release build is needed), `proto` a link to
the repository's, and `execbox-data/` the server's state. The server is the README's own command
with the environment the configuration table documents: EXECBOX_LISTEN=127.0.0.1:0 (a free port;
`127.0.0.1:8080` in a block is replaced by the address it printed), EXECBOX_BACKEND=runc and a
sandbox namespace of its own (`rdm` + 5 letters), so concurrent runs never reap each other's
sandboxes. Teardown kills every session left, stops the server, force-deletes any runc container
left in the namespace and removes its host state (nftables table, cgroup parents, /run/NAME).

Also checked: the configuration tables against `execbox-server serve --help`, `execbox usage --help`
and the EXECBOX_… variables the sources read; and that the tour leaves no session running.

Needs root, runc and nft (skipped without them, a failure under CI=true).
"""
import ast
import glob
import json
import os
import pathlib
import queue
import random
import re
import shutil
import signal
import string
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEFAULT_ADDRESS = "127.0.0.1:8080"
TERMINAL = {"stopped", "failed", "killed"}
BLOCK_TIMEOUT = 120

MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<kind>[\w-]+)\s*(?:\((?P<detail>.*)\))?\s*-->$")
KINDS = {"skip", "server", "env", "tty"}
RUNNABLE = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python"}


# MARK: the README's blocks

class Block:
    def __init__(self, line, language, text, kind, detail):
        self.line, self.language, self.text, self.kind, self.detail = line, language, text, kind, detail

    @property
    def runner(self):
        return RUNNABLE.get(self.language)

    def __repr__(self):
        return f"README.md:{self.line} ```{self.language}"


def parse_readme(text):
    """The fenced blocks, each with the marker on the last non-blank line before its fence (if any),
    plus the problems found while parsing (malformed or orphaned markers)."""
    blocks, problems = [], []
    lines = text.split("\n")
    index = 0
    previous = None  # the last non-blank line outside a block
    while index < len(lines):
        line = lines[index]
        fence = re.match(r"^(```+|~~~+)\s*([\w+-]*)", line)
        if not fence:
            if line.strip():
                if "readme-test" in line and not MARKER.match(line.strip()):
                    problems.append(f"README.md:{index + 1}: malformed readme-test marker: {line.strip()}")
                previous = line.strip()
            index += 1
            continue
        start, language = index + 1, fence.group(2).lower()
        body = []
        index += 1
        while index < len(lines) and not lines[index].startswith(fence.group(1)):
            body.append(lines[index])
            index += 1
        if index == len(lines):
            problems.append(f"README.md:{start}: unclosed code block")
        index += 1
        marker = MARKER.match(previous) if previous else None
        kind = marker.group("kind") if marker else None
        detail = (marker.group("detail") or "").strip() if marker else ""
        blocks.append(Block(start, language, "\n".join(body) + "\n", kind, detail))
        previous = None
    # A marker must sit right before a block.
    for number, line in enumerate(lines, 1):
        if MARKER.match(line.strip()):
            following = next((l for l in lines[number:] if l.strip()), "")
            if not following.startswith(("```", "~~~")):
                problems.append(f"README.md:{number}: readme-test marker not followed by a code block")
    return blocks, problems


BLOCKS, PARSE_PROBLEMS = parse_readme(README.read_text())
RUN_BLOCKS = [b for b in BLOCKS if b.kind in (None, "env", "tty") and b.runner]


# MARK: what each block promises

def lines_of(text):
    return text.splitlines()


def check_env(result, tour):
    env = tour.env
    assert env.get("EXECBOX_URL") == tour.url, env.get("EXECBOX_URL")
    assert env.get("EXECBOX_API_KEY") == tour.key
    execbox = shutil.which("execbox", path=env["PATH"])
    assert execbox == str(tour.workdir / ".build" / "release" / "execbox"), execbox


def check_cli_run(result, tour):
    # stdout carries only the commands' output; the CLI's own words and the command's stderr go to stderr.
    assert lines_of(result.stdout) == ["42", "HELLO", "exit status 3"], result.stdout
    assert "oops" in lines_of(result.stderr), result.stderr


def check_cli_session(result, tour):
    out = result.stdout
    assert re.search(r"^sess_\w+ +running +default ", out, re.M), out
    assert "100000 /workspace/numbers.txt" in lines_of(out)
    assert "same" in lines_of(out)
    killed = re.findall(r"^(sess_\w+) killed$", out, re.M)
    assert len(killed) == 1, out
    assert re.search(r"^tier: +enterprise$", out, re.M) and re.search(r"^sessions today ", out, re.M), out
    assert (tour.workdir / "copy.txt").read_bytes() == (tour.workdir / "numbers.txt").read_bytes()
    assert tour.session_status(killed[0]) == "killed"


def check_cli_keys(result, tour):
    out = result.stdout
    assert re.search(r"^\S+ +bootstrap admin +ebx_p_\S+ +primary +yes ", out, re.M), out
    assert re.search(r"^\S+ +ci +ebx_s_\S+ +secondary +yes ", out, re.M), out
    assert re.search(r"^name: +ci$", out, re.M) and re.search(r"^active: +no \(revoked\)$", out, re.M), out


def check_grpc_stubs(result, tour):
    generated = tour.workdir / "execbox" / "v1"
    for name in ("session_pb2.py", "session_pb2_grpc.py", "process_pb2.py", "process_pb2_grpc.py", "common_pb2.py"):
        assert (generated / name).is_file(), name


def check_grpc_snippet(result, tour):
    out = lines_of(result.stdout)
    assert out[:2] == ["hi", "exit code 0"], result.stdout
    assert re.fullmatch(r"sess_\w+ SESSION_STATUS_KILLED", out[2]) and len(out) == 3, result.stdout
    assert tour.session_status(out[2].split()[0]) == "killed"


def check_curl(result, tour):
    out = result.stdout
    assert re.search(r'^\{"id":"[^"]+","key":"ebx_p_\w+","tier":"free"', out), out  # the waitlist sign-up
    assert '{"tier":"enterprise",' in out
    assert '{"path":"/workspace/hello.py","size":15}' in out
    assert 'print("hello")\n' in out  # the downloaded file, byte for byte
    assert out.endswith('{"status":"killed"}'), out


def check_websocket(result, tour):
    assert lines_of(result.stdout) == ["hi!", "exit code 0", "{'status': 'killed'}"], result.stdout


def check_health_curl(result, tour):
    assert result.stdout == '{"status":"ok"}', result.stdout


def check_health_reflection(result, tour):
    out = result.stdout
    assert "status: SERVING" in lines_of(out), out
    services = ast.literal_eval(lines_of(out)[-1])  # the printed list of names
    for name in ("execbox.v1.AccountService", "execbox.v1.SessionService", "execbox.v1.ProcessService",
                 "execbox.v1.FileService", "grpc.health.v1.Health"):
        assert name in services, services


def check_admin(result, tour):
    out = result.stdout
    assert re.search(r"^tier: pro$", out, re.M), out
    assert re.search(r"^secret: ebx_p_\w+$", out, re.M), out


# (a line that identifies the block, its check). Every block that runs needs one, and each line must
# be in exactly one block, so a changed README fails here instead of going unchecked.
CHECKS = [
    ("export EXECBOX_URL=", check_env),
    ("execbox run -- python3 -c 'print(6*7)'", check_cli_run),
    ("execbox cp numbers.txt $SESSION:/workspace/numbers.txt", check_cli_session),
    ("execbox keys revoke $KEY_ID", check_cli_keys),
    ("python3 -m grpc_tools.protoc", check_grpc_stubs),
    ("process_pb2_grpc.ProcessServiceStub(channel).Exec(", check_grpc_snippet),
    ("-X DELETE $EXECBOX_URL/v1/sessions/$SESSION", check_curl),
    ("websockets.connect(", check_websocket),
    ("curl -s http://127.0.0.1:8080/health", check_health_curl),
    ("ProtoReflectionDescriptorDatabase(channel).get_services()", check_health_reflection),
    ("execbox-server admin create-account", check_admin),
]


def check_for(block):
    found = [check for snippet, check in CHECKS if snippet in block.text]
    return found[0] if len(found) == 1 else None


# MARK: the server and the working directory

def binaries():
    if os.environ.get("EXECBOX_SERVER"):
        folder = os.path.dirname(os.environ["EXECBOX_SERVER"])
    else:
        folder = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    for name in ("execbox-server", "execbox", "ExecboxSandboxMonitor", "ExecboxSandboxAgent"):
        assert os.access(os.path.join(folder, name), os.X_OK), f"{name} is not built in {folder}"
    return folder


def require_sandboxes():
    if os.geteuid() == 0 and shutil.which("runc") and shutil.which("nft"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("the README test needs root, runc and nft (CI=true requires them)")
    pytest.skip("the README test needs root, runc and nft (the tour runs sandboxes)")


def remove_host_state(namespace):
    """Whatever the runc backend of `namespace` left on the host: containers (force-deleted), their
    monitors, the nftables table, the cgroup parents and /run/NAME."""
    state = f"/run/{namespace}/runc"
    left = []
    if os.path.isdir(state):
        listed = subprocess.run(["runc", "--root", state, "list", "-q"], capture_output=True, text=True, timeout=30)
        left = listed.stdout.split()
        for container in left:
            subprocess.run(["runc", "--root", state, "delete", "--force", container], capture_output=True, timeout=30)
    marker = f"/run/{namespace}/".encode()
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                command = f.read()
            if b"ExecboxSandboxMonitor" in command and marker in command:
                os.kill(int(cmdline.split("/")[2]), signal.SIGKILL)
        except (OSError, ValueError):
            continue
    if left:
        time.sleep(1)
    subprocess.run(["nft", "delete", "table", "inet", namespace.replace("-", "_")], capture_output=True, timeout=30)
    for hierarchy in glob.glob("/sys/fs/cgroup/*/"):
        try:
            os.rmdir(os.path.join(hierarchy, namespace))
        except OSError:
            pass
    with open("/proc/self/mountinfo") as f:
        mounted = any(f"/run/{namespace}/" in line for line in f)
    if not mounted:
        shutil.rmtree(f"/run/{namespace}", ignore_errors=True)
    return left


class Tour:
    """The README's server, started by its `server` block in a checkout-like temporary directory,
    and the environment the blocks run in."""

    def __init__(self):
        self.namespace = "rdm" + "".join(random.choices(string.ascii_lowercase, k=5))
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="execbox-readme-"))
        self.scripts = pathlib.Path(tempfile.mkdtemp(prefix="execbox-readme-blocks-"))
        (self.workdir / ".build").mkdir()
        (self.workdir / ".build" / "release").symlink_to(binaries())
        (self.workdir / "proto").symlink_to(ROOT / "proto")
        # The machine's environment without any EXECBOX_… variable (scripts/test exports several),
        # plus what the configuration table documents for this server.
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("EXECBOX_")}
        self.base_env.update({
            "EXECBOX_LISTEN": "127.0.0.1:0", "EXECBOX_BACKEND": "runc", "EXECBOX_SANDBOX_NAMESPACE": self.namespace,
            "XDG_CONFIG_HOME": str(self.workdir / ".config"),  # no `execbox login` file of the machine's
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        self.env = dict(self.base_env)
        self.proc = None
        self.output = []

    def start(self, block):
        self.log = open(self.scripts / "server.log", "w")
        self.proc = subprocess.Popen(["bash", "-c", block.text], cwd=self.workdir, env=self.base_env,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, start_new_session=True)
        lines = queue.Queue()

        def drain():
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the server printed no 'listening on' in 60 s: {self.server_log()}")
            assert line is not None, f"the server exited ({self.proc.wait()}): {self.server_log()}"
            self.output.append(line)
            if line.startswith("listening on "):
                break
        self.address = line.split()[-1]
        self.url = f"http://{self.address}"
        self.key = (self.workdir / "execbox-data" / "bootstrap-admin.key").read_text().strip()

    def server_log(self):
        self.log.flush()
        return (self.scripts / "server.log").read_text()[-4000:]

    def prepare(self, block):
        """The block's text as it runs here: the documented address replaced by the server's."""
        return block.text.replace(DEFAULT_ADDRESS, self.address)

    def run(self, block):
        text = self.prepare(block)
        script = self.scripts / f"block-{block.line}.{'py' if block.runner == 'python' else 'sh'}"
        env_file = self.scripts / f"block-{block.line}.env"
        stdin = None
        if block.runner == "python":
            # As if pasted into `python3 -` here: the working directory (the generated stubs) is on sys.path.
            script.write_text(text)
            command, stdin = ["python3", "-"], text
        else:
            if block.kind == "env":
                text += f"env -0 > {env_file}\n"
            script.write_text(text)
            command = ["bash", "-e", "-o", "pipefail", str(script)]
        result = subprocess.run(command, cwd=self.workdir, env=self.env, input=stdin, capture_output=True,
                                text=True, timeout=BLOCK_TIMEOUT)
        assert result.returncode == 0, (f"{block} exited with {result.returncode}\n--- stdout\n{result.stdout}"
                                        f"\n--- stderr\n{result.stderr}")
        if block.kind == "env":
            pairs = env_file.read_text().split("\0")
            self.env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        return result

    def rest(self, method, path):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"Bearer {self.key}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def sessions(self):
        sessions, cursor = [], None
        while True:
            page = self.rest("GET", "/v1/sessions?limit=100" + (f"&cursor={cursor}" if cursor else ""))
            sessions += page.get("sessions") or []
            cursor = page.get("next_cursor")
            if not cursor:
                return sessions

    def session_status(self, session_id):
        return self.rest("GET", f"/v1/sessions/{session_id}")["status"]

    def stop(self):
        """Kills every session left, stops the server (SIGTERM) and cleans the host; returns the
        server's exit code."""
        code = None
        try:
            if self.proc and self.proc.poll() is None:
                try:
                    for session in self.sessions():
                        if session.get("status") not in TERMINAL:
                            self.rest("DELETE", f"/v1/sessions/{session['id']}")
                except OSError:
                    pass
        finally:
            if self.proc:
                if self.proc.poll() is None:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    code = self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    code = self.proc.wait()
                self.log.close()
            left = remove_host_state(self.namespace)
            if left:
                print(f"README teardown: force-deleted runc containers {left} of {self.namespace}")
            shutil.rmtree(self.workdir, ignore_errors=True)
            if code == 0:
                shutil.rmtree(self.scripts, ignore_errors=True)
        return code


@pytest.fixture(scope="module")
def tour():
    require_sandboxes()
    servers = [b for b in BLOCKS if b.kind == "server"]
    assert len(servers) == 1, f"the README needs exactly one `readme-test: server` block, has {servers}"
    started = Tour()
    try:
        started.start(servers[0])
    except BaseException:
        started.stop()
        raise
    yield started
    code = started.stop()
    assert code == 0, f"execbox-server exited with {code}; blocks and log in {started.scripts}"


# MARK: tests

def test_every_block_is_run_or_skipped_with_a_reason():
    problems = list(PARSE_PROBLEMS)
    for block in BLOCKS:
        if block.kind is not None and block.kind not in KINDS:
            problems.append(f"{block}: unknown readme-test marker '{block.kind}' (known: {sorted(KINDS)})")
        elif block.kind == "skip":
            if not block.detail:
                problems.append(f"{block}: `readme-test: skip` needs a reason in parentheses")
        elif not block.runner:
            problems.append(f"{block}: a ```{block.language or '(no language)'} block cannot run; "
                            "mark it `<!-- readme-test: skip (reason) -->`")
        elif block.kind in (None, "env") and check_for(block) is None:
            problems.append(f"{block}: no check in Tests/README/test_readme.py CHECKS says what its output must be")
    for kind in ("server", "env"):
        count = sum(1 for b in BLOCKS if b.kind == kind)
        if count != 1:
            problems.append(f"the README needs exactly one `readme-test: {kind}` block, has {count}")
    if not any(b.kind == "tty" for b in BLOCKS):
        problems.append("no `readme-test: tty` block: the tour's `run -it` is gone")
    assert not problems, "\n".join(problems)


def test_every_check_finds_its_block():
    for snippet, check in CHECKS:
        found = [b for b in RUN_BLOCKS if snippet in b.text]
        assert len(found) == 1, f"{check.__name__}: {snippet!r} is in {len(found)} run blocks, expected 1"


def test_the_server_block_starts_the_server(tour):
    printed = "".join(tour.output)
    assert tour.key in printed, "the first start prints the admin key once"
    assert f"listening on {tour.address}" in printed
    assert oct(os.stat(tour.workdir / "execbox-data" / "bootstrap-admin.key").st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=lambda b: f"line{b.line}-{b.language}")
def test_block(block, tour):
    if block.kind == "tty":
        run_tty(block, tour)
        return
    result = tour.run(block)
    check = check_for(block)
    assert check is not None, f"{block}: no check"
    check(result, tour)


def run_tty(block, tour):
    import pexpect

    text = tour.prepare(block)
    child = pexpect.spawn("bash", ["-e", "-c", text], cwd=str(tour.workdir), env=tour.env, encoding="utf-8",
                          timeout=60, dimensions=(24, 80))
    try:
        child.expect(r"[#$] ")
        child.sendline("echo $((6*7)); tty")
        child.expect(r"\r\n42\r\n")
        child.expect(r"/dev/pts/\d+")
        child.sendline("exit 3")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 3, (child.exitstatus, child.signalstatus, child.before)


def help_options(text):
    """{flag: joined help text} of an ArgumentParser --help's OPTIONS section."""
    options, current = {}, None
    section = text.split("OPTIONS:", 1)[1]
    for line in section.splitlines():
        match = re.match(r"^  (?:-\w, )?(--[\w-]+)", line)
        if match:
            current = match.group(1)
            options[current] = line
        elif current and line.startswith("   "):
            options[current] += " " + line.strip()
    return {flag: " ".join(words.split()) for flag, words in options.items()}


def markdown_table(heading_text, index):
    """The rows (cells without backticks) of the index-th table of the section `heading_text`."""
    section = README.read_text().split(f"\n## {heading_text}\n", 1)[1].split("\n## ", 1)[0]
    tables, rows = [], []
    for line in section.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip().replace("`", "").replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if not all(re.fullmatch(r"-+", c) for c in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows[1:])  # without the header
            rows = []
    return tables[index]


def source_variables(folder):
    found = set()
    for path in (ROOT / "Sources" / folder).glob("*.swift"):
        found |= set(re.findall(r'"(EXECBOX_[A-Z_]+)"', path.read_text()))
    return found


def test_configuration_tables_match_the_binaries():
    folder = binaries()
    serve = subprocess.run([os.path.join(folder, "execbox-server"), "serve", "--help"], capture_output=True,
                           text=True, timeout=60, env={**os.environ, "COLUMNS": "100"}).stdout
    options = {flag: text for flag, text in help_options(serve).items() if flag != "--help"}
    rows = markdown_table("Configuration", 0)
    by_flag = {flag: row for row in rows for flag in re.findall(r"--[\w-]+", row[0])}
    assert set(by_flag) == set(options), (set(by_flag) ^ set(options))
    for flag, text in options.items():
        row = by_flag[flag]
        variable = re.search(r"\[(EXECBOX_\w+)\]", text).group(1)
        assert variable in row[1], (flag, variable, row)
        default = re.search(r"\(default: ([^)]*)\)", text)
        if not default:
            continue
        if default.group(1) == "those":  # --prices: the example in its help is the default
            expected = re.search(r"e\.g\. (\{.*?\})", text).group(1)
            assert json.loads(expected) == json.loads(re.search(r"\{.*\}", row[2]).group(0)), (flag, row)
        else:
            assert default.group(1) in row[2], (flag, default.group(1), row)
    documented = {v for row in rows for v in re.findall(r"EXECBOX_\w+", row[1])}
    assert documented == source_variables("execbox-server"), documented ^ source_variables("execbox-server")

    usage = subprocess.run([os.path.join(folder, "execbox"), "usage", "--help"], capture_output=True, text=True,
                           timeout=60).stdout
    client = {flag: text for flag, text in help_options(usage).items() if flag not in ("--help", "--json", "--version")}
    rows = markdown_table("Configuration", 1)
    assert {f for row in rows for f in re.findall(r"--[\w-]+", row[0])} == set(client), client
    assert {v for row in rows for v in re.findall(r"EXECBOX_\w+", row[1])} == source_variables("execbox")
    url_row = next(row for row in rows if "--url" in row[0])
    assert "http://127.0.0.1:8080" in client["--url"] and url_row[2] == "http://127.0.0.1:8080", url_row


def test_the_tour_leaves_no_session_running(tour):
    """Last: `run` kills its session, the kept one is killed, the gRPC, REST and WebSocket examples
    kill theirs."""
    sessions = tour.sessions()
    assert len(sessions) >= 8, [s["id"] for s in sessions]
    assert [s for s in sessions if s["status"] not in TERMINAL] == []
