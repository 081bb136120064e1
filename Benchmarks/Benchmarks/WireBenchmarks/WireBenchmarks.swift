// Encode and decode of each wire shape, Execbox's runtime ("ours") next to swift-protobuf.
//
//   cd Benchmarks && swift package benchmark
//   swift package benchmark thresholds check --metric mallocCountTotal
//
// The checked-in thresholds (Thresholds/) cover mallocCountTotal only: allocations per operation
// are deterministic, times are not. Regenerate them after an intended change with
//   swift package --allow-writing-to-package-directory benchmark thresholds update --metric mallocCountTotal
// (perf counters are not available on the project's machines, so `instructions` is not measured.)

import Benchmark
import WireBenchCore
import WireShapes

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 20,
        maxDuration: .seconds(1),
        maxIterations: 100_000
    )
    // Our allocation counts must not move at all; swift-protobuf's wobble by a few on the
    // map-heavy decodes (it is the reference, not the subject).
    let exact = BenchmarkThresholds(
        relative: BenchmarkThresholds.Relative.strict,
        absolute: BenchmarkThresholds.Absolute.strict
    )
    let loose = BenchmarkThresholds(relative: [.p90: 2.0])

    for shape in Shape.allCases {
        for impl in Impl.allCases {
            let workload = Workload(impl: impl, shape: shape)
            var configuration = Benchmark.defaultConfiguration
            configuration.thresholds = [.mallocCountTotal: impl == .ours ? exact : loose]
            Benchmark("encode.\(shape.rawValue).\(impl.rawValue)", configuration: configuration) { benchmark in
                for _ in benchmark.scaledIterations {
                    workload.encode(1)
                }
            }
            Benchmark("decode.\(shape.rawValue).\(impl.rawValue)", configuration: configuration) { benchmark in
                for _ in benchmark.scaledIterations {
                    workload.decode(1)
                }
            }
        }
    }
}
