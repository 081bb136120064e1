public import ExecboxRPC

/// The in-process transport of the unit tests: the router's own transport.
public typealias InProcessTransport = RouterTransport
