/// Sends messages to the peer on one stream. `write` suspends while the transport applies
/// backpressure, so a fast producer cannot outrun a slow consumer.
public struct RPCWriter<Element: Sendable>: Sendable {
    private let writeElement: @Sendable (Element) async throws -> Void

    public init(_ write: @escaping @Sendable (Element) async throws -> Void) {
        self.writeElement = write
    }

    public func write(_ element: Element) async throws {
        try await writeElement(element)
    }

    public func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await writeElement(element) }
    }

    /// A writer that encodes typed values into this one.
    public func map<T: Sendable>(_ transform: @escaping @Sendable (T) throws -> Element) -> RPCWriter<T> {
        RPCWriter<T> { value in try await self.write(transform(value)) }
    }
}
