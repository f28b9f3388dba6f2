/// Every agent's session, by agent: a dictionary split into buckets by agent.
///
/// A queue picture's source (``QueuePictureSource``) shares the table with the book
/// (copy-on-write) while the picture is built on another thread. Held in one dictionary, the
/// book's next change would copy every session at once (10,000 at the scale the gateway is
/// built for: a millisecond or more on the reservation service's actor, in one block); in
/// buckets, a change copies the bucket it falls in, a ``bucketCount``-th of the sessions, and a
/// change with no picture in flight copies nothing.
public struct AgentTable: Sendable, Equatable, Sequence {
    static let bucketCount = 128

    private var buckets: [[AgentID: AgentSession]] = Array(repeating: [:], count: Self.bucketCount)
    /// How many agents the table holds.
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// The agent's session, if the agent ever logged in.
    public subscript(agent: AgentID) -> AgentSession? {
        buckets[Self.bucket(of: agent)][agent]
    }

    /// Stores the session under its agent; returns the one it replaced.
    @discardableResult
    mutating func updateValue(_ session: AgentSession) -> AgentSession? {
        let old = buckets[Self.bucket(of: session.id)].updateValue(session, forKey: session.id)
        if old == nil { count += 1 }
        return old
    }

    /// Every session, in no particular order.
    public var values: some Sequence<AgentSession> { buckets.lazy.flatMap(\.values) }

    public func makeIterator() -> some IteratorProtocol<(key: AgentID, value: AgentSession)> {
        buckets.lazy.flatMap { $0 }.makeIterator()
    }

    /// Tables are equal when they hold the same sessions (buckets follow the process's hash seed).
    public static func == (lhs: AgentTable, rhs: AgentTable) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.allSatisfy { rhs[$0.key] == $0.value }
    }

    private static func bucket(of agent: AgentID) -> Int {
        Int(UInt(bitPattern: agent.hashValue) % UInt(bucketCount))
    }
}

extension AgentTable: AgentSessionLookup {}
