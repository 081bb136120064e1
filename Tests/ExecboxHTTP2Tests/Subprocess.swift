import Foundation

/// Runs a real peer (curl, nghttp, h2load) to completion and returns what it printed.
struct Subprocess {
    let status: Int32
    let stdout: Data
    let stderr: String

    var output: String { String(decoding: stdout, as: UTF8.self) }

    static func run(_ executable: String, _ arguments: [String], input: Data? = nil) async throws -> Subprocess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        return try await withCheckedThrowingContinuation { continuation in
            // Drain both pipes on their own threads so a chatty peer never blocks on a full pipe.
            let group = DispatchGroup()
            let stdoutData = DataBox()
            let stderrData = DataBox()
            group.enter()
            DispatchQueue.global().async {
                stdoutData.set(out.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
            group.enter()
            DispatchQueue.global().async {
                stderrData.set(err.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
            process.terminationHandler = { process in
                group.notify(queue: .global()) {
                    continuation.resume(
                        returning: Subprocess(
                            status: process.terminationStatus,
                            stdout: stdoutData.get(),
                            stderr: String(decoding: stderrData.get(), as: UTF8.self)
                        )
                    )
                }
            }
            do {
                try process.run()
                if let input {
                    inputPipe.fileHandleForWriting.write(input)
                    try? inputPipe.fileHandleForWriting.close()
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// Data written by one reader thread, read after it is done.
private final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func set(_ value: Data) {
        lock.withLock { data = value }
    }

    func get() -> Data {
        lock.withLock { data }
    }
}
