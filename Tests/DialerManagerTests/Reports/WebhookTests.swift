import DialerCore
import DialerTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import DialerManager

@Suite("Webhooks: signatures, the delivery machine, the outbox, a real receiver")
struct WebhookTests {
    static let secret = "whsec_test-secret-123456"

    // MARK: Signatures

    @Test func signaturesMatchAnIndependentHMACAndVerify() {
        let body = Array(#"{"id":"disposition:a1"}"#.utf8)
        let signature = WebhookSignature.sign(body: body, timestamp: 1_796_428_800, secret: Self.secret)
        // Python: hmac.new(secret, b"1796428800." + body, hashlib.sha256).hexdigest()
        #expect(signature == "v1=dd7f04a6ad9e772ad00cad681b5ef07fa2298118763de28c85d297dfed9eaf7f")
        func verify(
            _ body: [UInt8], _ signature: String, timestamp: String = "1796428800",
            secret: String = WebhookTests.secret, now: Int64 = 1_796_428_900
        ) -> Bool {
            WebhookSignature.verify(body: body, timestamp: timestamp, signature: signature, secret: secret, now: now)
        }
        #expect(verify(body, signature))
        #expect(verify(body, signature.uppercased().replacingOccurrences(of: "V1=", with: "v1=")))
        #expect(!verify(body + [0x20], signature), "a changed body")
        #expect(!verify(body, signature, timestamp: "1796428801"), "a changed timestamp")
        #expect(!verify(body, signature, secret: Self.secret + "x"), "another secret")
        #expect(!verify(body, signature, now: 1_796_428_800 + 301), "too old: a replay")
        #expect(!verify(body, "v2=" + signature.dropFirst(3)), "an unknown scheme")
        #expect(!verify(body, "v1=abc"), "a short signature")
        #expect(!verify(body, signature, timestamp: "later"), "a timestamp that is not a number")
    }

    // MARK: The delivery machine, on a manual clock

    static func delivery(_ id: Int64, attempts: Int = 0, createdAt: Date) -> WebhookDueDelivery {
        WebhookDueDelivery(
            id: id, subscription: "wh_1", url: "http://127.0.0.1:9/", secret: secret, eventID: "e\(id)",
            payload: "{}", attempts: attempts, createdAt: createdAt)
    }

    @Test func failuresAreRetriedWithExponentialBackoffAndJitterUntilGivenUp() throws {
        let clock = ManualClock()
        let wall = WallTime(clock: clock, now: Date(timeIntervalSince1970: 1_796_428_800))
        var settings = WebhookDeliveryMachine.Settings()
        settings.baseDelay = .seconds(1)
        settings.maximumDelay = .seconds(60)
        settings.giveUpAfter = .seconds(600)
        var machine = WebhookDeliveryMachine(settings: settings, seed: 42)
        let created = wall.now()
        #expect(machine.handle(.started(now: wall.now())) == [.load(limit: 4, excluding: [], now: wall.now())])
        var delivery = Self.delivery(1, createdAt: created)
        var delays: [Double] = []
        var gaveUp = false
        for failure in 1...20 {
            let actions = machine.handle(.loaded([delivery], nextDueAt: nil, now: wall.now()))
            #expect(actions.first == .send(delivery))
            #expect(machine.inFlight == [1])
            let finished = machine.handle(
                .finished(delivery, .status(503), durationMilliseconds: 3, now: wall.now()))
            guard case .record(let record) = finished.first else {
                Issue.record("expected a record, got \(finished)")
                return
            }
            #expect(!record.delivered)
            #expect(record.status == 503)
            #expect(machine.inFlight.isEmpty)
            guard let next = record.nextAttemptAt else {
                gaveUp = true
                // Given up only once the next try would be past the retry period.
                #expect(wall.now().timeIntervalSince(created) + 30 >= 600)
                break
            }
            let delay = next.timeIntervalSince(wall.now())
            let ceiling = min(pow(2, Double(failure - 1)), 60)
            #expect(delay >= ceiling / 2 && delay <= ceiling, "failure \(failure): \(delay) s")
            delays.append(delay)
            // The machine asks for the outbox again; the store would hand the delivery back
            // once it is due.
            #expect(finished.dropFirst().first == .load(limit: 4, excluding: [], now: wall.now()))
            clock.advance(by: .milliseconds(Int64((delay * 1000).rounded(.up))))
            delivery.attempts += 1
        }
        #expect(gaveUp)
        #expect(delays.count >= 8)
        // Jitter: the delays are not exactly the doubling sequence.
        #expect(zip(delays, delays.indices).contains { delay, index in delay != min(pow(2, Double(index)), 60) })
        // The same seed draws the same schedule.
        var again = WebhookDeliveryMachine(settings: settings, seed: 42)
        var replay = WebhookDeliveryMachine(settings: settings, seed: 42)
        #expect(
            (1...10).map { again.retryDelay(afterFailure: $0) } == (1...10).map { replay.retryDelay(afterFailure: $0) })
    }

    @Test func aSuccessIsRecordedAndTheInFlightLimitHolds() {
        let clock = ManualClock()
        let wall = WallTime(clock: clock, now: Date(timeIntervalSince1970: 1_796_428_800))
        var settings = WebhookDeliveryMachine.Settings()
        settings.maximumInFlight = 2
        var machine = WebhookDeliveryMachine(settings: settings, seed: 1)
        _ = machine.handle(.started(now: wall.now()))
        let one = Self.delivery(1, createdAt: wall.now())
        let two = Self.delivery(2, createdAt: wall.now())
        let actions = machine.handle(.loaded([one, two], nextDueAt: nil, now: wall.now()))
        #expect(actions.prefix(2) == [.send(one), .send(two)])
        #expect(machine.inFlight == [1, 2])
        // Both slots taken: a timer going off loads nothing.
        guard case .armTimer(_, let generation) = actions.last else {
            Issue.record("expected a timer, got \(actions)")
            return
        }
        clock.advance(by: .seconds(1))
        #expect(machine.handle(.timerFired(generation: generation, now: wall.now())) == [])
        let done = machine.handle(.finished(one, .status(204), durationMilliseconds: 5, now: wall.now()))
        guard case .record(let record) = done.first else {
            Issue.record("expected a record, got \(done)")
            return
        }
        #expect(record.delivered)
        #expect(record.nextAttemptAt == nil)
        #expect(done.last == .load(limit: 1, excluding: [2], now: wall.now()))
        // A stale timer changes nothing.
        #expect(machine.handle(.timerFired(generation: generation - 1, now: wall.now())) == [])
        // The next poll is at most a poll interval away, sooner when a delivery is due sooner.
        let soon = wall.now().addingTimeInterval(0.25)
        let loaded = machine.handle(.loaded([], nextDueAt: soon, now: wall.now()))
        guard case .armTimer(let at, _) = loaded.last else {
            Issue.record("expected a timer, got \(loaded)")
            return
        }
        #expect(at == soon)
    }

    // MARK: The outbox

    @Test func aDispositionAndAnExhaustedListQueueDeliveriesInTheSameTransaction() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        try await makeCampaign(store)
        try await addContacts(store, count: 2)
        let now = StoreTime.monday
        try await store.createWebhook(
            WebhookSubscription(
                id: "wh_all", url: "http://127.0.0.1:9/", events: [.disposition, .campaignListExhausted],
                secret: Self.secret, createdAt: now, updatedAt: now))
        try await store.createWebhook(
            WebhookSubscription(
                id: "wh_off", url: "http://127.0.0.1:9/", events: [.disposition], secret: Self.secret,
                active: false, createdAt: now, updatedAt: now))
        try await store.insertAttemptsForTesting([
            StoredAttempt(id: "t1", agent: "ann", startedAt: now, outcome: "connected")
        ])
        try await store.executeForTesting(
            #"UPDATE attempt SET disposition_name = 'sale', disposition = '{"name":"sale","action":"final"}', disposition_at = ? WHERE id = 't1'"#,
            [now.storeValue + 5])
        // A second write of the same disposition queues nothing more.
        try await store.executeForTesting("UPDATE attempt SET disposition_name = 'sale' WHERE id = 't1'")
        var due = try await store.dueWebhookDeliveries(now: now.addingTimeInterval(10), excluding: [], limit: 10).due
        #expect(due.map(\.eventID) == ["disposition:t1"])
        let payload = try #require(
            JSONSerialization.jsonObject(with: Data(due[0].payload.utf8)) as? [String: Any])
        #expect(payload["event"] as? String == "disposition")
        #expect(payload["id"] as? String == "disposition:t1")
        let data = try #require(payload["data"] as? [String: Any])
        #expect(data["campaign"] as? String == "c1")
        #expect(data["agent"] as? String == "ann")
        #expect(data["disposition"] as? String == "sale")
        #expect(data["action"] as? String == "final")
        #expect(data["contact"] as? String == "000000000001")
        // The list runs out when its last dialable contact becomes final.
        try await store.executeForTesting(
            "UPDATE contact SET state = 'final', final_reason = 'outcome', updated_at = ? WHERE id = 1",
            [now.storeValue + 20])
        #expect(
            try await store.dueWebhookDeliveries(now: now.addingTimeInterval(30), excluding: [], limit: 10).due.count
                == 1)
        try await store.executeForTesting(
            "UPDATE contact SET state = 'final', final_reason = 'outcome', updated_at = ? WHERE id = 2",
            [now.storeValue + 30])
        due = try await store.dueWebhookDeliveries(now: now.addingTimeInterval(40), excluding: [], limit: 10).due
        #expect(
            due.map(\.eventID).sorted() == [
                "campaign.list_exhausted:c1:\(String(format: "%.3f", now.storeValue + 30))", "disposition:t1",
            ])
        let exhausted = try #require(due.first { $0.eventID.hasPrefix("campaign.list_exhausted") })
        #expect(exhausted.payload.contains(#""contacts":2"#))
        // Excluded (in flight) deliveries are left out, and the next due time says when.
        let rest = try await store.dueWebhookDeliveries(now: now, excluding: [], limit: 10)
        #expect(rest.due.isEmpty)
        #expect(rest.nextDueAt == now.addingTimeInterval(5))
    }

    // MARK: A real receiver

    /// What the receiver saw: each event id with how many tries it answered 2xx.
    final class Receiver: Sendable {
        struct State {
            var failuresLeft: Int
            var accepted: [String: Int] = [:]
            var refused = 0
            var badSignatures = 0
        }
        let state: Mutex<State>
        init(failFirst: Int) { state = Mutex(State(failuresLeft: failFirst)) }

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                let bytes = Array(body.readableBytesView)
                func header(_ name: String) -> String {
                    request.headers.first { $0.name.canonicalName == name.lowercased() }?.value ?? ""
                }
                let id = header(WebhookSignature.idHeader)
                let valid = WebhookSignature.verify(
                    body: bytes, timestamp: header(WebhookSignature.timestampHeader),
                    signature: header(WebhookSignature.signatureHeader),
                    secret: WebhookTests.secret, now: Int64(Date().timeIntervalSince1970))
                let status = self.state.withLock { state -> HTTPResponse.Status in
                    guard valid else {
                        state.badSignatures += 1
                        return .unauthorized
                    }
                    if state.failuresLeft > 0 {
                        state.failuresLeft -= 1
                        state.refused += 1
                        return .serviceUnavailable
                    }
                    // Idempotent by id: a repeat is acknowledged and not processed again.
                    state.accepted[id, default: 0] += 1
                    return .noContent
                }
                return Response(status: status)
            }
            return router
        }
    }

    /// Waits until `condition` holds, up to a generous deadline.
    static func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        if await waitForCondition(timeout: .seconds(60), interval: .milliseconds(20), condition) { return }
        Issue.record("timed out waiting until \(what)")
    }

    @Test func everyEventReachesAReceiverThatFailsForAWhileAcrossAWorkerRestart() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        try await makeCampaign(store)
        let receiver = Receiver(failFirst: 40)
        let app = Application(router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let now = Date()
            try await store.createWebhook(
                WebhookSubscription(
                    id: "wh_live", url: "http://127.0.0.1:\(port)/hook", events: [.disposition], secret: Self.secret,
                    createdAt: now, updatedAt: now))
            let count = 20
            try await store.insertAttemptsForTesting(
                (0..<count).map {
                    StoredAttempt(
                        id: "live-\($0)", contact: Int64($0 + 1), agent: "ann", startedAt: now, outcome: "connected")
                })
            try await store.executeForTesting(
                #"UPDATE attempt SET disposition_name = 'sale', disposition = '{"name":"sale","action":"final"}', disposition_at = ?"#,
                [now.storeValue])
            var settings = WebhookDeliveryMachine.Settings()
            settings.baseDelay = .milliseconds(20)
            settings.maximumDelay = .milliseconds(200)
            settings.pollInterval = .milliseconds(20)
            settings.timeout = .seconds(5)
            let fixed = settings
            func worker() -> WebhookDeliveryWorker {
                WebhookDeliveryWorker(
                    store: store, sender: URLSessionWebhookSender(), clock: SystemClock(),
                    wallTime: WallTime(clock: SystemClock(), now: Date()), settings: fixed, seed: 9,
                    logger: Logger(label: "webhooks"))
            }
            // The first worker runs into the outage and stops (a manager restart) part way.
            let firstWorker = worker()
            let first = Task { await firstWorker.run() }
            try await Self.eventually("the receiver refused 10 tries") { receiver.state.withLock { $0.refused >= 10 } }
            first.cancel()
            await first.value
            let secondWorker = worker()
            let second = Task { await secondWorker.run() }
            try await Self.eventually("every delivery is delivered") {
                try await store.integerForTesting("SELECT COUNT(*) FROM webhook_delivery WHERE state = 'delivered'")
                    == count
            }
            second.cancel()
            await second.value
            let seen = receiver.state.withLock { $0 }
            #expect(seen.badSignatures == 0)
            #expect(seen.refused == 40)
            #expect(Set(seen.accepted.keys) == Set((0..<count).map { "disposition:live-\($0)" }))
            #expect(seen.accepted.values.allSatisfy { $0 == 1 }, "\(seen.accepted)")
            // The delivery log shows the refused tries with their status codes.
            let log = try await store.webhookDeliveries(subscription: "wh_live", state: nil, before: nil, limit: 100)
            #expect(log.count == count)
            #expect(log.allSatisfy { $0.state == .delivered && $0.tries.last?.status == 204 })
            // Tries in flight when the first worker stopped reached the receiver but not the log.
            let logged = log.flatMap(\.tries).filter { $0.status == 503 }.count
            #expect(logged <= 40 && logged >= 40 - fixed.maximumInFlight, "\(logged)")
        }
    }
}
