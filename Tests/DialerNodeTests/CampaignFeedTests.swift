import DialerConfig
import DialerCore
import DialerProtocol
import DialerSimulation
import DialerTestSupport
import DialerTransport
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import DialerManager
@testable import DialerNode

/// Monday 6 January 2025, 12:00 UTC: calling hours in Denmark.
private let monday = Date(timeIntervalSince1970: 1_736_164_800)
private let secret = "feed-test"
private let leaseDuration = Duration.seconds(10)

/// The manager's cluster side in process, on loopback, over a real SQLite store.
private final class LoopbackManager: Sendable {
    let directory: String
    let store: SQLiteManagerStore
    let clock = ManualClock()
    let coordinator: ClusterCoordinator
    let changes = ManagerChanges()
    let feeder: ManagerFeeder
    let server: ClusterServer
    let serving: Task<Void, Never>

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("feed-\(UUID().uuidString)").path
        store = try SQLiteManagerStore(path: directory + "/manager.sqlite", passwordIterations: 1_000)
        let logger = Logger(label: "feed-test")
        coordinator = try ClusterCoordinator(
            leaseDuration: leaseDuration, queues: [QueueSettings(id: "q-c1")], journal: LeaseJournal(path: nil),
            clock: clock, logger: logger)
        feeder = ManagerFeeder(
            store: store, coordinator: coordinator, changes: changes, wallTime: WallTime(clock: clock, now: monday),
            logger: logger, batching: .immediate)
        let listener = ManagerClusterListener(
            coordinator: coordinator, feeder: feeder, leaseDuration: leaseDuration, renewInterval: .seconds(2),
            logger: logger)
        server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0,
            settings: ConnectionSettings(
                localID: "manager", localRole: .manager, secret: ClusterSecret(secret), acceptedRoles: [.node]),
            violationLog: nil)
        let (server, feeder) = (self.server, self.feeder)
        serving = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await server.run(handler: listener.handle) }
                group.addTask { await feeder.runBatches() }
            }
        }
    }

    /// A campaign c1 on queue q-c1 dialing `count` Danish contacts.
    func makeCampaign(contacts count: Int) async throws -> CampaignSettings {
        _ = try await store.createList(id: ContactListID("l1"), name: "l1", description: "", now: monday)
        var settings = CampaignSettings(status: .enabled)
        settings.retryIntervals.unknown = .seconds(120)
        _ = try await store.createCampaign(
            Campaign(
                id: CampaignID("c1"), name: "c1", list: ContactListID("l1"), queue: QueueID("q-c1"), settings: settings),
            now: monday)
        for index in 0..<count {
            _ = try await store.addContact(
                to: ContactListID("l1"), ContactDraft(phone: "+45" + String(20_000_000 + index)), defaultRegion: "DK",
                now: monday.addingTimeInterval(-3600))
        }
        return settings
    }

    func waitUntilGone(_ node: String) async -> Bool {
        for _ in 0..<500 {
            if await coordinator.view().members.first(where: { $0.id == node })?.connected == false { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    func shutdown() async {
        await server.close()
        serving.cancel()
        await serving.value
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The node's manager session, reduced to what the feed needs: register, keep the granted
/// leases, hand the link to the feed; closing it is what a killed node's socket does.
private final class NodeSession: Sendable {
    let grants = Mutex<[HeldLease]>([])
    private let stop = Mutex<AsyncStream<Void>.Continuation?>(nil)
    private let running = Mutex<Task<Void, Never>?>(nil)

    func connect(port: Int, feed: CampaignFeed) async throws {
        let connection = try await ClusterClient.connect(
            host: "127.0.0.1", port: port,
            settings: ConnectionSettings(localID: "node-1", localRole: .node, secret: ClusterSecret(secret)))
        let (stopped, stopContinuation) = AsyncStream.makeStream(of: Void.self)
        let (registered, registeredContinuation) = AsyncStream.makeStream(of: Bool.self)
        stop.withLock { $0 = stopContinuation }
        let task = Task { [self] in
            _ = try? await connection.run { link, inbound in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try? await inbound.forEach { envelope in
                            if case .leaseGrant(let grant) = envelope.message {
                                self.grants.withLock { $0.append(grant.lease.held) }
                            }
                        }
                    }
                    group.addTask {
                        let reply = try? await link.request(.register(Dialer_V1_Register()))
                        if case .registered = reply?.message {
                            await feed.managerConnected(link)
                            registeredContinuation.yield(true)
                        } else {
                            registeredContinuation.yield(false)
                        }
                        for await _ in stopped {}
                        link.close()
                    }
                    await group.next()
                    group.cancelAll()
                }
            }
            await feed.managerConnected(nil)
            registeredContinuation.finish()
        }
        running.withLock { $0 = task }
        var iterator = registered.makeAsyncIterator()
        guard await iterator.next() == true else { throw ConnectionClosed() }
    }

    var lease: HeldLease? { grants.withLock { $0.last } }

    func close() async {
        stop.withLock { $0?.finish() }
        await running.withLock { $0 }?.value
    }
}

@Suite("Node: the campaign feed over loopback", .serialized)
struct CampaignFeedTests {
    @Test func aNodeGetsItsCampaignDialsReportsAndIsLost() async throws {
        let manager = try await LoopbackManager()
        let settings = try await manager.makeCampaign(contacts: 3)
        let session = NodeSession()
        let feed = CampaignFeed(
            leaseIsValid: { lease in session.grants.withLock { $0.contains(lease) } }, logger: Logger(label: "node"))
        try await session.connect(port: manager.server.port, feed: feed)
        let lease = try #require(session.lease)

        let campaign = try await feed.campaign(for: lease)
        #expect(campaign.campaign == CampaignID("c1") && campaign.status == .enabled && campaign.dialingAllowed)
        #expect(campaign.settings == settings && campaign.revision == 1)

        let batch = try await feed.contacts(for: lease, count: 3, presentAgents: [])
        #expect(batch.attempts.count == 3 && batch.dialingAllowed && !batch.settingsChanged)
        #expect(Set(batch.attempts.map(\.contact)).count == 3)
        #expect(batch.attempts.allSatisfy { $0.attemptNumber == 1 && $0.lease == lease && $0.phone.hasPrefix("+45") })
        // A floor larger than the manager's limits (10,000 contacts, 10,000 present agents) is
        // asked for within them, never refused.
        let large = try await feed.contacts(
            for: lease, count: 50_000, presentAgents: Set((0..<12_000).map { AgentID("agent-\($0)") }))
        #expect(large.attempts.isEmpty && large.dialingAllowed)

        // A result, acknowledged.
        let first = batch.attempts[0]
        await feed.report(AttemptResult(attempt: first.attempt, contact: first.contact, outcome: .busy), lease: lease)
        #expect(await eventually { await feed.unacknowledgedReports == 0 })
        #expect(try await manager.store.attempt(first.attempt)?.outcome == .busy)

        // A campaign change shows in the next batch, and the settings are fetched again.
        await manager.changes.changed(.campaign(CampaignID("c1")))
        #expect(try await feed.contacts(for: lease, count: 1, presentAgents: []).settingsChanged)
        #expect(try await feed.campaign(for: lease).revision == 2)

        // A lease this node does not hold: nothing is asked.
        await #expect(throws: CampaignFeedError.leaseNotValid(HeldLease(queue: lease.queue, epoch: lease.epoch.next))) {
            try await feed.contacts(
                for: HeldLease(queue: lease.queue, epoch: lease.epoch.next), count: 1, presentAgents: [])
        }

        // The connection drops; a result reported meanwhile waits in the outbox and goes out on
        // the next connection.
        await session.close()
        #expect(await manager.waitUntilGone("node-1"))
        let second = batch.attempts[1]
        await feed.report(
            AttemptResult(attempt: second.attempt, contact: second.contact, outcome: .noAnswer), lease: lease)
        #expect(await feed.unacknowledgedReports == 1)
        await #expect(throws: CampaignFeedError.notConnected) {
            try await feed.contacts(for: lease, count: 1, presentAgents: [])
        }
        let again = NodeSession()
        try await again.connect(port: manager.server.port, feed: feed)
        #expect(await eventually { await feed.unacknowledgedReports == 0 })
        #expect(try await manager.store.attempt(second.attempt)?.outcome == .noAnswer)

        // Killed with the third attempt in hand: once its lease has run out on the manager's
        // clock and it stayed away for a lease period, the attempt is closed as unknown.
        await again.close()
        #expect(await manager.waitUntilGone("node-1"))
        manager.clock.advance(by: leaseDuration)
        await manager.coordinator.tick()
        await manager.feeder.sweepLostNodes()
        let third = batch.attempts[2]
        #expect(try await manager.store.attempt(third.attempt)?.outcome == .unknown)
        #expect(try await manager.store.openAttempts(campaign: nil).isEmpty)
        let contact = try #require(try await manager.store.contact(third.contact))
        #expect(contact.state == .scheduled(at: monday.addingTimeInterval(10 + 120)))
        await manager.shutdown()
    }

    /// Settings the node cannot dial with (here agentless without IVR ports, which reached a
    /// precondition in the pacing) are refused where they arrive: the feed names the field and
    /// the node goes on serving; corrected settings are taken at the next fetch.
    @Test func settingsThatArriveInvalidAreRefusedAndTheFeedKeepsWorking() async throws {
        let manager = try await LoopbackManager()
        _ = try await manager.makeCampaign(contacts: 1)
        // The store as an older or broken manager could hold it: past the API's validation.
        try await manager.store.pool.write { db in
            try db.execute(
                sql: #"UPDATE campaign SET settings = json_set(settings, '$.mode', 'agentless', '$.ivrPorts', 0)"#)
        }
        let session = NodeSession()
        let feed = CampaignFeed(
            leaseIsValid: { lease in session.grants.withLock { $0.contains(lease) } }, logger: Logger(label: "node"))
        try await session.connect(port: manager.server.port, feed: feed)
        let lease = try #require(session.lease)

        do {
            _ = try await feed.campaign(for: lease)
            Issue.record("invalid settings were accepted")
        } catch {
            guard case .invalidSettings(let problems) = error else {
                Issue.record("expected invalidSettings, got \(error)")
                return
            }
            #expect(problems.contains { $0.hasPrefix("ivrPorts: must be 1 to 1000") }, "\(problems)")
        }
        // Still connected and serving: contacts can be asked for, a report is acknowledged.
        let batch = try await feed.contacts(for: lease, count: 1, presentAgents: [])
        #expect(batch.attempts.count == 1)

        // Corrected on the manager: the next fetch takes them.
        try await manager.store.pool.write { db in
            try db.execute(sql: #"UPDATE campaign SET settings = json_set(settings, '$.ivrPorts', 4)"#)
        }
        let campaign = try await feed.campaign(for: lease)
        #expect(campaign.settings.mode == .agentless && campaign.settings.ivrPorts == 4)
        await session.close()
        await manager.shutdown()
    }
}

extension CampaignFeedTests {
    /// Bad settings over the wire never stop the node: a queue that has none good does not dial
    /// (the feed says why, the manager's dialability names it), and a running queue given bad
    /// settings goes on with its last good ones until they are corrected.
    @Test func aNodeGivenBadSettingsKeepsRunningWithItsLastGoodOnes() async throws {
        let manager = try await LoopbackManager()
        _ = try await manager.makeCampaign(contacts: 3)
        func setIVRPorts(_ ports: Int) async throws {
            // As an older or broken manager could hold them: past the API's validation.
            try await manager.store.pool.write { db in
                try db.execute(
                    sql: "UPDATE campaign SET settings = json_set(settings, '$.mode', 'agentless', '$.ivrPorts', ?)",
                    arguments: [ports])
            }
        }
        try await setIVRPorts(0)
        let session = NodeSession()
        let feed = CampaignFeed(
            leaseIsValid: { lease in session.grants.withLock { $0.contains(lease) } }, logger: Logger(label: "node"))
        try await session.connect(port: manager.server.port, feed: feed)
        let lease = try #require(session.lease)
        let validity = LeaseValidity(clock: SystemClock())
        validity.publish([
            ValidLease(queue: lease.queue, epoch: lease.epoch, validUntil: SystemClock().now() + .seconds(3600))
        ])
        let trunk = try await SimulatedTrunk(
            population: SimulatedTrunk.Population(seed: 3, timeScale: 1), clock: SystemClock())
        let dialing = NodeDialing(
            node: MemberID("node-1"), trunk: trunk, clock: trunk.clock, timeScale: 1, feed: feed,
            reservations: GatewayReservations(prefix: "node-1"), validity: validity,
            campaignPollInterval: .milliseconds(20), settingsRefreshInterval: .milliseconds(20),
            logger: Logger(label: "node"))

        // 1. No good settings: the queue waits for them, the node answers, the reason is known.
        await dialing.start(lease.queue, epoch: lease.epoch)
        #expect(await eventually { await feed.refusedSettings(of: lease.queue) != nil })
        let problems = await feed.refusedSettings(of: lease.queue) ?? []
        #expect(problems.contains { $0.hasPrefix("ivrPorts:") }, "\(problems)")
        #expect(await dialing.settings(of: lease.queue) == nil, "no runner with refused settings")
        #expect(try await manager.store.campaign(CampaignID("c1"))?.settings.validate().isEmpty == false)

        // 2. Corrected: the queue starts with them.
        try await setIVRPorts(4)
        #expect(await eventually { await dialing.settings(of: lease.queue)?.ivrPorts == 4 })
        #expect(await feed.refusedSettings(of: lease.queue) == nil)

        // 3. Broken while running: refused, and the runner keeps dialing with the last good ones.
        try await setIVRPorts(0)
        let refusedBefore = await feed.refusedSettingsCount
        await feed.forget(lease.queue)  // as a batch showing a new revision makes it fetch again
        #expect(await eventually { await feed.refusedSettingsCount > refusedBefore })
        #expect(await dialing.settings(of: lease.queue)?.ivrPorts == 4)

        // 4. Corrected again: the runner takes them.
        try await setIVRPorts(6)
        await feed.forget(lease.queue)
        #expect(await eventually { await dialing.settings(of: lease.queue)?.ivrPorts == 6 })

        await dialing.shutDown(within: .seconds(5))
        await trunk.shutDown()
        await session.close()
        await manager.shutdown()
    }
}

/// Polls `condition` on real time (the connection's tasks run on their own), for at most 5 s.
private func eventually(_ condition: () async -> Bool) async -> Bool {
    for _ in 0..<500 {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}

/// A manager that answers registrations, and each attempt report (alone, or in a batch on a
/// version 2 connection) with the next answer of a script (an error code, or an acknowledgement
/// for `nil` and once the script runs out).
private final class ScriptedManager: Sendable {
    let server: ClusterServer
    let serving: Task<Void, Never>
    let received = ReportCount()
    var reportsReceived: Int { received.count.withLock { $0 } }
    /// `AttemptReport` frames received.
    var singleFrames: Int { received.singles.withLock { $0 } }
    /// `AttemptResultBatch` frames received.
    var batchFrames: Int { received.batches.withLock { $0 } }

    convenience init(refusals: [Dialer_V1_ErrorCode], versions: ClosedRange<UInt32> = 1...1) async throws {
        try await self.init(script: refusals.map { $0 }, versions: versions)
    }

    init(script: [Dialer_V1_ErrorCode?], versions: ClosedRange<UInt32>) async throws {
        server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0,
            settings: ConnectionSettings(
                localID: "manager", localRole: .manager, secret: ClusterSecret(secret), supportedVersions: versions,
                acceptedRoles: [.node]),
            violationLog: nil)
        let (server, received) = (self.server, self.received)
        /// The next answer of the script, as an error (`nil`: acknowledged).
        @Sendable func next() -> Dialer_V1_Error? {
            let index = received.count.withLock { count -> Int in
                count += 1
                return count - 1
            }
            guard index < script.count, let code = script[index] else { return nil }
            var error = Dialer_V1_Error()
            error.code = code
            error.message = "scripted refusal \(index + 1)"
            return error
        }
        serving = Task {
            try? await server.run { connection in
                _ = try? await connection.run { link, inbound in
                    try? await inbound.forEach { envelope in
                        switch envelope.message {
                        case .register:
                            try? await link.reply(to: envelope, with: .registered(Dialer_V1_Registered()))
                        case .attemptReport:
                            received.singles.withLock { $0 += 1 }
                            if let error = next() {
                                try? await link.reply(to: envelope, with: .error(error))
                            } else {
                                try? await link.reply(
                                    to: envelope, with: .attemptReportAck(Dialer_V1_AttemptReportAck()))
                            }
                        case .attemptResultBatch(let batch):
                            received.batches.withLock { $0 += 1 }
                            var ack = Dialer_V1_AttemptResultBatchAck()
                            for report in batch.reports {
                                var answer = Dialer_V1_AttemptResultAnswer()
                                answer.attempt = report.attempt
                                if let error = next() { answer.error = error }
                                ack.answers.append(answer)
                            }
                            try? await link.reply(to: envelope, with: .attemptResultBatchAck(ack))
                        default:
                            break
                        }
                    }
                }
            }
        }
    }

    func shutdown() async {
        await server.close()
        serving.cancel()
        await serving.value
    }
}

/// Reports a scripted manager received.
private final class ReportCount: Sendable {
    let count = Mutex(0)
    let singles = Mutex(0)
    let batches = Mutex(0)
}

@Suite("Node: reports the manager could not apply now", .serialized)
struct CampaignFeedTransientRefusalTests {
    /// `INTERNAL` (the manager's store failed the batch) says "not now": the report is kept and
    /// sent again until acknowledged; nothing is lost.
    @Test func aReportRefusedForNowIsSentAgainUntilAcknowledged() async throws {
        let manager = try await ScriptedManager(refusals: [.internal, .internal])
        let feed = CampaignFeed(
            leaseIsValid: { _ in true }, transientRetryDelay: .milliseconds(20), logger: Logger(label: "feed-test"))
        let session = NodeSession()
        try await session.connect(port: manager.server.port, feed: feed)
        let lease = HeldLease(queue: QueueID("q-c1"), epoch: Epoch(1))
        await feed.report(
            AttemptResult(attempt: AttemptID("a-1"), contact: ContactID("k-1"), outcome: .busy), lease: lease)
        #expect(await waitForCondition(timeout: .seconds(30)) { await feed.unacknowledgedReports == 0 })
        #expect(manager.reportsReceived == 3, "refused twice for now, then acknowledged")
        await session.close()
        await manager.shutdown()
    }

    /// A refusal that means "never" (`NOT_OWNER`: not this node's attempt) is not sent again.
    @Test func aReportRefusedForGoodIsNotSentAgain() async throws {
        let manager = try await ScriptedManager(refusals: [.notOwner])
        let feed = CampaignFeed(
            leaseIsValid: { _ in true }, transientRetryDelay: .milliseconds(20), logger: Logger(label: "feed-test"))
        let session = NodeSession()
        try await session.connect(port: manager.server.port, feed: feed)
        let lease = HeldLease(queue: QueueID("q-c1"), epoch: Epoch(1))
        await feed.report(
            AttemptResult(attempt: AttemptID("a-1"), contact: ContactID("k-1"), outcome: .busy), lease: lease)
        #expect(await waitForCondition(timeout: .seconds(30)) { await feed.unacknowledgedReports == 0 })
        #expect(manager.reportsReceived == 1)
        #expect(!CampaignFeed.isTransient(.notOwner) && CampaignFeed.isTransient(.internal))
        await session.close()
        await manager.shutdown()
    }
}

@Suite("Node: results in batches on version 2 connections only", .serialized)
struct CampaignFeedBatchTests {
    private static let lease = HeldLease(queue: QueueID("q-c1"), epoch: Epoch(1))

    private static func result(_ number: Int) -> AttemptResult {
        AttemptResult(attempt: AttemptID("a-\(number)"), contact: ContactID("k-\(number)"), outcome: .busy)
    }

    /// The version the connection negotiated decides, not the build: a manager speaking only
    /// version 1 (older, or pinned) gets one `AttemptReport` per result; one speaking 2 gets
    /// `AttemptResultBatch` frames and never an `AttemptReport`.
    @Test(arguments: [(1...1, false), (1...2, true)] as [(ClosedRange<UInt32>, Bool)])
    func resultsGoInBatchesOnlyWhereTheConnectionSpeaksVersionTwo(
        manager versions: ClosedRange<UInt32>, batches: Bool
    ) async throws {
        let manager = try await ScriptedManager(script: [], versions: versions)
        let feed = CampaignFeed(
            leaseIsValid: { _ in true }, transientRetryDelay: .milliseconds(20), logger: Logger(label: "feed-test"))
        // Reported before the connection: they wait in the outbox and go out together.
        for number in 0..<40 { await feed.report(Self.result(number), lease: Self.lease) }
        let session = NodeSession()
        try await session.connect(port: manager.server.port, feed: feed)
        #expect(await waitForCondition(timeout: .seconds(30)) { await feed.unacknowledgedReports == 0 })
        #expect(manager.reportsReceived == 40, "each result once")
        if batches {
            #expect(manager.singleFrames == 0)
            #expect(manager.batchFrames >= 1 && manager.batchFrames < 40, "\(manager.batchFrames) frames")
        } else {
            #expect(manager.batchFrames == 0)
            #expect(manager.singleFrames == 40)
        }
        await session.close()
        await manager.shutdown()
    }

    /// Results reported in a burst while connected share frames: while two batch frames await
    /// their answers, the results that arrive wait and go out together in the next one.
    @Test func aBurstOfResultsSharesFrames() async throws {
        let manager = try await ScriptedManager(script: [], versions: 1...2)
        let feed = CampaignFeed(
            leaseIsValid: { _ in true }, transientRetryDelay: .milliseconds(20), logger: Logger(label: "feed-test"))
        let session = NodeSession()
        try await session.connect(port: manager.server.port, feed: feed)
        let results = 2_000
        for number in 0..<results { await feed.report(Self.result(number), lease: Self.lease) }
        #expect(await waitForCondition(timeout: .seconds(60)) { await feed.unacknowledgedReports == 0 })
        #expect(manager.reportsReceived == results)
        #expect(manager.singleFrames == 0)
        #expect(manager.batchFrames < results, "\(manager.batchFrames) frames for \(results) results")
        print("a burst of \(results) results went in \(manager.batchFrames) AttemptResultBatch frames")
        await session.close()
        await manager.shutdown()
    }

    /// Rule 9 of PROTOCOL.md §6 holds inside a batch: a result refused with `INTERNAL` is kept
    /// and sent again until acknowledged; one refused for good is dropped; the others of the
    /// batch are acknowledged at once.
    @Test func eachResultOfABatchIsAcknowledgedOrRetriedOnItsOwn() async throws {
        // Answers in arrival order: result 0 internal, result 1 acknowledged, result 2 refused
        // for good; then result 0 again: internal once more, then acknowledged.
        let manager = try await ScriptedManager(script: [.internal, nil, .notOwner, .internal], versions: 1...2)
        let feed = CampaignFeed(
            leaseIsValid: { _ in true }, transientRetryDelay: .milliseconds(20), logger: Logger(label: "feed-test"))
        for number in 0..<3 { await feed.report(Self.result(number), lease: Self.lease) }
        let session = NodeSession()
        try await session.connect(port: manager.server.port, feed: feed)
        #expect(await waitForCondition(timeout: .seconds(30)) { await feed.unacknowledgedReports == 0 })
        #expect(manager.singleFrames == 0)
        // Three in the first frame, then the one refused for now alone, twice.
        #expect(manager.reportsReceived == 5, "\(manager.reportsReceived) reports received")
        #expect(manager.batchFrames == 3, "\(manager.batchFrames) batch frames")
        await session.close()
        await manager.shutdown()
    }

    /// A whole batch refused for now (`INTERNAL` as the batch's answer) is sent again; nothing
    /// is lost.
    @Test func aBatchRefusedWholeForNowIsSentAgain() async throws {
        let manager = try await WholeBatchRefusingManager()
        let feed = CampaignFeed(
            leaseIsValid: { _ in true }, transientRetryDelay: .milliseconds(20), logger: Logger(label: "feed-test"))
        for number in 0..<3 { await feed.report(Self.result(number), lease: Self.lease) }
        let session = NodeSession()
        try await session.connect(port: manager.server.port, feed: feed)
        #expect(await waitForCondition(timeout: .seconds(30)) { await feed.unacknowledgedReports == 0 })
        #expect(manager.received.batches.withLock { $0 } >= 2, "refused once whole, then acknowledged")
        await session.close()
        await manager.shutdown()
    }
}

/// A version 2 manager that refuses the first batch whole with `INTERNAL`, then acknowledges.
private final class WholeBatchRefusingManager: Sendable {
    let server: ClusterServer
    let serving: Task<Void, Never>
    let received = ReportCount()

    init() async throws {
        server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0,
            settings: ConnectionSettings(
                localID: "manager", localRole: .manager, secret: ClusterSecret(secret), acceptedRoles: [.node]),
            violationLog: nil)
        let (server, received) = (self.server, self.received)
        serving = Task {
            try? await server.run { connection in
                _ = try? await connection.run { link, inbound in
                    try? await inbound.forEach { envelope in
                        switch envelope.message {
                        case .register:
                            try? await link.reply(to: envelope, with: .registered(Dialer_V1_Registered()))
                        case .attemptResultBatch(let batch):
                            let first = received.batches.withLock { count -> Bool in
                                count += 1
                                return count == 1
                            }
                            if first {
                                var error = Dialer_V1_Error()
                                error.code = .internal
                                error.message = "the store failed the batch"
                                try? await link.reply(to: envelope, with: .error(error))
                            } else {
                                var ack = Dialer_V1_AttemptResultBatchAck()
                                ack.answers = batch.reports.map { report in
                                    var answer = Dialer_V1_AttemptResultAnswer()
                                    answer.attempt = report.attempt
                                    return answer
                                }
                                try? await link.reply(to: envelope, with: .attemptResultBatchAck(ack))
                            }
                        default:
                            break
                        }
                    }
                }
            }
        }
    }

    func shutdown() async {
        await server.close()
        serving.cancel()
        await serving.value
    }
}
