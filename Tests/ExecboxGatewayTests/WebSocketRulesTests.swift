import NIOCore
import NIOWebSocket
import Testing

@testable import ExecboxGateway

@Suite struct WebSocketRulesTests {
    func closePayload(_ code: UInt16?, reason: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        if let code { buffer.writeInteger(code) }
        buffer.writeBytes(reason)
        return buffer
    }

    @Test func aClientsCloseIsEchoedOnlyWhenItsCodeMayBeOnTheWire() {
        #expect(ProcessBridge.closeReply(ByteBuffer()) == .normalClosure)
        #expect(ProcessBridge.closeReply(closePayload(1000)) == .normalClosure)
        #expect(ProcessBridge.closeReply(closePayload(1001, reason: Array("bye".utf8))) == .goingAway)
        #expect(ProcessBridge.closeReply(closePayload(4000)) == WebSocketErrorCode(codeNumber: 4000))
        for invalid: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
            #expect(ProcessBridge.closeReply(closePayload(invalid)) == .protocolError, "code \(invalid)")
        }
        var oneByte = ByteBuffer()
        oneByte.writeInteger(UInt8(3))
        #expect(ProcessBridge.closeReply(oneByte) == .protocolError)
        #expect(ProcessBridge.closeReply(closePayload(1000, reason: [0xFF, 0xFE])) == .protocolError)
    }

    @Test func protocolErrorsCloseWithTheirCodes() {
        #expect(WebSocketErrorCloser.code(for: NIOWebSocketError.invalidFrameLength) == .messageTooLarge)
        #expect(
            WebSocketErrorCloser.code(for: NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge)
                == .messageTooLarge)
        #expect(
            WebSocketErrorCloser.code(for: NIOWebSocketFrameAggregator.Error.receivedNewFrameWithoutFinishingPrevious)
                == .protocolError)
        #expect(WebSocketErrorCloser.code(for: NIOWebSocketError.multiByteControlFrameLength) == .protocolError)
    }
}
