public import DialerCore
import FoundationEssentials

/// Remembers the last grant issued for each queue, on disk, before the grant is sent.
///
/// A manager that restarts reads it back to continue every queue's epochs (gateways refuse
/// lower ones) and to know which node may still hold a lease (see
/// ``LeaseTable/init(leaseDuration:restoring:at:)``). Grants are rare (a queue moves when a
/// node joins, leaves or drains), so a small JSON file rewritten atomically is enough until
/// the manager's database holds it.
public final class LeaseJournal: Sendable {
    private struct Entry: Codable {
        var queue: String
        var epoch: UInt64
        var owner: String
    }

    public let path: String?

    /// A journal at `path`; `nil` keeps nothing (tests, or a manager with no run directory).
    public init(path: String?) {
        self.path = path
    }

    /// The last grants recorded, empty when there is no journal yet.
    public func load() throws -> [QueueID: LeaseTable.LastGrant] {
        guard let path, FileManager.default.fileExists(atPath: path) else { return [:] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let entries = try JSONDecoder().decode([Entry].self, from: data)
        var grants: [QueueID: LeaseTable.LastGrant] = [:]
        for entry in entries {
            grants[QueueID(entry.queue)] = LeaseTable.LastGrant(epoch: Epoch(entry.epoch), owner: MemberID(entry.owner))
        }
        return grants
    }

    /// Writes all last grants; called before the grants are sent.
    public func save(_ grants: [QueueID: LeaseTable.LastGrant]) throws {
        guard let path else { return }
        let entries = grants.keys.sorted().map { queue in
            Entry(queue: queue.rawValue, epoch: grants[queue]!.epoch.rawValue, owner: grants[queue]!.owner.rawValue)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(entries).write(to: url, options: .atomic)
    }
}
