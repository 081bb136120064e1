/// The messages arriving from the peer on one stream, whatever the transport.
public struct RPCAsyncSequence<Element: Sendable>: AsyncSequence, Sendable {
    public typealias Failure = any Error

    private let base: any AsyncSequence<Element, any Error> & Sendable

    public init(_ base: some AsyncSequence<Element, any Error> & Sendable) {
        self.base = base
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: any AsyncIteratorProtocol<Element, any Error>

        public mutating func next() async throws -> Element? {
            try await base.next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Element? {
            try await base.next(isolation: actor)
        }
    }

    /// Maps each element, failing the sequence if `transform` throws.
    public func map<T: Sendable>(
        _ transform: @escaping @Sendable (Element) throws -> T
    ) -> RPCAsyncSequence<T> {
        RPCAsyncSequence<T>(MappedSequence(base: self, transform: transform))
    }
}

private struct MappedSequence<Base: Sendable, Element: Sendable>: AsyncSequence, Sendable {
    typealias Failure = any Error
    let base: RPCAsyncSequence<Base>
    let transform: @Sendable (Base) throws -> Element

    func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), transform: transform)
    }

    struct Iterator: AsyncIteratorProtocol {
        var base: RPCAsyncSequence<Base>.AsyncIterator
        let transform: @Sendable (Base) throws -> Element

        mutating func next() async throws -> Element? {
            guard let element = try await base.next() else { return nil }
            return try transform(element)
        }
    }
}
