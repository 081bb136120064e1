import ExecboxImages
import Foundation
import Testing

@Suite struct OCIImageLayoutTests {
    static let layerHex = "4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8"
    static let configHex = "b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"

    @Test func decodesIndexManifestAndConfig() throws {
        let index = try OCIImageLayout.decode(
            OCIIndex.self,
            from: Array(
                """
                {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": "sha256:\(Self.configHex)", "size": 1024,
                   "annotations": {"org.opencontainers.image.ref.name": "3.19"},
                   "platform": {"architecture": "amd64", "os": "linux"}}]}
                """.utf8),
            name: "index.json")
        #expect(index.manifests.count == 1)
        #expect(index.manifests[0].referenceName == "3.19")
        #expect(index.manifests[0].platform == OCIPlatform(architecture: "amd64", os: "linux"))
        #expect(OCIMediaType.manifests.contains(index.manifests[0].mediaType))

        let manifest = try OCIImageLayout.decode(
            OCIManifest.self,
            from: Array(
                """
                {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:\(Self.configHex)", "size": 581},
                 "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": "sha256:\(Self.layerHex)", "size": 3408729}]}
                """.utf8),
            name: "manifest")
        #expect(manifest.layers.map(\.size) == [3_408_729])
        #expect(manifest.layers[0].digest.hex == Self.layerHex)
        #expect(OCIImageLayout.blobPath(manifest.config.digest) == "blobs/sha256/\(Self.configHex)")

        let config = try OCIImageLayout.decode(
            OCIImageConfig.self,
            from: Array(
                """
                {"architecture": "amd64", "os": "linux", "created": "2024-01-27T00:00:00Z",
                 "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"], "Entrypoint": null, "WorkingDir": "/srv", "User": "1000:1000",
                   "ExposedPorts": {"8080/tcp": {}}, "Labels": {"a": "b"}},
                 "rootfs": {"type": "layers", "diff_ids": ["sha256:\(Self.layerHex)"]},
                 "history": [{"created_by": "ADD file:… in /"}]}
                """.utf8),
            name: "config")
        #expect(config.config?.cmd == ["/bin/sh"] && config.config?.entrypoint == nil)
        #expect(config.config?.user == "1000:1000" && config.config?.workingDir == "/srv")
        #expect(config.config?.exposedPorts?.keys.sorted() == ["8080/tcp"])
        #expect(config.rootfs.diffIDs.map(\.hex) == [Self.layerHex])
    }

    @Test func encodesBackToTheSameModels() throws {
        let digest = Digest.sha256(Array("layer".utf8))
        let config = OCIImageConfig(
            architecture: "amd64", os: "linux",
            config: .init(cmd: ["sh"], env: ["A=1"], exposedPorts: ["80/tcp": .init()]),
            rootfs: .init(diffIDs: [digest]))
        let manifest = OCIManifest(
            config: OCIDescriptor(mediaType: OCIMediaType.imageConfig, digest: digest, size: 10),
            layers: [OCIDescriptor(mediaType: OCIMediaType.layerTarGzip, digest: digest, size: 20)])
        #expect(try OCIImageLayout.decode(OCIImageConfig.self, from: encode(config), name: "config") == config)
        #expect(try OCIImageLayout.decode(OCIManifest.self, from: encode(manifest), name: "manifest") == manifest)
        #expect(String(decoding: try encode(config), as: UTF8.self).contains("\"diff_ids\""))
    }

    @Test func malformedDocumentsSayWhatIsWrong() {
        func message(_ json: String) -> String? {
            do {
                _ = try OCIImageLayout.decode(OCIManifest.self, from: Array(json.utf8), name: "manifest")
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message("{") == "manifest is not valid: not JSON")
        #expect(message(#"{"schemaVersion": 2, "layers": []}"#) == "manifest is not valid: config is missing")
        let badDigest =
            #"{"schemaVersion": 2, "layers": [], "config": {"mediaType": "x", "size": 1, "digest": "sha256:../../x"}}"#
        #expect(message(badDigest)?.hasPrefix("manifest is not valid: config.digest:") == true)
        let negative =
            #"{"schemaVersion": 2, "layers": [], "config": {"mediaType": "x", "size": -1, "digest": "sha256:\#(Self.layerHex)"}}"#
        #expect(message(negative) == "manifest is not valid: config.size: a descriptor's size is negative")
        let wrongType = #"{"schemaVersion": "2", "layers": [], "config": {}}"#
        #expect(message(wrongType) == "manifest is not valid: schemaVersion has the wrong type")
        #expect(message(String(repeating: " ", count: OCIImageLayout.maxDocumentBytes + 1))?.contains("larger") == true)
    }

    @Test func digestsAreStrict() throws {
        let good = "sha256:" + Self.layerHex
        #expect(try Digest(parsing: good).description == good)
        for bad in [
            "sha256:../../x", "sha256:" + Self.layerHex.uppercased(), "sha256:" + Self.layerHex.dropLast(),
            "sha256:" + Self.layerHex + "0", "sha512:" + Self.layerHex, Self.layerHex,
            "sha256:/" + Self.layerHex.dropFirst(),
            "", "sha256:" + Self.layerHex.dropLast() + "g", " sha256:" + Self.layerHex,
        ] {
            #expect(throws: ImageFormatError.self, "\(bad)") { try Digest(parsing: bad) }
        }
    }

    @Test func digestHashing() {
        // sha256("abc"), FIPS 180-2.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        #expect(Digest.sha256(Array("abc".utf8)).hex == abc)
        var hasher = DigestHasher()
        hasher.update(Array("a".utf8))
        hasher.update("bc".utf8)
        #expect(hasher.finalize().hex == abc)
    }

    func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }
}
