import ExecboxRPC

/// A case's assertion that did not hold; the message says what was expected and what came.
struct InteropFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw InteropFailure(message()) }
}

/// Runs `body`, which must fail with `code`; returns the error for further checks.
@discardableResult
func expectStatus(
    _ code: RPCError.Code,
    _ what: String,
    _ body: () async throws -> Void
) async throws -> RPCError {
    do {
        try await body()
    } catch let error as RPCError {
        try expect(error.code == code, "\(what): expected \(code), got \(error.code): \(error.message)")
        return error
    }
    throw InteropFailure("\(what): expected \(code), the call succeeded")
}

/// A payload of zeros of exactly `size` bytes, as every interop case asserts.
func expectZeros(_ body: [UInt8]?, size: Int, _ what: String) throws {
    let body = body ?? []
    try expect(body.count == size, "\(what): expected a \(size)-byte payload, got \(body.count) bytes")
    try expect(body.allSatisfy { $0 == 0 }, "\(what): the payload is not all zeros")
}
