/// The limit in force when several apply: the smallest one that is set; -1 (unlimited) only when
/// none is.
enum EffectiveLimits {
    static func combine(_ limits: Int?...) -> Int {
        limits.compactMap { $0 }.filter { $0 >= 0 }.min() ?? -1
    }
}
