public import ExecboxWellKnownTypes
import ExecboxWire
public import Foundation

/// `Date` ↔ `google.protobuf.Timestamp`.
public enum Timestamps {
    public static func make(_ date: Date) -> Google_Protobuf_Timestamp {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        var nanos = Int32(((date.timeIntervalSince1970 - seconds) * 1e9).rounded())
        var wholeSeconds = Int64(seconds)
        if nanos >= 1_000_000_000 {
            nanos -= 1_000_000_000
            wholeSeconds += 1
        }
        return Google_Protobuf_Timestamp.with {
            $0.seconds = wholeSeconds
            $0.nanos = nanos
        }
    }

    public static func make(_ date: Date?) -> Google_Protobuf_Timestamp? {
        date.map { make($0) }
    }

    public static func date(_ timestamp: Google_Protobuf_Timestamp) -> Date {
        Date(timeIntervalSince1970: Double(timestamp.seconds) + Double(timestamp.nanos) / 1e9)
    }
}
