import DialerCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import DialerManager

/// A clock that moves only when the test says so.
final class SteppedClock: DialerClock {
    private let state = Mutex<(now: Moment, sleepers: [CheckedContinuation<Void, any Error>])>((.origin, []))

    func now() -> Moment { state.withLock { $0.now } }

    func sleep(until deadline: Moment) async throws {
        try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.sleepers.append(continuation) }
        }
    }

    var sleeping: Int { state.withLock { $0.sleepers.count } }

    /// Wakes every sleeper, as if its deadline had come.
    func step() {
        let sleepers = state.withLock { state in
            defer { state.sleepers = [] }
            return state.sleepers
        }
        for sleeper in sleepers { sleeper.resume() }
    }
}

@Suite("Watched folders")
struct WatchedFolderTests {
    struct Setup {
        let store: SQLiteManagerStore
        let directory: String
        let service: WatchedFolderService
        let clock = SteppedClock()

        init() async throws {
            directory =
                FileManager.default.temporaryDirectory.appendingPathComponent("dialer-watch-\(UUID().uuidString)").path
            store = try SQLiteManagerStore(path: directory + "/d.sqlite", passwordIterations: 1000)
            _ = try await store.createList(id: ContactListID("l1"), name: "L", description: "", now: Date())
            _ = try await store.createCampaign(
                Campaign(id: CampaignID("c1"), name: "C", list: ContactListID("l1"), queue: QueueID("q1")), now: Date())
            service = WatchedFolderService(
                store: store, directory: directory + "/watch", interval: .seconds(1), defaultRegion: "US", clock: clock,
                logger: Logger(label: "test"))
        }

        func drop(_ name: String, _ text: String, campaign: String = "c1") throws {
            try FileManager.default.createDirectory(
                atPath: directory + "/watch/" + campaign, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/watch/\(campaign)/\(name)"))
        }

        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: directory + "/watch/" + path) }

        func contacts() async throws -> [String] {
            try await store.searchContacts(ContactFilter(list: ContactListID("l1")), after: nil, limit: 100)
                .contacts.map(\.phoneNumber)
        }
    }

    @Test func aDroppedFileIsImportedOnceItStopsGrowingThenMovedToDone() async throws {
        let setup = try await Setup()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        #expect(try await setup.service.scan().isEmpty)
        #expect(setup.exists("c1"))  // Every campaign gets its folder.
        try setup.drop("leads.csv", "phone\n+12125550100\n")
        #expect(try await setup.service.scan().isEmpty)  // Seen once: it may still be growing.
        try setup.drop("leads.csv", "phone\n+12125550100\n+12125550101\n")
        #expect(try await setup.service.scan().isEmpty)  // It grew.
        let outcomes = try await setup.service.scan()
        #expect(outcomes == [.init(campaign: CampaignID("c1"), file: "leads.csv", succeeded: true)])
        #expect(try await setup.contacts() == ["+12125550100", "+12125550101"])
        #expect(setup.exists("c1/done/leads.csv"))
        #expect(setup.exists("c1/done/leads.csv.report.json"))
        #expect(!setup.exists("c1/leads.csv"))
        let history = try await setup.store.importJobs(list: ContactListID("l1"), limit: 10)
        #expect(history.map(\.sourceName) == ["leads.csv"])
        #expect(history.first?.requestedBy == "watched folder")
    }

    @Test func aBadFileGoesToFailedWithAReportAndTheListStaysAsItWas() async throws {
        let setup = try await Setup()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        try setup.drop("first.csv", "phone\n+12125550100\n")
        _ = try await setup.service.scan()
        _ = try await setup.service.scan()
        try setup.drop("broken.replace.csv", "name\nAnn\n")
        try setup.drop("x.csv", "phone\n+12125550100\n", campaign: "nope")
        _ = try await setup.service.scan()
        let outcomes = try await setup.service.scan()
        #expect(Set(outcomes.map(\.succeeded)) == [false])
        #expect(outcomes.count == 2)
        #expect(try await setup.contacts() == ["+12125550100"])
        #expect(setup.exists("c1/failed/broken.replace.csv"))
        let report = try String(
            contentsOfFile: setup.directory + "/watch/c1/failed/broken.replace.csv.report.json", encoding: .utf8)
        #expect(report.contains("\"succeeded\":false"))
        #expect(setup.exists("nope/failed/x.csv.report.json"))
    }

    @Test func theServicePollsOnItsClock() async throws {
        let setup = try await Setup()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        try setup.drop("leads.csv", "phone\n+12125550100\n")
        let task = Task { try await setup.service.run() }
        // Two scans a clock step apart import the file.
        for _ in 0..<2 {
            while setup.clock.sleeping == 0 { await Task.yield() }
            setup.clock.step()
        }
        while setup.clock.sleeping == 0 { await Task.yield() }
        #expect(try await setup.contacts() == ["+12125550100"])
        #expect(setup.exists("c1/done/leads.csv"))
        task.cancel()
        setup.clock.step()
        try await task.value
    }
}
