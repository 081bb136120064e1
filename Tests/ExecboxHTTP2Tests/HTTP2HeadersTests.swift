import ExecboxHTTP2
import Testing

/// `HTTP2Headers` keeps its fields as bytes and makes Strings when they are read.
struct HTTP2HeadersTests {
    @Test func fieldsKeepTheirOrderAndNamesAreLowerCased() {
        var headers: HTTP2Headers = [":status": "200", "Content-Type": "Text/Plain"]
        headers.add("X-Mixed-Case", "Value With Case")
        headers.add("x-mixed-case", "second")
        #expect(headers.count == 4)
        #expect(headers.fields.map(\.name) == [":status", "content-type", "x-mixed-case", "x-mixed-case"])
        #expect(headers.fields.map(\.value) == ["200", "Text/Plain", "Value With Case", "second"])
        #expect(Array(headers.map(\.name)) == headers.fields.map(\.name))
    }

    @Test func lookupsIgnoreASCIICaseAndReturnTheFirstMatch() {
        let headers = HTTP2Headers([("x-a", "1"), ("content-type", "application/grpc"), ("x-a", "2")])
        #expect(headers["x-a"] == "1")
        #expect(headers["X-A"] == "1")
        #expect(headers["Content-TYPE"] == "application/grpc")
        #expect(headers["x-b"] == nil)
        #expect(headers["x-"] == nil)
        #expect(headers[""] == nil)
        #expect(HTTP2Headers()["x-a"] == nil)
    }

    @Test func longAndManyFieldsGrowTheStorageIntact() {
        var expected: [(String, String)] = []
        var headers = HTTP2Headers()
        headers.reserveCapacity(2)
        for i in 0..<300 {
            let value = String(repeating: "v\(i % 10)", count: i)
            expected.append(("x-field-\(i)", value))
            headers.add("x-field-\(i)", value)
        }
        #expect(headers.count == 300)
        #expect(headers.fields.elementsEqual(expected) { $0.name == $1.0 && $0.value == $1.1 })
        #expect(headers["x-field-299"] == String(repeating: "v9", count: 299))
    }

    @Test func emptyAndNonASCIIFieldsRoundTrip() {
        let headers = HTTP2Headers([("x-empty", ""), ("x-utf8", "grüße, 世界 🌍"), ("", "nameless")])
        #expect(headers["x-empty"] == "")
        #expect(headers["x-utf8"] == "grüße, 世界 🌍")
        #expect(headers[""] == "nameless")
        #expect(headers.fields.map(\.name) == ["x-empty", "x-utf8", ""])
    }

    @Test func equalityAndHashingSeeTheFieldsNotTheRoom() {
        var roomy = HTTP2Headers()
        roomy.reserveCapacity(50)
        roomy.add("x-a", "1")
        let tight: HTTP2Headers = ["x-a": "1"]
        #expect(roomy == tight)
        #expect(roomy.hashValue == tight.hashValue)
        // The same bytes split differently are different fields.
        #expect(HTTP2Headers([("ab", "c")]) != HTTP2Headers([("a", "bc")]))
        #expect(HTTP2Headers([("x-a", "1")]) != HTTP2Headers([("x-a", "1"), ("x-b", "2")]))
        #expect(HTTP2Headers([("x-a", "1"), ("x-b", "2")]) != HTTP2Headers([("x-b", "2"), ("x-a", "1")]))
    }

    @Test func copiesAreIndependent() {
        var original: HTTP2Headers = ["x-a": "1"]
        let copy = original
        original.add("x-b", "2")
        #expect(copy.count == 1)
        #expect(copy["x-b"] == nil)
        #expect(original["x-b"] == "2")
    }
}
