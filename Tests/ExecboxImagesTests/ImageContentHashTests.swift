import ExecboxImages
import Testing

/// The legacy content hash (CONTRACT §8.6) against its published vectors.
@Suite struct ImageContentHashTests {
    @Test func legacyVectors() {
        let pip = ImageContentHash(baseImage: "python:3.12", setup: ["pip install requests"], files: [])
        #expect(pip.legacyHash == "ddd87a64371229b3")
        let file = ImageContentHash(baseImage: "python:3.12", setup: [], files: [("/app/main.py", "print('hi')\n")])
        #expect(file.legacyHash == "6722976340c6efda")
        let both = ImageContentHash(
            baseImage: "alpine:3.19", setup: ["apk add curl", "echo ok"], files: [("/b.txt", "B"), ("/a.txt", "A")])
        #expect(both.legacyHash == "f4b55e9f771fdb28")
    }

    @Test func idIsTheWholeDigest() {
        let hash = ImageContentHash(baseImage: "python:3.12", setup: ["pip install requests"], files: [])
        #expect(hash.digest.count == 32)
        #expect(hash.id.hasPrefix("sha256:ddd87a64371229b3"))
        #expect(ImageContentHash.isValidID(hash.id))
        #expect(ImageContentHash.isValidLegacyHash(hash.legacyHash))
    }

    @Test func filesAreSortedBytewiseAndSeparated() {
        let sorted = ImageContentHash(baseImage: "b", setup: [], files: [("/a", "1"), ("/b", "2")])
        let reversed = ImageContentHash(baseImage: "b", setup: [], files: [("/b", "2"), ("/a", "1")])
        #expect(sorted == reversed)
        // Byte-wise: "/Z" (0x5A) sorts before "/a" (0x61), and "é" after both.
        let mixed = ImageContentHash(baseImage: "b", setup: [], files: [("/é", "3"), ("/a", "1"), ("/Z", "2")])
        let ordered = ImageContentHash(baseImage: "b", setup: [], files: [("/Z", "2"), ("/a", "1"), ("/é", "3")])
        #expect(mixed == ordered)
        // The separators keep "ab" + "c" apart from "a" + "bc", and setup order matters.
        #expect(
            ImageContentHash(baseImage: "x", setup: ["ab", "c"], files: [])
                != ImageContentHash(baseImage: "x", setup: ["a", "bc"], files: []))
        #expect(
            ImageContentHash(baseImage: "x", setup: ["a", "b"], files: [])
                != ImageContentHash(baseImage: "x", setup: ["b", "a"], files: []))
    }

    @Test func validators() {
        #expect(!ImageContentHash.isValidID("sha256:" + String(repeating: "A", count: 64)))
        #expect(!ImageContentHash.isValidID("sha256:" + String(repeating: "a", count: 63)))
        #expect(!ImageContentHash.isValidID("sha512:" + String(repeating: "a", count: 64)))
        #expect(ImageContentHash.isValidID("sha256:" + String(repeating: "0", count: 64)))
        #expect(ImageContentHash.isValidLegacyHash("0123456789abcdef"))
        #expect(!ImageContentHash.isValidLegacyHash("0123456789ABCDEF"))
        #expect(!ImageContentHash.isValidLegacyHash("0123456789abcde"))
        #expect(!ImageContentHash.isValidLegacyHash("0123456789abcdeg"))
    }
}
