/// Header fields in order, names lower-case as HTTP/2 requires.
public struct HTTP2Headers: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        fields.reserveCapacity(elements.count)
        for (name, value) in elements { add(name, value) }
    }

    public init(_ fields: [(String, String)]) {
        self.fields.reserveCapacity(fields.count)
        for (name, value) in fields { add(name, value) }
    }

    /// Room for `count` fields, so building a head appends without regrowing.
    public mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// The name and value are taken as `consuming`: a caller handing over Strings it built
    /// moves them into the list instead of retaining them once more and releasing its own copy.
    public mutating func add(_ name: consuming String, _ value: consuming String) {
        // Lower-casing allocates; most names arrive lower-case already.
        let isLower = name.utf8.allSatisfy { $0 < UInt8(ascii: "A") || $0 > UInt8(ascii: "Z") }
        fields.append((isLower ? name : name.lowercased(), value))
    }

    /// For names already lower-case (nghttp2 rejects others on input, and literals in this
    /// package are written so).
    package mutating func addLowercased(_ name: consuming String, _ value: consuming String) {
        fields.append((name, value))
    }

    public subscript(_ name: String) -> String? {
        // Lookups run several times per request, nearly always with lower-case literals: the name
        // is lower-cased only when it is not found as given.
        if let field = fields.first(where: { $0.name == name }) { return field.value }
        let isLower = name.utf8.allSatisfy { $0 < UInt8(ascii: "A") || $0 > UInt8(ascii: "Z") }
        guard !isLower else { return nil }
        let lowered = name.lowercased()
        return fields.first { $0.name == lowered }?.value
    }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        fields.makeIterator()
    }

    public var count: Int { fields.count }

    public static func == (lhs: HTTP2Headers, rhs: HTTP2Headers) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for field in fields {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }
}
