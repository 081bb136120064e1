public import Foundation

/// Usage of one UTC hour or day, summed over the selected keys.
public struct UsageBucket: Hashable, Sendable {
    public var start: Date
    public var measures: UsageMeasures

    public init(start: Date, measures: UsageMeasures) {
        self.start = start
        self.measures = measures
    }
}
