import ExecboxImages
import Testing

@Suite struct ImageReferenceTests {
    static let hex = "4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8"

    @Test func theForms() throws {
        let builtin = try ImageReference(parsing: "default")
        #expect(builtin.kind == .builtin && builtin.description == "default")

        let id = try ImageReference(parsing: "sha256:" + Self.hex)
        #expect(id.kind == .imageID && id.digest?.hex == Self.hex)

        let name = try ImageReference(parsing: "python")
        #expect(name.kind == .named && name.registry == nil && name.repository == "python" && name.tag == nil)
        #expect(name.canonicalName == "docker.io/library/python:latest")

        let tagged = try ImageReference(parsing: "python:3.12-slim")
        #expect(tagged.tag == "3.12-slim" && tagged.canonicalName == "docker.io/library/python:3.12-slim")

        let full = try ImageReference(parsing: "registry.example:5000/team/sub/tool:v1.2@sha256:" + Self.hex)
        #expect(full.registry == "registry.example:5000" && full.repository == "team/sub/tool")
        #expect(full.tag == "v1.2" && full.digest?.hex == Self.hex)
        #expect(full.description == "registry.example:5000/team/sub/tool:v1.2@sha256:" + Self.hex)
        #expect(full.canonicalName == full.description)

        let pinned = try ImageReference(parsing: "alpine@sha256:" + Self.hex)
        #expect(pinned.tag == nil && pinned.canonicalName == "docker.io/library/alpine@sha256:" + Self.hex)

        #expect(try ImageReference(parsing: "localhost/x").registry == "localhost")
        #expect(try ImageReference(parsing: "localhost:5000/x:y").registry == "localhost:5000")
        #expect(try ImageReference(parsing: "[::1]:5000/x").registry == "[::1]:5000")
        #expect(try ImageReference(parsing: "Example.COM/x").registry == "Example.COM")
        #expect(try ImageReference(parsing: "team/tool").registry == nil)
        #expect(try ImageReference(parsing: "x/a__b.c-d---e_f/g").repository == "x/a__b.c-d---e_f/g")
        // A first component with a dot is a registry, and a registry has no underscores.
        #expect(throws: ImageFormatError.self) { try ImageReference(parsing: "a_b.c/g") }
        #expect(
            try ImageReference(parsing: "index.docker.io/library/python").canonicalName
                == "docker.io/library/python:latest")
    }

    @Test func refusals() {
        let long = String(repeating: "a", count: 256)
        for bad in [
            "", "Python", "python:", ":tag", "python:-x", "python:.x", "python:" + String(repeating: "t", count: 129),
            "team//tool", "/tool", "tool/", "a_-b", "a___b", "-a", "a-", "a.", "a..b", "py thon", "python\n",
            "python@sha256:../../x", "python@md5:abc", "python@", "reg:abc/x", "reg:123456/x", "-reg.io/x", "reg..io/x",
            "UPPER/x/Y", "sha256:" + Self.hex.uppercased(), long, "x:" + String(repeating: "t", count: 600),
            "ünïcode", "a:b:c",
        ] {
            #expect(throws: ImageFormatError.self, "\(bad.debugDescription)") { try ImageReference(parsing: bad) }
        }
        #expect(throws: ImageFormatError.self) {
            try ImageReference(parsing: String(repeating: "a/", count: 300) + "a")
        }
    }

    @Test func storageNamesAreSafeAndIdentifyTheCanonicalName() throws {
        let names = try [
            "python", "python:latest", "docker.io/library/python:latest", "python:3.12", "[::1]:5000/x",
            "registry.example:5000/team/tool@sha256:" + Self.hex, "default", "sha256:" + Self.hex,
            String(repeating: "a", count: 200) + ":" + String(repeating: "T", count: 128),
        ].map(ImageReference.init(parsing:))
        for name in names {
            let file = name.storageName
            #expect(!file.hasPrefix(".") && !file.contains("/") && file.utf8.count <= 133, "\(file)")
            #expect(
                file.utf8.allSatisfy {
                    $0 < 0x80
                        && ($0 == 0x2D || $0 == 0x2E || $0 == 0x5F || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A)
                            || (0x30...0x39).contains($0))
                })
        }
        #expect(names[0].storageName == names[1].storageName && names[1].storageName == names[2].storageName)
        #expect(Set(names.map(\.storageName)).count == names.count - 2)
        // "a/b" and "a_b" read the same but are different images.
        #expect(try ImageReference(parsing: "a/b").storageName != ImageReference(parsing: "a_b").storageName)
    }
}
