import ArgumentParser

/// Where the server keeps its state; shared by `serve` and `admin …`, which must agree.
struct StoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            """
            Directory of the server's state, created with mode 0700 if missing. [EXECBOX_DATA_DIR] \
            (default: ./execbox-data)
            """, valueName: "dir"))
    var dataDir: String?

    @Option(
        help: ArgumentHelp(
            """
            The database: sqlite:PATH, or postgres://… (any libpq URL; servers sharing it need the same \
            EXECBOX_STORAGE_KEY). [EXECBOX_DATABASE_URL] (default: sqlite:DIR/execbox.db)
            """, valueName: "url"))
    var databaseURL: String?

    @Option(
        help: ArgumentHelp(
            """
            Directory of the runc backend's images (imported, bootstrapped and built), created if \
            missing. [EXECBOX_IMAGE_STORE] (default: DIR/images)
            """, valueName: "dir"))
    var imageStore: String?
}
