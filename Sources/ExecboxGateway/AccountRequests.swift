import Foundation

/// The legacy request bodies of the account routes, with the legacy schema's checks (422).

struct WaitlistBody: Decodable {
    var email: String
    var name: String?

    func validated() throws -> Self {
        try SchemaCheck.email(email, at: "body.email")
        return self
    }
}

struct QuotaRequestBody: Decodable {
    var email: String
    var name: String?
    var company: String?
    var use_case: String?
    var requested_limits: String?
    var budget: String?

    func validated() throws -> Self {
        try SchemaCheck.email(email, at: "body.email")
        return self
    }
}

struct CreateKeyBody: Decodable {
    var name: String
    var description: String?
    var expires_at: String?
    var custom_daily_limit: Int64?
    var custom_concurrent_limit: Int64?

    func validated() throws -> Self {
        try SchemaCheck.length(name, at: "body.name", min: 1, max: 255)
        if let description { try SchemaCheck.length(description, at: "body.description", min: 0, max: 1000) }
        try SchemaCheck.minimum(custom_daily_limit, 1, at: "body.custom_daily_limit")
        try SchemaCheck.minimum(custom_concurrent_limit, 1, at: "body.custom_concurrent_limit")
        return self
    }
}

struct UpdateKeyBody: Decodable {
    var name: String?
    var description: String?
    var expires_at: String?
    var custom_daily_limit: Int64?
    var custom_concurrent_limit: Int64?

    func validated() throws -> Self {
        if let name { try SchemaCheck.length(name, at: "body.name", min: 0, max: 255) }
        if let description { try SchemaCheck.length(description, at: "body.description", min: 0, max: 1000) }
        try SchemaCheck.minimum(custom_daily_limit, 1, at: "body.custom_daily_limit")
        try SchemaCheck.minimum(custom_concurrent_limit, 1, at: "body.custom_concurrent_limit")
        return self
    }
}

struct UpdateLimitsBody: Decodable {
    var daily_requests_limit: Int64?
    var concurrent_requests_limit: Int64?
    var monthly_cost_limit_cents: Int64?
    var alert_threshold: Int64?
    var billing_email: String?
    var timezone: String?

    /// The legacy table's CHECK constraints, answered as the schema errors they should have been.
    func validated() throws -> Self {
        for (value, name) in [
            (daily_requests_limit, "daily_requests_limit"), (concurrent_requests_limit, "concurrent_requests_limit"),
        ] {
            if let value, value != -1, value < 1 {
                throw GatewayError.invalid(
                    "body.\(name)", "expected -1 (unlimited) or a number >= 1", value: .int(value))
            }
        }
        // 0 removes the budget.
        try SchemaCheck.minimum(monthly_cost_limit_cents, 0, at: "body.monthly_cost_limit_cents")
        try SchemaCheck.range(alert_threshold, 1...100, at: "body.alert_threshold")
        if let billing_email, !billing_email.isEmpty { try SchemaCheck.email(billing_email, at: "body.billing_email") }
        return self
    }
}

/// The checks the legacy OpenAPI schema made before a handler ran.
enum SchemaCheck {
    /// `format: email`, `minLength: 1`: something on both sides of one `@`, no spaces.
    static func email(_ text: String, at location: String) throws {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !text.contains(where: \.isWhitespace) else {
            throw GatewayError.invalid(location, "expected string to be RFC 5322 email", value: .string(text))
        }
    }

    static func length(_ text: String, at location: String, min: Int, max: Int) throws {
        let count = text.count
        if count < min {
            throw GatewayError.invalid(location, "expected length >= \(min)", value: .string(text))
        }
        if count > max {
            throw GatewayError.invalid(location, "expected length <= \(max)", value: .string(String(text.prefix(64))))
        }
    }

    static func minimum(_ value: Int64?, _ minimum: Int64, at location: String) throws {
        if let value, value < minimum {
            throw GatewayError.invalid(location, "expected number >= \(minimum)", value: .int(value))
        }
    }

    static func range(_ value: Int64?, _ range: ClosedRange<Int64>, at location: String) throws {
        if let value, !range.contains(value) {
            throw GatewayError.invalid(
                location, "expected number in \(range.lowerBound)...\(range.upperBound)", value: .int(value))
        }
    }

    static func oneOf(_ value: String?, _ allowed: [String], at location: String) throws {
        if let value, !allowed.contains(value) {
            throw GatewayError.invalid(
                location, "expected value to be one of \"\(allowed.joined(separator: ", "))\"", value: .string(value))
        }
    }

    /// A query integer in a range, with a default when absent.
    static func queryInteger(_ text: String?, _ name: String, default fallback: Int64, _ range: ClosedRange<Int64>)
        throws -> Int64
    {
        guard let text else { return fallback }
        guard let value = Int64(text) else {
            throw GatewayError.invalid("query.\(name)", "expected integer", value: .string(text))
        }
        try Self.range(value, range, at: "query.\(name)")
        return value
    }

    /// RFC 3339 (`2024-01-15T10:30:00Z`, fractions and offsets allowed).
    static func timestamp(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
