import ArgumentParser
import ExecboxHTTP2
import ExecboxSandboxRunc
import Foundation
import Testing

@testable import execbox_server

/// `serve`'s settings: parsing, precedence of flag over variable over default, and the checks
/// that run before anything is bound.
@Suite struct ServeSettingsTests {
    func settings(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ServeSettings {
        try ServeSettings(ServeCommand.parse(arguments), environment: environment)
    }

    @Test func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:8080") == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(ListenAddress("[::1]:0") == ListenAddress(host: "::1", port: 0))
        #expect(ListenAddress("localhost:9")?.description == "localhost:9")
        #expect(ListenAddress("[::1]:443")?.description == "[::1]:443")
        for bad in ["nonsense", ":80", "host:65536", "host:-1", "::1:80", "[]:1", "[::1:80", "a b:1", "host:"] {
            #expect(ListenAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func loopbackAndReflectionAuto() throws {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
            #expect(ListenAddress(host: host, port: 1).isLoopback, "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "1270.0.0.1", "127.0.0", "127.0.0.256", "example.com"] {
            #expect(!ListenAddress(host: host, port: 1).isLoopback, "\(host)")
        }
        #expect(try settings([]).reflectionEnabled)
        #expect(try !settings(["--listen", "0.0.0.0:8080"]).reflectionEnabled)
        #expect(try settings(["--listen", "0.0.0.0:8080", "--reflection", "on"]).reflectionEnabled)
        #expect(try !settings(["--reflection", "off"]).reflectionEnabled)
    }

    @Test func defaults() throws {
        let defaults = try settings([])
        #expect(defaults.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(defaults.dataDirectory == "./execbox-data")
        #expect(defaults.bootstrapKeyFile.hasSuffix("execbox-data/bootstrap-admin.key"))
        #expect(defaults.tls == nil)
        #expect(defaults.reflection == .auto)
    }

    @Test func aFlagWinsOverItsVariable() throws {
        let environment = [
            "EXECBOX_LISTEN": "127.0.0.1:9000", "EXECBOX_DATA_DIR": "/var/lib/execbox",
            "EXECBOX_REFLECTION": "off", "EXECBOX_TLS_CERT": "/c.pem", "EXECBOX_TLS_KEY": "/k.pem",
        ]
        let fromEnvironment = try settings([], environment)
        #expect(fromEnvironment.listen.port == 9000)
        #expect(fromEnvironment.dataDirectory == "/var/lib/execbox")
        #expect(fromEnvironment.bootstrapKeyFile == "/var/lib/execbox/bootstrap-admin.key")
        #expect(fromEnvironment.reflection == .off)
        #expect(fromEnvironment.tls?.certificateChainFile == "/c.pem")
        let flags = try settings(["--listen", "127.0.0.1:0", "--reflection", "on", "--data-dir", "d"], environment)
        #expect(flags.listen.port == 0)
        #expect(flags.reflection == .on)
        #expect(flags.dataDirectory == "d")
    }

    @Test func errorsNameWhereTheValueCameFrom() throws {
        #expect(throws: ValidationError.self) { try settings(["--listen", "x"]) }
        let fromVariable = #expect(throws: ValidationError.self) { try settings([], ["EXECBOX_LISTEN": "x:99999"]) }
        #expect(fromVariable?.message.hasPrefix("EXECBOX_LISTEN:") == true)
        let reflection = #expect(throws: ValidationError.self) { try settings([], ["EXECBOX_REFLECTION": "maybe"]) }
        #expect(reflection?.message.hasPrefix("EXECBOX_REFLECTION:") == true)
        let half = #expect(throws: ValidationError.self) { try settings(["--tls-key", "k.pem"]) }
        #expect(half?.message.hasPrefix("--tls-key") == true)
    }

    @Test func theRuntimeComesFromItsFlagOrVariable() throws {
        let runc = try settings([]).backend.runcConfiguration(dataDirectory: "d")
        #expect(runc.runtime == .runc && runc.runtimePath == "/usr/sbin/runc")
        #expect(runc.stateDirectory == "/run/execbox/runc")
        let runsc = try settings([], ["EXECBOX_RUNTIME": "runsc"]).backend.runcConfiguration(dataDirectory: "d")
        #expect(runsc.runtime == .runsc && runsc.runtimePath == "/usr/bin/runsc")
        #expect(runsc.stateDirectory == "/run/execbox/runsc", "each runtime keeps its own state")
        let flag = try settings(["--runtime", "runc"], ["EXECBOX_RUNTIME": "runsc"]).backend
        #expect(flag.runtime == .runc)
        let bad = #expect(throws: ValidationError.self) { try settings([], ["EXECBOX_RUNTIME": "crun"]) }
        #expect(bad?.message.hasPrefix("EXECBOX_RUNTIME:") == true)
    }

    @Test func theDataDirectoryIsCreatedPrivate() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "execbox-serve-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("a/b").path
        let settings = try settings(["--data-dir", directory])
        try settings.prepareDataDirectory()
        let mode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o700)
        try settings.prepareDataDirectory()  // again: already there
        try settings.checkBootstrapKeyFile()  // missing: fine, the service layer creates it

        #expect(FileManager.default.createFile(atPath: settings.bootstrapKeyFile, contents: Data("k\n".utf8)))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: settings.bootstrapKeyFile)
        #expect(throws: ValidationError.self) { try settings.checkBootstrapKeyFile() }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: settings.bootstrapKeyFile)
        try settings.checkBootstrapKeyFile()

        let file = root.appendingPathComponent("file").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(throws: ValidationError.self) { try self.settings(["--data-dir", file]).prepareDataDirectory() }
        #expect(throws: ValidationError.self) {
            try self.settings(["--bootstrap-key-file", root.path + "/missing/key"]).checkBootstrapKeyFile()
        }
    }
}
