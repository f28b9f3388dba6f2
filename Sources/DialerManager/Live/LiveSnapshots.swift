import DialerCore
import DialerRuntime
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the supervisor's live panel shows, in one JSON document per event.
struct LiveSnapshot: Encodable {
    struct CampaignLive: Encodable {
        var id: String
        var name: String
        var status: String
        var mode: String
        var queue: String
        /// The campaign's target abandon rate (predictive settings), for the gauge.
        var targetAbandonRate: Double
        /// Attempts started in the last 60 seconds: as the dialing node counts them when it
        /// reports its pacing, else from the attempts the manager handed out.
        var dialRatePerMinute: Int
        /// The queue's last pacing decision, as its node reported it; `nil` when no node dials
        /// the campaign's queue now (or its report is older than 15 seconds).
        var pacing: Pacing?
        /// The campaign's report, as `GET /v1/campaigns/{id}/report` gives it.
        var report: CampaignRoutes.ReportBody?
        /// Its dialability, as `GET /v1/campaigns/{id}/dialability` gives it (refreshed less often).
        var dialability: CampaignRoutes.SummaryBody?
    }
    /// A queue's last pacing decision (the cluster protocol's `PacingReport`).
    struct Pacing: Encodable {
        var node: String
        var epoch: UInt64
        var reason: String
        var callsToStart: Int
        var reservationsToRequest: Int
        var dialLevel: Double
        var callsInFlight: Int
        var attemptsLastMinute: Int
        /// How long ago the manager received it.
        var ageMs: Int64
    }
    struct Node: Encodable {
        var id: String
        var role: String
        var state: String
        var connected: Bool
        var lastHeartbeatAgeMs: Int64?
    }
    struct Queue: Encodable {
        var id: String
        var kind: String
        var owner: String?
        var epoch: UInt64
        var waiting: Int
        var longestWaitMs: Int64
    }
    struct Agent: Encodable {
        var agent: String
        var name: String?
        var team: String?
        var gateway: String
        var state: String
        var reason: String?
        var queue: String?
        var timeInStateMs: Int64
        var calls: Int
        var phone: String?
    }

    var at: Date
    var mapVersion: UInt64
    var campaigns: [CampaignLive]
    var agents: [Agent]
    var queues: [Queue]
    var nodes: [Node]
    var history: [MinuteHistory.Minute]
    /// Gateways whose agents could not be read this time (`id: reason`).
    var problems: [String]
}

/// Reads one gateway's live view over its HTTP port (`GET /v1/live`).
protocol GatewayLiveSource: Sendable {
    func live(of gateway: String, at httpAddress: String) async throws -> GatewayLiveBody
}

/// The gateway's `GET /v1/live` answer, as the manager reads it.
struct GatewayLiveBody: Decodable, Sendable {
    struct Agent: Decodable, Sendable {
        var agent: String
        var state: String
        var reason: String?
        var queue: String?
        var timeInStateMs: Int64
        var calls: Int
        var phone: String?

        // The keys as the gateway writes them: a plain decoder then reads the body without the
        // API decoder's key conversion, which ran for every key of every agent (10,000 a read).
        enum CodingKeys: String, CodingKey {
            case agent, state, reason, queue, calls, phone
            case timeInStateMs = "time_in_state_ms"
        }
    }
    struct Queue: Decodable, Sendable {
        var queue: String
        var waiting: Int
        var longestWaitMs: Int64
        var available: Int
        var onCall: Int
        var wrapUp: Int

        enum CodingKeys: String, CodingKey {
            case queue, waiting, available
            case longestWaitMs = "longest_wait_ms"
            case onCall = "on_call"
            case wrapUp = "wrap_up"
        }
    }
    var agents: [Agent]
    var queues: [Queue]
}

/// Foundation's URL loading, one short request per gateway and snapshot.
struct HTTPGatewayLiveSource: GatewayLiveSource {
    let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 2
        session = URLSession(configuration: configuration)
    }

    func live(of gateway: String, at httpAddress: String) async throws -> GatewayLiveBody {
        guard let url = URL(string: "http://\(httpAddress)/v1/live") else { throw LiveReadError.badAddress }
        let (data, response) = try await session.data(from: url)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw LiveReadError.status }
        return try JSONDecoder().decode(GatewayLiveBody.self, from: data)
    }
}

enum LiveReadError: Error {
    case badAddress
    case status
}

/// Builds a snapshot every `interval` while the panel has subscribers (every ten intervals
/// otherwise, so that the charts have the last hour when someone opens the panel) and
/// publishes it to the ``LiveFeed``. Its one loop is the only writer of its state.
struct LiveFeedService: Service {
    let feed: LiveFeed
    let store: any ManagerStore
    let coordinator: ClusterCoordinator
    let gateways: any GatewayLiveSource
    let pacing: PacingBoard
    let clock: any DialerClock
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await loop() }
        await feed.finishAll()
    }

    private func loop() async throws {
        var builder = LiveSnapshotBuilder()
        let wallTime = WallTime(clock: clock, now: Date())
        var idleTicks = 0
        do {
            while !Task.isCancelled {
                let listening = await feed.hasSubscribers
                if listening || idleTicks >= 10 {
                    idleTicks = 0
                    do {
                        let snapshot = try await builder.build(
                            store: store, coordinator: coordinator, gateways: gateways, pacing: pacing,
                            now: wallTime.now(), moment: clock.now())
                        if listening {
                            let json = String(decoding: try APIJSON.encoder().encode(snapshot), as: UTF8.self)
                            await feed.publish(snapshot: json)
                        }
                    } catch {
                        logger.warning("live snapshot not built", metadata: ["error": "\(error)"])
                    }
                } else {
                    idleTicks += 1
                }
                try await clock.sleep(for: interval)
            }
        }
    }
}

/// The snapshot's state across ticks: the chart's minutes, each campaign's recent attempt
/// counts (its dial rate), and the dialability figures, refreshed every tenth snapshot.
struct LiveSnapshotBuilder {
    var history = MinuteHistory()
    var recentAttempts: [String: [(at: Date, attempts: Int)]] = [:]
    var dialability: [String: CampaignRoutes.SummaryBody] = [:]
    var builds = 0

    mutating func build(
        store: any ManagerStore, coordinator: ClusterCoordinator, gateways: any GatewayLiveSource,
        pacing board: PacingBoard, now: Date, moment: Moment
    ) async throws -> LiveSnapshot {
        let view = await coordinator.view()
        let pacing = await board.current(
            owners: Dictionary(
                view.queues.map { ($0.id, ($0.owner, $0.epoch)) }, uniquingKeysWith: { first, _ in first }))
        let members = view.members.filter { $0.role == "node" || $0.role == "gateway" }
        var problems: [String] = []
        var liveAgents: [LiveSnapshot.Agent] = []
        var waitingByQueue: [String: (waiting: Int, longest: Int64)] = [:]
        var busy = 0
        var staffed = 0
        let directory = Dictionary(
            (try await store.agents()).map { ($0.profile.id.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
        for gateway in members where gateway.role == "gateway" && gateway.connected {
            do {
                let body = try await gateways.live(of: gateway.id, at: gateway.httpAddress)
                for agent in body.agents {
                    let record = directory[agent.agent]
                    liveAgents.append(
                        LiveSnapshot.Agent(
                            agent: agent.agent, name: record?.profile.name, team: record?.profile.team?.rawValue,
                            gateway: gateway.id, state: agent.state, reason: agent.reason, queue: agent.queue,
                            timeInStateMs: agent.timeInStateMs, calls: agent.calls, phone: agent.phone))
                }
                for queue in body.queues {
                    let known = waitingByQueue[queue.queue] ?? (0, 0)
                    waitingByQueue[queue.queue] = (
                        known.waiting + queue.waiting, max(known.longest, queue.longestWaitMs)
                    )
                }
                for agent in body.agents where agent.state != "not-ready" {
                    staffed += 1
                    if agent.state == "on-call" || agent.state == "wrap-up" || agent.state == "reserved" { busy += 1 }
                }
            } catch {
                problems.append("\(gateway.id): \(error)")
            }
        }
        var totals = MinuteHistory.Totals()
        var campaigns: [LiveSnapshot.CampaignLive] = []
        let refreshDialability = builds % 10 == 0
        builds += 1
        for campaign in try await store.campaigns() {
            let id = campaign.id.rawValue
            var report: CampaignRoutes.ReportBody?
            if let figures = try await store.campaignReport(campaign.id, now: now) {
                report = CampaignRoutes.ReportBody(campaign: campaign.id, figures)
                totals.attempts += figures.attempts
                totals.connects += figures.attemptsByOutcome[.connected] ?? 0
                totals.liveAnswers += figures.liveAnswers
                totals.abandons += figures.abandons
            }
            var recent = recentAttempts[id, default: []]
            recent.append((now, report?.attempts ?? 0))
            recent.removeAll { now.timeIntervalSince($0.at) > 60 }
            recentAttempts[id] = recent
            if refreshDialability || dialability[id] == nil,
                let summary = try await store.campaignSummary(
                    campaign.id, now: now,
                    presentAgents: Set(liveAgents.map { AgentID($0.agent) }))
            {
                dialability[id] = CampaignRoutes.SummaryBody(campaign: campaign.id, summary)
            }
            let decision = pacing[campaign.queue.rawValue].map { entry in
                LiveSnapshot.Pacing(
                    node: entry.node, epoch: entry.epoch, reason: entry.report.reason,
                    callsToStart: Int(entry.report.callsToStart),
                    reservationsToRequest: Int(entry.report.reservationsToRequest),
                    dialLevel: entry.report.dialLevel, callsInFlight: Int(entry.report.callsInFlight),
                    attemptsLastMinute: Int(entry.report.attemptsLastMinute),
                    ageMs: max(.zero, moment - entry.receivedAt).totalMilliseconds)
            }
            campaigns.append(
                LiveSnapshot.CampaignLive(
                    id: id, name: campaign.name, status: campaign.settings.status.rawValue,
                    mode: campaign.settings.mode.rawValue, queue: campaign.queue.rawValue,
                    targetAbandonRate: campaign.settings.predictive.targetAbandonRate,
                    dialRatePerMinute: decision?.attemptsLastMinute
                        ?? max(0, (recent.last?.attempts ?? 0) - (recent.first?.attempts ?? 0)),
                    pacing: decision, report: report, dialability: dialability[id]))
        }
        let present = Set(campaigns.map(\.id))
        recentAttempts = recentAttempts.filter { present.contains($0.key) }
        dialability = dialability.filter { present.contains($0.key) }
        history.sample(totals, occupancy: staffed == 0 ? nil : Double(busy) / Double(staffed), at: now)
        return LiveSnapshot(
            at: now, mapVersion: view.mapVersion, campaigns: campaigns, agents: liveAgents,
            queues: view.queues.map { queue in
                let waiting = waitingByQueue[queue.id]
                return LiveSnapshot.Queue(
                    id: queue.id, kind: queue.kind, owner: queue.owner, epoch: queue.epoch,
                    waiting: waiting?.waiting ?? 0, longestWaitMs: waiting?.longest ?? 0)
            },
            nodes: members.map {
                LiveSnapshot.Node(
                    id: $0.id, role: $0.role, state: $0.state, connected: $0.connected,
                    lastHeartbeatAgeMs: $0.lastHeardAgo?.totalMilliseconds)
            },
            history: history.minutes, problems: problems)
    }
}

/// `GET /v1/live/events`: the live panel's server-sent events.
enum LiveRoutes {
    static func add(to routes: RouteTable, feed: LiveFeed) {
        routes.add(.get, "/v1/live/events", role: .readOnly) { request, _ in
            var limit = Int.max
            if let text = request.uri.queryParameters.get("max_events") {
                guard let value = Int(text), (1...1_000_000).contains(value) else {
                    throw APIError.invalid("max_events: must be a whole number from 1 to 1000000 (was \(text))")
                }
                limit = value
            }
            let (id, events) = await feed.subscribe()
            let end = await feed.ender(of: id)
            let maximum = limit
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/event-stream", .cacheControl: "no-store",
                    .init("X-Accel-Buffering")!: "no",
                ],
                body: ResponseBody { writer in
                    do {
                        // The stream has no end of its own: when the process shuts down, it ends
                        // here, so that the HTTP server's graceful shutdown does not wait on it.
                        try await withGracefulShutdownHandler {
                            var sent = 0
                            for await event in events {
                                try await writer.write(ByteBuffer(string: event))
                                if event.contains("event: snapshot\n") {
                                    sent += 1
                                    if sent >= maximum { break }
                                }
                            }
                        } onGracefulShutdown: {
                            end()
                        }
                    } catch {
                        await feed.unsubscribe(id)
                        throw error
                    }
                    await feed.unsubscribe(id)
                    try await writer.finish(nil)
                })
        }
    }
}
