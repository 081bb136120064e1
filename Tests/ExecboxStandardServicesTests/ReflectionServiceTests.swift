import ExecboxAPI
import ExecboxDescriptors
import ExecboxRPC
import ExecboxStandardServices
import ExecboxTesting
import ExecboxWire
import Testing

typealias ReflectionRequest = Grpc_Reflection_V1_ServerReflectionRequest
typealias ReflectionResponse = Grpc_Reflection_V1_ServerReflectionResponse

/// Reflection through the generated client and the in-process transport, over the embedded
/// descriptors of the real API.
@Suite struct ReflectionServiceTests {
    let transport: InProcessTransport

    init() throws {
        var router = RPCRouter(services: [HealthService()])
        for method in SessionServiceMethods.all {
            router.register(method) { _, _, _ in throw RPCError(code: .unimplemented, message: "not yet") }
        }
        // Served but not described by these files: not listed.
        router.register(MethodDescriptor(service: "x.Undescribed", method: "M", kind: .unary)) { _, _, _ in }
        let reflection = try ReflectionService(serving: router)
        reflection.registerMethods(with: &router)
        transport = InProcessTransport(router: router)
    }

    /// Sends every query on one stream and collects the answers.
    func ask(
        _ queries: [ReflectionRequest.MessageRequest],
        method: MethodDescriptor = Grpc_Reflection_V1_ServerReflectionMethods.serverReflectionInfo
    ) async throws -> [ReflectionResponse] {
        try await ClientCall.bidirectionalStreaming(transport, method, metadata: [], options: CallOptions()) {
            (writer: RPCWriter<ReflectionRequest>) in
            for query in queries { try await writer.write(.with { $0.messageRequest = query }) }
        } onResponse: { (responses: RPCAsyncSequence<ReflectionResponse>) in
            var all: [ReflectionResponse] = []
            for try await response in responses { all.append(response) }
            return all
        }
    }

    func files(_ response: ReflectionResponse) throws -> [Google_Protobuf_FileDescriptorProto] {
        guard case .fileDescriptorResponse(let files) = response.messageResponse else {
            Issue.record("expected files, got \(String(describing: response.messageResponse))")
            return []
        }
        return try files.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
    }

    func errorCode(_ response: ReflectionResponse) -> Int32? {
        guard case .errorResponse(let error) = response.messageResponse else { return nil }
        return error.errorCode
    }

    @Test func listsTheDescribedServicesOfTheRouter() async throws {
        let client = Grpc_Reflection_V1_ServerReflectionClient(transport: transport)
        let responses = try await client.serverReflectionInfo { writer in
            try await writer.write(.with { $0.messageRequest = .listServices("") })
        } onResponse: { responses in
            var all: [ReflectionResponse] = []
            for try await response in responses { all.append(response) }
            return all
        }
        guard case .listServicesResponse(let list) = responses.first?.messageResponse else {
            Issue.record("expected a service list")
            return
        }
        #expect(
            list.service.map(\.name) == [
                "execbox.v1.SessionService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ])
        #expect(responses.first?.originalRequest?.messageRequest == .listServices(""))
    }

    @Test func fileByFilenameComesWithItsTransitiveDependencies() async throws {
        let responses = try await ask([.fileByFilename("execbox/v1/session.proto")])
        let names = try files(responses[0]).map { $0.name ?? "" }
        #expect(names.first == "execbox/v1/session.proto")
        #expect(
            Set(names) == ["execbox/v1/session.proto", "execbox/v1/common.proto", "google/protobuf/timestamp.proto"])
        #expect(names.count == 3)
        let session = try files(responses[0])[0]
        #expect(session.service.map(\.name) == ["SessionService"])
        #expect(session.sourceCodeInfo == nil)
    }

    @Test func symbolsOfEveryKindResolveToTheirFile() async throws {
        let symbols = [
            "execbox.v1.SessionService": "execbox/v1/session.proto",
            "execbox.v1.SessionService.CreateSession": "execbox/v1/session.proto",
            "execbox.v1.CreateSessionRequest": "execbox/v1/session.proto",
            "grpc.health.v1.HealthCheckResponse.ServingStatus": "grpc/health/v1/health.proto",
            "grpc.health.v1.HealthCheckRequest.service": "grpc/health/v1/health.proto",
            "grpc.reflection.v1.ServerReflectionRequest": "grpc/reflection/v1/reflection.proto",
            "grpc.reflection.v1alpha.ServerReflection": "grpc/reflection/v1alpha/reflection.proto",
            "google.protobuf.Timestamp": "google/protobuf/timestamp.proto",
        ]
        let queries = symbols.keys.sorted()
        let responses = try await ask(queries.map { .fileContainingSymbol($0) })
        #expect(responses.count == queries.count)
        for (symbol, response) in zip(queries, responses) {
            #expect(try files(response).first?.name == symbols[symbol], "\(symbol)")
        }
    }

    @Test func nestedMessagesAndEnumsResolve() async throws {
        // Every nested message and enum of the API resolves to the file declaring it.
        var queries: [(String, String)] = []
        for (name, embedded) in ExecboxAPIRegistry.fileDescriptors {
            let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: embedded.serializedBytes)
            func visit(_ message: Google_Protobuf_DescriptorProto, _ scope: String) {
                let full = scope + "." + (message.name ?? "")
                queries.append((full, name))
                for e in message.enumType { queries.append((full + "." + (e.name ?? ""), name)) }
                for nested in message.nestedType { visit(nested, full) }
            }
            for message in file.messageType { visit(message, file.package ?? "") }
            for e in file.enumType { queries.append(((file.package ?? "") + "." + (e.name ?? ""), name)) }
        }
        #expect(queries.count > 100)
        let responses = try await ask(queries.map { .fileContainingSymbol($0.0) })
        for ((symbol, file), response) in zip(queries, responses) {
            #expect(try files(response).first?.name == file, "\(symbol)")
        }
    }

    @Test func everyFileCarriesAllItsImports() async throws {
        let names = ExecboxAPIRegistry.fileDescriptors.keys.sorted()
        let responses = try await ask(names.map { .fileByFilename($0) })
        for response in responses {
            let all = try files(response)
            let present = Set(all.compactMap(\.name))
            for file in all { #expect(Set(file.dependency).isSubset(of: present), "\(file.name ?? "")") }
        }
    }

    @Test func unknownNamesAreNotFoundAndTheStreamGoesOn() async throws {
        let responses = try await ask([
            .fileByFilename("nope.proto"),
            .fileContainingSymbol("execbox.v1.Nope"),
            .fileContainingExtension(
                .with {
                    $0.containingType = "execbox.v1.Session"; $0.extensionNumber = 100
                }),
            .allExtensionNumbersOfType("execbox.v1.Nope"),
            .allExtensionNumbersOfType("execbox.v1.Session"),
            .listServices("*"),
        ])
        #expect(responses.count == 6)
        #expect(responses[0...3].map(errorCode) == [5, 5, 5, 5])
        guard case .allExtensionNumbersResponse(let numbers) = responses[4].messageResponse else {
            Issue.record("expected extension numbers")
            return
        }
        #expect(numbers.baseTypeName == "execbox.v1.Session")
        #expect(numbers.extensionNumber.isEmpty)
        #expect(errorCode(responses[5]) == nil)
    }

    @Test func anEmptyRequestIsInvalid() async throws {
        let responses = try await ask([])
        #expect(responses.isEmpty)
        let service = try ReflectionService(services: [])
        #expect(errorCode(service.answer(ReflectionRequest())) == 3)
    }

    @Test func v1alphaAnswersTheSameAndDescribesItself() async throws {
        let responses = try await ask(
            [.fileContainingSymbol("grpc.reflection.v1alpha.ServerReflection"), .listServices("")],
            method: ReflectionService.v1alphaMethod)
        let alias = try #require(try files(responses[0]).first)
        #expect(alias.package == "grpc.reflection.v1alpha")
        let method = try #require(alias.service.first?.method.first)
        #expect(method.inputType == ".grpc.reflection.v1alpha.ServerReflectionRequest")
        #expect(method.clientStreaming == true && method.serverStreaming == true)
        let request = try #require(alias.messageType.first { $0.name == "ServerReflectionRequest" })
        #expect(request.field.contains { $0.typeName == ".grpc.reflection.v1alpha.ExtensionRequest" })
        guard case .listServicesResponse(let list) = responses[1].messageResponse else {
            Issue.record("expected a service list")
            return
        }
        #expect(list.service.count == 4)
    }
}
