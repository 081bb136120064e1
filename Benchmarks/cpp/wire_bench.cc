// wire_bench: the C++ libprotobuf peer of Benchmarks/Sources/wire-bench, same CLI and output:
//
//   wire_bench --impl cpp --shape SHAPE --op encode|decode [--seconds N]
//   wire_bench --impl cpp --shape SHAPE --dump FILE | --verify FILE
//   wire_bench --impl cpp --shape SHAPE --op OP --iterations N   (untimed, for profilers)
//
// Builds the same values as Benchmarks/Sources/WireShapes/ShapeRules.swift, rule for rule. Built by
// scripts/bench-wire against `protoc --cpp_out` code generated into a temporary folder:
//   g++ -O2 -std=c++17 -I GEN wire_bench.cc GEN/.../*.pb.cc -lprotobuf -lpthread
// Encoding goes into a fresh std::string and decoding into a fresh message per operation, as the
// Swift side does (fresh [UInt8], fresh struct); no arenas.
#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "execbox/v1/process.pb.h"
#include "execbox/v1/session.pb.h"
#include "fixtures/v1/features.pb.h"

namespace {

namespace v1 = execbox::v1;
using KV = std::vector<std::pair<std::string, std::string>>;

// ---- ShapeRules (see ShapeRules.swift) ----

uint64_t mix(int64_t i, uint64_t salt) {
    uint64_t z = uint64_t(i) * 0x100000001B3ull + salt + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::string hex(uint64_t value, int digits) {
    static const char alphabet[] = "0123456789abcdef";
    std::string out(digits, '0');
    for (int k = digits - 1; k >= 0; --k) {
        out[k] = alphabet[value & 15];
        value >>= 4;
    }
    return out;
}

std::string pad(int64_t value, size_t width) {
    std::string s = std::to_string(value);
    return s.size() >= width ? s : std::string(width - s.size(), '0') + s;
}

v1::OutputChunk execOutput() {
    v1::OutputChunk m;
    const int count = 32 * 1024;
    std::string data(count, '\0');
    for (int i = 0; i < count; ++i) {
        data[i] = i % 64 == 63 ? char(0x0A) : char(0x20 + (i * 7 + i / 64) % 95);
    }
    m.set_stream(static_cast<v1::OutputStream>(1));
    m.set_offset(3 * 32768);
    m.set_data(std::move(data));
    return m;
}

void setResources(v1::Resources* r, uint32_t cpu, uint32_t mem, uint32_t pids, uint32_t disk, int64_t timeout,
                  int64_t idle) {
    r->set_cpu_millicores(cpu);
    r->set_memory_mb(mem);
    r->set_pids_max(pids);
    r->set_disk_mb(disk);
    r->set_timeout_ms(timeout);
    r->set_idle_timeout_ms(idle);
}

v1::CreateSessionRequest createSession() {
    v1::CreateSessionRequest m;
    m.set_image("python:3.12-slim");
    m.add_setup("pip install --no-cache-dir requests==2.32.3 numpy==2.1.3");
    m.add_setup("apt-get update && apt-get install -y --no-install-recommends curl");
    auto* f1 = m.add_files();
    f1->set_path("/workspace/main.py");
    f1->set_content("import os\nprint('hello from', os.environ['WORKER_ID'])\n");
    f1->set_encoding(static_cast<v1::FileEncoding>(1));
    auto* f2 = m.add_files();
    f2->set_path("/workspace/config.json");
    f2->set_content("{\"debug\": false, \"workers\": 4}");
    f2->set_encoding(static_cast<v1::FileEncoding>(1));
    for (const char* c : {"python", "-u", "/workspace/main.py", "--port", "8000"}) m.add_command(c);
    for (int k = 0; k < 20; ++k) {
        (*m.mutable_env())["APP_VAR_" + pad(k, 2)] = "/srv/app/" + hex(mix(k, 11), 8) + "/config-" + pad(k, 2);
    }
    m.set_work_dir("/workspace");
    m.set_tty(false);
    setResources(m.mutable_resources(), 2000, 1024, 512, 2048, 600000, 120000);
    m.set_network(static_cast<v1::NetworkMode>(3));
    for (int k = 0; k < 10; ++k) {
        auto* p = m.add_ports();
        p->set_container_port(8000 + k);
        p->set_transport(static_cast<v1::TransportProtocol>(k % 3 == 2 ? 2 : 1));
    }
    KV labels = {{"team", "platform"}, {"env", "staging"}, {"owner", "user-042"}, {"ci-run", "run-20260101-0042"}};
    for (auto& [k, v] : labels) (*m.mutable_labels())[k] = v;
    m.set_idempotency_key("idem-" + hex(mix(42, 12), 16) + hex(mix(42, 13), 8));
    return m;
}

void setTimestamp(google::protobuf::Timestamp* t, int64_t seconds, int32_t nanos) {
    t->set_seconds(seconds);
    t->set_nanos(nanos);
}

void session(int i, v1::Session* m) {
    static const char* images[] = {"python:3.12-slim", "node:22-bookworm", "ubuntu:24.04", "golang:1.23-alpine"};
    static const char* teams[] = {"platform", "ml-infra", "web", "data", "security"};
    const std::string id = "sess_" + hex(mix(i, 1), 16) + hex(mix(i, 2), 8);
    const bool stopped = i % 10 == 0;
    const std::string image = images[i % 4];
    const int64_t created = 1767225600 + int64_t(i) * 37;
    const int32_t nanos = int32_t((i * 7919) % 1000000) * 1000;

    m->set_id(id);
    m->set_status(static_cast<v1::SessionStatus>(stopped ? 5 : 3));
    m->set_image(image);
    std::string imageId = "sha256:";
    for (int salt = 3; salt <= 6; ++salt) imageId += hex(mix(i % 4, salt), 16);
    m->set_image_id(imageId);
    m->set_image_ref("docker.io/library/" + image);
    if (i % 3 == 0) m->set_setup_hash(hex(mix(i, 7), 16) + hex(mix(i, 8), 16));
    m->set_image_cache_hit(i % 3 == 0);
    m->add_command("/bin/sh");
    m->add_command("-c");
    m->add_command("exec ./serve --port 8000 --worker " + std::to_string(i));
    for (const char* k : {"PATH", "HOME", "LANG", "APP_MODE", "WORKER_ID"}) m->add_env_keys(k);
    m->set_work_dir("/workspace");
    setResources(m->mutable_resources(), 1000 + (i % 4) * 500, 512u << (i % 3), 256, 1024, 3600000, 300000);
    m->set_network_mode(static_cast<v1::NetworkMode>(3));
    const uint32_t ports[2][2] = {{8000, 1}, {uint32_t(9000 + i % 10), uint32_t(i % 2 == 1 ? 2 : 1)}};
    auto* network = m->mutable_network();
    network->set_mode(static_cast<v1::NetworkMode>(3));
    network->set_host("node-" + pad(i % 8, 2) + ".eu-west.execbox.example.net");
    for (int k = 0; k < 2; ++k) {
        auto* p = m->add_ports();
        p->set_container_port(ports[k][0]);
        p->set_transport(static_cast<v1::TransportProtocol>(ports[k][1]));
    }
    for (int k = 0; k < 2; ++k) {
        auto* b = network->add_ports();
        b->set_container_port(ports[k][0]);
        b->set_transport(static_cast<v1::TransportProtocol>(ports[k][1]));
        b->set_host_port(30000 + i * 2 + k);
        b->set_url("https://p" + std::to_string(ports[k][0]) + "-" + id + ".execbox.example.net/");
    }
    KV labels = {{"team", teams[i % 5]}, {"env", i % 2 == 0 ? "production" : "staging"}, {"owner", "user-" + pad(i % 7, 3)}};
    for (auto& [k, v] : labels) (*m->mutable_labels())[k] = v;
    setTimestamp(m->mutable_created_at(), created, nanos);
    setTimestamp(m->mutable_started_at(), created + 2, nanos);
    if (stopped) setTimestamp(m->mutable_ended_at(), created + 600, nanos);
    setTimestamp(m->mutable_expires_at(), created + 3600, 0);
    setTimestamp(m->mutable_last_activity_at(), created + 120 + i % 60, nanos);
    if (stopped) {
        auto* e = m->mutable_exit();
        e->set_exit_code(0);
        e->set_signal(0);
        e->set_reason(static_cast<v1::ExitReason>(1));
        e->set_duration_ms(598000);
        setTimestamp(e->mutable_ended_at(), created + 600, nanos);
        e->set_message("process exited with status 0");
        m->set_status_message("stopped: main process exited");
    }
    auto* u = m->mutable_usage();
    u->set_duration_ms(120000 + int64_t(i) * 1000);
    u->set_cpu_time_ms(45000 + int64_t(i) * 311);
    u->set_memory_peak_mb(128 + i % 256);
    u->set_network_tx_bytes(1048576 * int64_t(i + 1));
    u->set_network_rx_bytes(524288 * int64_t(i + 3));
    u->set_cost_usd(double(i + 1) * 0.0125);
    u->set_cost_cents((i + 1) * 125 / 100);
    m->set_backend("firecracker");
    m->set_backend_id("fc-" + hex(mix(i, 9), 12));
    m->set_node_id("node-" + pad(i % 8, 2));
    m->set_api_key_id("key_" + hex(mix(i % 3, 10), 16));
    m->set_account_id("acct_7f3a9c21");
}

v1::ListSessionsResponse listSessions() {
    v1::ListSessionsResponse m;
    for (int i = 0; i < 100; ++i) session(i, m.add_sessions());
    m.mutable_page()->set_next_page_token("eyJvZmZzZXQiOjEwMCwibGltaXQiOjEwMH0");
    return m;
}

const int kNestedLevels = 6, kNestedFanOut = 3;
const size_t kNestedNameLength = 32;

void nestedNode(int level, int32_t& nextId, execbox::fixtures::v1::Nested* m) {
    const int32_t id = nextId++;
    std::string name = "node-" + pad(id, 4) + "-level-" + std::to_string(level) + "-";
    for (int k = 0; name.size() < kNestedNameLength; ++k) name += char('a' + (id + k) % 26);
    m->set_id(id);
    m->set_name(name);
    if (level + 1 < kNestedLevels) {
        for (int c = 0; c < kNestedFanOut; ++c) nestedNode(level + 1, nextId, m->add_children());
    }
}

execbox::fixtures::v1::Nested nested() {
    execbox::fixtures::v1::Nested m;
    int32_t nextId = 1;
    nestedNode(0, nextId, &m);
    return m;
}

// ---- Harness ----

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "wire_bench: %s\n", message.c_str());
    std::exit(2);
}

template <typename T>
void doNotOptimize(T const& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}

struct Workload {
    std::string encoded;
    std::function<void(long)> encode, decode;
    std::function<bool(const std::string&)> matches;
};

template <typename M>
Workload makeWorkload(M message) {
    auto shared = std::make_shared<M>(std::move(message));
    Workload w;
    shared->SerializeToString(&w.encoded);
    auto bytes = std::make_shared<std::string>(w.encoded);
    w.encode = [shared](long n) {
        for (long k = 0; k < n; ++k) {
            std::string out;
            shared->SerializeToString(&out);
            doNotOptimize(out);
        }
    };
    w.decode = [shared, bytes](long n) {
        for (long k = 0; k < n; ++k) {
            M m;
            if (!m.ParseFromArray(bytes->data(), int(bytes->size()))) fail("decode failed");
            doNotOptimize(m);
        }
    };
    w.matches = [shared](const std::string& other) {
        M m;
        return m.ParseFromString(other) && google::protobuf::util::MessageDifferencer::Equals(m, *shared);
    };
    return w;
}

std::string oneDecimal(double v) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(1);
    s << v;
    return s.str();
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> options;
    for (int k = 1; k + 1 < argc; k += 2) {
        std::string flag = argv[k];
        if (flag.rfind("--", 0) != 0) fail("usage: see the header of wire_bench.cc");
        options[flag.substr(2)] = argv[k + 1];
    }
    if (argc % 2 != 1) fail("usage: see the header of wire_bench.cc");
    const std::string impl = options.count("impl") ? options["impl"] : "cpp";
    if (impl != "cpp") fail("--impl must be cpp");
    const std::string shape = options["shape"];
    Workload w;
    if (shape == "exec_output_32k") w = makeWorkload(execOutput());
    else if (shape == "create_session") w = makeWorkload(createSession());
    else if (shape == "list_sessions_100") w = makeWorkload(listSessions());
    else if (shape == "nested_14k") w = makeWorkload(nested());
    else fail("--shape must be one of exec_output_32k, create_session, list_sessions_100, nested_14k");

    if (options.count("dump")) {
        std::ofstream out(options["dump"], std::ios::binary);
        out.write(w.encoded.data(), std::streamsize(w.encoded.size()));
        if (!out) fail("cannot write " + options["dump"]);
        std::printf("impl=cpp shape=%s size=%zu\n", shape.c_str(), w.encoded.size());
        return 0;
    }
    if (options.count("verify")) {
        std::ifstream in(options["verify"], std::ios::binary);
        if (!in) fail("cannot read " + options["verify"]);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const bool ok = w.matches(bytes);
        std::printf("impl=cpp shape=%s verify=%s size=%zu\n", shape.c_str(), ok ? "ok" : "MISMATCH", bytes.size());
        return ok ? 0 : 1;
    }

    const std::string op = options.count("op") ? options["op"] : "encode";
    std::function<void(long)> run;
    if (op == "encode") run = w.encode;
    else if (op == "decode") run = w.decode;
    else fail("--op must be encode or decode");
    if (options.count("iterations")) {  // exactly N untimed operations, for profilers
        const long n = std::atol(options["iterations"].c_str());
        if (n <= 0) fail("--iterations must be a positive number");
        run(n);
        std::printf("impl=cpp shape=%s op=%s size=%zu iterations=%ld\n", shape.c_str(), op.c_str(), w.encoded.size(), n);
        return 0;
    }
    const double seconds = options.count("seconds") ? std::atof(options["seconds"].c_str()) : 1.0;

    auto timed = [&](long n) {
        auto start = std::chrono::steady_clock::now();
        run(n);
        return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    };
    long batch = 1;
    double warm = 0;
    while (warm < seconds * 0.2e9 || batch == 1) {
        double t = timed(batch);
        warm += t;
        if (t < 2e6) batch *= 2;
    }
    double total = 0;
    long iterations = 0;
    do {
        total += timed(batch);
        iterations += batch;
    } while (total < seconds * 1e9);

    std::string allocs = "na";
    if (void* symbol = dlsym(RTLD_DEFAULT, "wb_alloc_count")) {
        auto count = reinterpret_cast<uint64_t (*)()>(symbol);
        const long n = 100;
        uint64_t before = count();
        run(n);
        uint64_t after = count();
        allocs = oneDecimal(double(after - before) / n);
    }
    const double nsPerOp = total / double(iterations);
    const double mbPerSecond = double(w.encoded.size()) / nsPerOp * 1e9 / 1e6;
    std::printf("impl=cpp shape=%s op=%s size=%zu iterations=%ld ns_per_op=%s mb_per_s=%s allocs_per_op=%s\n",
                shape.c_str(), op.c_str(), w.encoded.size(), iterations, oneDecimal(nsPerOp).c_str(),
                oneDecimal(mbPerSecond).c_str(), allocs.c_str());
    return 0;
}
