import ArgumentParser

/// `execbox completions bash|zsh|fish`: the shell completion script, from ArgumentParser.
struct CompletionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completions",
        abstract: "Print a shell completion script.",
        discussion: """
            Examples:
              execbox completions bash > /etc/bash_completion.d/execbox
              execbox completions zsh > "${fpath[1]}/_execbox"
              execbox completions fish > ~/.config/fish/completions/execbox.fish
            """
    )

    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish
    }

    @Argument(help: "The shell.") var shell: Shell

    func run() throws {
        let script = ExecboxCommand.completionScript(for: CompletionShell(rawValue: shell.rawValue)!)
        StandardStream.output.write(script.hasSuffix("\n") ? script : script + "\n")
    }
}
