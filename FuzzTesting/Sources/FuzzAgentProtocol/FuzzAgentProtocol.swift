import ExecboxSandboxAgentProtocol

/// The exec agent's wire format (`AgentRequest`, `AgentReply`) over arbitrary bytes: what the agent
/// parses from whoever reaches its socket inside a sandbox, and what the backend parses from the
/// agent. The first byte picks the parser: even → a request (length prefix, then body), odd → a
/// reply line. Properties: no crash, no hang; a request that parses re-encodes to a body that
/// parses to the same request, and its length prefix says its size; a reply that parses is one of
/// the four kinds, with an exit code in 0...255 and a signal in 1...64, and its own line parses back
/// to it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 0 {
        let length = AgentRequest.bodyLength(body[...])
        precondition(length == nil || length! <= AgentRequest.maximumLength)
        let rest = body.count >= 4 ? body.dropFirst(4) : []
        guard let request = AgentRequest(body: rest) else { return 0 }
        precondition(!request.arguments.isEmpty, "a request without arguments")
        let encoded = request.encoded
        precondition(AgentRequest.bodyLength(encoded[...]) == encoded.count - 4, "the length prefix is wrong")
        precondition(AgentRequest(body: encoded.dropFirst(4)) == request, "a request does not round-trip")
    } else {
        guard let reply = AgentReply(line: body[...]) else { return 0 }
        switch reply {
        case .exited(let code): precondition((0...255).contains(code))
        case .signaled(let signal): precondition((1...64).contains(signal))
        case .started(let pid): precondition(pid.map { $0 > 0 } ?? true)
        case .failed: break
        }
        let line = Array(reply.line.utf8)
        precondition(line.last == UInt8(ascii: "\n"))
        let again = AgentReply(line: line.dropLast())
        // A reason that held a newline comes back with a space instead.
        if case .failed = reply { precondition(again != nil) } else { precondition(again == reply) }
    }
    return 0
}
