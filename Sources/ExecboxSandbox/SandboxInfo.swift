/// What a backend knows about one sandbox.
public struct SandboxInfo: Hashable, Sendable {
    public var id: SandboxID
    public var state: SandboxState
    public var spec: SandboxSpec
    /// The limits actually applied (defaults filled in).
    public var limits: SandboxLimits
    /// The main process's exit, once the sandbox reached a terminal state.
    public var exit: ProcessExit?
    /// Why the sandbox failed, when it did (a curated message).
    public var failure: String?

    public init(
        id: SandboxID,
        state: SandboxState,
        spec: SandboxSpec,
        limits: SandboxLimits,
        exit: ProcessExit? = nil,
        failure: String? = nil
    ) {
        self.id = id
        self.state = state
        self.spec = spec
        self.limits = limits
        self.exit = exit
        self.failure = failure
    }
}
