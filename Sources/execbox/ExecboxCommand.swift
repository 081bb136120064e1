import ArgumentParser

/// `execbox`: drives an Execbox server from a terminal or a script.
struct ExecboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execbox",
        abstract: "Run code in Execbox sandboxes.",
        discussion: """
            Settings come from flags, then the environment (EXECBOX_URL, EXECBOX_API_KEY, \
            EXECBOX_CA_FILE), then the config file written by `execbox login` \
            (~/.config/execbox/config.json). http:// URLs use cleartext HTTP/2, https:// TLS.

            Examples:
              export EXECBOX_URL=http://127.0.0.1:8080 EXECBOX_API_KEY=ebx_p_…
              execbox run -- python3 -c 'print(6*7)'
              echo hi | execbox run -- cat
              execbox run --upload job.py:/workspace/ -- python3 /workspace/job.py
              execbox run -it -- sh
              execbox run --keep -- true            # prints the session id on stderr
              execbox exec sess_… -it -- sh
              execbox cp ./data.bin sess_…:/tmp/data.bin
              execbox sessions ls --json

            Exit status: the command's own for `run` and `exec` (128+N when signal N ended it), \
            1 when a call or the CLI fails, 2 for a usage error.
            """,
        version: "0.1.0",
        subcommands: [
            LoginCommand.self, RunCommand.self, ExecCommand.self, SessionsCommand.self, ProcessesCommand.self,
            LogsCommand.self, CopyCommand.self, URLCommand.self, ImagesCommand.self, KeysCommand.self,
            UsageCommand.self,
            CompletionsCommand.self,
        ]
    )
}
