import AsyncHTTPClient
public import DialerTransport
public import Foundation
import NIOCore
import NIOHTTP1

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small client of the manager's HTTP API (and of any process's operations endpoints) for
/// the operator tools and the tests.
///
/// Plain HTTP by default; with the cluster's TLS (``init(address:token:tls:)``) it speaks
/// HTTPS, trusting the cluster's own authority and presenting the member certificate when the
/// server asks for one (mutual TLS), as docs/TLS.md sets up.
public struct ManagerHTTPClient: Sendable {
    public struct HTTPError: Error, CustomStringConvertible {
        public var status: Int
        public var body: String
        public var description: String { "HTTP \(status): \(body)" }
    }

    public let baseURL: URL
    public let token: String?
    /// The cluster's TLS: HTTPS with its authority and certificate; `nil` for plain HTTP.
    public let tls: ClusterTLS?

    /// The most body a response may carry: the API's JSON answers are far smaller.
    static let maxResponseBytes = 64 << 20

    public init(baseURL: URL, token: String? = nil, tls: ClusterTLS? = nil) {
        self.baseURL = baseURL
        self.token = token
        self.tls = tls
    }

    /// `http://host:port` (or `https://` with `tls`) for a `host:port` address.
    public init(address: String, token: String? = nil, tls: ClusterTLS? = nil) {
        let scheme = tls == nil ? "http" : "https"
        self.init(baseURL: URL(string: "\(scheme)://\(address)")!, token: token, tls: tls)
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
        let url = components.url!
        if let tls { return try await sendOverTLS(method, url: url, body: body, timeout: timeout, tls: tls) }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// HTTPS with the cluster's authority: Foundation's URLSession on Linux cannot be given a
    /// private authority or a client certificate per request, AsyncHTTPClient can.
    private func sendOverTLS(
        _ method: String, url: URL, body: Data?, timeout: TimeInterval, tls: ClusterTLS
    ) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        request.tlsConfiguration = tls.clientConfiguration
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let limit = TimeAmount.milliseconds(Int64((min(max(timeout, 0.001), 86_400) * 1_000).rounded()))
        let response = try await HTTPClient.shared.execute(request, timeout: limit)
        let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
        return (Int(response.status.code), Data(buffer: bytes))
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
        /// The cluster protocol version the member's connection speaks; `nil` from a manager
        /// older than the field (a tool may meet one during a rolling upgrade).
        public var protocolVersion: UInt32?
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
