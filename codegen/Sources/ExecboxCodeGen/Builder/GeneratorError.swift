/// Why generation failed; protoc shows the description to the user.
package enum GeneratorError: Error, Hashable, Sendable, CustomStringConvertible {
    case badParameter(String)
    case unknownType(String, referencedFrom: String)
    case unsupported(String)
    case missingFile(String)

    package var description: String {
        switch self {
        case .badParameter(let item):
            "protoc-gen-execbox: bad parameter '\(item)' (expected Prefix.<package>=<Prefix> or Module.<file.proto>=<Module>)"
        case .unknownType(let name, let from):
            "protoc-gen-execbox: type \(name) referenced from \(from) is not in the request"
        case .unsupported(let what):
            "protoc-gen-execbox: unsupported: \(what)"
        case .missingFile(let name):
            "protoc-gen-execbox: file \(name) is not in the request"
        }
    }
}
