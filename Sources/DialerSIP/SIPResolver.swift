public import NIOCore
public import NIOPosix

/// Turns a SIP URI's host (an agent's phone, the carrier's proxy) into a socket address without
/// blocking the caller: a host name's lookup (`getaddrinfo`, which blocks its thread for as long
/// as DNS takes) runs on a thread pool, never on the trunk's actor or Swift's cooperative pool.
public protocol SIPResolver: Sendable {
    /// The address of `host` (a name or an IP literal) at `port`.
    func resolve(host: String, port: Int) async throws -> SocketAddress
}

/// The resolver a trunk uses unless told otherwise: IP literals at once, names by a blocking
/// lookup on a NIO thread pool.
public struct ThreadPoolSIPResolver: SIPResolver {
    private let threadPool: NIOThreadPool
    private let lookup: @Sendable (String, Int) throws -> SocketAddress

    /// - Parameters:
    ///   - threadPool: where the blocking lookups run (NIO's shared pool by default).
    ///   - lookup: the blocking lookup itself; `getaddrinfo` through NIO by default (tests
    ///     inject a slow one).
    public init(
        threadPool: NIOThreadPool = .singleton,
        lookup: @escaping @Sendable (String, Int) throws -> SocketAddress = {
            try SocketAddress.makeAddressResolvingHost($0, port: $1)
        }
    ) {
        self.threadPool = threadPool
        self.lookup = lookup
    }

    public func resolve(host: String, port: Int) async throws -> SocketAddress {
        // A URI writes an IPv6 literal in brackets (RFC 3261 §19.1.1).
        let host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        // A literal needs no lookup (and no hop to another thread).
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return literal }
        let lookup = self.lookup
        return try await threadPool.runIfActive { try lookup(host, port) }
    }
}
