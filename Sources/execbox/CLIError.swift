/// What went wrong, in one line, and what to do about it. Every failure the CLI reports is one
/// of these (RPC statuses are mapped in `CLIError+RPC.swift`).
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var hint: String?
    var exitCode: Int32 = 1

    init(_ message: String, hint: String? = nil, exitCode: Int32 = 1) {
        self.message = message
        self.hint = hint
        self.exitCode = exitCode
    }

    var description: String { message }

    func print() {
        StandardStream.error.writeLine("execbox: error: \(message)")
        if let hint { StandardStream.error.writeLine("execbox: hint: \(hint)") }
    }
}
