import ExecboxImages
import Foundation
import Glibc

/// OCI image layouts made by the tests from a busybox root (Debian's busybox-static), with the
/// layer tarred by GNU tar: what an operator's `execbox-server images import` would read.
enum TestImages {
    struct Config {
        var entrypoint: [String]? = nil
        var cmd: [String]? = nil
        var env: [String]? = nil
        var workingDir: String? = nil
        var user: String? = nil
    }

    static let busybox = "/bin/busybox"
    static var hasBusybox: Bool { access(busybox, X_OK) == 0 }

    /// A busybox root: `sh` and friends, `/etc/passwd` with root and `app` (1000), `/app/greeting`.
    static func busyboxRoot(at root: String) throws {
        for directory in ["bin", "etc", "app", "root"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: busybox, toPath: "\(root)/bin/busybox")
        for command in ["sh", "ls", "cat", "echo", "id", "pwd", "env", "mkdir", "rm", "touch", "stat", "sleep", "true"]
        {
            symlink("busybox", "\(root)/bin/\(command)")
        }
        try "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n".write(
            toFile: "\(root)/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\napp:x:1000:\n".write(toFile: "\(root)/etc/group", atomically: false, encoding: .utf8)
        try "hello\n".write(toFile: "\(root)/app/greeting", atomically: false, encoding: .utf8)
    }

    /// An OCI layout at `layout` with one layer per directory in `layers` (bottom first), each
    /// tarred by GNU tar (`--numeric-owner`, gzip when `gzip`), and `config`.
    static func layout(at layout: String, layers: [String], config: Config, gzip: Bool = true) throws {
        let blobs = "\(layout)/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        var layerDescriptors: [[String: Any]] = []
        var diffIDs: [String] = []
        for (index, directory) in layers.enumerated() {
            let tar = "\(layout)/layer\(index).tar"
            try run(["/usr/bin/tar", "--numeric-owner", "-C", directory, "-cf", tar, "."])
            let plain = try Array(Data(contentsOf: URL(fileURLWithPath: tar)))
            diffIDs.append(Digest.sha256(plain).description)
            var blob = plain
            if gzip {
                try run(["/usr/bin/gzip", "-n", "-f", tar])
                blob = try Array(Data(contentsOf: URL(fileURLWithPath: tar + ".gz")))
            }
            let digest = Digest.sha256(blob)
            try Data(blob).write(to: URL(fileURLWithPath: "\(blobs)/\(digest.hex)"))
            layerDescriptors.append([
                "mediaType": gzip
                    ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
                "digest": digest.description, "size": blob.count,
            ])
        }
        var settings: [String: Any] = [:]
        if let value = config.entrypoint { settings["Entrypoint"] = value }
        if let value = config.cmd { settings["Cmd"] = value }
        if let value = config.env { settings["Env"] = value }
        if let value = config.workingDir { settings["WorkingDir"] = value }
        if let value = config.user { settings["User"] = value }
        let configDigest = try writeBlob(
            blobs,
            [
                "architecture": "amd64", "os": "linux", "config": settings,
                "rootfs": ["type": "layers", "diff_ids": diffIDs],
            ])
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": [
                "mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest.digest.description,
                "size": configDigest.size,
            ],
            "layers": layerDescriptors,
        ]
        let manifestDigest = try writeBlob(blobs, manifest)
        let index: [String: Any] = [
            "schemaVersion": 2,
            "manifests": [
                [
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifestDigest.digest.description, "size": manifestDigest.size,
                ]
            ],
        ]
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: "\(layout)/index.json"))
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: "\(layout)/oci-layout", atomically: false, encoding: .utf8)
    }

    private static func writeBlob(_ blobs: String, _ object: [String: Any]) throws -> (digest: Digest, size: Int) {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let digest = Digest.sha256(Array(data))
        try data.write(to: URL(fileURLWithPath: "\(blobs)/\(digest.hex)"))
        return (digest, data.count)
    }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(arguments) failed"])
        }
    }

    static func temporaryDirectory() throws -> String {
        let path = "/var/tmp/execbox-test-images-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
