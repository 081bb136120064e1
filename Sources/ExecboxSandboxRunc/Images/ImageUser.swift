import ExecboxSandbox
import Glibc

/// An OCI image's `User` (`uid`, `uid:gid`, `name`, `name:group`) as the ids a sandbox's processes
/// run with. Names are looked up in the image's own `/etc/passwd` and `/etc/group` (the topmost
/// layer that has the file), never the host's. A user outside the sandbox's id range, or a name the
/// image does not define, is an invalid argument.
enum ImageUser {
    static func resolve(_ user: String, layers: [String]) throws(SandboxError) -> OCIConfig.User {
        guard !user.isEmpty else { return OCIConfig.User(uid: 0, gid: 0) }
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let passwd = database("etc/passwd", layers: layers)
        var uid: UInt32
        var gid: UInt32 = 0
        if let number = UInt32(parts[0]) {
            uid = number
            if let entry = passwd.first(where: { $0.count > 3 && UInt32($0[2]) == number }),
                let group = UInt32(entry[3])
            {
                gid = group
            }
        } else if let entry = passwd.first(where: { $0.count > 3 && $0[0] == parts[0] }),
            let number = UInt32(entry[2]), let group = UInt32(entry[3])
        {
            uid = number
            gid = group
        } else {
            throw .invalidArgument("the image's user \"\(parts[0].prefix(64))\" is not in its /etc/passwd")
        }
        if parts.count == 2 {
            if let number = UInt32(parts[1]) {
                gid = number
            } else if let entry = database("etc/group", layers: layers).first(where: {
                $0.count > 2 && $0[0] == parts[1]
            }),
                let number = UInt32(entry[2])
            {
                gid = number
            } else {
                throw .invalidArgument("the image's group \"\(parts[1].prefix(64))\" is not in its /etc/group")
            }
        }
        guard uid < OCIConfigBuilder.idRangeSize, gid < OCIConfigBuilder.idRangeSize else {
            throw .invalidArgument("the image's user \(uid):\(gid) is outside the sandbox's id range")
        }
        return OCIConfig.User(uid: uid, gid: gid)
    }

    /// The colon-separated lines of `relative` in the topmost layer that has it as a regular file.
    static func database(_ relative: String, layers: [String]) -> [[String]] {
        for layer in layers.reversed() {
            var status = stat()
            let path = "\(layer)/\(relative)"
            guard lstat(path, &status) == 0 else { continue }
            guard status.st_mode & S_IFMT == S_IFREG, let bytes = HostFiles.read(path, limit: 4 << 20) else {
                return []
            }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map {
                $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            }
        }
        return []
    }
}
