/// gRPC metadata: ordered key/value pairs, keys lower-case; keys ending in `-bin` carry bytes.
public struct Metadata: Hashable, Sendable, ExpressibleByArrayLiteral, Sequence {
    public enum Value: Hashable, Sendable {
        case string(String)
        case binary([UInt8])
    }

    public private(set) var entries: [(key: String, value: Value)] = []

    public init() {}

    public init(arrayLiteral elements: (String, Value)...) {
        for (key, value) in elements { add(key, value) }
    }

    public mutating func add(_ key: String, _ value: Value) {
        entries.append((key.lowercased(), value))
    }

    public mutating func add(_ key: String, _ value: String) {
        add(key, .string(value))
    }

    /// Every string value under `key`, in order.
    public subscript(stringValues key: String) -> [String] {
        let key = key.lowercased()
        return entries.compactMap { entry in
            guard entry.key == key, case .string(let s) = entry.value else { return nil }
            return s
        }
    }

    public func first(_ key: String) -> String? {
        self[stringValues: key].first
    }

    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: Value)> {
        entries.makeIterator()
    }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}
