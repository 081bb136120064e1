/// Keeps a value alive past the optimizer, so the work that produced it is not removed.
@inline(never)
@_optimize(none)
public func blackHole<T>(_ value: T) {}
