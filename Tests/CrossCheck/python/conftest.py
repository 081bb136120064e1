"""Shared set-up for the cross-checks of Execbox's protobuf runtime against real implementations.

- Python modules for every file in proto/ are generated into a temporary directory when the
  tests are collected (the type lists parametrize the tests).
- One `execbox-wire-check` process serves the whole session: $EXECBOX_WIRE_CHECK, or the one in
  `swift build --show-bin-path` (build it with `swift build --product execbox-wire-check`).
- Randomness is seeded: $CROSSCHECK_SEED (an integer, or `random`; default 1), and every test
  and iteration derives its own generator from it, so one failing case reruns alone with `-k`.
- $CROSSCHECK_ITERATIONS random messages per type and check (default 20; scripts/soak uses 500).
"""

import atexit
import collections
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import lineproc  # noqa: E402
import protos  # noqa: E402

DEFAULT_SEED = 1


class _State:
    def __init__(self):
        raw = os.environ.get("CROSSCHECK_SEED", "").strip()
        if raw == "random":
            self.seed = random.SystemRandom().randrange(1 << 32)
        else:
            self.seed = int(raw) if raw else DEFAULT_SEED
        self.iterations = int(os.environ.get("CROSSCHECK_ITERATIONS", "20"))
        self.workdir = tempfile.mkdtemp(prefix="execbox-crosscheck-")
        atexit.register(shutil.rmtree, self.workdir, True)
        self.modules = protos.ProtoModules(pathlib.Path(self.workdir) / "py")
        self.counts = collections.Counter()


_state = None


def state():
    global _state
    if _state is None:
        _state = _State()
    return _state


def pytest_report_header(config):
    s = state()
    return f"crosscheck: CROSSCHECK_SEED={s.seed} CROSSCHECK_ITERATIONS={s.iterations}"


def pytest_generate_tests(metafunc):
    s = state()
    if "type_name" in metafunc.fixturenames:
        metafunc.parametrize("type_name", s.modules.all_types)
    if "large_type_name" in metafunc.fixturenames:
        metafunc.parametrize("large_type_name", s.modules.large_payload_types())
    if "c_type_name" in metafunc.fixturenames:
        metafunc.parametrize("c_type_name", s.modules.protoc_c_types())


def pytest_terminal_summary(terminalreporter):
    s = _state
    if s is None:
        return
    parts = ", ".join(f"{k}: {v}" for k, v in sorted(s.counts.items()))
    terminalreporter.write_line(
        f"crosscheck: seed {s.seed} (rerun with CROSSCHECK_SEED={s.seed}), "
        f"{s.iterations} iterations; {parts}"
    )


class Case:
    """One generated input: its random source, and what to print when it fails."""

    def __init__(self, node, iteration, seed):
        self.test_name = node.name
        self.node_id = node.nodeid
        self.iteration = iteration
        self.seed = seed
        self.rng = random.Random(f"{seed}/{node.name}/{iteration}")

    def where(self):
        return (
            f"[{self.test_name}, iteration {self.iteration}; rerun with CROSSCHECK_SEED={self.seed} "
            f"python3 -m pytest \"Tests/CrossCheck/python/{self.node_id}\"]"
        )

    def fail(self, what, **details):
        lines = [f"{what} {self.where()}"]
        for key, value in details.items():
            if isinstance(value, (bytes, bytearray)):
                shown = value[:3000].hex() + ("…" if len(value) > 3000 else "")
                value = f"{shown} ({len(value)} bytes)"
            else:
                value = str(value)
                if len(value) > 6000:
                    value = value[:6000] + "…"
            lines.append(f"  {key}: {value}")
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture(scope="session")
def modules():
    return state().modules


@pytest.fixture(scope="session")
def iterations():
    return state().iterations


@pytest.fixture(scope="session")
def counts():
    return state().counts


@pytest.fixture
def cases(request):
    """cases(n=None) yields n (default $CROSSCHECK_ITERATIONS) Case objects for this test."""
    s = state()

    def make(n=None):
        for i in range(s.iterations if n is None else n):
            yield Case(request.node, i, s.seed)

    return make


@pytest.fixture
def case(request):
    """A single Case for deterministic tests that still want reproducible randomness."""
    return Case(request.node, 0, state().seed)


def swift_binary():
    path = os.environ.get("EXECBOX_WIRE_CHECK")
    if not path:
        repo = protos.REPO
        result = subprocess.run(
            ["swift", "build", "--show-bin-path"], cwd=repo, capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.exit(f"`swift build --show-bin-path` failed: {result.stderr}", returncode=2)
        path = os.path.join(result.stdout.strip(), "execbox-wire-check")
    if not os.access(path, os.X_OK):
        pytest.exit(
            f"{path} is missing: build it with `swift build --product execbox-wire-check`, "
            "or point EXECBOX_WIRE_CHECK at it",
            returncode=2,
        )
    return path


@pytest.fixture(scope="session")
def swift():
    proc = lineproc.LineProcess([swift_binary()], "execbox-wire-check")
    yield proc
    state().counts["Swift requests"] = proc.requests
    proc.close()
