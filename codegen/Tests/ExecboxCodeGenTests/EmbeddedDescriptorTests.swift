import ExecboxCodeGen
import ExecboxDescriptors
import ExecboxFixtures
import ExecboxWire
import Testing

/// The registry embeds each file's descriptor for server reflection: it must decode back to
/// what protoc sent, minus the comments.
@Suite struct EmbeddedDescriptorTests {
    @Test func theModelCarriesTheDescriptorWithoutSourceInfo() throws {
        let request = try FixtureRequest.make()
        let builder = ModelBuilder(request: request, options: try GeneratorOptions(parameter: FixtureRequest.parameter))
        let model = try builder.build(file: "fixtures/v1/features.proto")
        let original = try #require(request.protoFile.first { $0.name == "fixtures/v1/features.proto" })
        #expect(original.sourceCodeInfo != nil, "the golden descriptor set keeps comments")

        let decoded = try Google_Protobuf_FileDescriptorProto(serializedBytes: model.descriptor)
        #expect(decoded.sourceCodeInfo == nil)
        var stripped = original
        stripped.sourceCodeInfo = nil
        #expect(decoded == stripped)
        #expect(model.dependencies == original.dependency)
    }

    @Test func theCompiledRegistryDecodesBack() throws {
        let embedded = try #require(ExecboxFixturesRegistry.fileDescriptors["fixtures/v1/features.proto"])
        #expect(embedded.name == "fixtures/v1/features.proto")
        #expect(
            embedded.dependencies == [
                "google/protobuf/duration.proto", "google/protobuf/empty.proto", "google/protobuf/timestamp.proto",
            ])
        let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: embedded.serializedBytes)
        #expect(file.name == "fixtures/v1/features.proto")
        #expect(file.package == "execbox.fixtures.v1")
        #expect(file.sourceCodeInfo == nil)
        #expect(file.service.map(\.name) == ["FeatureService"])
        #expect(file.service.first?.method.map(\.name) == ["Unary", "ClientStream", "ServerStream", "Bidi", "Ping"])
        #expect(file.service.first?.method.first?.inputType == ".execbox.fixtures.v1.Nested")
        #expect(file.messageType.contains { $0.name == "Composite" })

        let presence = try #require(ExecboxFixturesRegistry.fileDescriptors["fixtures/v1/presence.proto"])
        #expect(presence.dependencies == ["fixtures/v1/features.proto"])
        #expect(ExecboxFixturesRegistry.fileDescriptors.count == 2)
    }
}
