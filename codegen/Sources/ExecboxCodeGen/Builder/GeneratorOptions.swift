/// What `protoc --execbox_opt=…` passes: comma-separated `Key=Value` pairs.
///
/// - `Prefix.<package>=<P>`: Swift type names in `<package>` start with `P` (may be empty);
///   the default is the package's components in UpperCamelCase joined by `_` (`Google_Protobuf_`).
/// - `Module.<file.proto>=<Module>`: types of that file live in another Swift module, which a
///   generated file imports when it uses them (repeatable).
/// - `Registry=<Name>`: also write `<Name>.pb.swift`, listing every message type generated in
///   the run (for tools that pick a type by its `.proto` name) and every file's descriptor (for
///   server reflection).
package struct GeneratorOptions: Hashable, Sendable {
    package var registry: String?
    package var prefixes: [String: String] = [:]
    package var modules: [String: String] = [:]

    package init() {}

    package init(parameter: String) throws(GeneratorError) {
        for item in parameter.split(separator: ",") where !item.isEmpty {
            guard let equals = item.firstIndex(of: "=") else {
                throw .badParameter(String(item))
            }
            let key = item[..<equals].trimmingSpaces
            let value = item[item.index(after: equals)...].trimmingSpaces
            if key.hasPrefix("Prefix.") {
                prefixes[String(key.dropFirst("Prefix.".count))] = value
            } else if key == "Registry" {
                registry = value
            } else if key.hasPrefix("Module.") {
                modules[String(key.dropFirst("Module.".count))] = value
            } else {
                throw .badParameter(String(item))
            }
        }
    }

    /// The Swift prefix of the top-level types of `package`.
    package func prefix(forPackage package: String) -> String {
        if let prefix = prefixes[package] { return prefix }
        guard !package.isEmpty else { return "" }
        return package.split(separator: ".").map { SwiftNaming.upperCamel(String($0)) }.joined(separator: "_") + "_"
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
