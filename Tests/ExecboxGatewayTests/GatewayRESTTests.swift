import ExecboxGateway
import ExecboxService
import ExecboxTesting
import Foundation
import Testing

/// The account routes and the cross-cutting behaviour (auth, errors, headers, bodies, CORS) through
/// the router-level client over the real service stack.
@Suite struct GatewayRESTTests {
    @Test func waitlistMintsAKeyThatWorksAndTheAccountRouteDescribesIt() async throws {
        try await withGateway { gateway in
            let joined = await gateway.client.json(
                "POST", "/v1/waitlist", key: nil, body: #"{"email":"a@example.com","x":1}"#)
            #expect(joined.status == 201)
            let body = try #require(joined.object)
            #expect(Set(body.keys) == ["id", "key", "tier", "message"])
            #expect(body["tier"] as? String == "free")
            let key = try #require(body["key"] as? String)
            let account = await gateway.client.json("GET", "/v1/account", key: key)
            #expect(account.status == 200)
            #expect(account.object?["api_key_id"] as? String == body["id"] as? String)
            #expect(account.object?["tier"] as? String == "free")
            #expect(account.header("content-type") == "application/json")
        }
    }

    @Test func authFailuresAre401WithTheMergedBodyAsPlainJSON() async throws {
        try await withGateway { gateway in
            for (header, detail) in [
                (nil, "missing authorization header"), ("Basic abc", "invalid authorization header format"),
                ("Bearer ", "invalid authorization header format"),
            ] as [(String?, String)] {
                let response = await gateway.client.send(
                    "GET", "/v1/account", headers: header.map { [("authorization", $0)] } ?? [])
                #expect(response.status == 401)
                #expect(response.header("content-type") == "application/json")
                #expect(response.object?["detail"] as? String == detail)
                #expect(response.object?["error"] as? String == detail)
                #expect(response.object?["code"] as? String == "UNAUTHORIZED")
            }
            let unknown = await gateway.client.json(
                "GET", "/v1/account", key: "sk_" + String(repeating: "0", count: 64))
            #expect(unknown.status == 401)
            // Auth before validation: a bad body from an unknown key is a 401, not a 400/422.
            let badBody = await gateway.client.json("POST", "/v1/account/keys", key: "sk_nope", body: "{not json")
            #expect(badBody.status == 401)
        }
    }

    @Test func bodyProblemsGetTheLegacyStatuses() async throws {
        try await withGateway { gateway in
            let key = try await gateway.key()
            let malformed = await gateway.client.json("POST", "/v1/account/keys", key: key, body: "{")
            #expect(malformed.status == 400)
            #expect(malformed.header("content-type") == "application/problem+json")
            #expect(malformed.object?["code"] as? String == "BAD_REQUEST")
            let missing = await gateway.client.json("POST", "/v1/account/keys", key: key, body: "")
            #expect(missing.status == 400)
            #expect(missing.object?["detail"] as? String == "request body is required")
            let wrongType = await gateway.client.json("POST", "/v1/account/keys", key: key, body: #"{"name":5}"#)
            #expect(wrongType.status == 422)
            let errors = try #require(wrongType.object?["errors"] as? [[String: Any]])
            #expect(errors.first?["location"] as? String == "body.name")
            let tooSmall = await gateway.client.json(
                "POST", "/v1/account/keys", key: key, body: #"{"name":"x","custom_daily_limit":0}"#)
            #expect(tooSmall.status == 422)
            let badEmail = await gateway.client.json("POST", "/v1/waitlist", key: nil, body: #"{"email":"nope"}"#)
            #expect(badEmail.status == 422)
            #expect((badEmail.object?["errors"] as? [[String: Any]])?.first?["location"] as? String == "body.email")
            let xml = await gateway.client.send(
                "POST", "/v1/waitlist", headers: [("content-type", "application/xml")], body: Array("<a/>".utf8))
            #expect(xml.status == 415)
            let huge = await gateway.client.json(
                "POST", "/v1/waitlist", key: nil,
                body: #"{"email":"a@b.c","name":""# + String(repeating: "x", count: 1 << 20) + #""}"#)
            #expect(huge.status == 413)
            #expect(huge.object?["code"] as? String == "PAYLOAD_TOO_LARGE")
        }
    }

    @Test func unknownRoutesAre404AndWrongMethods405WithAllow() async throws {
        try await withGateway { gateway in
            let missing = await gateway.client.json("GET", "/v1/nothing", key: nil)
            #expect(missing.status == 404)
            #expect(missing.object?["code"] as? String == "NOT_FOUND")
            let wrong = await gateway.client.json("PATCH", "/v1/account/keys", key: nil)
            #expect(wrong.status == 405)
            #expect(wrong.header("allow") == "GET, POST")
        }
    }

    @Test func keysLifecycleKeepsTheLegacyCodesAndShapes() async throws {
        try await withGateway { gateway in
            let key = try await gateway.key()
            let created = await gateway.client.json(
                "POST", "/v1/account/keys", key: key,
                body: #"{"name":"ci","description":"d","expires_at":"2099-01-02T03:04:05Z","custom_daily_limit":5}"#)
            #expect(created.status == 201)
            let object = try #require(created.object)
            let id = try #require(object["id"] as? String)
            #expect(object["expires_at"] as? String == "2099-01-02T03:04:05Z")
            #expect(object["custom_daily_limit"] as? Int == 5)
            #expect(object["is_active"] as? Bool == true)
            let secret = try #require(object["key"] as? String)
            #expect(await gateway.client.json("GET", "/v1/account", key: secret).status == 200)

            let list = await gateway.client.json("GET", "/v1/account/keys", key: key)
            #expect((list.object?["keys"] as? [Any])?.count == 2)
            #expect(await gateway.client.json("GET", "/v1/account/keys/\(id)", key: key).status == 200)
            #expect(await gateway.client.json("GET", "/v1/account/keys/not-a-uuid", key: key).status == 400)
            #expect(
                await gateway.client.json("GET", "/v1/account/keys/\(UUID().uuidString.lowercased())", key: key).status
                    == 404)
            let updated = await gateway.client.json("PUT", "/v1/account/keys/\(id)", key: key, body: #"{"name":"ci2"}"#)
            #expect(updated.object?["name"] as? String == "ci2")
            let badExpiry = await gateway.client.json(
                "PUT", "/v1/account/keys/\(id)", key: key, body: #"{"expires_at":"tomorrow"}"#)
            #expect(badExpiry.status == 400)
            #expect(badExpiry.object?["detail"] as? String == "invalid expires_at format, use RFC3339")

            let rotated = await gateway.client.json("POST", "/v1/account/keys/\(id)/rotate", key: key)
            #expect(rotated.status == 200)
            let newSecret = try #require(rotated.object?["key"] as? String)
            #expect(newSecret != secret)
            #expect(await gateway.client.json("GET", "/v1/account", key: secret).status == 401)
            let revoked = await gateway.client.json("DELETE", "/v1/account/keys/\(id)", key: key)
            #expect(revoked.status == 204)
            #expect(revoked.body.isEmpty)
            #expect(await gateway.client.json("GET", "/v1/account", key: newSecret).status == 401)

            let primaryID = try #require(
                (await gateway.client.json("GET", "/v1/account", key: key)).object?["api_key_id"] as? String)
            #expect(await gateway.client.json("DELETE", "/v1/account/keys/\(primaryID)", key: key).status == 400)
            // Another account's key answers like a missing one.
            let other = try await gateway.key()
            #expect(await gateway.client.json("GET", "/v1/account/keys/\(primaryID)", key: other).status == 404)
        }
    }

    @Test func usageLimitsAndExport() async throws {
        try await withGateway { gateway in
            let key = try await gateway.key()
            let usage = await gateway.client.json("GET", "/v1/account/usage", key: key)
            #expect(usage.status == 200)
            #expect(usage.object?["sessions_today"] as? Int == 0)
            #expect(usage.object?["daily_limit"] as? Int == 10)
            let enhanced = await gateway.client.json("GET", "/v1/account/usage/enhanced?days=3", key: key)
            #expect(enhanced.status == 200)
            #expect(enhanced.object?["daily_history"] is [Any])
            #expect(enhanced.object?["hourly_usage"] is [Any])
            #expect(await gateway.client.json("GET", "/v1/account/usage/enhanced?days=91", key: key).status == 422)
            let json = await gateway.client.json("GET", "/v1/account/usage/export", key: key)
            #expect(json.status == 200)
            #expect(json.text.hasPrefix("["))
            let csv = await gateway.client.json("GET", "/v1/account/usage/export?format=csv&days=2", key: key)
            #expect(csv.status == 200)
            #expect(csv.header("content-type") == "text/csv; charset=utf-8")
            #expect(csv.text.hasPrefix("Date,Executions,Duration (ms),Cost (cents),Errors"))
            #expect(csv.header("content-disposition")?.hasPrefix("attachment; filename=\"usage-export-") == true)
            #expect(await gateway.client.json("GET", "/v1/account/usage/export?format=xml", key: key).status == 422)

            let limits = await gateway.client.json("GET", "/v1/account/limits", key: key)
            #expect(limits.status == 200)
            #expect(limits.object?["timezone"] as? String == "UTC")
            let changed = await gateway.client.json(
                "PUT", "/v1/account/limits", key: key, body: #"{"alert_threshold":50,"timezone":"Europe/Berlin"}"#)
            #expect(changed.status == 200)
            #expect(changed.object?["alert_threshold"] as? Int == 50)
            #expect(changed.object?["timezone"] as? String == "Europe/Berlin")
        }
    }

    @Test func quotaRequestsArePublic() async throws {
        try await withGateway { gateway in
            let response = await gateway.client.json(
                "POST", "/v1/quota-requests", key: nil, body: #"{"email":"q@example.com","company":"ACME"}"#)
            #expect(response.status == 201)
            #expect(response.object?["id"] is Int)
            #expect(response.object?["status"] as? String == "pending")
        }
    }

    @Test func requestIDsAreEchoedOrGeneratedAndSecurityHeadersAreSet() async throws {
        try await withGateway { gateway in
            let echoed = await gateway.client.send("GET", "/health", headers: [("x-request-id", "abc-123")])
            #expect(echoed.header("x-request-id") == "abc-123")
            let generated = await gateway.client.send("GET", "/health", headers: [("x-request-id", "bad id\u{7}")])
            #expect(generated.header("x-request-id")?.count == 16)
            #expect(echoed.header("x-content-type-options") == "nosniff")
            #expect(echoed.header("x-frame-options") == "DENY")
            #expect(echoed.header("access-control-allow-origin") == nil)
            let failed = await gateway.client.send("GET", "/v1/account", headers: [("x-request-id", "r-1")])
            #expect(failed.object?["request_id"] as? String == "r-1")
        }
    }

    @Test func corsIsOffByDefaultAndFollowsTheConfiguredOrigins() async throws {
        var configuration = GatewayConfiguration()
        configuration.corsOrigins = ["https://app.example"]
        try await withGateway(configuration: configuration) { gateway in
            let allowed = await gateway.client.send("GET", "/health", headers: [("origin", "https://app.example")])
            #expect(allowed.header("access-control-allow-origin") == "https://app.example")
            let other = await gateway.client.send("GET", "/health", headers: [("origin", "https://evil.example")])
            #expect(other.header("access-control-allow-origin") == nil)
            let preflight = await gateway.client.send(
                "OPTIONS", "/v1/sessions",
                headers: [("origin", "https://app.example"), ("access-control-request-method", "POST")])
            #expect(preflight.status == 204)
            #expect(preflight.header("access-control-allow-methods")?.contains("POST") == true)
            let refused = await gateway.client.send(
                "OPTIONS", "/v1/sessions",
                headers: [("origin", "https://evil.example"), ("access-control-request-method", "POST")])
            #expect(refused.status == 403)
        }
    }

    @Test func rateLimitedCallsAre429WithRetryAfterAndLimitHeaders() async throws {
        var tiers = TierTable.defaults
        tiers.publicRate = RateLimit(perSecond: 0.001, burst: 2)
        try await withGateway(tiers: tiers) { gateway in
            var last = GatewayTestResponse()
            for index in 0..<3 {
                last = await gateway.client.json(
                    "POST", "/v1/quota-requests", key: nil, body: #"{"email":"q\#(index)@example.com"}"#)
            }
            #expect(last.status == 429)
            #expect(last.headers.filter { $0.0 == "x-ratelimit-limit" }.count == 1)
            #expect(last.object?["code"] as? String == "RATE_LIMIT_EXCEEDED")
            #expect(Int(last.header("retry-after") ?? "") ?? 0 >= 1)
            #expect(last.header("x-ratelimit-limit") == "2")
            #expect(last.header("x-ratelimit-remaining") == "0")
            #expect(Int(last.header("x-ratelimit-reset") ?? "") ?? 0 > 1_700_000_000)
        }
    }

    @Test func limitedCallsCarryTheirRateLimitStanding() async throws {
        var tiers = TierTable.defaults
        tiers.publicRate = RateLimit(perSecond: 0.001, burst: 5)
        try await withGateway(tiers: tiers) { gateway in
            let first = await gateway.client.json("POST", "/v1/quota-requests", key: nil, body: #"{"email":"a@b.c"}"#)
            #expect(first.status == 201)
            #expect(first.header("x-ratelimit-limit") == "5")
            #expect(first.header("x-ratelimit-remaining") == "4")
            let second = await gateway.client.json("POST", "/v1/quota-requests", key: nil, body: #"{"email":"a@b.c"}"#)
            #expect(second.header("x-ratelimit-remaining") == "3")
            #expect(Int(second.header("x-ratelimit-reset") ?? "") ?? 0 > Int(Date().timeIntervalSince1970))
        }
    }

    @Test func sessionRoutesWithoutABackendAnswerNotImplemented() async throws {
        try await withGateway { gateway in
            let key = try await gateway.key()
            // This fixture's router serves AccountService only: the session calls are UNIMPLEMENTED.
            let response = await gateway.client.json("POST", "/v1/sessions", key: key, body: #"{"image":"default"}"#)
            #expect(response.status == 501)
            let invalid = await gateway.client.json(
                "POST", "/v1/sessions", key: key, body: #"{"image":"default","resources":{"memoryMB":64}}"#)
            #expect(invalid.status == 422)
            #expect(
                (invalid.object?["errors"] as? [[String: Any]])?.first?["location"] as? String
                    == "body.resources.memoryMB")
            // An upgrade-only route without a WebSocket handshake over this transport: 400 after the checks.
            #expect(await gateway.client.json("GET", "/v1/sessions/sess_x/attach", key: key).status == 501)
        }
    }

    @Test func theRouteTableAndTheOpenAPIDocumentAgree() async throws {
        try await withGateway { gateway in
            let document = await gateway.client.send("GET", "/openapi.json")
            #expect(document.status == 200)
            let paths = try #require(document.object?["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            for (path, operations) in paths {
                for method in operations.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                    documented.insert("\(method.uppercased()) \(path)")
                }
            }
            let served = Set(Gateway.routeTable.map { "\($0.method) \($0.path)" })
            #expect(served == documented)
        }
    }
}
