public import ExecboxAPI
public import ExecboxRPC
internal import ExecboxWellKnownTypes
public import ExecboxWire

/// `grpc.reflection.v1.ServerReflection` from the descriptors the generator embeds, also served
/// as `grpc.reflection.v1alpha.ServerReflection` (wire-identical; older tools only know it), so
/// grpcurl, grpcio's reflection client and Postman can discover the API. Each request on the
/// stream gets one response, in order; a failed query answers `error_response` and the stream
/// goes on. Exposes the schema, not data: still, a public listener should turn it off.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflectionProtocol {
    public typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    public typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    /// The same method under the v1alpha service name.
    public static let v1alphaMethod = MethodDescriptor(
        service: ReflectionV1Alpha.service, method: "ServerReflectionInfo", kind: .bidirectionalStreaming)
    /// The service names this registers.
    public static let serviceNames = [
        Grpc_Reflection_V1_ServerReflectionMethods.serverReflectionInfo.service, ReflectionV1Alpha.service,
    ]

    /// The Execbox API's files and the well-known types they import.
    public static var apiFiles: [EmbeddedFileDescriptor] {
        Array(ExecboxAPIRegistry.fileDescriptors.values) + ExecboxWellKnownTypesRegistry.fileDescriptors.values
    }

    let index: DescriptorIndex
    /// What list_services answers: sorted, and only services the index can describe.
    public let services: [String]

    /// Serves `files` and lists `services` (those the files describe) plus reflection itself.
    public init(files: [EmbeddedFileDescriptor] = apiFiles, services: [String]) throws(WireDecodingError) {
        let index = try DescriptorIndex(files: files)
        self.index = index
        self.services = Set(services + Self.serviceNames).filter { index.kind(of: $0) == .service }.sorted()
    }

    /// Lists what `router` serves: register every other service on it first.
    public init(files: [EmbeddedFileDescriptor] = apiFiles, serving router: RPCRouter) throws(WireDecodingError) {
        try self.init(files: files, services: router.serviceNames)
    }

    public func registerMethods(with router: inout RPCRouter) {
        for method in [Grpc_Reflection_V1_ServerReflectionMethods.serverReflectionInfo, Self.v1alphaMethod] {
            router.registerBidirectionalStreaming(method, (Request.self, Response.self)) {
                requests, responses, context in
                try await serverReflectionInfo(requests: requests, responses: responses, context: context)
            }
        }
    }

    public func serverReflectionInfo(
        requests: RPCAsyncSequence<Request>,
        responses: RPCWriter<Response>,
        context: ServerContext
    ) async throws {
        for try await request in requests {
            try await responses.write(answer(request))
        }
    }

    /// The response to one query.
    public func answer(_ request: Request) -> Response {
        var response = Response()
        response.validHost = request.host
        response.originalRequest = request
        response.messageResponse = messageResponse(request.messageRequest)
        return response
    }

    private func messageResponse(_ query: Request.MessageRequest?) -> Response.MessageResponse {
        switch query {
        case .listServices:
            return .listServicesResponse(.with { $0.service = services.map { name in .with { $0.name = name } } })
        case .fileByFilename(let name):
            return files(index.fileWithDependencies(name), notFound: "file \(name) not found")
        case .fileContainingSymbol(let symbol):
            return files(
                index.file(containing: symbol).flatMap(index.fileWithDependencies),
                notFound: "symbol \(symbol) not found")
        case .fileContainingExtension(let request):
            // proto3 has no extensions, and these files declare none.
            return error(.notFound, "extension \(request.extensionNumber) of \(request.containingType) not found")
        case .allExtensionNumbersOfType(let type):
            // A message type we describe has no extensions: an empty list, as gRPC C++ and Go answer.
            guard index.kind(of: type) == .message else { return error(.notFound, "type \(type) not found") }
            return .allExtensionNumbersResponse(.with { $0.baseTypeName = type })
        case nil:
            return error(.invalidArgument, "the request names no query")
        }
    }

    private func files(_ files: [EmbeddedFileDescriptor]?, notFound: String) -> Response.MessageResponse {
        guard let files else { return error(.notFound, notFound) }
        return .fileDescriptorResponse(.with { $0.fileDescriptorProto = files.map(\.serializedBytes) })
    }

    private func error(_ code: RPCError.Code, _ message: String) -> Response.MessageResponse {
        .errorResponse(
            .with {
                $0.errorCode = Int32(code.rawValue)
                $0.errorMessage = message
            })
    }
}
