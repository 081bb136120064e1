// execbox-wire-check: the Swift side of the cross-checks against Google's Python protobuf and
// protobuf-c. Reads one request a line on stdin and answers one line on stdout:
//
//   <from>2<to> <full.message.Name> <base64 input>   →   OK <base64 output> | ERR <reason>
//
// where <from> and <to> are `bin` (binary wire format) or `json` (canonical proto3 JSON, UTF-8).
// `types` lists every message type it knows, one a line, then `END`.
import ExecboxAPI
import ExecboxFixtures
import ExecboxWellKnownTypes
import ExecboxWire

#if canImport(Glibc)
    import Glibc
#endif

let registry = ExecboxAPIRegistry.messageTypes
    .merging(ExecboxFixturesRegistry.messageTypes) { a, _ in a }
    .merging(ExecboxWellKnownTypesRegistry.messageTypes) { a, _ in a }

enum CheckError: Error, CustomStringConvertible {
    case usage(String)
    var description: String {
        switch self {
        case .usage(let s): s
        }
    }
}

func convert<M: WireMessage>(_ type: M.Type, from: Substring, to: Substring, input: [UInt8]) throws -> [UInt8] {
    let message: M
    switch from {
    case "bin": message = try M(serializedBytes: input)
    case "json": message = try M(jsonUTF8Bytes: input)
    default: throw CheckError.usage("unknown input format \(from)")
    }
    switch to {
    case "bin": return message.serializedBytes()
    case "json": return try message.jsonUTF8Bytes()
    default: throw CheckError.usage("unknown output format \(to)")
    }
}

func answer(_ line: String) -> String {
    let parts = line.split(separator: " ", omittingEmptySubsequences: false)
    if parts == ["types"] {
        return (registry.keys.sorted() + ["END"]).joined(separator: "\n")
    }
    guard parts.count == 3 else { return "ERR expected: <from>2<to> <type> <base64>" }
    let formats = parts[0].split(separator: "2")
    guard formats.count == 2 else { return "ERR bad command \(parts[0])" }
    guard let type = registry[String(parts[1])] else { return "ERR unknown type \(parts[1])" }
    guard let input = Base64.decode(String(parts[2])) else { return "ERR bad base64" }
    do {
        let output = try convert(type, from: formats[0], to: formats[1], input: input)
        return "OK " + Base64.encode(output)
    } catch {
        return "ERR \(error)".replacingNewlines()
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(map { $0 == "\n" ? " " : $0 })
    }
}

/// One answer a line, written at once (not through stdio's buffer): the caller keeps one
/// process and waits for each answer.
func reply(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.append(UInt8(ascii: "\n"))
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
        guard n > 0 else { exit(1) }
        offset += n
    }
}

while let line = readLine(strippingNewline: true) {
    reply(answer(line))
}
