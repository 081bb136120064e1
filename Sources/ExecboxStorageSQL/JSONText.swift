import ExecboxStorage
import Foundation

/// JSON columns (specs, tags, details): sorted keys, so equal values store equal text.
package enum JSONText {
    package static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StorageError(code: .internal, message: "cannot encode a JSON column", cause: error)
        }
    }

    package static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw StorageError(code: .dataCorrupted, message: "a JSON column cannot be decoded", cause: error)
        }
    }
}
