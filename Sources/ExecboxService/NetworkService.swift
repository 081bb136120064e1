public import ExecboxAPI
public import ExecboxRPC
import ExecboxSandbox
import ExecboxStorage
import ExecboxWire
import Foundation

/// `execbox.v1.NetworkService`: the URL through which a declared port of an EXPOSED session is
/// reached. The runc backend forwards a host port on 127.0.0.1 to the sandbox's port.
public struct NetworkService: NetworkServiceProtocol {
    public let manager: SessionManager

    public init(manager: SessionManager) {
        self.manager = manager
    }

    public func getPortURL(request: GetPortURLRequest, context: ServerContext) async throws -> GetPortURLResponse {
        let principal = try Principal.required()
        guard (1...65535).contains(request.containerPort) else {
            throw Validation.invalid("container_port must be 1 to 65535")
        }
        let transport = request.transport == .udp ? "udp" : "tcp"
        let record = try await manager.session(request.sessionId, of: principal)
        guard
            record.spec.ports.contains(where: {
                $0.containerPort == Int(request.containerPort) && $0.transport == transport
            })
        else {
            throw Validation.invalid(
                "port \(request.containerPort)/\(transport) was not declared when the session was created")
        }
        guard record.spec.network == .exposed else {
            throw ErrorDetails.withCode(
                .badRequest,
                ServiceErrors.failedPrecondition(
                    "the session's network mode is \(record.spec.network.rawValue), not exposed"))
        }
        guard record.status == .running else { throw ServiceErrors.notRunning(record) }
        try manager.requireLocal(record)
        let url = try await manager.backend.portURL(
            try SessionManager.sandboxID(record.id), port: Int(request.containerPort))
        let parsed = URLComponents(string: url)
        return GetPortURLResponse.with {
            $0.containerPort = request.containerPort
            $0.hostPort = UInt32(clamping: parsed?.port ?? 0)
            $0.url = url
            $0.transport = request.transport == .udp ? .udp : .tcp
            $0.host = parsed?.host ?? ""
        }
    }
}
