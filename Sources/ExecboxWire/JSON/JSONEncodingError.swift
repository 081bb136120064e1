/// A value with no proto3 JSON form: the JSON mapping only covers Timestamps from year 1 to 9999
/// and Durations within ±10,000 years with nanos agreeing in sign, as Google's libraries enforce.
public enum JSONEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    case timestampOutOfRange(seconds: Int64, nanos: Int32)
    case durationOutOfRange(seconds: Int64, nanos: Int32)

    public var description: String {
        switch self {
        case .timestampOutOfRange(let seconds, let nanos):
            "Timestamp out of range for JSON (seconds \(seconds), nanos \(nanos))"
        case .durationOutOfRange(let seconds, let nanos):
            "Duration out of range for JSON (seconds \(seconds), nanos \(nanos))"
        }
    }
}
