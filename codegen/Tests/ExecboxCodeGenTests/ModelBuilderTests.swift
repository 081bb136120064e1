import ExecboxDescriptors
import Testing

@testable import ExecboxCodeGen

@Suite struct ModelBuilderTests {
    let features: FileModel

    init() throws {
        let request = try FixtureRequest.make()
        let builder = ModelBuilder(request: request, options: try GeneratorOptions(parameter: FixtureRequest.parameter))
        features = try builder.build(file: "fixtures/v1/features.proto")
    }

    func message(_ name: String) throws -> MessageModel {
        try #require(features.messages.first { $0.fullName == "execbox.fixtures.v1." + name })
    }

    @Test func fileLevel() {
        #expect(features.package == "execbox.fixtures.v1")
        #expect(features.isProto3)
        #expect(features.imports == ["ExecboxWellKnownTypes"])
        #expect(features.services.map(\.swiftName) == ["FeatureService"])
    }

    @Test func enumAliasesAndNegativeValues() throws {
        let color = try #require(features.enums.first)
        #expect(color.swiftName == "Execbox_Fixtures_V1_Color")
        #expect(color.values.map(\.number) == [0, 1, 2, -3])
        #expect(color.aliases.map(\.protoName) == ["COLOR_CRIMSON"])
        #expect(color.comment.contains("open enum"))
    }

    @Test func packingFollowsSyntaxAndOption() throws {
        let scalars = try message("Scalars")
        let byName = Dictionary(uniqueKeysWithValues: scalars.fields.map { ($0.protoName, $0) })
        #expect(byName["r_int32"]?.cardinality == .repeated(packed: true))
        #expect(byName["r_string"]?.cardinality == .repeated(packed: false))
        #expect(byName["u_int32"]?.cardinality == .repeated(packed: false))
        #expect(byName["f_int32"]?.cardinality == .implicit)
        #expect(byName["f_high_number"]?.number == 536_870_911)
    }

    @Test func mapsResolveTheirEntryTypes() throws {
        let maps = try message("Maps")
        let field = try #require(maps.fields.first { $0.protoName == "int32_message" })
        #expect(
            field.cardinality
                == .map(
                    key: .int32,
                    value: .message(swiftType: "Execbox_Fixtures_V1_Nested", fullName: "execbox.fixtures.v1.Nested")))
        // Map entry types are not rendered as nested messages.
        #expect(maps.messages.isEmpty)
    }

    @Test func oneofsRecursionAndNames() throws {
        let composite = try message("Composite")
        #expect(composite.oneofs.map(\.typeName) == ["Choice", "Other"])
        #expect(composite.oneofs.map(\.isIndirect) == [true, false])
        let byName = Dictionary(uniqueKeysWithValues: composite.fields.map { ($0.protoName, $0) })
        #expect(byName["recursive"]?.isBoxed == true)
        #expect(byName["children"]?.isBoxed == false)
        #expect(byName["nested"]?.isBoxed == false)
        #expect(byName["choice_self"]?.oneofIndex == 0)
        #expect(byName["json_name_override"]?.jsonName == "customName")
        #expect(byName["default"]?.swiftName == "`default`")
        #expect(byName["self"]?.swiftName == "self_")
        #expect(composite.messages.map(\.qualifiedSwiftName) == ["Execbox_Fixtures_V1_Composite.Inner"])
        #expect(composite.enums.map(\.qualifiedSwiftName) == ["Execbox_Fixtures_V1_Composite.Mode"])
    }

    @Test func proto3OptionalIsPresenceNotAOneof() throws {
        let request = try FixtureRequest.make()
        let builder = ModelBuilder(request: request, options: GeneratorOptions())
        let presence = try builder.build(file: "fixtures/v1/presence.proto")
        let message = try #require(presence.messages.first)
        #expect(message.oneofs.isEmpty)
        #expect(message.fields.first { $0.protoName == "o_int32" }?.cardinality == .optional)
        #expect(message.fields.first { $0.protoName == "plain" }?.cardinality == .implicit)
    }

    @Test func wellKnownTypesAreRecognised() throws {
        let request = try FixtureRequest.make()
        let builder = ModelBuilder(request: request, options: GeneratorOptions())
        let timestamp = try builder.build(file: "google/protobuf/timestamp.proto")
        #expect(timestamp.messages.first?.wellKnown == .timestamp)
    }

    @Test func missingFileIsAnError() throws {
        let builder = ModelBuilder(request: try FixtureRequest.make(), options: GeneratorOptions())
        #expect(throws: GeneratorError.missingFile("nope.proto")) { try builder.build(file: "nope.proto") }
    }
}
