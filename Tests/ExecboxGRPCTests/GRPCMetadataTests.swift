import ExecboxHTTP2
import ExecboxRPC
import Testing

@testable import ExecboxGRPC

/// Request headers to metadata: reserved names are left out (as bytes, before any String is made
/// of their values), `-bin` values are decoded.
struct GRPCMetadataTests {
    @Test func reservedNamesAreLeftOutAndBinaryValuesDecoded() {
        let headers = HTTP2Headers([
            (":method", "POST"), (":path", "/execbox.fixtures.v1.Fixtures/Unary"), ("te", "trailers"),
            ("content-type", "application/grpc"), ("grpc-timeout", "1S"), ("grpc-accept-encoding", "gzip"),
            ("user-agent", "grpc-python/1.68.0 grpc-c/44.0.0 (linux; chttp2)"), ("x-greeting", "hi"),
            ("x-trace-bin", "AQID"), ("x-broken-bin", "!!!"), ("tea", "green"), ("content-type-x", "y"),
        ])
        let metadata = GRPCServer.metadata(headers)
        #expect(metadata.map(\.key) == ["user-agent", "x-greeting", "x-trace-bin", "tea", "content-type-x"])
        #expect(metadata.first("user-agent") == "grpc-python/1.68.0 grpc-c/44.0.0 (linux; chttp2)")
        #expect(metadata.contains { $0.key == "x-trace-bin" && $0.value == .binary([1, 2, 3]) })
    }

    @Test(arguments: [":path", "grpc-status", "grpc-", "te", "content-type"])
    func bytesAndStringsAgreeOnReserved(_ name: String) {
        var name = name
        let byBytes = name.withUTF8 { GRPCServer.isReserved($0) }
        #expect(byBytes == GRPCServer.isReserved(name))
        #expect(byBytes)
    }

    @Test(arguments: ["x-a", "t", "tea", "content-typ", "grpc", "user-agent", ""])
    func notReserved(_ name: String) {
        var name = name
        #expect(!name.withUTF8 { GRPCServer.isReserved($0) })
        #expect(!GRPCServer.isReserved(name))
    }
}
