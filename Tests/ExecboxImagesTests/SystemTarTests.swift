import ExecboxImages
import Foundation
import Testing

/// Archives written by GNU tar (`/usr/bin/tar`) in its GNU and pax formats, plain and gzip, read
/// back: long paths, a symlink, a hardlink, modes, directories.
@Suite struct SystemTarTests {
    static let longDirectory = (1...12).map { "directory-number-\($0)" }.joined(separator: "/")

    /// A tree in a fresh temporary directory.
    static func makeTree() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("execbox-tar-\(UUID().uuidString)")
        let files = FileManager.default
        try files.createDirectory(at: root.appendingPathComponent(longDirectory), withIntermediateDirectories: true)
        try Data("deep\n".utf8).write(to: root.appendingPathComponent(longDirectory + "/file-with-a-long-name.txt"))
        try Data("original\n".utf8).write(to: root.appendingPathComponent("original.txt"))
        try files.setAttributes(
            [.posixPermissions: 0o750], ofItemAtPath: root.appendingPathComponent("original.txt").path)
        try files.linkItem(
            at: root.appendingPathComponent("original.txt"), to: root.appendingPathComponent("hardlink.txt"))
        try files.createSymbolicLink(
            atPath: root.appendingPathComponent("symlink").path, withDestinationPath: "original.txt")
        try files.createSymbolicLink(
            atPath: root.appendingPathComponent("longlink").path,
            withDestinationPath: "/" + longDirectory + "/file-with-a-long-name.txt")
        return root
    }

    static func tar(_ arguments: [String], in root: URL) throws -> [UInt8] {
        let output = root.deletingLastPathComponent().appendingPathComponent(root.lastPathComponent + ".tar")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        process.arguments = arguments + ["--sort=name", "-f", output.path, "-C", root.path, "."]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return Array(try Data(contentsOf: output))
    }

    @Test(arguments: [
        ["--format=gnu", "-c"], ["--format=pax", "-c"], ["--format=gnu", "-cz"], ["--format=pax", "-cz"],
    ])
    func gnuTarArchives(arguments: [String]) throws {
        let root = try Self.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = try Self.tar(arguments, in: root)
        let entries = try readAll(archive, chunk: 4096, compressed: true)
        var byPath: [String: (entry: TarEntry, data: [UInt8])] = [:]
        for entry in entries { byPath[entry.entry.path] = entry }
        let deep = Self.longDirectory + "/file-with-a-long-name.txt"
        #expect(deep.utf8.count > 100)
        #expect(byPath["."]?.entry.kind == .directory)
        #expect(byPath["directory-number-1"]?.entry.kind == .directory)
        #expect(byPath[deep]?.data == Array("deep\n".utf8))
        // --sort=name puts hardlink.txt first: it holds the data, original.txt links to it.
        #expect(byPath["hardlink.txt"]?.entry.kind == .file && byPath["hardlink.txt"]?.entry.mode == 0o750)
        #expect(byPath["hardlink.txt"]?.data == Array("original\n".utf8))
        #expect(
            byPath["original.txt"]?.entry.kind == .hardlink
                && byPath["original.txt"]?.entry.linkTarget == "hardlink.txt")
        #expect(byPath["symlink"]?.entry.kind == .symlink && byPath["symlink"]?.entry.linkTarget == "original.txt")
        #expect(byPath["longlink"]?.entry.linkTarget == "/" + deep)
        #expect(entries.count == 12 + 1 + 5)
        #expect(entries.allSatisfy { $0.entry.uid == getuid() })
    }

    /// The fuzz target's seeds, written by Python's tarfile (GNU, pax and ustar, one gzip), are
    /// valid layers: the fuzzer starts from archives that reach every stage.
    @Test func fuzzSeedsAreValidLayers() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../FuzzTesting/Corpus/FuzzTarReader").standardized
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasPrefix("seed-") }
        #expect(seeds.count >= 4)
        for seed in seeds {
            let bytes = Array(try Data(contentsOf: corpus.appendingPathComponent(seed)))
            // The first byte picks the fuzz target's path; 1 is through gzip, the others are tars.
            let entries = try readAll(Array(bytes.dropFirst()), compressed: bytes.first == 1)
            #expect(!entries.isEmpty, "\(seed)")
        }
    }
}
