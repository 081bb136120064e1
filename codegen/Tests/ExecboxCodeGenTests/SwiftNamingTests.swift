import Testing

@testable import ExecboxCodeGen

@Suite struct SwiftNamingTests {
    @Test(arguments: [("foo_bar", "fooBar"), ("foo", "foo"), ("foo_bar_baz", "fooBarBaz"), ("f_1", "f1")])
    func lowerCamel(input: String, expected: String) {
        #expect(SwiftNaming.lowerCamel(input) == expected)
    }

    @Test(arguments: [
        ("SESSION_STATUS_RUNNING", "SessionStatus", "running"),
        ("NOT_SERVING", "ServingStatus", "notServing"),
        ("TYPE_ENUM", "Type", "`enum`"),
        ("LABEL_OPTIONAL", "Label", "`optional`"),
        ("EDITION_2023", "Edition", "edition2023"),
        ("COLOR_UNSPECIFIED", "Color", "unspecified"),
        ("FOO", "Color", "foo"),
    ])
    func enumCases(value: String, enumName: String, expected: String) {
        #expect(SwiftNaming.enumCase(valueName: value, enumName: enumName) == expected)
    }

    @Test func keywordsAreEscapedAndUnusableNamesSuffixed() {
        #expect(SwiftNaming.property("default") == "`default`")
        #expect(SwiftNaming.property("class") == "`class`")
        #expect(SwiftNaming.property("self") == "self_")
        #expect(SwiftNaming.property("unknown_fields") == "unknownFields_")
        #expect(SwiftNaming.typeName("Type", isEnum: true) == "TypeEnum")
        #expect(SwiftNaming.typeName("Type", isEnum: false) == "TypeMessage")
        #expect(SwiftNaming.typeName("Session", isEnum: false) == "Session")
    }

    @Test func packagePrefixes() throws {
        let defaults = GeneratorOptions()
        #expect(defaults.prefix(forPackage: "google.protobuf") == "Google_Protobuf_")
        #expect(defaults.prefix(forPackage: "") == "")
        let options = try GeneratorOptions(parameter: "Prefix.execbox.v1=,Registry=R,Module.a.proto=M")
        #expect(options.prefix(forPackage: "execbox.v1") == "")
        #expect(options.registry == "R")
        #expect(options.modules == ["a.proto": "M"])
    }

    @Test func badParametersAreReported() {
        #expect(throws: GeneratorError.badParameter("Nope=1")) { try GeneratorOptions(parameter: "Nope=1") }
        #expect(throws: GeneratorError.badParameter("novalue")) { try GeneratorOptions(parameter: "novalue") }
    }
}
