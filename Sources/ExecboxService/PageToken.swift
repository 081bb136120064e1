import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation

/// Page tokens: the store's cursor wrapped with the time it was issued and a digest of the
/// call's filters, so a token is refused (INVALID_ARGUMENT) after 24 hours or with other filters,
/// as common.proto promises.
enum PageToken {
    static let lifetime: TimeInterval = 24 * 3600
    static let invalid = Validation.invalid("invalid or expired page token")

    static func encode(cursor: String?, filters: String, now: Date) -> String {
        guard let cursor else { return "" }
        let text = "1|\(Int64(now.timeIntervalSince1970))|\(digest(filters))|\(cursor)"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String, filters: String, now: Date) throws -> String? {
        guard !token.isEmpty else { return nil }
        guard token.utf8.count <= 1024 else { throw invalid }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            throw invalid
        }
        let parts = text.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "1", let issued = Int64(parts[1]), parts[2] == digest(filters),
            now.timeIntervalSince1970 - Double(issued) <= lifetime, !parts[3].isEmpty
        else { throw invalid }
        return String(parts[3])
    }

    /// The store's page request for an API one: 0 means 50, more than 1000 is clamped.
    static func pageRequest(_ page: ExecboxAPI.PageRequest?, filters: String, now: Date) throws
        -> ExecboxStorage.PageRequest
    {
        let size = Int(page?.pageSize ?? 0)
        return ExecboxStorage.PageRequest(
            limit: size == 0 ? 50 : min(size, 1000),
            cursor: try decode(page?.pageToken ?? "", filters: filters, now: now))
    }

    static func response(_ cursor: String?, filters: String, now: Date) -> PageResponse {
        PageResponse.with { $0.nextPageToken = encode(cursor: cursor, filters: filters, now: now) }
    }

    private static func digest(_ filters: String) -> String {
        String(CRC32.checksum(filters.utf8), radix: 16)
    }
}
