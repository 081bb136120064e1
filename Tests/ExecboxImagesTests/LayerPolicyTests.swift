import ExecboxImages
import Testing

/// Every rule of the layer policy, each by an archive that only that rule refuses (TESTPLAN 35).
@Suite struct LayerPolicyTests {
    /// The error an archive of these entries (and the end blocks) throws.
    func refusal(policy: LayerPolicy = .default, _ build: (inout TarBuilder) -> Void) -> LayerError? {
        var tar = TarBuilder()
        build(&tar)
        tar.end()
        return layerError(tar.bytes, policy: policy)
    }

    func accepted(policy: LayerPolicy = .default, _ build: (inout TarBuilder) -> Void) -> Bool {
        refusal(policy: policy, build) == nil
    }

    @Test func devNullAsASymlinkIsRefused() throws {
        let error = try #require(refusal { $0.symlink("dev/null", to: "/proc/sys/kernel/core_pattern") })
        #expect(error.code == .refused && error.path == "dev/null")
        #expect(
            error.description
                == #"layer entry "dev/null": entries under dev/ are not allowed (the runtime provides it)"#)
        #expect(refusal { $0.symlink("dev/console", to: "/x") }?.path == "dev/console")
        #expect(refusal { $0.file("proc/self/x") }?.code == .refused)
        #expect(refusal { $0.directory("sys/fs/") }?.code == .refused)
        #expect(
            accepted {
                $0.directory("dev"); $0.directory("proc/"); $0.directory("./sys")
            })
        #expect(
            accepted {
                $0.file("device/x"); $0.file("devices")
            })
    }

    @Test(arguments: ["tmp", "workspace", "run", "dev", "proc", "sys"])
    func mountPointsMustBeDirectories(path: String) throws {
        let symlink = try #require(refusal { $0.symlink(path, to: "/etc") })
        #expect(symlink.code == .refused && symlink.path == path)
        #expect(symlink.message.contains("mounts a directory here"))
        #expect(refusal { $0.file(path) } != nil)
        #expect(
            refusal {
                $0.file("x"); $0.hardlink(path, to: "x")
            } != nil)
        #expect(accepted { $0.directory(path, mode: 0o1777) })
    }

    @Test(arguments: ["etc/hosts", "etc/hostname", "etc/resolv.conf"])
    func fileMountPointsMustBeRegularFiles(path: String) throws {
        #expect(refusal { $0.symlink(path, to: "/proc/self/mem") }?.path == path)
        #expect(refusal { $0.directory(path) }?.path == path)
        #expect(
            refusal {
                $0.file("x"); $0.hardlink(path, to: "x")
            }?.path == path)
        #expect(accepted { $0.file(path, "127.0.0.1 localhost\n") })
    }

    @Test func ancestorsOfMountPointsMustBeDirectories() throws {
        let error = try #require(refusal { $0.symlink("etc", to: "/tmp/evil") })
        #expect(error.path == "etc" && error.message.contains("etc/hosts"))
        #expect(refusal { $0.file("etc") } != nil)
        #expect(
            accepted {
                $0.directory("etc"); $0.symlink("etc/passwd", to: "/x"); $0.symlink("var", to: "/x")
            })
        #expect(LayerPolicy.mountPoints.contains("etc/resolv.conf"))
    }

    @Test func deviceNodesAreRefused() throws {
        let char = try #require(refusal { $0.entry("dev/null", type: "3") })
        #expect(char.description == #"layer entry "dev/null": device nodes are not allowed"#)
        #expect(refusal { $0.entry("usr/sda", type: "4") }?.message == "device nodes are not allowed")
    }

    @Test func setuidAndSetgidFilesAreRefusedUnlessAllowed() throws {
        let setuid = try #require(refusal { $0.file("usr/bin/su", "elf", mode: 0o4755) })
        #expect(setuid.code == .refused && setuid.path == "usr/bin/su")
        #expect(refusal { $0.file("usr/bin/wall", "elf", mode: 0o2755) }?.path == "usr/bin/wall")
        #expect(
            refusal {
                $0.header(
                    .init(name: Array("h".utf8), type: UInt8(ascii: "1"), mode: 0o4755, linkName: Array("x".utf8)))
            } != nil)
        let allowed = LayerPolicy(allowSetuid: true)
        var tar = TarBuilder()
        tar.file("usr/bin/su", "elf", mode: 0o4755)
        tar.end()
        #expect(try readAll(tar.bytes, policy: allowed)[0].entry.mode == 0o4755)
        // Directories may be setgid (Debian's /var/mail is 2775), and sticky bits are fine.
        #expect(
            accepted {
                $0.directory("var/mail", mode: 0o2775); $0.file("sticky", mode: 0o1755)
            })
    }

    @Test func aTenGiBFileIsRefusedByItsHeaderAlone() throws {
        // Header only: the archive ends right after it, so reaching its data would be a truncation.
        var tar = TarBuilder()
        tar.header(.init(name: Array("huge".utf8), size: 10 << 30))
        let perFile = try #require(layerError(tar.bytes))
        #expect(perFile.code == .limitExceeded && perFile.path == "huge")
        #expect(perFile.message.contains("4294967296-byte limit"))
        let total = try #require(layerError(tar.bytes, policy: LayerPolicy(maxFileBytes: 16 << 30)))
        #expect(total.code == .limitExceeded && total.message.contains("8589934592 bytes in all"))
        // The total is the sum: two files under the per-file limit but over the total.
        var two = TarBuilder()
        two.header(.init(name: Array("a".utf8), size: 600))
        two.data([UInt8](repeating: 1, count: 600))
        two.header(.init(name: Array("b".utf8), size: 500))
        #expect(layerError(two.bytes, policy: LayerPolicy(maxTotalBytes: 1000, maxFileBytes: 800))?.path == "b")
    }

    @Test func metadataCountsTowardTheTotal() throws {
        let policy = LayerPolicy(maxTotalBytes: 2500)
        let comment = ("comment", String(repeating: "c", count: 1000))
        #expect(
            accepted(policy: policy) {
                $0.pax([comment], global: true); $0.pax([comment], global: true)
            })
        let error = try #require(refusal(policy: policy) { for _ in 0..<3 { $0.pax([comment], global: true) } })
        #expect(error.code == .limitExceeded && error.message.contains("metadata"))
        #expect(
            refusal(policy: policy) {
                $0.pax([comment]); $0.file("f", String(repeating: "f", count: 1600))
            } != nil)
    }

    @Test func tooManyEntries() throws {
        let policy = LayerPolicy(maxEntries: 3)
        #expect(accepted(policy: policy) { for name in ["a", "b", "c"] { $0.file(name) } })
        let error = try #require(refusal(policy: policy) { for name in ["a", "b", "c", "d"] { $0.file(name) } })
        #expect(error.code == .limitExceeded && error.path == "d")
    }

    @Test func dotDotComponentsAreRefused() throws {
        let error = try #require(refusal { $0.file("../etc/passwd", "root::0:0::/:/bin/sh\n") })
        #expect(error.code == .refused && error.message.contains(#"".." component"#))
        #expect(refusal { $0.file("a/../../b") } != nil)
        #expect(refusal { $0.directory("a/..") } != nil)
        #expect(
            refusal {
                $0.pax([("path", "x/../../../y")]); $0.file("ok")
            } != nil)
        #expect(accepted { $0.file("a..b/..c") })
    }

    @Test func escapingHardlinksAreRefused() throws {
        let error = try #require(
            refusal {
                $0.file("x"); $0.hardlink("h", to: "../../x")
            })
        #expect(error.path == "h" && error.message.contains(".."))
        #expect(refusal { $0.hardlink("h", to: "/etc/shadow") }?.message == "the hardlink's target is absolute")
        #expect(refusal { $0.hardlink("h", to: "dev/kmsg") }?.path == "h")
        #expect(refusal { $0.hardlink("h", to: "./") } != nil)
        #expect(refusal { $0.hardlink("h", to: "") } != nil)
        // Symlinks may point anywhere: they resolve inside the container's root.
        #expect(
            accepted {
                $0.symlink("a", to: "../../../../etc/shadow"); $0.symlink("b", to: "/proc/1/root")
            })
        #expect(refusal { $0.symlink("c", to: "") } != nil)
    }

    @Test func badChecksumsAndTruncationsAreRefused() throws {
        var bad = TarBuilder()
        bad.header(.init(name: Array("a".utf8), checksumDelta: 1))
        bad.end()
        #expect(layerError(bad.bytes)?.message.contains("checksum") == true)

        var tar = TarBuilder()
        tar.file("a", String(repeating: "a", count: 2000))
        tar.file("b", "b")
        tar.end()
        // Inside a header, inside data, inside padding, and with nothing at all.
        for cut in [100, 512 + 1000, 512 + 2047, 512 + 2048 + 300] {
            let error = try #require(layerError(Array(tar.bytes.prefix(cut))), "cut at \(cut)")
            #expect(error.code == .malformed && error.message.contains("truncated"))
        }
        #expect(layerError([])?.code == .malformed)
        #expect(layerError([UInt8](repeating: 0, count: 1024)) == nil)
        // An end block with no entry before it is fine; a lone zero block with nothing is not.
        #expect(layerError([UInt8](repeating: 0, count: 512))?.code == .malformed)
    }

    @Test func metadataWithoutItsEntryIsTruncation() throws {
        #expect(refusal { $0.gnuLong("L", "name") }?.message == "the archive ends after a metadata header")
        var tar = TarBuilder()
        tar.pax([("path", "x")])
        #expect(layerError(tar.bytes)?.code == .malformed)
    }

    @Test func zeroBlocksOnlyEndTheArchive() throws {
        var tar = TarBuilder()
        tar.file("a")
        tar.data([UInt8](repeating: 0, count: 512))
        tar.file("b")
        tar.end()
        #expect(layerError(tar.bytes)?.message.contains("zero block") == true)
        var trailing = TarBuilder()
        trailing.file("a")
        trailing.end()
        #expect(layerError(trailing.bytes + Array("junk".utf8))?.message == "data follows the end-of-archive blocks")
        #expect(layerError(trailing.bytes + [UInt8](repeating: 0, count: 2 << 20)) != nil)
    }

    @Test func gzipLayersAndTruncatedGzip() throws {
        var tar = TarBuilder()
        tar.file("a", String(repeating: "abc", count: 10_000))
        tar.end()
        let compressed = gzip(tar.bytes)
        #expect(layerError(compressed, compressed: true) == nil)
        let cut = try #require(layerError(Array(compressed.dropLast(30)), compressed: true))
        #expect(cut.code == .malformed && cut.message.contains("truncated"))
        // Cut in the trailer only: the tar is whole, the gzip stream is not.
        let trailer = try #require(layerError(Array(compressed.dropLast(4)), compressed: true))
        #expect(trailer.message == "the compressed stream is truncated")
        // The uncompressed reader does not inflate.
        #expect(layerError(compressed) != nil)
    }

    @Test func otherCompressionsAreRecognizedAndRefused() {
        let zstd: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]
        #expect(layerError(zstd, compressed: true)?.message == "zstd layers are not supported")
        let xz: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00, 0x04, 0xE6, 0xD6, 0xB4]
        #expect(layerError(xz, compressed: true)?.message == "xz layers are not supported")
        let bzip2 = Array("BZh91AY&SY".utf8) + [0, 0]
        #expect(layerError(bzip2, compressed: true)?.message == "bzip2 layers are not supported")
        // A plain tar whose first name starts with "BZh" is still a tar.
        var tar = TarBuilder()
        tar.file("BZh9-notes")
        tar.end()
        #expect(layerError(tar.bytes, compressed: true) == nil)
    }

    @Test func whiteoutRules() throws {
        #expect(refusal { $0.file(".wh.") }?.message == "a whiteout must name what it deletes")
        #expect(refusal { $0.file("a/.wh..") } != nil)
        #expect(refusal { $0.file("a/.wh...") } != nil)
        #expect(refusal { $0.file(".wh.x", "not empty") }?.message == "a whiteout must be an empty regular file")
        #expect(refusal { $0.directory(".wh.x") } != nil)
        #expect(refusal { $0.symlink("a/.wh..wh..opq", to: "/") } != nil)
        #expect(refusal { $0.file("a/.wh..wh..opq", "x") } != nil)
        #expect(refusal { $0.file("a/.wh..wh.plnk") }?.message.contains("reserved") == true)
        #expect(
            accepted {
                $0.file("a/.wh..wh..opq"); $0.file("a/.wh.b")
            })
    }

    @Test func pathRules() throws {
        #expect(refusal { $0.file("") }?.message == "the path is empty")
        #expect(
            refusal {
                $0.pax([("path", "a\u{0}b")]); $0.file("x")
            }?.message == "the path contains a NUL byte")
        #expect(refusal { $0.header(.init(name: [0x61, 0xFF, 0xFE])) }?.message == "the path is not valid UTF-8")
        #expect(refusal { $0.symlink("s", to: "\u{FF}") } == nil)
        #expect(refusal { $0.header(.init(name: Array("s".utf8), type: UInt8(ascii: "2"), linkName: [0xC3])) } != nil)
        let component = String(repeating: "c", count: 256)
        #expect(
            refusal {
                $0.pax([("path", component)]); $0.file("x")
            }?.code == .limitExceeded)
        #expect(
            accepted {
                $0.pax([("path", String(component.dropFirst()))]); $0.file("x")
            })
        let long = Array(repeating: String(repeating: "p", count: 200), count: 21).joined(separator: "/")
        #expect(
            refusal {
                $0.pax([("path", long)]); $0.file("x")
            }?.code == .limitExceeded)
        #expect(
            refusal {
                $0.gnuLong("L", long + long); $0.file("x")
            }?.code == .limitExceeded)
        #expect(
            refusal {
                $0.symlink("s", to: "/"); $0.pax([("linkpath", long)]); $0.symlink("t", to: "x")
            } != nil)
        #expect(refusal(policy: LayerPolicy(maxPathBytes: 10)) { $0.file("0123456789a") }?.code == .limitExceeded)
    }

    @Test func theRootMustBeADirectory() {
        #expect(refusal { $0.symlink("./", to: "/") }?.message == "the root must be a directory")
        #expect(refusal { $0.file("/") } != nil)
    }

    @Test func unsupportedEntryTypes() throws {
        let sparse = try #require(refusal { $0.entry("holes", type: "S", size: 0) })
        #expect(sparse.code == .unsupported && sparse.message == "sparse files are not supported")
        #expect(
            refusal {
                $0.pax([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0")]); $0.file("holes")
            }?.path == "holes")
        #expect(refusal { $0.entry("label", type: "V") }?.message == "entry type 'V' is not supported")
        #expect(refusal { $0.entry("dump", type: "D") }?.code == .unsupported)
        #expect(
            refusal { $0.header(.init(name: Array("x".utf8), type: 0x01)) }?.message == "entry type 1 is not supported")
    }

    @Test func onlyRegularFilesHaveData() {
        #expect(
            refusal {
                $0.header(.init(name: Array("d".utf8), type: UInt8(ascii: "5"), size: 512));
                $0.data([UInt8](repeating: 0, count: 512))
            }?.message == "only regular files may have data")
    }

    @Test func paxRecordsAreValidated() throws {
        for raw in ["12 path=ab\n", "9 path=ab\n", "x path=a\n", "10 path=ab", "07 =abcd\n", "6 pat\n", " path=a\n"] {
            var tar = TarBuilder()
            tar.paxRaw(Array(raw.utf8))
            tar.file("x")
            tar.end()
            #expect(layerError(tar.bytes)?.code == .malformed, "\(raw.debugDescription)")
        }
        #expect(
            refusal {
                $0.pax([("size", "-1")]); $0.file("x")
            }?.code == .malformed)
        #expect(
            refusal {
                $0.pax([("uid", "1e3")]); $0.file("x")
            }?.code == .malformed)
        #expect(
            refusal {
                $0.pax([("mtime", "1.")]); $0.file("x")
            }?.code == .malformed)
        #expect(
            refusal {
                $0.pax([("uid", "4294967296")]); $0.file("x")
            }?.code == .malformed)
        // Bounded: a 1 MiB + 1 header is refused before it is read.
        var huge = TarBuilder()
        huge.header(.init(name: Array("h".utf8), type: UInt8(ascii: "x"), size: (1 << 20) + 1))
        #expect(layerError(huge.bytes)?.code == .limitExceeded)
        var global = TarBuilder()
        global.header(.init(name: Array("g".utf8), type: UInt8(ascii: "g"), size: (1 << 20) + 1))
        #expect(layerError(global.bytes)?.code == .limitExceeded)
        // The pax header's own path does not count: only the entry's.
        #expect(
            accepted {
                $0.pax([("path", "ok")]); $0.file("../ignored")
            })
    }

    @Test func ownersOutOfRange() {
        #expect(
            refusal { $0.header(.init(name: Array("n".utf8), uid: -1)) }?.message
                == "the owner's uid or gid is out of range")
    }
}
