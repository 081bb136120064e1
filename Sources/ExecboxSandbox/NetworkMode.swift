/// What a sandbox may reach on the network.
public enum NetworkMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// Its own empty network namespace: loopback only, no DNS, no route.
    case none
    /// Outgoing connections through the platform deny list; nothing reachable from outside.
    case outgoing
    /// Outgoing as above, plus declared ports reachable from the host through URLs.
    case exposed
}
