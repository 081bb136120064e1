import ExecboxImages
import Testing

/// Archives in every header form a layer may use, read back entry by entry.
@Suite struct TarReaderTests {
    @Test(arguments: [1, 7, 512, 1 << 16])
    func entriesAndDataInAnyChunking(chunk: Int) throws {
        var tar = TarBuilder()
        tar.directory("./")
        tar.directory("./usr/")
        tar.file("./usr/hello.txt", "hello\n")
        tar.file("usr/big", String(repeating: "x", count: 5000), mode: 0o755)
        tar.symlink("usr/link", to: "/etc/passwd")
        tar.hardlink("usr/hard", to: "./usr/hello.txt")
        tar.entry("usr/pipe", type: "6")
        tar.end()
        let entries = try readAll(tar.bytes, chunk: chunk)
        #expect(
            entries.map(\.entry.path) == [".", "usr", "usr/hello.txt", "usr/big", "usr/link", "usr/hard", "usr/pipe"])
        #expect(entries.map(\.entry.kind) == [.directory, .directory, .file, .file, .symlink, .hardlink, .fifo])
        #expect(entries[2].data == Array("hello\n".utf8))
        #expect(entries[3].data.count == 5000 && entries[3].entry.mode == 0o755)
        #expect(entries[4].entry.linkTarget == "/etc/passwd")
        #expect(entries[5].entry.linkTarget == "usr/hello.txt")
        #expect(entries[2].entry.modificationTime == 1_700_000_000)
        #expect(entries[1].entry.size == 0 && entries[3].entry.size == 5000)
    }

    @Test func unreadDataIsSkipped() throws {
        var tar = TarBuilder()
        tar.file("a", String(repeating: "a", count: 3000))
        tar.file("b", "bee")
        tar.end()
        var reader = TarReader(read: reader(tar.bytes, chunk: 100))
        #expect(try reader.next()?.path == "a")
        var partial: [UInt8] = []
        #expect(try reader.readData(into: &partial, max: 10) == 10)
        let b = try #require(try reader.next())
        var data: [UInt8] = []
        while try reader.readData(into: &data, max: 2) > 0 {}
        #expect(b.path == "b" && data == Array("bee".utf8))
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
        #expect(reader.entriesRead == 2)
    }

    @Test func pathsAreNormalized() throws {
        var tar = TarBuilder()
        for name in ["/abs/olute", "./a//b/./c/", "trailing/", "/", "."] {
            tar.directory(name)
        }
        tar.end()
        #expect(try readAll(tar.bytes).map(\.entry.path) == ["abs/olute", "a/b/c", "trailing", ".", "."])
    }

    @Test func ustarPrefixAndStarAndOldGNU() throws {
        let directory = String(repeating: "d", count: 120)
        var tar = TarBuilder()
        tar.header(.init(name: Array("file.txt".utf8), size: 2, prefix: Array(directory.utf8)))
        tar.data(Array("hi".utf8))
        tar.file("gnu.txt", "gnu", magic: .gnu)
        tar.end()
        let entries = try readAll(tar.bytes)
        #expect(entries.map(\.entry.path) == ["\(directory)/file.txt", "gnu.txt"])
        #expect(entries.map(\.data) == [Array("hi".utf8), Array("gnu".utf8)])
    }

    @Test func gnuLongNameAndLongLink() throws {
        let long = (0..<30).map { "component\($0)" }.joined(separator: "/")
        var tar = TarBuilder()
        tar.gnuLong("L", long + "/file")
        tar.file(String(long.prefix(99)), "data", magic: .gnu)
        tar.gnuLong("L", long + "/link")
        tar.gnuLong("K", long + "/file")
        tar.header(
            .init(name: Array("ignored".utf8), type: UInt8(ascii: "1"), linkName: Array("ignored".utf8), magic: .gnu))
        tar.gnuLong("K", "/" + long)
        tar.symlink("sym", to: "ignored")
        tar.end()
        let entries = try readAll(tar.bytes)
        #expect(entries.map(\.entry.path) == [long + "/file", long + "/link", "sym"])
        #expect(entries[0].data == Array("data".utf8))
        #expect(entries[1].entry.kind == .hardlink && entries[1].entry.linkTarget == long + "/file")
        #expect(entries[2].entry.linkTarget == "/" + long)
    }

    @Test func paxOverridesAndIgnoresWhatItShould() throws {
        let long = String(repeating: "p", count: 200) + "/é"
        var tar = TarBuilder()
        tar.pax([("comment", "whatever"), ("GNU.volume", "x")], global: true)
        tar.pax([
            ("path", long), ("size", "3"), ("uid", "4000000000"), ("gid", "7"), ("mtime", "1700000001.123456789"),
            ("SCHILY.xattr.user.x", "y"), ("atime", "1.5"),
        ])
        tar.header(.init(name: Array("short".utf8), size: 3))
        tar.data(Array("abc".utf8))
        tar.pax([("linkpath", "target/" + long), ("path", "")])
        tar.symlink("link", to: "x")
        tar.pax([("mtime", "-5.25")])
        tar.file("old", "")
        tar.end()
        let entries = try readAll(tar.bytes)
        #expect(entries.map(\.entry.path) == [long, "link", "old"])
        #expect(entries[0].entry.uid == 4_000_000_000 && entries[0].entry.gid == 7)
        #expect(entries[0].entry.modificationTime == 1_700_000_001 && entries[0].data == Array("abc".utf8))
        #expect(entries[1].entry.linkTarget == "target/" + long)
        #expect(entries[2].entry.modificationTime == -5)
    }

    @Test func paxSizeBeyondOctalAndBase256Numbers() throws {
        var tar = TarBuilder()
        tar.header(.init(name: Array("b256".utf8), size: 4, uid: 1 << 22, base256Size: true))
        tar.data(Array("1234".utf8))
        tar.header(.init(name: Array("old".utf8), mtime: -1))
        tar.end()
        let entries = try readAll(tar.bytes)
        #expect(entries[0].data == Array("1234".utf8) && entries[0].entry.uid == 1 << 22)
        #expect(entries[1].entry.modificationTime == -1)
    }

    @Test func legacyFileTypesAndSignedChecksums() throws {
        var tar = TarBuilder()
        tar.header(.init(name: Array("nul-type".utf8), type: 0, size: 1))
        tar.data([0x41])
        tar.header(.init(name: Array("contiguous".utf8), type: UInt8(ascii: "7")))
        // A name with bytes ≥ 0x80, summed as signed bytes the way some old tars did.
        tar.header(.init(name: Array("é-signed".utf8), signedChecksum: true))
        // Mode with the file-type bits old tars included.
        tar.header(.init(name: Array("typed-mode".utf8), mode: 0o100644))
        tar.end()
        let entries = try readAll(tar.bytes)
        #expect(entries.map(\.entry.kind) == [.file, .file, .file, .file])
        #expect(entries[2].entry.path == "é-signed")
        #expect(entries[3].entry.mode == 0o644)
    }

    @Test func missingEndBlocksAreToleratedAfterACompleteEntry() throws {
        var tar = TarBuilder()
        tar.file("a", "abc")
        #expect(try readAll(tar.bytes).map(\.entry.path) == ["a"])
        // One zero block and then the end of the input.
        #expect(try readAll(tar.bytes + [UInt8](repeating: 0, count: 512)).map(\.entry.path) == ["a"])
        // Record padding after the end blocks.
        tar.end()
        #expect(try readAll(tar.bytes + [UInt8](repeating: 0, count: 9216)).count == 1)
    }

    @Test func whiteouts() throws {
        var tar = TarBuilder()
        tar.file("etc/.wh.motd")
        tar.file("var/cache/.wh..wh..opq")
        tar.file(".wh.top")
        tar.end()
        let entries = try readAll(tar.bytes).map(\.entry)
        #expect(entries.map(\.isWhiteout) == [true, true, true])
        #expect(entries.map(\.isOpaqueWhiteout) == [false, true, false])
        #expect(entries.map(\.whiteoutTarget) == ["etc/motd", nil, "top"])
    }

    @Test func gzipLayers() throws {
        var tar = TarBuilder()
        tar.directory("bin")
        tar.file("bin/tool", String(repeating: "t", count: 70_000), mode: 0o755)
        tar.end()
        let plain = try readAll(tar.bytes, compressed: true)
        let compressed = try readAll(gzip(tar.bytes), chunk: 333, compressed: true)
        #expect(plain.map(\.entry) == compressed.map(\.entry))
        #expect(compressed[1].data.count == 70_000)
        // Two gzip members, split anywhere (pigz and layer concatenation do this).
        let split = tar.bytes.count / 3
        let members = gzip(Array(tar.bytes[..<split])) + gzip(Array(tar.bytes[split...]))
        #expect(try readAll(members, chunk: 100, compressed: true).map(\.entry) == plain.map(\.entry))
    }

    @Test func theReadFunctionsErrorsArePassedOn() {
        struct DiskError: Error {}
        var reader = TarReader { _, _ in throw DiskError() }
        #expect {
            _ = try reader.next()
        } throws: { error in
            (error as? LayerError)?.code == .readFailed && (error as? LayerError)?.cause is DiskError
        }
        // It sticks.
        #expect(throws: LayerError.self) { _ = try reader.next() }
    }

    @Test func aReadFunctionReturningMoreThanAskedIsAnError() {
        var reader = TarReader { buffer, max in
            buffer += [UInt8](repeating: 0, count: max + 1)
            return max + 1
        }
        #expect(throws: LayerError.self) { _ = try reader.next() }
    }

    /// The default entry limit (500,000: a layer of a million entries is refused) is exclusive: one
    /// pass over the limit + 1 entries (256 MB, generated as it is read; about 5 s in a debug build)
    /// returns exactly the limit, then refuses the next.
    @Test func theDefaultEntryLimit() throws {
        var tar = TarBuilder()
        tar.file("f")
        let block = tar.bytes
        var served = 0
        var reader = TarReader { buffer, max in
            var given = 0
            while given + 512 <= max && served < LayerPolicy.default.maxEntries + 1 {
                buffer += block
                given += 512
                served += 1
            }
            return given
        }
        let error = try #require(throws: LayerError.self) {
            while try reader.next() != nil {}
        }
        #expect(error.code == .limitExceeded && error.message == "the layer has more than 500000 entries")
        #expect(reader.entriesRead == 500_000)
    }
}
