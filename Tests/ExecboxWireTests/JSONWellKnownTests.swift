import ExecboxWire
import Testing

@Suite struct JSONTimestampTests {
    private func written(_ seconds: Int64, _ nanos: Int32) -> String {
        var writer = JSONWriter()
        writer.timestamp(seconds: seconds, nanos: nanos)
        return writer.string
    }

    private func read(_ text: String) throws -> (seconds: Int64, nanos: Int32) {
        try scanJSON("\"\(text)\"") { try $0.readTimestamp() }
    }

    private func rejects(_ text: String) -> Bool {
        scanJSONFailure("\"\(text)\"") { try $0.readTimestamp() }?.isInvalidValue == true
    }

    @Test func writesRFC3339InUTC() {
        #expect(written(0, 0) == #""1970-01-01T00:00:00Z""#)
        #expect(written(63_108_020, 21_000_000) == #""1972-01-01T10:00:20.021Z""#)
        #expect(written(1, 10_000) == #""1970-01-01T00:00:01.000010Z""#)
        #expect(written(1, 1) == #""1970-01-01T00:00:01.000000001Z""#)
        #expect(written(-1, 0) == #""1969-12-31T23:59:59Z""#)
        #expect(written(-1, 500_000_000) == #""1969-12-31T23:59:59.500Z""#)
        #expect(written(951_782_400, 0) == #""2000-02-29T00:00:00Z""#)
    }

    @Test func rangeEnds() throws {
        #expect(written(-62_135_596_800, 0) == #""0001-01-01T00:00:00Z""#)
        #expect(written(253_402_300_799, 999_999_999) == #""9999-12-31T23:59:59.999999999Z""#)
        #expect(try read("0001-01-01T00:00:00Z") == (-62_135_596_800, 0))
        #expect(try read("9999-12-31T23:59:59.999999999Z") == (253_402_300_799, 999_999_999))
        #expect(rejects("0000-12-31T23:59:59Z"))
        #expect(rejects("0001-01-01T00:00:00+00:01"))
        #expect(try read("0000-12-31T23:59:00-00:01") == (-62_135_596_800, 0))
        #expect(rejects("9999-12-31T23:59:59-00:01"))
        #expect(rejects("10000-01-01T00:00:00Z"))
    }

    @Test func validity() {
        #expect(JSONWriter.isValidTimestamp(seconds: -62_135_596_800, nanos: 0))
        #expect(JSONWriter.isValidTimestamp(seconds: 253_402_300_799, nanos: 999_999_999))
        #expect(!JSONWriter.isValidTimestamp(seconds: -62_135_596_801, nanos: 999_999_999))
        #expect(!JSONWriter.isValidTimestamp(seconds: 253_402_300_800, nanos: 0))
        #expect(!JSONWriter.isValidTimestamp(seconds: 0, nanos: -1))
        #expect(!JSONWriter.isValidTimestamp(seconds: 0, nanos: 1_000_000_000))
    }

    @Test func outOfRangeIsRecordedAsAFailure() {
        var writer = JSONWriter()
        writer.timestamp(seconds: 253_402_300_800, nanos: 0)
        #expect(writer.failure == .timestampOutOfRange(seconds: 253_402_300_800, nanos: 0))
        var valid = JSONWriter()
        valid.timestamp(seconds: 0, nanos: 999_999_999)
        #expect(valid.failure == nil)
    }

    @Test func outOfRangeIsWrittenBestEffort() {
        #expect(written(253_402_300_800, 0) == #""10000-01-01T00:00:00Z""#)
        #expect(written(-62_135_596_801, 0) == #""0000-12-31T23:59:59Z""#)
        #expect(written(-62_198_755_200, 0) == #""-0001-01-01T00:00:00Z""#)
        #expect(written(0, -1) == #""1969-12-31T23:59:59.999999999Z""#)
        #expect(written(0, 1_500_000_000) == #""1970-01-01T00:00:01.500Z""#)
        // Extremes must not trap.
        _ = written(.max, .max)
        _ = written(.min, .min)
    }

    @Test func readsOffsetsAndFractions() throws {
        #expect(try read("1972-01-01T10:00:20.021Z") == (63_108_020, 21_000_000))
        #expect(try read("1972-01-01T11:00:20.021+01:00") == (63_108_020, 21_000_000))
        #expect(try read("1972-01-01T04:30:20.021-05:30") == (63_108_020, 21_000_000))
        #expect(try read("1970-01-01T00:00:00.5Z") == (0, 500_000_000))
        #expect(try read("1970-01-01T00:00:00.123456789Z") == (0, 123_456_789))
        #expect(try read("1970-01-01T00:00:00.000000001Z") == (0, 1))
        // Lower-case separators are not RFC 3339 as proto3 JSON accepts it (conformance suite).
        #expect(rejects("1970-01-01t00:00:00Z"))
        #expect(rejects("1970-01-01T00:00:00z"))
        #expect(try read("2000-02-29T00:00:00Z") == (951_782_400, 0))
        #expect(try read("1970-01-01T00:00:00+23:59") == (-86_340, 0))
    }

    @Test func rejectsMalformed() {
        for bad in [
            "", "1970-01-01", "1970-01-01T00:00:00", "1970-01-01 00:00:00Z", "1970-1-01T00:00:00Z",
            "1970-01-01T00:00:00.Z", "1970-01-01T00:00:00.1234567890Z", "1970-01-01T00:00:00+0100",
            "1970-01-01T00:00:00+24:00", "1970-01-01T00:00:00+01:60", "1970-13-01T00:00:00Z",
            "1970-00-01T00:00:00Z", "1970-01-32T00:00:00Z", "1970-01-00T00:00:00Z", "1900-02-29T00:00:00Z",
            "2001-02-29T00:00:00Z", "1970-04-31T00:00:00Z", "1970-01-01T24:00:00Z", "1970-01-01T00:60:00Z",
            "1970-01-01T00:00:60Z", "1970-01-01T00:00:00ZZ", "+1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z ",
            "197O-01-01T00:00:00Z",
        ] {
            #expect(rejects(bad), "\(bad)")
        }
        #expect(scanJSONFailure("0") { try $0.readTimestamp() }?.isSyntax == true)
    }

    @Test func roundTripsAcrossTheRange() throws {
        var seconds: Int64 = -62_135_596_800
        while seconds <= 253_402_300_799 {
            for nanos: Int32 in [0, 1, 1000, 999_000_000, 999_999_999] {
                let text = written(seconds, nanos)
                let back = try scanJSON(text) { try $0.readTimestamp() }
                #expect(back == (seconds, nanos), "\(text)")
            }
            seconds += 86_399 * 97 + 12_345
        }
    }
}

@Suite struct JSONDurationTests {
    private func written(_ seconds: Int64, _ nanos: Int32) -> String {
        var writer = JSONWriter()
        writer.duration(seconds: seconds, nanos: nanos)
        return writer.string
    }

    private func read(_ text: String) throws -> (seconds: Int64, nanos: Int32) {
        try scanJSON("\"\(text)\"") { try $0.readDuration() }
    }

    private func rejects(_ text: String) -> Bool {
        scanJSONFailure("\"\(text)\"") { try $0.readDuration() }?.isInvalidValue == true
    }

    @Test func writes() {
        #expect(written(0, 0) == #""0s""#)
        #expect(written(3, 0) == #""3s""#)
        #expect(written(1, 500_000_000) == #""1.500s""#)
        #expect(written(0, -1000) == #""-0.000001s""#)
        #expect(written(-1, -500_000_000) == #""-1.500s""#)
        #expect(written(0, 1) == #""0.000000001s""#)
        #expect(written(315_576_000_000, 999_999_999) == #""315576000000.999999999s""#)
        #expect(written(-315_576_000_000, -999_999_999) == #""-315576000000.999999999s""#)
    }

    @Test func writesBestEffortWhenInvalid() {
        // Mixed signs are normalised: 1 s − 0.5 s.
        #expect(written(1, -500_000_000) == #""0.500s""#)
        #expect(written(-1, 500_000_000) == #""-0.500s""#)
        #expect(written(0, 1_500_000_000) == #""1.500s""#)
        #expect(written(.min, 0) == #""-9223372036854775808s""#)
        _ = written(.max, .max)
        _ = written(.min, .min)
    }

    @Test func validity() {
        #expect(JSONWriter.isValidDuration(seconds: 315_576_000_000, nanos: 999_999_999))
        #expect(JSONWriter.isValidDuration(seconds: -1, nanos: -5))
        #expect(JSONWriter.isValidDuration(seconds: 0, nanos: -5))
        #expect(!JSONWriter.isValidDuration(seconds: 315_576_000_001, nanos: 0))
        #expect(!JSONWriter.isValidDuration(seconds: 1, nanos: -5))
        #expect(!JSONWriter.isValidDuration(seconds: 0, nanos: 1_000_000_000))
    }

    @Test func reads() throws {
        #expect(try read("0s") == (0, 0))
        #expect(try read("3s") == (3, 0))
        #expect(try read("1.5s") == (1, 500_000_000))
        #expect(try read("-1.5s") == (-1, -500_000_000))
        #expect(try read("-0.000001s") == (0, -1000))
        #expect(try read("-0.5s") == (0, -500_000_000))
        #expect(try read("0.123456789s") == (0, 123_456_789))
        #expect(try read("315576000000s") == (315_576_000_000, 0))
        #expect(try read("-315576000000.999999999s") == (-315_576_000_000, -999_999_999))
    }

    @Test func rejects() {
        for bad in [
            "", "s", "1", "1.s", ".5s", "+1s", "1.0000000001s", "1 s", "1S", "--1s", "-s", "1.5ss",
            "315576000001s", "-315576000001s", "99999999999999999999s", "1e3s",
        ] {
            #expect(rejects(bad), "\(bad)")
        }
        #expect(scanJSONFailure("1.5") { try $0.readDuration() }?.isSyntax == true)
    }

    @Test func roundTrips() throws {
        for (seconds, nanos): (Int64, Int32) in [
            (0, 0), (1, 1), (-1, -1), (0, -999_999_999), (12, 340_000_000), (-315_576_000_000, 0),
        ] {
            let back = try scanJSON(written(seconds, nanos)) { try $0.readDuration() }
            #expect(back == (seconds, nanos))
        }
    }
}
