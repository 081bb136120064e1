import ExecboxAPI
import ExecboxRPC

/// The Execbox services this build cannot serve yet: every method is routed (so it is listed
/// by reflection and distinguishable from a wrong path) and answers UNIMPLEMENTED.
enum PlaceholderServices {
    static let methods: [[MethodDescriptor]] = [
        SessionServiceMethods.all, ProcessServiceMethods.all, FileServiceMethods.all,
        NetworkServiceMethods.all, ImageServiceMethods.all, AccountServiceMethods.all,
    ]

    static var serviceNames: [String] {
        methods.compactMap(\.first?.service)
    }

    static func register(with router: inout RPCRouter) {
        for method in methods.joined() {
            let message = "\(method.path) is not served yet: it arrives with the service layer"
            router.register(method) { _, _, _ in throw RPCError(code: .unimplemented, message: message) }
        }
    }
}
