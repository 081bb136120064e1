import Testing

@testable import ExecboxSandboxRunc

/// The pure parts of sandbox networking: addresses and the nftables text.
struct NetworkRulesetTests {
    @Test func ipv4NetworksParseFormatAndContain() throws {
        let network = try #require(IPv4Network("10.88.3.77/20"))
        #expect(network.description == "10.88.0.0/20")
        #expect(network.contains(IPv4Network.parseAddress("10.88.15.255")!))
        #expect(!network.contains(IPv4Network.parseAddress("10.88.16.0")!))
        #expect(IPv4Network("169.254.169.254")?.description == "169.254.169.254/32")
        for bad in ["10.88.0", "10.88.0.256", "10.88.0.0/33", "a.b.c.d", ""] { #expect(IPv4Network(bad) == nil) }
        #expect(IPv4Network.format(0xC000_0202) == "192.0.2.2")
    }

    /// nft refuses overlapping intervals: the host's networks often lie inside the built-in list.
    @Test func nestedNetworksAreDropped() {
        let networks = ["10.89.3.0/30", "10.0.0.0/8", "192.0.2.0/24", "10.0.0.0/8", "192.0.2.2/32"]
            .compactMap(IPv4Network.init)
        #expect(NetworkRuleset.normalized(networks).map(\.description) == ["10.0.0.0/8", "192.0.2.0/24"])
    }

    @Test func defaultDenyListCoversHostPrivateAndMetadataAddresses() {
        let denied = NetworkRuleset.defaultDenied
        for address in [
            "127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.100.100.200", "0.0.0.0",
            "224.0.0.1", "255.255.255.255", "198.18.0.1",
        ] {
            let value = IPv4Network.parseAddress(address)!
            #expect(denied.contains { $0.contains(value) }, "\(address)")
        }
        for address in ["1.1.1.1", "8.8.8.8", "203.0.113.2"] {
            let value = IPv4Network.parseAddress(address)!
            #expect(!denied.contains { $0.contains(value) }, "\(address)")
        }
    }

    @Test func rulesetMatchesOnlyItsOwnInterfacesAndTable() {
        let ruleset = NetworkRuleset(
            table: "execbox",
            interfacePrefix: "ebx",
            pool: IPv4Network("10.88.0.0/20")!,
            denied: NetworkRuleset.defaultDenied,
            dnsServers: [IPv4Network.parseAddress("10.255.255.53")!]
        )
        let text = ruleset.text
        #expect(text.hasPrefix("table inet execbox {}\ndelete table inet execbox\n"))
        #expect(text.contains("set dns4 { type ipv4_addr; elements = { 10.255.255.53 } }"))
        #expect(text.contains("ip saddr 10.88.0.0/20 oifname != \"ebx*\" masquerade"))
        #expect(text.contains("iifname \"ebx*\" fib saddr . iif oif missing drop"))
        // Every filter rule names the prefix; nothing else on the host is matched.
        for line in text.split(separator: "\n")
        where line.contains("accept") || line.contains("reject")
            || line.contains("drop")
        {
            guard !line.contains("policy accept") else { continue }
            #expect(line.contains("\"ebx*\""), "\(line)")
        }
        #expect(ruleset.deletion == "table inet execbox {}\ndelete table inet execbox\n")
    }
}
