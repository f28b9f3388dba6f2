public import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small client of the manager's HTTP API for the operator tools and the tests.
public struct ManagerHTTPClient: Sendable {
    public struct HTTPError: Error, CustomStringConvertible {
        public var status: Int
        public var body: String
        public var description: String { "HTTP \(status): \(body)" }
    }

    public let baseURL: URL
    public let token: String?

    public init(baseURL: URL, token: String? = nil) {
        self.baseURL = baseURL
        self.token = token
    }

    /// `http://host:port` for a `host:port` address.
    public init(address: String, token: String? = nil) {
        self.init(baseURL: URL(string: "http://\(address)")!, token: token)
    }

    /// Sends a request; returns the status and body. `timeout` bounds the whole exchange.
    public func send(
        _ method: String, _ path: String, body: Data? = nil, timeout: TimeInterval = 5
    ) async throws -> (status: Int, body: Data) {
        // `path` may carry a query (`v1/lists/x/imports?format=csv`), which appending a path
        // component would escape.
        let parts = path.split(separator: "?", maxSplits: 1)
        var components = URLComponents(
            url: baseURL.appendingPathComponent(String(parts.first ?? "")), resolvingAgainstBaseURL: false)!
        if parts.count > 1 { components.percentEncodedQuery = String(parts[1]) }
        var request = URLRequest(url: components.url!, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// GETs `path` and decodes the JSON body (snake_case keys) as `T`; non-2xx is an error.
    public func get<T: Decodable>(_ path: String, as type: T.Type, timeout: TimeInterval = 5) async throws -> T {
        let (status, data) = try await send("GET", path, timeout: timeout)
        guard (200..<300).contains(status) else {
            throw HTTPError(status: status, body: String(decoding: data, as: UTF8.self))
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }
}

/// `/v1/cluster` as the tools read it.
public struct ClusterTable: Decodable, Sendable {
    public struct Node: Decodable, Sendable {
        public var id: String
        public var role: String
        public var state: String
        public var connected: Bool
        public var httpAddress: String
        public var lastHeartbeatAgeMs: Int64?
    }

    public struct Queue: Decodable, Sendable {
        public var id: String
        public var kind: String
        public var owner: String?
        public var epoch: UInt64
        public var leaseExpiresInMs: Int64?
        public var handoff: String?
    }

    public var mapVersion: UInt64
    public var recovering: Bool
    public var nodes: [Node]
    public var queues: [Queue]
}

/// A node's `/v1/leases`.
public struct NodeLeases: Decodable, Sendable {
    public struct Lease: Decodable, Sendable {
        public var queue: String
        public var epoch: UInt64
        public var validForMs: Int64
        public var gatewaySubscribed: Bool
    }

    public var node: String
    public var draining: Bool
    public var leases: [Lease]
}
