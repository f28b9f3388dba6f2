import DialerProtocol
import DialerRuntime
import DialerTestSupport
import DialerTransport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Asks the live nodes, one after another and all the time, which leases they believe valid,
/// and records every proven moment at which two nodes both believed they owned one queue.
///
/// Answers are totally ordered: each request is sent after the previous answer arrived, so
/// the moment a node computed answer *i* is before the moment another computed answer *i+1*.
/// Two answers alone prove nothing, because a lease can end (released, revoked, lapsed)
/// between them and the queue move on: that is a planned handoff, not an overlap. The proof
/// is a sandwich: node X believes queue q under epoch e in answer i, node Y believes q in a
/// later answer j, and X still believes q under the same e in an answer k after j, with no
/// answer of X's in between saying otherwise. A node's belief in one epoch is one interval
/// (once stopped it only comes back through a renewal the manager must not give after moving
/// the queue), so X believed q at Y's moment too.
final class OwnershipSampler: Sendable {
    private struct Answer {
        var sequence: Int
        /// Queue → epoch, for every lease the node believed valid when it answered.
        var valid: [String: UInt64]
    }

    private struct State {
        var samples = 0
        var sequence = 0
        var violations: [String] = []
        /// Each node's answers since its oldest one that may still close a sandwich.
        var answers: [String: [Answer]] = [:]
    }

    private let state = Mutex(State())

    /// Rounds in which every node was asked.
    var samples: Int { state.withLock { $0.samples } }
    var violations: [String] { state.withLock { $0.violations } }

    func run(cluster: LocalTestCluster, nodes: [String]) async {
        while !Task.isCancelled {
            // Nodes that do not answer (killed, stopped) are not live and prove nothing.
            for node in nodes {
                guard let view = await cluster.leases(of: node, timeout: 0.3) else { continue }
                var valid: [String: UInt64] = [:]
                for lease in view.leases where lease.validForMs > 0 { valid[lease.queue] = lease.epoch }
                record(node: node, valid: valid)
            }
            state.withLock { $0.samples += 1 }
            // A sampling rate, not a wait for an event: no assertion depends on it, and it
            // keeps the sampler from loading the nodes whose lease timings are under test.
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Adds one answer and checks every sandwich it closes.
    func record(node: String, valid: [String: UInt64]) {
        state.withLock { state in
            state.sequence += 1
            let answer = Answer(sequence: state.sequence, valid: valid)
            if let previous = state.answers[node]?.last {
                for (queue, epoch) in valid where previous.valid[queue] == epoch {
                    for (other, theirs) in state.answers where other != node {
                        for between in theirs
                        where between.sequence > previous.sequence && between.valid[queue] != nil {
                            state.violations.append(
                                "\(queue) owned by \(node)@\(epoch) (answers \(previous.sequence) and "
                                    + "\(answer.sequence)) and \(other)@\(between.valid[queue]!) (answer \(between.sequence))"
                            )
                        }
                    }
                }
            }
            state.answers[node, default: []].append(answer)
            // Only answers after every node's last one can still sit inside a sandwich.
            let oldestNeeded = state.answers.values.compactMap { $0.last?.sequence }.min() ?? 0
            for key in state.answers.keys {
                let kept = state.answers[key]!.filter { $0.sequence >= oldestNeeded }
                state.answers[key] = kept.isEmpty ? Array(state.answers[key]!.suffix(1)) : kept
            }
        }
    }
}

@Suite("Cluster: queue ownership across real processes", .serialized)
struct QueueOwnershipClusterTests {
    static let nodes = ["node-1", "node-2", "node-3"]
    static let queues = (1...6).map { (id: "queue-\($0)", kind: $0 == 6 ? "inbound" : "campaign") }

    @Test func leasesMoveSafelyThroughKillStopDrainAndTerm() async throws {
        let cluster = try LocalTestCluster(nodes: Self.nodes, queues: Self.queues)
        await cluster.runThenShutDown { try await run($0) }
    }

    private func ownersByQueue(_ cluster: LocalTestCluster) async throws -> [String: (owner: String?, epoch: UInt64)] {
        var result: [String: (owner: String?, epoch: UInt64)] = [:]
        for queue in try await cluster.table().queues { result[queue.id] = (queue.owner, queue.epoch) }
        return result
    }

    private func run(_ cluster: LocalTestCluster) async throws {
        try await cluster.start()
        let sampler = OwnershipSampler()
        let sampling = Task { await sampler.run(cluster: cluster, nodes: Self.nodes) }
        defer { sampling.cancel() }

        // 1. Every queue gets exactly one owner, and each owner believes it.
        let allOwned = await cluster.waitUntil(timeout: .seconds(20)) {
            let table = try await cluster.table()
            guard table.queues.count == 6, table.queues.allSatisfy({ $0.owner != nil }) else { return false }
            var believed: [String: String] = [:]
            for node in Self.nodes {
                for lease in await cluster.leases(of: node)?.leases ?? [] { believed[lease.queue] = node }
            }
            return table.queues.allSatisfy { believed[$0.id] == $0.owner }
        }
        #expect(allOwned, "every queue has one owner that knows it")

        // 2. kill -9 of a node: its queues move once their leases lapse, under a higher epoch.
        // (How soon is the lease table's rule, tested on a manual clock in LeaseTableTests; here
        // the generous deadline only keeps a broken cluster from hanging the test.)
        var before = try await ownersByQueue(cluster)
        let victim = Self.nodes.max { a, b in
            before.values.filter { $0.owner == a }.count < before.values.filter { $0.owner == b }.count
        }!
        let victimQueues = before.filter { $0.value.owner == victim }.map(\.key)
        #expect(!victimQueues.isEmpty)
        cluster.launcher.signal(victim, SIGKILL)
        let moved = await cluster.waitUntil(timeout: .seconds(30)) {
            let now = try await ownersByQueue(cluster)
            return victimQueues.allSatisfy { queue in
                guard let entry = now[queue], let owner = entry.owner else { return false }
                return owner != victim && entry.epoch > before[queue]!.epoch
            }
        }
        #expect(moved, "the killed node's queues moved to live nodes with a higher epoch")

        // Bring it back; placement gives it its share again.
        try await cluster.startNode(victim)
        #expect(
            await cluster.waitUntil(timeout: .seconds(20)) {
                try await cluster.table().queues.contains { $0.owner == victim }
            })

        // 3. SIGSTOP a node past its lease, then SIGCONT: it must not act on its old leases.
        before = try await ownersByQueue(cluster)
        let frozen = Self.nodes.first { node in before.values.contains { $0.owner == node } }!
        let frozenLeases = before.filter { $0.value.owner == frozen }
        let staleBefore = try await staleRejections(cluster)
        cluster.launcher.signal(frozen, SIGSTOP)
        let movedWhileFrozen = await cluster.waitUntil(timeout: .seconds(30)) {
            let now = try await ownersByQueue(cluster)
            return frozenLeases.allSatisfy { queue, lease in (now[queue]?.epoch ?? 0) > lease.epoch }
        }
        #expect(movedWhileFrozen, "\(frozen)'s queues got new epochs while it was stopped")
        cluster.launcher.signal(frozen, SIGCONT)
        // The first answer after waking must already show no old lease as valid.
        let woke = await cluster.waitUntil(timeout: .seconds(5)) { await cluster.leases(of: frozen) != nil }
        #expect(woke)
        let afterWake = await cluster.leases(of: frozen)?.leases ?? []
        for lease in afterWake {
            if let old = frozenLeases[lease.queue] {
                #expect(lease.epoch > old.epoch, "\(frozen) still believes \(lease.queue)@\(lease.epoch) after waking")
            }
        }
        // When it registers again it reports the old leases, and the manager refuses their epochs.
        #expect(
            await cluster.waitUntil(timeout: .seconds(10)) { try await staleRejections(cluster) > staleBefore },
            "the manager rejected the woken node's stale epochs")

        // The gateway fences stale epochs too: present an old epoch as that node would.
        let (queue, lease) = frozenLeases.first!
        let verdict = try await subscribeAtGateway(cluster, as: frozen, queue: queue, epoch: lease.epoch)
        #expect(verdict == .staleEpoch, "the gateway refused \(queue)@\(lease.epoch)")

        // 4. Drain: the node ends with no queue, and they all have owners elsewhere.
        let drained = Self.nodes.first { $0 != frozen }!
        let (status, _) = try await cluster.manager.send("POST", "v1/nodes/\(drained)/drain")
        #expect(status == 202)
        #expect(
            await cluster.waitUntil(timeout: .seconds(10)) {
                let table = try await cluster.table()
                let own = await cluster.leases(of: drained)
                return table.queues.allSatisfy { $0.owner != nil && $0.owner != drained }
                    && own?.leases.isEmpty == true && own?.draining == true
            }, "\(drained) drained")
        let (unknownStatus, _) = try await cluster.manager.send("POST", "v1/nodes/no-such-node/drain")
        #expect(unknownStatus == 404)

        // 5. SIGTERM: the node hands its queues back (released, not lapsed), so they move at once.
        before = try await ownersByQueue(cluster)
        let terminated = Self.nodes.first { node in node != drained && before.values.contains { $0.owner == node } }!
        let handedBack = before.values.filter { $0.owner == terminated }.count
        let releasesBefore = try await leaseReleases(cluster)
        cluster.launcher.signal(terminated, SIGTERM)
        let movedOnTerm = await cluster.waitUntil(timeout: .seconds(30)) {
            let now = try await ownersByQueue(cluster)
            return before.filter { $0.value.owner == terminated }.allSatisfy { queue, old in
                now[queue]!.owner != nil && now[queue]!.owner != terminated && now[queue]!.epoch > old.epoch
            }
        }
        #expect(movedOnTerm)
        #expect(
            try await leaseReleases(cluster) - releasesBefore >= Double(handedBack),
            "\(terminated) released its \(handedBack) queues instead of letting the leases lapse")
        #expect(await cluster.launcher.waitForExit(terminated, timeout: .seconds(10)) == 0, "clean exit on SIGTERM")

        // Throughout: no two live nodes believed they owned one queue.
        sampling.cancel()
        #expect(sampler.samples > 20)
        #expect(sampler.violations.isEmpty, "overlapping ownership: \(sampler.violations.prefix(5))")
    }

    private func leaseReleases(_ cluster: LocalTestCluster) async throws -> Double {
        let text = try await cluster.metrics(of: "manager")
        return text.split(separator: "\n")
            .filter { $0.hasPrefix("dialer_manager_lease_releases_total") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    private func staleRejections(_ cluster: LocalTestCluster) async throws -> Double {
        let text = try await cluster.metrics(of: "manager")
        return text.split(separator: "\n")
            .filter { $0.hasPrefix("dialer_manager_lease_rejections_total") && $0.contains("stale_epoch") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    private func subscribeAtGateway(
        _ cluster: LocalTestCluster, as node: String, queue: String, epoch: UInt64
    ) async throws -> ProtocolErrorCode? {
        let address = cluster.gatewayClusterAddress.split(separator: ":")
        let settings = ConnectionSettings(
            localID: node + "-probe", localRole: .node, secret: ClusterSecret(cluster.secret),
            heartbeatInterval: .milliseconds(200), missedHeartbeats: 4)
        let connection = try await ClusterClient.connect(
            host: String(address[0]), port: Int(address[1])!, settings: settings)
        return try await connection.run { link, inbound in
            async let reader: Void = inbound.forEach { _ in }
            var subscribe = Dialer_V1_QueueSubscribe()
            subscribe.lease.queue = queue
            subscribe.lease.epoch = epoch
            let reply = try await link.request(.queueSubscribe(subscribe))
            link.close()
            try? await reader
            if case .error(let error) = reply.message { return error.code }
            return nil
        }
    }
}

/// The sampler's proof rule, on answers written by hand: a planned handoff between two answers
/// is not an overlap, a sandwich is.
@Suite("Ownership sampler")
struct OwnershipSamplerTests {
    @Test func aHandoffBetweenTwoAnswersIsNotAnOverlap() {
        let sampler = OwnershipSampler()
        sampler.record(node: "node-1", valid: ["queue-4": 1])
        // node-1 released queue-4; node-3 got it under epoch 2; node-1 no longer believes it.
        sampler.record(node: "node-3", valid: ["queue-4": 2])
        sampler.record(node: "node-1", valid: [:])
        sampler.record(node: "node-3", valid: ["queue-4": 2])
        #expect(sampler.violations.isEmpty)
    }

    @Test func aNodeStillBelievingAfterAnotherTookTheQueueIsAnOverlap() {
        let sampler = OwnershipSampler()
        sampler.record(node: "node-1", valid: ["queue-4": 1, "queue-5": 1])
        sampler.record(node: "node-2", valid: [:])
        sampler.record(node: "node-3", valid: ["queue-4": 2])
        sampler.record(node: "node-1", valid: ["queue-4": 1, "queue-5": 1])
        #expect(sampler.violations.count == 1)
        #expect(sampler.violations.first?.hasPrefix("queue-4 owned by node-1@1") == true)
    }

    @Test func aNewEpochOnTheSameNodeIsNotASandwich() {
        let sampler = OwnershipSampler()
        sampler.record(node: "node-1", valid: ["queue-4": 1])
        sampler.record(node: "node-3", valid: ["queue-4": 2])
        // The queue came back to node-1 under a newer epoch after node-3 released it.
        sampler.record(node: "node-1", valid: ["queue-4": 3])
        #expect(sampler.violations.isEmpty)
    }
}
