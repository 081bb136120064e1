import ExecboxCodeGen
import ExecboxDescriptors
import Foundation
import Testing

/// The generator's output for the fixtures must equal the committed Generated/Fixtures files:
/// any change to the generator shows up here as a diff to review (and regenerate).
@Suite struct GoldenTests {
    @Test func fixturesMatchTheCommittedOutput() throws {
        let response = CodeGenerator.generate(try FixtureRequest.make())
        #expect(response.error == nil)
        #expect(response.supportedFeatures == 1)
        let names = response.file.compactMap(\.name).sorted()
        #expect(
            names == [
                "ExecboxFixturesRegistry.pb.swift", "fixtures/v1/features.pb.swift", "fixtures/v1/presence.pb.swift",
            ])
        for file in response.file {
            let path = FixtureRequest.repositoryRoot.appendingPathComponent("Generated/Fixtures/" + (file.name ?? ""))
            let committed = try String(contentsOf: path, encoding: .utf8)
            #expect(
                file.content == committed,
                "\(file.name ?? "") differs from the committed golden file; run scripts/generate")
        }
    }

    @Test func errorsComeBackInTheResponse() throws {
        let response = CodeGenerator.generate(try FixtureRequest.make(parameter: "Bogus=1"))
        #expect(response.error?.contains("bad parameter 'Bogus=1'") == true)
        #expect(response.file.isEmpty)
    }

    @Test func unknownTypeIsReported() throws {
        var request = try FixtureRequest.make()
        // Drop the well-known types the fixtures import: their references no longer resolve.
        request.protoFile.removeAll { $0.name?.hasPrefix("google/") == true }
        let response = CodeGenerator.generate(request)
        #expect(response.error?.contains(".google.protobuf.") == true)
    }
}
