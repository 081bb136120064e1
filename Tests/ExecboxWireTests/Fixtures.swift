import ExecboxFixtures

typealias Scalars = Execbox_Fixtures_V1_Scalars
typealias Maps = Execbox_Fixtures_V1_Maps
typealias Nested = Execbox_Fixtures_V1_Nested
typealias Composite = Execbox_Fixtures_V1_Composite
typealias Presence = Execbox_Fixtures_V1_Presence
typealias Color = Execbox_Fixtures_V1_Color

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = hex.startIndex
    while i < hex.endIndex {
        let j = hex.index(i, offsetBy: 2)
        out.append(UInt8(hex[i..<j], radix: 16)!)
        i = j
    }
    return out
}
