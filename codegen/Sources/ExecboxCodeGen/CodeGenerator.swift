package import ExecboxDescriptors

/// The whole plugin as a function: a CodeGeneratorRequest in, a CodeGeneratorResponse out.
package enum CodeGenerator {
    /// protoc's `FEATURE_PROTO3_OPTIONAL`: without it protoc refuses files using proto3 `optional`.
    static let featureProto3Optional: UInt64 = 1

    package static func generate(
        _ request: Google_Protobuf_Compiler_CodeGeneratorRequest
    ) -> Google_Protobuf_Compiler_CodeGeneratorResponse {
        var response = Google_Protobuf_Compiler_CodeGeneratorResponse()
        response.supportedFeatures = featureProto3Optional
        do throws(GeneratorError) {
            let options = try GeneratorOptions(parameter: request.parameter ?? "")
            let builder = ModelBuilder(request: request, options: options)
            var models: [FileModel] = []
            for name in request.fileToGenerate {
                let model = try builder.build(file: name)
                models.append(model)
                let renderer = SwiftRenderer(prefix: options.prefix(forPackage: model.package))
                var file = Google_Protobuf_Compiler_CodeGeneratorResponse.File()
                file.name = outputName(for: name)
                file.content = renderer.render(model)
                response.file.append(file)
            }
            if let registry = options.registry {
                var file = Google_Protobuf_Compiler_CodeGeneratorResponse.File()
                file.name = registry + ".pb.swift"
                file.content = RegistryRenderer(name: registry).render(models)
                response.file.append(file)
            }
        } catch {
            response.error = error.description
            response.file = []
        }
        return response
    }

    /// `execbox/v1/session.proto` → `execbox/v1/session.pb.swift`.
    static func outputName(for protoPath: String) -> String {
        let stem = protoPath.hasSuffix(".proto") ? String(protoPath.dropLast(6)) : protoPath
        return stem + ".pb.swift"
    }
}
