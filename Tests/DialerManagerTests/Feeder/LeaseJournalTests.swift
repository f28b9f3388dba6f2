import DialerCore
import Foundation
import Synchronization
import Testing

@testable import DialerManager

/// A journal store whose writes fail while `failing` is set, as a full or read-only disk does.
final class FlakyJournalStorage: LeaseJournalStorage {
    struct DiskFull: Error {}
    let failing = Mutex(true)
    let written = Mutex<[Data]>([])

    func read() throws -> Data? { written.withLock { $0.last } }

    func write(_ data: Data) async throws {
        if failing.withLock({ $0 }) { throw DiskFull() }
        written.withLock { $0.append(data) }
    }
}

@Suite("Lease journal: fencing is durable", .serialized)
struct LeaseJournalTests {
    @Test func aFailedJournalWriteGrantsNothing() async throws {
        let storage = FlakyJournalStorage()
        let fixture = try await FeederFixture(journal: LeaseJournal(storage: storage))
        // Registration places the queue on the node, but its grant cannot be journaled.
        let node = try await fixture.connect("node-1")
        await fixture.coordinator.tick()
        #expect(node.allGrants.isEmpty)
        #expect(storage.written.withLock { $0.isEmpty })

        // The disk recovers: the unsent lease lapses on the manager's clock and the queue is
        // granted again, journaled first, under a newer epoch than the one never sent.
        storage.failing.withLock { $0 = false }
        await fixture.advance(by: FeederFixture.leaseDuration * 2, renewing: node)
        let lease = try #require(node.lease(of: "q-c1"))
        #expect(node.allGrants == [lease])
        #expect(lease.epoch > Epoch(1))
        let journaled = try LeaseJournal(storage: storage).load()
        #expect(journaled[QueueID("q-c1")]?.epoch == lease.epoch)
        #expect(journaled[QueueID("q-c1")]?.owner == MemberID("node-1"))
        await fixture.shutdown()
    }

    @Test func theJournalFileIsReplacedAndReadBack() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = LeaseJournal(path: directory + "/leases.json")
        #expect(try journal.load().isEmpty)
        let first = [QueueID("q1"): LeaseTable.LastGrant(epoch: Epoch(3), owner: MemberID("n1"))]
        try await journal.save(first)
        var second = first
        second[QueueID("q2")] = LeaseTable.LastGrant(epoch: Epoch(7), owner: MemberID("n2"))
        try await journal.save(second)
        #expect(try journal.load() == second)
        #expect(!FileManager.default.fileExists(atPath: directory + "/leases.json.tmp"))
    }

    @Test func aJournalThatCannotBeWrittenThrows() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID())").path
        _ = FileManager.default.createFile(atPath: file, contents: Data("not a directory".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        // A path below a regular file can never be created.
        let journal = LeaseJournal(path: file + "/leases.json")
        await #expect(throws: (any Error).self) {
            try await journal.save([QueueID("q1"): LeaseTable.LastGrant(epoch: Epoch(1), owner: MemberID("n1"))])
        }
    }
}
