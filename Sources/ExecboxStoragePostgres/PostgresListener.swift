import CLibPQ
import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Synchronization

/// LISTEN/NOTIFY for events between Execbox servers that share a database. One dedicated
/// thread owns one connection: it polls the socket (never blocking the cooperative pool),
/// hands notifications to subscribers, and after a lost connection reconnects with backoff and
/// listens again on every channel. Notifications sent while it was disconnected are lost, as
/// PostgreSQL does not queue them; subscribers re-read state after `reconnections` changes.
public final class PostgresListener: Sendable {
    private struct State {
        var subscribers: [String: [AsyncStream<PostgresNotification>.Continuation]] = [:]
        var commands: [Command] = []
        var closed = false
        var reconnections = 0
    }

    private enum Command {
        case listen(String, CheckedContinuation<Void, any Error>)
        case notify(String, String, CheckedContinuation<Void, any Error>)
    }

    private let settings: PostgresSettings
    private let state = Mutex(State())
    private let stopped = DispatchSemaphore(value: 0)

    public init(settings: PostgresSettings) {
        self.settings = settings
        Thread { [self] in
            run()
            stopped.signal()
        }.start()
    }

    /// How many times the connection was re-established after a loss.
    public var reconnections: Int { state.withLock { $0.reconnections } }

    /// Notifications on `channel` from now on (after the server confirmed the LISTEN).
    public func subscribe(_ channel: String) async throws -> AsyncStream<PostgresNotification> {
        let (stream, continuation) = AsyncStream<PostgresNotification>.makeStream()
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.subscribers[channel, default: []].append(continuation)
                state.commands.append(.listen(channel, done))
                return true
            }
            if !accepted { done.resume(throwing: StorageError(code: .unavailable, message: "the listener is closed")) }
        }
        return stream
    }

    /// Sends `payload` on `channel` (through the listener's own connection).
    public func notify(_ channel: String, payload: String) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.commands.append(.notify(channel, payload, done))
                return true
            }
            if !accepted { done.resume(throwing: StorageError(code: .unavailable, message: "the listener is closed")) }
        }
    }

    public func close() async {
        state.withLock { $0.closed = true }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [stopped] in
                stopped.wait()
                continuation.resume()
            }
        }
    }

    private func run() {
        var connection: PostgresConnection?
        var backoff = 0.1
        var everConnected = false
        while true {
            let (commands, closed) = state.withLock { state -> ([Command], Bool) in
                defer { state.commands = [] }
                return (state.commands, state.closed)
            }
            if closed {
                fail(commands, StorageError(code: .unavailable, message: "the listener is closed"))
                state.withLock { state in
                    state.subscribers.values.joined().forEach { $0.finish() }
                    state.subscribers = [:]
                }
                return
            }
            if connection == nil || connection?.isBroken == true {
                connection = nil
                do {
                    let fresh = try PostgresConnection(settings: settings)
                    let channels = state.withLock { Array($0.subscribers.keys) }
                    for channel in channels { try listen(channel, on: fresh) }
                    if everConnected { state.withLock { $0.reconnections += 1 } }
                    everConnected = true
                    connection = fresh
                    backoff = 0.1
                } catch {
                    fail(
                        commands,
                        (error as? PostgresFailure)?.storageError
                            ?? StorageError(code: .unavailable, message: "cannot connect"))
                    Thread.sleep(forTimeInterval: backoff)
                    backoff = min(backoff * 2, 5)
                    continue
                }
            }
            guard let live = connection else { continue }
            for command in commands {
                switch command {
                case .listen(let channel, let done):
                    done.resume(with: Result { try listen(channel, on: live) }.mapError { Self.storageError($0) })
                case .notify(let channel, let payload, let done):
                    done.resume(
                        with: Result {
                            _ = try live.query("SELECT pg_notify($1, $2)", [.text(channel), .text(payload)])
                        }.mapError { Self.storageError($0) }
                    )
                }
            }
            var descriptor = pollfd(fd: live.socket, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, 50)
            if PQconsumeInput(live.raw) == 0 { continue }
            while let notice = PQnotifies(live.raw) {
                let notification = PostgresNotification(
                    channel: String(cString: notice.pointee.relname),
                    payload: String(cString: notice.pointee.extra)
                )
                PQfreemem(notice)
                state.withLock { state in
                    state.subscribers[notification.channel]?.forEach { $0.yield(notification) }
                }
            }
        }
    }

    private func listen(_ channel: String, on connection: PostgresConnection) throws {
        // LISTEN takes an identifier, not a parameter: libpq quotes it.
        guard let quoted = PQescapeIdentifier(connection.raw, channel, channel.utf8.count) else {
            throw StorageError(code: .invalidArgument, message: "invalid channel name")
        }
        defer { PQfreemem(quoted) }
        try connection.executeScript("LISTEN " + String(cString: quoted))
    }

    private func fail(_ commands: [Command], _ error: StorageError) {
        for command in commands {
            switch command {
            case .listen(_, let done), .notify(_, _, let done): done.resume(throwing: error)
            }
        }
    }

    private static func storageError(_ error: any Error) -> any Error {
        (error as? PostgresFailure)?.storageError ?? error
    }
}
