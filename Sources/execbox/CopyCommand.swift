import ArgumentParser
import ExecboxGateway

/// `execbox cp LOCAL SESSION:PATH` and `execbox cp SESSION:PATH LOCAL`.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy a file into or out of a session.",
        discussion: """
            One side is SESSION:/ABSOLUTE/PATH, the other a local path (`-` is stdout when \
            downloading). Uploads create missing directories and keep the file's permission \
            bits; a remote path ending in / or a local directory takes the source's name. Both \
            directions are checked with SHA-256, and a download appears only once complete. Large \
            files show a progress bar when stderr is a terminal. Uploads are limited to 100 MiB.

            Examples:
              execbox cp ./data.csv sess_0123…:/workspace/data.csv
              execbox cp ./tool sess_0123…:/workspace/bin/
              execbox cp sess_0123…:/workspace/out.tar.gz .
              execbox cp sess_0123…:/etc/os-release -
            """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "Source: LOCAL or SESSION:/PATH.") var source: String
    @Argument(help: "Destination: SESSION:/PATH or LOCAL.") var destination: String

    /// `SESSION:/PATH` split in two; nil for a local path.
    static func remote(_ text: String) -> (session: String, path: String)? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let session = text[..<colon]
        let path = text[text.index(after: colon)...]
        guard !session.isEmpty, !session.contains("/"), path.hasPrefix("/") else { return nil }
        return (String(session), String(path))
    }

    func validate() throws {
        switch (Self.remote(source), Self.remote(destination)) {
        case (nil, nil): throw ValidationError("one side must be SESSION:/PATH")
        case (.some, .some):
            throw ValidationError("copying between two sessions is not supported; one side must be local")
        default: break
        }
    }

    func run() async throws {
        let summary = try await APIClient.with(client) { api in
            if let (session, path) = Self.remote(destination) {
                let target = path.hasSuffix("/") ? path + FileTransfer.basename(source) : path
                return try await FileTransfer.upload(
                    api, local: source, session: session, remote: target, quiet: client.json)
            }
            let (session, path) = Self.remote(source)!
            return try await FileTransfer.download(
                api, session: session, remote: path, local: destination, quiet: client.json)
        }
        if client.json && summary.path != "-" {
            StandardStream.output.writeLine(summary.json.rendered(pretty: true))
        }
    }
}
