internal import ExecboxDescriptors

/// The comments protoc keeps in SourceCodeInfo, looked up by descriptor path.
struct Comments {
    private var byPath: [[Int32]: String] = [:]

    init(_ info: Google_Protobuf_SourceCodeInfo?) {
        for location in info?.location ?? [] {
            let text = [location.leadingComments, location.trailingComments]
                .compactMap { $0 }
                .joined(separator: "\n")
            if !text.isEmpty { byPath[location.path] = text }
        }
    }

    subscript(path: [Int32]) -> String {
        byPath[path] ?? ""
    }
}
