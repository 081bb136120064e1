/// An IPv4 network in CIDR form (`10.88.0.0/20`), for the sandbox address pool and the deny list.
struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    /// The network address, host-order.
    var address: UInt32
    var prefixLength: Int

    init(address: UInt32, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.address = prefixLength == 0 ? 0 : address & ~((1 << (32 - prefixLength)) - 1)
    }

    /// `a.b.c.d/n` or a bare address (a /32).
    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = parts.first.flatMap({ Self.parseAddress(String($0)) }) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : 32
        guard let length, (0...32).contains(length) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    static func parseAddress(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func format(_ address: UInt32) -> String {
        (0..<4).map { String((address >> (24 - 8 * $0)) & 0xff) }.joined(separator: ".")
    }

    var description: String { "\(Self.format(address))/\(prefixLength)" }

    func contains(_ address: UInt32) -> Bool {
        IPv4Network(address: address, prefixLength: prefixLength).address == self.address
    }
}
