/// The nftables table of a backend's sandbox networks, as `nft -f` text. Pure: the same settings give
/// the same text (`NetworkRulesetTests`).
///
/// Every rule matches the sandboxes' host-side veths by name prefix, so one table serves every
/// sandbox and a sandbox needs no rules of its own (only `exposed` ports add map elements):
///
/// - input: from a sandbox, only replies (established, related) reach the host; anything else — a
///   host service on any address, including one bound to 0.0.0.0 — is refused (TCP reset, ICMP
///   admin-prohibited elsewhere);
/// - forward: a sandbox's packets must come from its own address (a FIB reverse-path check, so one
///   cannot spoof another's), IPv6 is refused, DNS to the configured resolvers is let through, the
///   deny list (loopback, private, link-local with the 169.254.169.254 metadata address, CGNAT with
///   100.100.100.200, the host's own networks, multicast, reserved) is refused, sandbox to sandbox is
///   refused, the rest goes out; towards a sandbox only replies pass;
/// - nat: outgoing traffic is masqueraded behind the host; host connections to `127.0.0.1:<port>` of
///   an exposed port are DNATed to the sandbox (and masqueraded, with `route_localnet` on its veth).
struct NetworkRuleset: Hashable, Sendable {
    var table: String
    var interfacePrefix: String
    var pool: IPv4Network
    var denied: [IPv4Network]
    var dnsServers: [UInt32]

    /// What `outgoing` denies whatever else is configured: the host's own networks are added at
    /// start-up.
    static let defaultDenied = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
    ].compactMap(IPv4Network.init)

    /// `networks` without the ones inside another (nft refuses overlapping intervals; CIDR blocks
    /// either nest or are disjoint), widest first.
    static func normalized(_ networks: [IPv4Network]) -> [IPv4Network] {
        var kept: [IPv4Network] = []
        for network in networks.sorted(by: { ($0.prefixLength, $0.address) < ($1.prefixLength, $1.address) })
        where !kept.contains(where: { $0.prefixLength <= network.prefixLength && $0.contains(network.address) }) {
            kept.append(network)
        }
        return kept
    }

    var text: String {
        let match = "\"\(interfacePrefix)*\""
        let deniedElements = Self.normalized(denied).map(\.description).joined(separator: ", ")
        let dnsElements = dnsServers.map(IPv4Network.format).joined(separator: ", ")
        let dnsSet =
            dnsServers.isEmpty
            ? "set dns4 { type ipv4_addr; }" : "set dns4 { type ipv4_addr; elements = { \(dnsElements) } }"
        return """
            table inet \(table) {}
            delete table inet \(table)
            table inet \(table) {
              set denied4 { type ipv4_addr; flags interval; elements = { \(deniedElements) } }
              \(dnsSet)
              map exposed4 { type inet_service : ipv4_addr . inet_service; }
              chain input {
                type filter hook input priority -10; policy accept;
                iifname \(match) ct state established,related accept
                iifname \(match) meta l4proto tcp reject with tcp reset
                iifname \(match) reject with icmpx type admin-prohibited
              }
              chain forward {
                type filter hook forward priority -10; policy accept;
                iifname \(match) fib saddr . iif oif missing drop
                iifname \(match) meta nfproto ipv6 reject with icmpx type admin-prohibited
                iifname \(match) ip daddr @dns4 meta l4proto { tcp, udp } th dport 53 accept
                iifname \(match) ip daddr @denied4 meta l4proto tcp reject with tcp reset
                iifname \(match) ip daddr @denied4 reject with icmpx type admin-prohibited
                iifname \(match) oifname \(match) reject with icmpx type admin-prohibited
                iifname \(match) accept
                oifname \(match) ct state established,related accept
                oifname \(match) drop
              }
              chain output_nat {
                type nat hook output priority -100; policy accept;
                ip daddr 127.0.0.1 dnat ip to tcp dport map @exposed4
              }
              chain postrouting {
                type nat hook postrouting priority 100; policy accept;
                oifname \(match) ip saddr 127.0.0.0/8 masquerade
                ip saddr \(pool) oifname != \(match) masquerade
              }
            }

            """
    }

    /// Removes the table (shutdown, tests); `delete` of a missing table fails, so it is created first.
    var deletion: String {
        "table inet \(table) {}\ndelete table inet \(table)\n"
    }
}
