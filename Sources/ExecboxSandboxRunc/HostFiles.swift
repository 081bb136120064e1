import Glibc

/// Small reads of host files, done once at start-up.
enum HostFiles {
    static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count <= limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? result : nil }
            result.append(contentsOf: buffer[0..<count])
        }
        return nil
    }

    /// Writes `text` to an existing file (a sysctl under /proc/sys); false if it cannot.
    static func write(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    static func symlinks(in directory: String) -> [(name: String, target: String)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var result: [(String, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != "..", !name.contains("/") else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { raw in
                readlink("\(directory)/\(name)", raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
            }
            guard count > 0, count < buffer.count else { continue }
            result.append((name, String(decoding: buffer[0..<count], as: UTF8.self)))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// Names in a directory (without `.` and `..`), with whether each is a directory.
    static func entries(in directory: String) -> [(name: String, isDirectory: Bool)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var result: [(String, Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            result.append((name, entry.pointee.d_type == UInt8(DT_DIR)))
        }
        return result.sorted { $0.0 < $1.0 }
    }
}
