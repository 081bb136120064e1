import ExecboxStorage
import Foundation

/// Executables of this package, built next to the test bundle (the test target depends on them).
enum BuiltTool {
    static func path(_ name: String) throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            directory.deleteLastPathComponent()
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw StorageError(code: .configuration, message: "\(name) is not built next to the tests")
    }
}
