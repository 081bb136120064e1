/// Validation of environment variables shared by sandbox and exec specs.
enum EnvironmentCheck {
    static let maxCount = 1024
    static let maxTotalBytes = 256 << 10

    static func validate(_ environment: [String: String]) throws(SandboxError) {
        guard environment.count <= maxCount else {
            throw .invalidArgument("at most \(maxCount) environment variables are allowed")
        }
        var total = 0
        for (name, value) in environment {
            let bytes = Array(name.utf8)
            guard let first = bytes.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
                bytes.allSatisfy(isNameByte)
            else {
                // The name may be shown; the value never is.
                throw .invalidArgument("invalid environment variable name")
            }
            guard !value.utf8.contains(0) else {
                throw .invalidArgument("environment variable \(name) contains a NUL byte")
            }
            total += bytes.count + value.utf8.count + 2
        }
        guard total <= maxTotalBytes else { throw .invalidArgument("environment is larger than 256 KiB") }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }
}
