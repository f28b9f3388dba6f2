import NIOPosix
import Synchronization

/// Where password hashing runs: two threads of their own, with a bounded queue, off the
/// cooperative pool that runs actors and request handlers.
///
/// One PBKDF2 check at 600,000 rounds takes a CPU core for a good part of a second (see
/// BENCHMARKS.md); a burst of logins must neither starve the rest of the manager nor queue
/// without end. Beyond ``capacity`` checks waiting or running, ``run(_:)`` refuses at once.
final class PasswordWork: Sendable {
    /// Too many password checks are waiting already; try again shortly.
    struct Busy: Error, CustomStringConvertible {
        var capacity: Int
        var description: String { "the manager is checking \(capacity) passwords already; try again shortly" }
    }

    /// The process's one executor for password work.
    static let shared = PasswordWork(threads: 2, capacity: 64)

    let capacity: Int
    let threads: Int
    private let pool: NIOThreadPool
    private let admitted = Atomic<Int>(0)

    init(threads: Int, capacity: Int) {
        self.capacity = max(1, capacity)
        self.threads = max(1, threads)
        pool = NIOThreadPool(numberOfThreads: self.threads)
        pool.start()
    }

    /// Runs `work` on the executor's threads; throws ``Busy`` when ``capacity`` are admitted.
    func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        guard admitted.add(1, ordering: .relaxed).newValue <= capacity else {
            admitted.subtract(1, ordering: .relaxed)
            throw Busy(capacity: capacity)
        }
        defer { admitted.subtract(1, ordering: .relaxed) }
        return try await pool.runIfActive(work)
    }
}
