public import DialerRuntime
import Foundation

/// Reads a running cluster's figures over HTTP: the members from the manager's
/// `/v1/cluster`, the nodes' Prometheus `/metrics`, the gateway's `/v1/reservations/log`.
public struct ClusterProbe: Sendable {
    public let manager: ManagerHTTPClient
    /// The HTTP addresses of the gateway and the nodes when known from their ready files: the
    /// manager's table shows the configured ones, which are `host:0` in a generated config.
    public let known: (gateway: String?, nodes: [String])?

    public init(manager: ManagerHTTPClient, known: (gateway: String?, nodes: [String])? = nil) {
        self.manager = manager
        self.known = known
    }

    /// A probe of a cluster this process started, with the addresses the processes bound.
    public init(cluster: LocalCluster) {
        let members = cluster.launcher.members
        self.init(
            manager: cluster.manager,
            known: (
                members.first { $0.role == "gateway" }?.ready.httpAddress,
                members.filter { $0.role == "node" }.map(\.ready.httpAddress)
            ))
    }

    /// The HTTP addresses of the gateway and the nodes.
    public func members() async throws -> (gateway: String?, nodes: [String]) {
        if let known { return known }
        let table = try await manager.get("v1/cluster", as: ClusterTable.self)
        let gateway = table.nodes.first { $0.role == "gateway" && $0.connected }?.httpAddress
        let nodes = table.nodes.filter { $0.role == "node" && $0.connected }.map(\.httpAddress)
        return (gateway, nodes)
    }

    /// The Prometheus text of the process at `address`, or nil if it does not answer.
    public func metrics(at address: String) async -> String? {
        guard let (status, body) = try? await ManagerHTTPClient(address: address).send("GET", "metrics", timeout: 5),
            status == 200
        else { return nil }
        return String(decoding: body, as: UTF8.self)
    }

    /// The Prometheus texts of `nodes`, one after the other (a node that does not answer adds
    /// nothing): sums and histograms then add up over the nodes.
    public func metrics(nodes: [String]) async -> String {
        var text = ""
        for node in nodes { text += (await metrics(at: node) ?? "") + "\n" }
        return text
    }

    /// Calls the nodes have in progress (every stage), added over `nodes`.
    public func callsInFlight(nodes: [String]) async -> Int {
        var total = 0.0
        for node in nodes {
            if let text = await metrics(at: node) {
                total += PrometheusText.sum("dialer_node_calls_in_flight", in: text)
            }
        }
        return Int(total)
    }

    /// The gateway's recent reservation log: all of it, or its entries at or after `sinceMs`
    /// (the gateway's milliseconds, e.g. the last answer's ``ReservationLog/nowMs``).
    public func reservationLog(gateway: String, sinceMs: Int64? = nil) async throws -> ReservationLog {
        let path = sinceMs.map { "v1/reservations/log?since_ms=\(max(0, $0))" } ?? "v1/reservations/log"
        let (status, body) = try await ManagerHTTPClient(address: gateway).send("GET", path, timeout: 10)
        guard status == 200 else {
            throw SetupFailure(
                request: "GET \(gateway)/\(path)", status: status,
                body: String(decoding: body, as: UTF8.self))
        }
        return try JSONDecoder().decode(ReservationLog.self, from: body)
    }
}

/// `GET /v1/reservations/log` of the gateway.
public struct ReservationLog: Decodable, Sendable {
    public struct Entry: Decodable, Hashable, Sendable {
        public var momentMs: Int64
        public var agent: String
        public var request: String
        public var queue: String
        /// offered, granted, connected, returned or call-ended.
        public var event: String

        enum CodingKeys: String, CodingKey {
            case momentMs = "moment_ms"
            case agent, request, queue, event
        }
    }

    public var nowMs: Int64
    /// Entries asked for may have been dropped before the read (the log keeps its newest only).
    public var truncated: Bool
    public var entries: [Entry]

    enum CodingKeys: String, CodingKey {
        case nowMs = "now_ms"
        case truncated
        case entries
    }

    public init(nowMs: Int64, truncated: Bool = false, entries: [Entry]) {
        self.nowMs = nowMs
        self.truncated = truncated
        self.entries = entries
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nowMs = try container.decode(Int64.self, forKey: .nowMs)
        // A gateway of before `truncated` leaves it out.
        truncated = try container.decodeIfPresent(Bool.self, forKey: .truncated) ?? false
        entries = try container.decode([Entry].self, forKey: .entries)
    }
}

/// Reads values out of the Prometheus text format.
public enum PrometheusText {
    /// The sum of every sample of `metric` (any labels).
    public static func sum(_ metric: String, in text: String) -> Double {
        samples(metric, in: text).reduce(0) { $0 + $1.value }
    }

    /// The samples of exactly `metric`, with their label text.
    public static func samples(_ metric: String, in text: String) -> [(labels: String, value: Double)] {
        var found: [(String, Double)] = []
        for line in text.split(separator: "\n") where line.hasPrefix(metric) && !line.hasPrefix("#") {
            let rest = line.dropFirst(metric.count)
            var labels = ""
            var valueText: Substring
            if rest.hasPrefix("{") {
                guard let close = rest.firstIndex(of: "}") else { continue }
                labels = String(rest[rest.index(after: rest.startIndex)..<close])
                valueText = rest[rest.index(after: close)...]
            } else if rest.hasPrefix(" ") {
                valueText = rest
            } else {
                continue  // another metric whose name starts with this one
            }
            let fields = valueText.split(separator: " ")
            guard let first = fields.first, let value = Double(first) else { continue }
            found.append((labels, value))
        }
        return found
    }

    /// The labels of a sample (`queue="a",outcome="connected"`) by name; values unescaped.
    public static func labels(_ text: String) -> [String: String] {
        var labels: [String: String] = [:]
        var rest = Substring(text)
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: equals)...]
            guard rest.first == "\"" else { break }
            rest = rest.dropFirst()
            var value = ""
            var escaped = false
            while let character = rest.first {
                rest = rest.dropFirst()
                if escaped {
                    value.append(character == "n" ? "\n" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    break
                } else {
                    value.append(character)
                }
            }
            labels[name] = value
            rest = rest.drop { $0 == "," || $0 == " " }
        }
        return labels
    }

    /// A histogram's cumulative bucket counts by upper bound in seconds, added over every
    /// label set (e.g. over queues and nodes when the texts are concatenated).
    public static func buckets(_ histogram: String, in text: String) -> [Double: Double] {
        var buckets: [Double: Double] = [:]
        for (labels, value) in samples(histogram + "_bucket", in: text) {
            guard let range = labels.range(of: "le=\"") else { continue }
            let bound = labels[range.upperBound...].prefix { $0 != "\"" }
            let le = bound == "+Inf" ? Double.infinity : Double(bound)
            if let le { buckets[le, default: 0] += value }
        }
        return buckets
    }
}
