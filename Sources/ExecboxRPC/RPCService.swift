/// A service the router can serve; the generated server protocols conform by registering every
/// method they declare.
public protocol RPCService: Sendable {
    func registerMethods(with router: inout RPCRouter)
}
