/// An image as a user names it: `default` (the built-in image), an image id `sha256:<64 hex>`, or
/// a Docker-style reference `[registry[:port]/]path[:tag][@sha256:<64 hex>]` with Docker's grammar
/// (lowercase path components with `.`, `_`, `__` or `-` separators, a registry recognized by a
/// `.`, a `:` or `localhost`, tags of at most 128 characters). Parsing is strict, and a
/// reference is at most 512 bytes; nothing here resolves or pulls anything.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// `default`: the backend's built-in image.
        case builtin
        /// `sha256:<64 hex>`: an image by id (`digest` holds it).
        case imageID
        case named
    }

    public static let maxBytes = 512
    static let maxNameBytes = 255

    public let kind: Kind
    /// As written (`registry.example:5000`), nil when the reference names none.
    public let registry: String?
    /// The path (`library/python`, `team/tool`); empty for the built-in image and ids.
    public let repository: String
    public let tag: String?
    /// The pinned digest of a named reference, or the image id.
    public let digest: Digest?

    public init(parsing text: String) throws(ImageFormatError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maxBytes else {
            throw ImageFormatError("an image reference must have 1 to \(Self.maxBytes) bytes")
        }
        guard bytes.allSatisfy({ (0x21..<0x7F).contains($0) }) else {
            throw Self.invalid(text, "only printable ASCII without spaces is allowed")
        }
        if text == "default" {
            (kind, registry, repository, tag, digest) = (.builtin, nil, "", nil, nil)
            return
        }
        if let id = try? Digest(parsing: text) {
            (kind, registry, repository, tag, digest) = (.imageID, nil, "", nil, id)
            return
        }
        guard !text.hasPrefix("sha256:") else {
            throw Self.invalid(text, "an image id is sha256: and 64 lowercase hex digits")
        }
        var name = text[...]
        var digest: Digest?
        if let at = text.firstIndex(of: "@") {
            do { digest = try Digest(parsing: String(text[text.index(after: at)...])) } catch {
                throw Self.invalid(text, "the part after @ must be sha256: and 64 lowercase hex digits")
            }
            name = text[..<at]
        }
        var tag: String?
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
            let candidate = name[name.index(after: colon)...]
            guard Self.isTag(candidate) else {
                throw Self.invalid(text, "a tag is 1 to 128 of A-Z a-z 0-9 _ . - and does not start with . or -")
            }
            tag = String(candidate)
            name = name[..<colon]
        }
        guard name.utf8.count <= Self.maxNameBytes else {
            throw Self.invalid(text, "the name is longer than \(Self.maxNameBytes) bytes")
        }
        var components = name.split(separator: "/", omittingEmptySubsequences: false)
        var registry: String?
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase)
        {
            guard Self.isRegistry(first) else {
                throw Self.invalid(text, "the registry must be a host name or [IPv6] address with an optional port")
            }
            registry = first == "index.docker.io" ? "docker.io" : String(first)
            components.removeFirst()
        }
        guard components.allSatisfy(Self.isPathComponent) else {
            throw Self.invalid(
                text, "path components are lowercase letters and digits, separated by one . or _, two _ or dashes")
        }
        (kind, self.registry, repository, self.tag, self.digest) =
            (.named, registry, components.joined(separator: "/"), tag, digest)
    }

    /// The reference as parsed (`default`, the id, or `[registry/]path[:tag][@digest]`).
    public var description: String {
        switch kind {
        case .builtin: return "default"
        case .imageID: return digest!.description
        case .named:
            return (registry.map { $0 + "/" } ?? "") + repository + (tag.map { ":" + $0 } ?? "")
                + (digest.map { "@\($0)" } ?? "")
        }
    }

    /// The form that makes equivalent references equal: Docker Hub's registry and `library/`
    /// filled in, and `:latest` when there is neither tag nor digest (`python` →
    /// `docker.io/library/python:latest`).
    public var canonicalName: String {
        guard kind == .named else { return description }
        let registry = registry ?? "docker.io"
        let repository =
            registry == "docker.io" && !repository.contains("/") ? "library/" + repository : repository
        let tag = tag ?? (digest == nil ? "latest" : nil)
        return registry + "/" + repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@\($0)" } ?? "")
    }

    /// A file name for local storage, the same for equivalent references: the canonical name with
    /// every character but `A-Z a-z 0-9 . _ -` made `_`, cut at 100 bytes, then `-` and 32 hex
    /// digits of its SHA-256 (so different names never collide). Never starts with `.`, never
    /// contains `/`, at most 133 bytes.
    public var storageName: String {
        let canonical = canonicalName
        let readable = canonical.utf8.prefix(100).map { byte -> UInt8 in
            let safe =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            return safe ? byte : UInt8(ascii: "_")
        }
        let start = readable.first == UInt8(ascii: ".") ? [UInt8(ascii: "_")] + readable.dropFirst() : readable
        return String(decoding: start, as: UTF8.self) + "-"
            + String(Digest.sha256(Array(canonical.utf8)).hex.prefix(32))
    }

    private static func invalid(_ text: String, _ rule: String) -> ImageFormatError {
        ImageFormatError("\(ImageFormatError.quoted(text)) is not a valid image reference: \(rule)")
    }

    static func isTag(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWordByte(first) else { return false }
        return bytes.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isPathComponent(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        while true {
            let start = index
            while index < bytes.count && isLowerAlphanumeric(bytes[index]) { index += 1 }
            guard index > start else { return false }
            guard index < bytes.count else { return true }
            switch bytes[index] {
            case UInt8(ascii: "."):
                index += 1
            case UInt8(ascii: "_"):
                index += 1
                if index < bytes.count && bytes[index] == UInt8(ascii: "_") { index += 1 }
            case UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
            default:
                return false
            }
        }
    }

    /// `host[:port]`, the host being dot-separated labels of letters, digits and inner dashes, or a
    /// bracketed IPv6 address.
    static func isRegistry(_ text: Substring) -> Bool {
        var host = text
        if let close = text.lastIndex(of: "]"), text.first == "[" {
            let address = text[text.index(after: text.startIndex)..<close]
            guard !address.isEmpty, address.utf8.allSatisfy({ $0 == UInt8(ascii: ":") || $0.isHexDigit }) else {
                return false
            }
            host = ""
            let rest = text[text.index(after: close)...]
            return rest.isEmpty || isPort(rest)
        }
        if let colon = text.firstIndex(of: ":") {
            guard isPort(text[colon...]) else { return false }
            host = text[..<colon]
        }
        return !host.isEmpty
            && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
                let bytes = Array(label.utf8)
                guard let first = bytes.first, let last = bytes.last else { return false }
                return first.isAlphanumeric && last.isAlphanumeric
                    && bytes.allSatisfy { $0.isAlphanumeric || $0 == UInt8(ascii: "-") }
            }
    }

    /// `:` and 1 to 5 digits.
    private static func isPort(_ text: Substring) -> Bool {
        let digits = text.utf8.dropFirst()
        return text.first == ":" && (1...5).contains(digits.count)
            && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte.isAlphanumeric || byte == UInt8(ascii: "_")
    }
}

extension UInt8 {
    fileprivate var isAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }

    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
