import Foundation

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), without I/O:
/// where its files are, and the decoding of its JSON documents with size limits and errors that
/// name what was wrong.
public enum OCIImageLayout {
    /// The JSON documents (index, manifest, config) read at most: configs with a long history are
    /// the largest, a few hundred KiB.
    public static let maxDocumentBytes = 4 << 20

    /// The file every layout has at its root: `{"imageLayoutVersion": "1.0.0"}`.
    public struct LayoutFile: Codable, Hashable, Sendable {
        public var imageLayoutVersion: String

        public init(imageLayoutVersion: String = "1.0.0") {
            self.imageLayoutVersion = imageLayoutVersion
        }
    }

    /// A blob's path relative to the layout's root (the digest is validated, so it is safe).
    public static func blobPath(_ digest: Digest) -> String {
        "blobs/\(digest.algorithm)/\(digest.hex)"
    }

    /// Decodes one of the layout's JSON documents; `name` says which in errors (`index.json`,
    /// `manifest sha256:…`).
    public static func decode<Document: Decodable>(
        _ type: Document.Type,
        from bytes: [UInt8],
        name: String
    ) throws(ImageFormatError) -> Document {
        guard bytes.count <= maxDocumentBytes else {
            throw ImageFormatError("\(name) is larger than \(maxDocumentBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw ImageFormatError("\(name) is not valid: \(describe(error))")
        } catch {
            throw ImageFormatError("\(name) is not valid JSON")
        }
    }

    /// A decoding error as `at manifests[0].digest: …`, without the decoder's internals.
    static func describe(_ error: DecodingError) -> String {
        func location(_ path: [any CodingKey]) -> String {
            var text = ""
            for key in path {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return text.isEmpty ? "the top level" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(location(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(location(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not JSON" }
            return "\(location(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "not the expected document"
        }
    }
}
