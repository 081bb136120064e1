import ArgumentParser

/// Where and how to reach the server, and the output format: shared by every command that calls it.
struct ClientOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Server URL: http://HOST:PORT (h2c) or https://HOST:PORT (TLS). Default: $EXECBOX_URL, then the config file, then http://127.0.0.1:8080.",
            valueName: "url"))
    var url: String?

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "PEM CA certificates to trust for https:// URLs. Default: $EXECBOX_CA_FILE, then the config file, then the system's store.",
            valueName: "file"))
    var caFile: String?

    @Flag(help: "Print JSON objects (the REST API's shapes) instead of text.")
    var json = false
}
