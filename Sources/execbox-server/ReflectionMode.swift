import ArgumentParser

/// `--reflection`: server reflection describes the whole API to anyone who connects, so it is
/// on by default only where no one else can (TESTPLAN 55).
enum ReflectionMode: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// On when the listen address is loopback, off otherwise.
    case auto
    case on
    case off

    func isEnabled(listeningOn address: ListenAddress) -> Bool {
        switch self {
        case .auto: address.isLoopback
        case .on: true
        case .off: false
        }
    }
}
