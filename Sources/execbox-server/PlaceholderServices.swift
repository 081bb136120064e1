import ExecboxAPI
import ExecboxRPC

/// The Execbox services this build cannot serve yet (they need the sandbox backend): every method
/// is routed (so it is listed by reflection, authenticated, and distinguishable from a wrong path)
/// and answers UNIMPLEMENTED.
enum PlaceholderServices {
    static let methods: [[MethodDescriptor]] = [
        SessionServiceMethods.all, ProcessServiceMethods.all, FileServiceMethods.all,
        NetworkServiceMethods.all, ImageServiceMethods.all,
    ]

    static var serviceNames: [String] {
        methods.compactMap(\.first?.service)
    }

    static func register(with router: inout RPCRouter) {
        for method in methods.joined() {
            let message = "\(method.path) is not served yet: it arrives with the sandbox backend"
            router.register(method) { _, _, _ in throw RPCError(code: .unimplemented, message: message) }
        }
    }
}
