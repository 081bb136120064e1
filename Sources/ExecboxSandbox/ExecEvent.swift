/// What an exec's event stream yields: output chunks in the order each pipe produced them, then
/// exactly one `exit`, which comes only after both stdout and stderr reached end of file.
public enum ExecEvent: Hashable, Sendable {
    case stdout([UInt8])
    case stderr([UInt8])
    case exit(ProcessExit)
}
