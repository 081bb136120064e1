import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `~/.config/execbox/config.json` (or `$XDG_CONFIG_HOME/execbox/config.json`), written by
/// `execbox login` with mode 0600: the server URL, the API key and an optional CA file.
struct ConfigFile: Codable, Sendable, Equatable {
    var url: String?
    var apiKey: String?
    var caFile: String?

    enum CodingKeys: String, CodingKey {
        case url
        case apiKey = "api_key"
        case caFile = "ca_file"
    }

    static var path: String {
        let environment = ProcessInfo.processInfo.environment
        if let base = environment["XDG_CONFIG_HOME"], base.hasPrefix("/") {
            return base + "/execbox/config.json"
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.config/execbox/config.json"
    }

    /// The file's settings; empty when there is no file.
    static func load(from path: String = path) throws(CLIError) -> ConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) {
                throw CLIError("cannot read the config file \(path)", hint: "check its permissions")
            }
            return ConfigFile()
        }
        do {
            return try JSONDecoder().decode(ConfigFile.self, from: data)
        } catch {
            throw CLIError(
                "the config file \(path) is not valid JSON", hint: "fix it, or run `execbox login` to write it again")
        }
    }

    /// Writes the file atomically with mode 0600, in a directory created with mode 0700.
    func save(to path: String = path) throws(CLIError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError("cannot create the directory \(directory): \(error.localizedDescription)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(self) else { throw CLIError("cannot encode the configuration") }
        data.append(0x0A)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CLIError("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        // The mode is set explicitly: the umask could have narrowed it, never widened it.
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let ok = written == data.count && fchmod(fd, 0o600) == 0 && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CLIError("cannot write the config file \(path): \(reason)")
        }
    }
}
