import ArgumentParser
import ExecboxAPI

/// `--network none|outgoing|exposed`.
enum NetworkChoice: String, ExpressibleByArgument, CaseIterable {
    case none, outgoing, exposed

    var mode: NetworkMode {
        switch self {
        case .none: .none
        case .outgoing: .outgoing
        case .exposed: .exposed
        }
    }
}
