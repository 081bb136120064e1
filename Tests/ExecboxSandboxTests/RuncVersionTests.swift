import ExecboxSandboxRunc
import Testing

@Suite struct RuncVersionTests {
    static let debian = """
        runc version 1.1.5+ds1
        commit: 1.1.5+ds1-1+deb12u1
        spec: 1.0.2-dev
        go: go1.19.8
        libseccomp: 2.5.4
        """

    @Test func debianBuildIsUsableButLacksThe2025Fixes() throws {
        let version = try #require(RuncVersion(output: Self.debian))
        #expect(version.major == 1 && version.minor == 1 && version.patch == 5)
        #expect(version.commit == "1.1.5+ds1-1+deb12u1")
        #expect(!version.isRefused, "Debian patched CVE-2024-21626")
        #expect(version.missingFixes == ["CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"])
        let warning = try #require(version.warning)
        for cve in RuncVersion.cves2025 { #expect(warning.contains(cve)) }
        #expect(warning.contains("images Execbox produced"))
    }

    @Test func fixedReleasesHaveNoWarning() throws {
        for text in [
            "runc version 1.2.8", "runc version 1.3.3", "runc version 1.4.0", "runc version 1.2.9\ncommit: v1.2.9",
        ] {
            let version = try #require(RuncVersion(output: text))
            #expect(version.missingFixes.isEmpty, "\(text)")
            #expect(version.warning == nil)
        }
        for text in ["runc version 1.2.7", "runc version 1.3.2", "runc version 1.1.15"] {
            #expect(try #require(RuncVersion(output: text)).missingFixes.count == 3, "\(text)")
        }
    }

    @Test func unpatchedLeakyVesselsBuildsAreRefused() throws {
        #expect(try #require(RuncVersion(output: "runc version 1.1.11\ncommit: v1.1.11")).isRefused)
        #expect(try #require(RuncVersion(output: "runc version 1.0.0-rc93")).isRefused)
        #expect(try #require(RuncVersion(output: "runc version 1.1.12")).isRefused == false)
        #expect(RuncVersion(output: "crun version 1.8.1") == nil)
        #expect(RuncVersion(output: "") == nil)
    }
}
