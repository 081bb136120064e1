/// Session lifecycle states; the raw values are the legacy wire and column values.
public enum SessionStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case pending, building, running, stopping, stopped, failed, killed

    /// Counted against the concurrent-session limit.
    public var isActive: Bool {
        switch self {
        case .pending, .building, .running, .stopping: true
        case .stopped, .failed, .killed: false
        }
    }

    public var isTerminal: Bool { !isActive }

    public static let active: Set<SessionStatus> = [.pending, .building, .running, .stopping]
}
