/// The wire format between the runc backend and the in-sandbox exec agent (`ExecboxSandboxAgent`),
/// one definition for both ends (and the fuzz target). No I/O, no Foundation: the agent is a static
/// executable.
///
/// One connection per process. The client sends a request — a little-endian UInt32 length and that
/// many bytes of NUL-terminated fields:
///
///     mode ("pipes" or "tty"), rows, columns, working directory,
///     argument count, arguments…, environment count, KEY=value…
///
/// with the process's stdin, stdout and stderr attached to the first byte (mode "pipes"), or nothing
/// (mode "tty": the agent opens a pty inside the sandbox). The agent answers one line,
/// `started <pid>` (with the process's pidfd, and for a tty the pty master) or `failed <reason>`,
/// and once the process ended a second one, `exited <code>` or `signaled <signal>`, then closes.
public struct AgentRequest: Hashable, Sendable {
    public var arguments: [String]
    public var environment: [String]
    public var workingDirectory: String
    /// A pty of this size instead of the three descriptors that come with the request.
    public var terminal: Terminal?

    public struct Terminal: Hashable, Sendable {
        public var rows: UInt16
        public var columns: UInt16

        public init(rows: UInt16, columns: UInt16) {
            self.rows = rows
            self.columns = columns
        }
    }

    /// The largest body the agent reads.
    public static let maximumLength = 1 << 20

    public init(
        arguments: [String],
        environment: [String],
        workingDirectory: String,
        terminal: Terminal? = nil
    ) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.terminal = terminal
    }

    /// The length prefix and the body.
    public var encoded: [UInt8] {
        var fields = [terminal == nil ? "pipes" : "tty"]
        fields += [String(terminal?.rows ?? 0), String(terminal?.columns ?? 0), workingDirectory]
        fields += [String(arguments.count)] + arguments + [String(environment.count)] + environment
        var body: [UInt8] = []
        for field in fields {
            body += field.utf8
            body.append(0)
        }
        return Self.lengthPrefix(body.count) + body
    }

    public static func lengthPrefix(_ length: Int) -> [UInt8] {
        let value = UInt32(truncatingIfNeeded: length)
        return [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }

    /// The body's length from the first four bytes; nil if it is over `maximumLength`.
    public static func bodyLength(_ prefix: ArraySlice<UInt8>) -> Int? {
        guard prefix.count >= 4 else { return nil }
        let bytes = Array(prefix.prefix(4))
        let length = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        return length <= maximumLength ? length : nil
    }

    /// Parses a body (without the length prefix); nil for anything malformed: a missing final NUL,
    /// an unknown mode, a size or count that is no decimal number or overruns the fields, no
    /// arguments, a field in the argument list holding a NUL (impossible by construction), or
    /// fields left over.
    public init?(body: ArraySlice<UInt8>) {
        guard body.count <= Self.maximumLength, body.last == 0 else { return nil }
        var fields = body.dropLast().split(separator: 0, omittingEmptySubsequences: false)[...]
        func text() -> String? { fields.popFirst().map { String(decoding: $0, as: UTF8.self) } }
        func number<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard let field = fields.popFirst(), !field.isEmpty, field.count <= 10,
                field.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { return nil }
            return T(String(decoding: field, as: UTF8.self))
        }
        func list() -> [String]? {
            guard let count = number(Int.self), count <= fields.count else { return nil }
            defer { fields = fields.dropFirst(count) }
            return fields.prefix(count).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let mode = text(), mode == "pipes" || mode == "tty", let rows = number(UInt16.self),
            let columns = number(UInt16.self), let directory = text(), let arguments = list(), !arguments.isEmpty,
            let environment = list(), fields.isEmpty
        else { return nil }
        self.init(
            arguments: arguments,
            environment: environment,
            workingDirectory: directory,
            terminal: mode == "tty" ? Terminal(rows: rows, columns: columns) : nil
        )
    }
}

/// A line the agent writes (without its newline).
public enum AgentReply: Hashable, Sendable {
    /// The process runs: its pid inside the sandbox (nil when the agent sent none that makes sense).
    case started(pid: Int32?)
    case failed(reason: String)
    case exited(code: Int32)
    case signaled(signal: Int32)

    /// The longest line either side writes or accepts.
    public static let maximumLine = 4096

    public init?(line: ArraySlice<UInt8>) {
        guard line.count <= Self.maximumLine, !line.contains(UInt8(ascii: "\n")) else { return nil }
        // The prefix is matched as bytes: as Strings, a reason that starts with a combining mark
        // would join the space before it into one Character, and the prefix would not match.
        if line.starts(with: Self.failedPrefix) {
            self = .failed(reason: String(decoding: line.dropFirst(Self.failedPrefix.count), as: UTF8.self))
            return
        }
        let text = String(decoding: line, as: UTF8.self)
        let words = text.split(separator: " ", omittingEmptySubsequences: false)
        switch (words.first, words.count) {
        case ("started", 2):
            self = .started(pid: Int32(words[1]).flatMap { $0 > 0 ? $0 : nil })
        case ("exited", 2):
            guard let code = Int32(words[1]), (0...255).contains(code) else { return nil }
            self = .exited(code: code)
        case ("signaled", 2):
            guard let signal = Int32(words[1]), (1...64).contains(signal) else { return nil }
            self = .signaled(signal: signal)
        default:
            return nil
        }
    }

    private static let failedPrefix = Array("failed ".utf8)

    /// The line, newline included. A reason's line breaks become spaces, byte by byte (as
    /// Characters, "\r\n" is one that is neither), and a reason too long for the line (newline
    /// included, as the backend counts it) is cut at a scalar boundary: the other side accepts
    /// every line this writes.
    public var line: String {
        switch self {
        case .started(let pid): return "started \(pid ?? 0)\n"
        case .failed(let reason):
            var bytes = Self.failedPrefix
            let room = Self.maximumLine - bytes.count - 1
            var utf8 = reason.utf8.map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? UInt8(ascii: " ") : $0 }
            if utf8.count > room {
                var end = room
                while end > 0 && UTF8.isContinuation(utf8[end]) { end -= 1 }
                utf8.removeSubrange(end...)
            }
            bytes += utf8
            bytes.append(UInt8(ascii: "\n"))
            return String(decoding: bytes, as: UTF8.self)
        case .exited(let code): return "exited \(code)\n"
        case .signaled(let signal): return "signaled \(signal)\n"
        }
    }
}
