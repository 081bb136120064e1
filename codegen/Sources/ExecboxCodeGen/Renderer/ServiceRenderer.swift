/// Writes a service's method descriptors, server protocol and typed client.
struct ServiceRenderer {
    let service: ServiceModel
    let prefix: String

    private var typeName: String { prefix + service.swiftName }

    func render(into w: inout CodeWriter) {
        renderMethods(into: &w)
        w.line()
        renderServerProtocol(into: &w)
        w.line()
        renderRegistration(into: &w)
        w.line()
        renderClient(into: &w)
    }

    private func kind(_ m: MethodModel) -> String {
        switch (m.clientStreaming, m.serverStreaming) {
        case (false, false): "unary"
        case (true, false): "clientStreaming"
        case (false, true): "serverStreaming"
        case (true, true): "bidirectionalStreaming"
        }
    }

    private func renderMethods(into w: inout CodeWriter) {
        w.line("/// The methods of `\(service.fullName)`, as they appear on the wire.")
        w.block("public enum \(typeName)Methods") { w in
            for m in service.methods {
                w.line(
                    "public static let \(m.swiftName) = MethodDescriptor(service: \"\(service.fullName)\", method: \"\(m.protoName)\", kind: .\(kind(m)))"
                )
            }
            w.line()
            w.line(
                "public static let all: [MethodDescriptor] = [\(service.methods.map(\.swiftName).joined(separator: ", "))]"
            )
        }
    }

    private func renderServerProtocol(into w: inout CodeWriter) {
        w.docComment(service.comment)
        w.line("///")
        w.line("/// Conform to serve `\(service.fullName)`; throw ``RPCError`` to fail a call with a status.")
        w.block("public protocol \(typeName)Protocol: RPCService") { w in
            for m in service.methods {
                w.docComment(m.comment)
                w.line(serverSignature(m))
                w.line()
            }
        }
    }

    private func serverSignature(_ m: MethodModel) -> String {
        switch (m.clientStreaming, m.serverStreaming) {
        case (false, false):
            "func \(m.swiftName)(request: \(m.inputType), context: ServerContext) async throws -> \(m.outputType)"
        case (true, false):
            "func \(m.swiftName)(requests: RPCAsyncSequence<\(m.inputType)>, context: ServerContext) async throws -> \(m.outputType)"
        case (false, true):
            "func \(m.swiftName)(request: \(m.inputType), responses: RPCWriter<\(m.outputType)>, context: ServerContext) async throws"
        case (true, true):
            "func \(m.swiftName)(requests: RPCAsyncSequence<\(m.inputType)>, responses: RPCWriter<\(m.outputType)>, context: ServerContext) async throws"
        }
    }

    private func renderRegistration(into w: inout CodeWriter) {
        w.block("extension \(typeName)Protocol") { w in
            w.block("public func registerMethods(with router: inout RPCRouter)") { w in
                for m in service.methods {
                    let types = "(\(m.inputType).self, \(m.outputType).self)"
                    let descriptor = "\(typeName)Methods.\(m.swiftName)"
                    switch (m.clientStreaming, m.serverStreaming) {
                    case (false, false):
                        w.block("router.registerUnary(\(descriptor), \(types))", footer: "}") { w in
                            w.line(
                                "request, context in try await self.\(m.swiftName)(request: request, context: context)")
                        }
                    case (true, false):
                        w.block("router.registerClientStreaming(\(descriptor), \(types))") { w in
                            w.line(
                                "requests, context in try await self.\(m.swiftName)(requests: requests, context: context)"
                            )
                        }
                    case (false, true):
                        w.block("router.registerServerStreaming(\(descriptor), \(types))") { w in
                            w.line("request, responses, context in")
                            w.line(
                                "try await self.\(m.swiftName)(request: request, responses: responses, context: context)"
                            )
                        }
                    case (true, true):
                        w.block("router.registerBidirectionalStreaming(\(descriptor), \(types))") { w in
                            w.line("requests, responses, context in")
                            w.line(
                                "try await self.\(m.swiftName)(requests: requests, responses: responses, context: context)"
                            )
                        }
                    }
                }
            }
        }
    }

    private func renderClient(into w: inout CodeWriter) {
        w.line("/// Calls `\(service.fullName)` over any transport.")
        w.block("public struct \(typeName)Client<Transport: ClientTransport>: Sendable") { w in
            w.line("public let transport: Transport")
            w.line()
            w.block("public init(transport: Transport)") { w in
                w.line("self.transport = transport")
            }
            for m in service.methods {
                w.line()
                w.docComment(m.comment)
                renderClientMethod(m, into: &w)
            }
        }
    }

    private func renderClientMethod(_ m: MethodModel, into w: inout CodeWriter) {
        let descriptor = "\(typeName)Methods.\(m.swiftName)"
        let common = "metadata: Metadata = [], options: CallOptions = CallOptions()"
        let requests = "requests: @escaping @Sendable (RPCWriter<\(m.inputType)>) async throws -> Void"
        let onResponse = "onResponse: @escaping @Sendable (RPCAsyncSequence<\(m.outputType)>) async throws -> Result"
        switch (m.clientStreaming, m.serverStreaming) {
        case (false, false):
            w.block("public func \(m.swiftName)(_ request: \(m.inputType), \(common)) async throws -> \(m.outputType)")
            { w in
                w.line(
                    "try await ClientCall.unary(transport, \(descriptor), request: request, metadata: metadata, options: options)"
                )
            }
        case (true, false):
            w.block("public func \(m.swiftName)(\(common), \(requests)) async throws -> \(m.outputType)") { w in
                w.line(
                    "try await ClientCall.clientStreaming(transport, \(descriptor), metadata: metadata, options: options, requests: requests)"
                )
            }
        case (false, true):
            w.block(
                "public func \(m.swiftName)<Result: Sendable>(_ request: \(m.inputType), \(common), \(onResponse)) async throws -> Result"
            ) { w in
                w.line(
                    "try await ClientCall.serverStreaming(transport, \(descriptor), request: request, metadata: metadata, options: options, onResponse: onResponse)"
                )
            }
        case (true, true):
            w.block(
                "public func \(m.swiftName)<Result: Sendable>(\(common), \(requests), \(onResponse)) async throws -> Result"
            ) { w in
                w.line(
                    "try await ClientCall.bidirectionalStreaming(transport, \(descriptor), metadata: metadata, options: options, requests: requests, onResponse: onResponse)"
                )
            }
        }
    }
}
