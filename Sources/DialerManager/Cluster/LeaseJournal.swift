public import DialerCore
public import FoundationEssentials
import NIOPosix

#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Remembers the last grant issued for each queue, on disk, before the grant is sent.
///
/// A manager that restarts reads it back to continue every queue's epochs (gateways refuse
/// lower ones) and to know which node may still hold a lease (see
/// ``LeaseTable/init(leaseDuration:restoring:at:)``). Grants are rare (a queue moves when a
/// node joins, leaves or drains), so a single manager keeps it in a small JSON file rewritten
/// atomically. Managers with standbys keep it in the shared database instead, written under
/// the manager lease's term (``init(store:holder:term:)``), so that a deposed manager's write
/// is refused and the manager that takes over reads every grant.
///
/// The journal is fencing: a grant whose journal write failed is never sent, so a restarted
/// manager cannot issue an epoch twice.
public final class LeaseJournal: Sendable {
    private struct Entry: Codable {
        var queue: String
        var epoch: UInt64
        var owner: String
    }

    private let storage: (any LeaseJournalStorage)?
    private let database: (store: any ManagerLeaseStore, holder: String, term: ManagerTerm)?

    /// A journal in a file at `path`; `nil` keeps nothing (tests, or a manager with no run
    /// directory).
    public convenience init(path: String?) {
        self.init(storage: path.map { LeaseJournalFile(path: $0) })
    }

    /// A journal kept by `storage`; `nil` keeps nothing.
    public init(storage: (any LeaseJournalStorage)?) {
        self.storage = storage
        self.database = nil
    }

    /// A journal in the shared database, written while `holder` holds the manager lease under
    /// `term`. Its grants are read with ``ManagerLeaseStore/journaledGrants()``; ``load()``
    /// returns nothing.
    public init(store: any ManagerLeaseStore, holder: String, term: ManagerTerm) {
        self.storage = nil
        self.database = (store, holder, term)
    }

    /// The last grants recorded, empty when there is no journal yet. Read once, at start-up.
    public func load() throws -> [QueueID: LeaseTable.LastGrant] {
        guard let data = try storage?.read() else { return [:] }
        let entries = try JSONDecoder().decode([Entry].self, from: data)
        var grants: [QueueID: LeaseTable.LastGrant] = [:]
        for entry in entries {
            grants[QueueID(entry.queue)] = LeaseTable.LastGrant(epoch: Epoch(entry.epoch), owner: MemberID(entry.owner))
        }
        return grants
    }

    /// Writes all last grants durably; called before the grants are sent, which must not be
    /// sent when this throws.
    public func save(_ grants: [QueueID: LeaseTable.LastGrant]) async throws {
        if let database {
            try await database.store.journal(grants, holder: database.holder, term: database.term)
            return
        }
        guard let storage else { return }
        let entries = grants.keys.sorted().map { queue in
            Entry(queue: queue.rawValue, epoch: grants[queue]!.epoch.rawValue, owner: grants[queue]!.owner.rawValue)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try await storage.write(try encoder.encode(entries))
    }
}

/// Where a ``LeaseJournal`` keeps its bytes.
public protocol LeaseJournalStorage: Sendable {
    /// The journal's bytes, `nil` when there is none yet.
    func read() throws -> Data?
    /// Replaces the journal with `data`; returns only when it is on stable storage.
    func write(_ data: Data) async throws
}

/// A journal file, replaced atomically (a temporary file, `fsync`, `rename`, `fsync` of the
/// directory) on NIO's blocking-I/O thread pool, off the cooperative pool that runs actors.
public struct LeaseJournalFile: LeaseJournalStorage {
    /// Why the journal could not be written.
    public struct WriteError: Error, CustomStringConvertible {
        public var step: String
        public var path: String
        public var errno: Int32
        public var description: String { "\(step) \(path): \(String(cString: strerror(errno)))" }
    }

    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func read() throws -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    public func write(_ data: Data) async throws {
        let path = self.path
        try await NIOThreadPool.singleton.runIfActive { try Self.replace(path, with: data) }
    }

    private static func replace(_ path: String, with data: Data) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp"
        let file = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw WriteError(step: "open", path: temporary, errno: errno) }
        var failure: WriteError?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(file, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = WriteError(step: "write", path: temporary, errno: errno)
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(file) != 0 { failure = WriteError(step: "fsync", path: temporary, errno: errno) }
        close(file)
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let error = WriteError(step: "rename", path: path, errno: errno)
            unlink(temporary)
            throw error
        }
        // The rename itself is durable only once the directory is synced.
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw WriteError(step: "open", path: directory, errno: errno) }
        defer { close(folder) }
        guard fsync(folder) == 0 else { throw WriteError(step: "fsync", path: directory, errno: errno) }
    }
}
