import NIOCore
import NIOEmbedded
import Testing

@testable import ExecboxHTTP2

/// A connection reuses the state of a closed request stream for its next stream: the reused state
/// must be the state a new stream would get, whatever the old stream left in it.
struct StreamStateReuseTests {
    /// A loop and a connection for the states (a new pair for each test), and the connection's
    /// shared empty body.
    let loop = EmbeddedEventLoop()
    let connection = HTTP2ConnectionHandler(configuration: HTTP2Configuration())
    let empty = HTTP2InboundBody.makeEmpty()

    /// Every stored field is compared by name with a new state's, so a field added later and not
    /// reset by `reuse` fails here.
    @Test func aReusedStateIsANewStreamsState() {
        let used = HTTP2StreamState(id: 1, handler: connection, eventLoop: loop)
        used.isOpen = false
        used.headers.add("x-old", "value")
        used.headerBytes = 99
        used.receivedTrailers = ["x-trailer": "1"]
        used.outbound.append(ByteBuffer(string: "one"))
        used.outbound.append(ByteBuffer(string: "two"))
        used.outboundBytes = 6
        used.outboundFinished = true
        used.trailers = ["x-ours": "2"]
        used.headSubmitted = true
        used.deferred = true
        let drained = loop.makePromise(of: Void.self)
        drained.succeed(())
        used.drained = drained
        used.resetBeforeHandler = true
        used.sentBytes = 5
        _ = used.stall.stillFor(5, at: .now())
        used.receivedBytes = 7
        _ = used.idle.stillFor(7, at: .now())
        let oldBody = used.inbound

        used.reuse(id: 3, inbound: nil)
        let fresh = HTTP2StreamState(id: 3, handler: connection, eventLoop: loop)

        let freshFields = Dictionary(
            uniqueKeysWithValues: Mirror(reflecting: fresh).children.map { ($0.label!, $0.value) })
        var compared = 0
        for field in Mirror(reflecting: used).children {
            let name = field.label!
            switch name {
            case "handler", "eventLoop": continue  // the connection's, kept
            case "inbound": #expect(used.inbound !== oldBody, "a new body for the new stream")
            case "headers": #expect(used.headers == fresh.headers && used.headers.count == 0)
            case "reuses": #expect(used.reuses == 1)
            default:
                #expect(
                    String(describing: field.value) == String(describing: freshFields[name]!),
                    "\(name) is reset")
            }
            compared += 1
        }
        #expect(compared >= 18)
        #expect(used.hasOwnBody)
        try? loop.syncShutdownGracefully()
    }

    /// A parked state (a spare, waiting for a stream) holds nothing of its last stream's but an
    /// ordinary head's storage: its body goes (and with it the window credit of unread bytes),
    /// queued bytes and trailers go, a large head's storage goes.
    @Test func aParkedStateLetsGoOfItsStreamsBodyBytesAndTrailers() {
        let state = HTTP2StreamState(id: 1, handler: connection, eventLoop: loop)
        weak var body = state.inbound
        state.outbound.append(ByteBuffer(string: "unsent"))
        state.receivedTrailers = ["x-trailer": "1"]
        state.trailers = ["x-ours": "2"]
        state.headers.add("x-large", String(repeating: "v", count: 10_000))
        state.park(emptyBody: empty)
        #expect(body == nil, "the stream's body is let go")
        #expect(state.inbound === empty && !state.hasOwnBody)
        #expect(state.outbound.isEmpty && state.receivedTrailers == nil && state.trailers == nil)
        #expect(state.headers.storageCapacity == 0)

        // An ordinary head's storage stays for the next stream.
        state.reuse(id: 3, inbound: empty)
        state.headers.add(":path", "/hello")
        let kept = state.headers.storageCapacity
        state.park(emptyBody: empty)
        #expect(kept > 0 && state.headers.storageCapacity == kept)
        try? loop.syncShutdownGracefully()
    }

    /// A bodyless request's state takes the connection's shared empty body, and a later request
    /// with a body gets a body of its own again.
    @Test func theSharedEmptyBodyComesAndGoes() {
        let state = HTTP2StreamState(id: 1, handler: connection, eventLoop: loop)
        state.reuse(id: 3, inbound: empty)
        #expect(state.inbound === empty && !state.hasOwnBody)
        state.reuse(id: 5, inbound: empty)
        #expect(state.inbound === empty && !state.hasOwnBody)
        state.reuse(id: 7, inbound: nil)
        #expect(state.inbound !== empty && state.hasOwnBody && !state.inbound.isShared)
        try? loop.syncShutdownGracefully()
    }
}
