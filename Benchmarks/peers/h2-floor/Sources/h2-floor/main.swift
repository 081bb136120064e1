// h2-floor: the floor of scripts/bench-http2 (see Package.swift). One nghttp2 server session per
// connection, fed from a NIO channel handler with mem_recv and drained with mem_send, as in
// ExecboxHTTP2. Every request is answered with `:status 200`, `content-type: text/plain` and
// "hello\n", the bytes of our test server's /hello.
//
//   h2-floor            requests are served in child tasks as HTTP2Server serves them: one task
//                       per connection (a discarding task group under the server's), the
//                       connection's event loop as the tasks' executor preference, the streams of
//                       a read handed to it together, a child task started at once
//                       (addImmediateTask) that serves pending streams in turn while none waits,
//                       each registered with its stream while served (so that a reset could
//                       cancel it).
//   h2-floor --task-per-stream
//                       the same, but every stream gets a child task of its own.
//   h2-floor --inline   the answer is submitted inside the read that completed the request: the
//                       cost of the protocol and the event loop alone.
import NIOCore
import NIOPosix

let (connections, accepted) = AsyncStream.makeStream(of: NIOLoopBound<FloorConnection>.self)
let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let connection = FloorConnection()
            try channel.pipeline.syncOperations.addHandler(connection)
            if !inline { accepted.yield(NIOLoopBound(connection, eventLoop: channel.eventLoop)) }
        }
    }
    .bind(host: "127.0.0.1", port: 0).get()
print("listening on \(server.localAddress?.port ?? 0)")
fflush(nil)  // all streams: stdout is a shared global to Swift 6

await withDiscardingTaskGroup { group in
    for await connection in connections {
        let executor = LoopExecutor(connection.eventLoop)
        group.addTask(executorPreference: executor) {
            await withDiscardingTaskGroup { streams in
                let handler = connection.value
                while await handler.waitForRequests() {
                    while let first = handler.takeRequest() {
                        if taskPerStream {
                            streams.addImmediateTask(executorPreference: executor) { await serve(first) }
                        } else {
                            streams.addImmediateTask(executorPreference: executor) {
                                await serveInTurn(from: first)
                            }
                        }
                    }
                }
            }
        }
    }
}
