import ExecboxAPI
import ExecboxRPC

/// The Execbox services this server cannot serve: every method is routed (so it is listed by
/// reflection, authenticated, and distinguishable from a wrong path) and answers UNIMPLEMENTED.
/// Without a sandbox backend that is every session and image service; with one, none.
enum PlaceholderServices {
    enum Missing {
        /// `--backend none`: sessions, processes, files, ports and images.
        case withoutBackend
        /// Nothing: the backend serves every service.
        case none
    }

    static let sessionMethods: [[MethodDescriptor]] = [
        SessionServiceMethods.all, ProcessServiceMethods.all, FileServiceMethods.all, NetworkServiceMethods.all,
    ]

    static let methods: [[MethodDescriptor]] = sessionMethods + [ImageServiceMethods.all]

    static var serviceNames: [String] {
        methods.compactMap(\.first?.service)
    }

    static func register(with router: inout RPCRouter, serving missing: Missing) {
        guard missing == .withoutBackend else { return }
        for method in methods.joined() {
            let message = "\(method.path) needs a sandbox backend; this server runs with --backend none"
            router.register(method) { _, _, _ in throw RPCError(code: .unimplemented, message: message) }
        }
    }
}
