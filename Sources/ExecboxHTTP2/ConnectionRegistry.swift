import NIOConcurrencyHelpers
import NIOCore

/// The server's open HTTP/2 connections (for graceful shutdown) and its per-IP connection counts.
final class ConnectionRegistry: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: NIOLoopBound<HTTP2ConnectionHandler>] = [:]
        var perIP: [String: Int] = [:]
        var shuttingDown = false
    }

    private let state = NIOLockedValueBox(State())
    let maxConnectionsPerIP: Int
    let limitLoopback: Bool

    init(maxConnectionsPerIP: Int, limitLoopback: Bool) {
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.limitLoopback = limitLoopback
    }

    /// Counts a new connection from `ip`; false if the IP is over its cap (or we are shutting down).
    func admit(ip: String?) -> Bool {
        state.withLockedValue { state in
            guard !state.shuttingDown else { return false }
            guard let ip else { return true }
            let exempt = !limitLoopback && (ip == "127.0.0.1" || ip == "::1" || ip.hasPrefix("127."))
            let count = state.perIP[ip, default: 0]
            if !exempt && count >= maxConnectionsPerIP { return false }
            state.perIP[ip] = count + 1
            return true
        }
    }

    func release(ip: String?) {
        guard let ip else { return }
        state.withLockedValue { state in
            let count = state.perIP[ip, default: 1] - 1
            state.perIP[ip] = count > 0 ? count : nil
        }
    }

    func add(_ handler: NIOLoopBound<HTTP2ConnectionHandler>, id: ObjectIdentifier) {
        state.withLockedValue { $0.connections[id] = handler }
    }

    func remove(id: ObjectIdentifier) {
        _ = state.withLockedValue { $0.connections.removeValue(forKey: id) }
    }

    /// Marks shutdown and returns the connections to send GOAWAY to.
    func beginShutdown() -> [NIOLoopBound<HTTP2ConnectionHandler>] {
        state.withLockedValue { state in
            state.shuttingDown = true
            return Array(state.connections.values)
        }
    }
}
