"""Python modules for every file in proto/, generated at test time with grpc_tools.protoc.

proto/grpc/… would become a Python package `grpc`, shadowing the installed grpcio, so those
files are copied under another top folder (`xc_grpc/`). Only the file path changes: the proto
package inside stays `grpc.health.v1`, so full type names are the ones Swift knows.
"""

import importlib
import pathlib
import shutil
import subprocess
import sys

from google.protobuf import descriptor_pool, message_factory

REPO = pathlib.Path(__file__).resolve().parents[3]
PROTO_ROOT = REPO / "proto"
SYSTEM_INCLUDE = pathlib.Path("/usr/include")
RENAMED_TOP_FOLDERS = {"grpc": "xc_grpc"}

# The well-known types Swift's registry carries; Python brings its own modules for them.
WELL_KNOWN = ["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.Empty"]

# Files protoc-c 1.4.1 refuses: they use proto3 `optional`.
PROTOC_C_REJECTS = {"execbox/v1/account.proto", "fixtures/v1/presence.proto"}


# gRPC's interop protos are test-only (the ExecboxInterop module, which execbox-wire-check does
# not link); the interop suite in Tests/GRPCInterop exercises them against grpcio instead.
NOT_CROSS_CHECKED = ("grpc/testing/",)


def proto_files():
    """Every .proto under proto/ that the cross-checks cover, as import paths
    (`execbox/v1/common.proto`)."""
    return sorted(
        rel
        for rel in (str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
        if not rel.startswith(NOT_CROSS_CHECKED)
    )


class ProtoModules:
    """The generated modules, their message descriptors and classes."""

    def __init__(self, workdir):
        workdir = pathlib.Path(workdir)
        src = workdir / "proto-src"
        out = workdir / "python-out"
        out.mkdir(parents=True)
        self.path_of = {}  # original import path → path compiled for Python
        for rel in proto_files():
            top, _, rest = rel.partition("/")
            moved = f"{RENAMED_TOP_FOLDERS.get(top, top)}/{rest}"
            (src / moved).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PROTO_ROOT / rel, src / moved)
            self.path_of[rel] = moved
        cmd = [
            sys.executable, "-m", "grpc_tools.protoc", f"-I{src}", f"-I{SYSTEM_INCLUDE}",
            f"--python_out={out}", *self.path_of.values(),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        # Regular packages (with __init__.py) so nothing installed under the same names wins.
        for d in [p for p in out.rglob("*") if p.is_dir()]:
            (d / "__init__.py").touch()
        sys.path.insert(0, str(out))
        self.modules = {}
        for rel, moved in self.path_of.items():
            name = moved[: -len(".proto")].replace("/", ".") + "_pb2"
            self.modules[rel] = importlib.import_module(name)

        self.pool = descriptor_pool.Default()
        self.types_of_file = {}  # original import path → full names of its messages
        for rel, module in self.modules.items():
            names = []
            for desc in module.DESCRIPTOR.message_types_by_name.values():
                names.extend(_with_nested(desc))
            self.types_of_file[rel] = names
        for name in WELL_KNOWN:
            importlib.import_module(
                {"Timestamp": "google.protobuf.timestamp_pb2", "Duration": "google.protobuf.duration_pb2",
                 "Empty": "google.protobuf.empty_pb2"}[name.rsplit(".", 1)[1]]
            )
        self.all_types = sorted({n for ns in self.types_of_file.values() for n in ns} | set(WELL_KNOWN))

    def descriptor(self, full_name):
        return self.pool.FindMessageTypeByName(full_name)

    def cls(self, full_name):
        return message_factory.GetMessageClass(self.descriptor(full_name))

    def large_payload_types(self):
        """Every type with a bytes field of its own, and the fixtures with a string field."""
        out = []
        for name in self.all_types:
            fields = [f for f in self.descriptor(name).fields
                      if not (f.message_type and f.message_type.GetOptions().map_entry)]
            if any(f.type == f.TYPE_BYTES for f in fields):
                out.append(name)
            elif name.startswith("execbox.fixtures.") and any(f.type == f.TYPE_STRING for f in fields):
                out.append(name)
        return out

    def protoc_c_files(self):
        return [rel for rel in self.modules if rel not in PROTOC_C_REJECTS]

    def protoc_c_types(self):
        names = {n for rel in self.protoc_c_files() for n in self.types_of_file[rel]}
        return sorted(names | set(WELL_KNOWN))


def _with_nested(desc):
    """A message and its nested messages, depth first, without map entry types."""
    if desc.GetOptions().map_entry:
        return []
    out = [desc.full_name]
    for nested in desc.nested_types:
        out.extend(_with_nested(nested))
    return out
