package struct ServiceModel: Hashable, Sendable {
    /// Such as `execbox.v1.SessionService`.
    package var fullName: String
    /// Such as `SessionService`.
    package var swiftName: String
    package var comment: String
    package var methods: [MethodModel]

    package init(fullName: String, swiftName: String, comment: String = "", methods: [MethodModel]) {
        self.fullName = fullName
        self.swiftName = swiftName
        self.comment = comment
        self.methods = methods
    }
}

package struct MethodModel: Hashable, Sendable {
    /// Such as `CreateSession`.
    package var protoName: String
    /// Such as `createSession`.
    package var swiftName: String
    package var inputType: String
    package var outputType: String
    package var clientStreaming: Bool
    package var serverStreaming: Bool
    package var comment: String

    package init(
        protoName: String, swiftName: String, inputType: String, outputType: String,
        clientStreaming: Bool, serverStreaming: Bool, comment: String = ""
    ) {
        self.protoName = protoName
        self.swiftName = swiftName
        self.inputType = inputType
        self.outputType = outputType
        self.clientStreaming = clientStreaming
        self.serverStreaming = serverStreaming
        self.comment = comment
    }
}
