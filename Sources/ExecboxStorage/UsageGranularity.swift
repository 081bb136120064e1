/// Size of a usage roll-up bucket (UTC hours or UTC days).
public enum UsageGranularity: String, Hashable, Sendable {
    case hourly, daily
}
