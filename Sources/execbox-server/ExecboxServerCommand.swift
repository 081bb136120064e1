import ArgumentParser

/// `execbox-server`: the server process. `serve` runs it; `admin …` changes accounts in its store.
@main
struct ExecboxServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execbox-server",
        abstract: "The Execbox server.",
        subcommands: [ServeCommand.self, AdminCommand.self, ImagesCommand.self]
    )
}
