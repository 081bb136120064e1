import ExecboxAPI
import ExecboxWire

#if canImport(Glibc)
    import Glibc
#endif

/// The caller's terminal: its size, raw mode for `-it`, a prompt without echo for `login`.
enum Terminal {
    /// The window size of the terminal on `fd`, or nil when it is not a terminal.
    static func size(_ fd: Int32 = STDOUT_FILENO) -> TerminalSize? {
        var window = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 else { return nil }
        return TerminalSize.with {
            $0.cols = UInt32(window.ws_col)
            $0.rows = UInt32(window.ws_row)
        }
    }

    /// Reads one line from stdin; on a terminal, after `prompt` (on stderr) and without echo.
    static func readSecretLine(prompt: String) -> String? {
        let fd = STDIN_FILENO
        var saved = termios()
        let isTerminal = isatty(fd) == 1 && tcgetattr(fd, &saved) == 0
        if isTerminal {
            StandardStream.error.write(prompt)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if isTerminal {
                tcsetattr(fd, TCSAFLUSH, &saved)
                StandardStream.error.write("\n")
            }
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0, errno == EINTR { continue }
            guard count == 1 else { break }
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        if line.isEmpty && !isTerminal { return nil }
        return String(decoding: line, as: UTF8.self)
    }
}

/// The terminal on stdin in raw mode while a `-it` process runs: every key goes to the sandbox
/// (Ctrl-C included, which its terminal turns into SIGINT). `restore` puts the saved settings
/// back; it runs on every way out.
final class RawTerminal: @unchecked Sendable {
    // Only touched from the command's task: enabled once, restored once.
    private var saved: termios?
    private let fd: Int32

    init?(fd: Int32 = STDIN_FILENO) {
        self.fd = fd
        var settings = termios()
        guard isatty(fd) == 1, tcgetattr(fd, &settings) == 0 else { return nil }
        saved = settings
        cfmakeraw(&settings)
        guard tcsetattr(fd, TCSAFLUSH, &settings) == 0 else { return nil }
    }

    func restore() {
        guard var settings = saved else { return }
        saved = nil
        tcsetattr(fd, TCSAFLUSH, &settings)
    }

    deinit { restore() }
}
