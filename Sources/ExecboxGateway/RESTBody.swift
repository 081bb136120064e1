import Foundation

/// JSON request bodies: Foundation's decoder into the legacy request types (unknown fields are
/// ignored; `$schema` is just another unknown field), with its errors turned into the legacy
/// answers.
enum RESTBody {
    static func decode<Body: Decodable>(_ type: Body.Type, from data: Data, required: Bool) throws -> Body {
        var data = data
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard !required else { throw GatewayError.badRequest("request body is required") }
            data = Data("{}".utf8)
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as GatewayError {
            throw error
        } catch let error as DecodingError {
            throw gatewayError(error)
        }
    }

    static func gatewayError(_ error: DecodingError) -> GatewayError {
        switch error {
        case .typeMismatch(let expected, let context):
            return .invalid(location(context.codingPath), "expected \(describe(expected))")
        case .valueNotFound(let expected, let context):
            return .invalid(location(context.codingPath), "expected \(describe(expected)), not null")
        case .keyNotFound(let key, let context):
            return .invalid(location(context.codingPath + [key]), "required property is missing")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            var error = GatewayError.badRequest("validation failed")
            error.violations = [.init(message: "the body is not valid JSON", location: "body")]
            return error
        case .dataCorrupted(let context):
            return .invalid(location(context.codingPath), context.debugDescription)
        @unknown default:
            return .badRequest("validation failed")
        }
    }

    /// `body.resources.memoryMB`, `body.files[1].path`.
    static func location(_ path: [any CodingKey]) -> String {
        path.reduce("body") { text, key in
            key.intValue.map { "\(text)[\($0)]" } ?? "\(text).\(key.stringValue)"
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is Double.Type: "a number"
        default: "an object or array of the documented shape"
        }
    }
}
