import ExecboxDescriptors
import ExecboxWire
import Foundation

/// The fixtures' descriptors as protoc hands them to the plugin, from the descriptor set that
/// scripts/generate writes next to this file.
enum FixtureRequest {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repositoryRoot = directory.appendingPathComponent("../../..").standardized

    /// The same parameter scripts/generate passes for Generated/Fixtures.
    static let parameter =
        "Registry=ExecboxFixturesRegistry,"
        + "Module.google/protobuf/timestamp.proto=ExecboxWellKnownTypes,"
        + "Module.google/protobuf/duration.proto=ExecboxWellKnownTypes,"
        + "Module.google/protobuf/empty.proto=ExecboxWellKnownTypes"

    static func make(parameter: String = parameter) throws -> Google_Protobuf_Compiler_CodeGeneratorRequest {
        let data = try Data(contentsOf: directory.appendingPathComponent("Golden/fixtures.pb"))
        let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: [UInt8](data))
        var request = Google_Protobuf_Compiler_CodeGeneratorRequest()
        request.protoFile = set.file
        request.fileToGenerate = set.file.compactMap(\.name).filter { $0.hasPrefix("fixtures/") }
        request.parameter = parameter
        return request
    }
}
