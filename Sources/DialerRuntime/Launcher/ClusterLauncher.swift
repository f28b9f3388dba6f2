import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Starts and stops the processes of a cluster on this machine: `dialerctl up` and the
/// cluster tests use it. Each process gets a log file and a ready file in the run directory;
/// `start` returns once the process has written its ready file (so its real ports are known).
public final class ClusterLauncher: Sendable {
    /// One started process.
    public struct Member: Sendable {
        public var role: String
        public var id: String
        public var pid: Int32
        public var logFile: String
        public var ready: ReadyFile
    }

    public enum LaunchError: Error, CustomStringConvertible {
        case missingExecutable(String)
        case exitedBeforeReady(id: String, status: Int32, logFile: String, logTail: String)
        case notReadyInTime(id: String, logFile: String)

        public var description: String {
            switch self {
            case .missingExecutable(let path):
                return "no executable at \(path): build first (swift build)"
            case .exitedBeforeReady(let id, let status, let logFile, let tail):
                return "\(id) exited with status \(status) before it was ready (log: \(logFile))\n\(tail)"
            case .notReadyInTime(let id, let logFile):
                return "\(id) did not become ready in time (log: \(logFile))"
            }
        }
    }

    private let binDirectory: String
    private let runDirectory: String
    private let environment: [String: String]
    private let processes = Mutex<[String: Process]>([:])
    private let started = Mutex<[Member]>([])

    /// - Parameters:
    ///   - binDirectory: where `dialer-manager`, `agent-gateway` and `dialer-node` are.
    ///   - runDirectory: where logs and ready files go (created if needed).
    ///   - environment: added to this process's environment for every child.
    public init(binDirectory: String, runDirectory: String, environment: [String: String] = [:]) throws {
        self.binDirectory = binDirectory
        self.runDirectory = runDirectory
        self.environment = environment
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
    }

    /// The directory of the running executable (`/proc/self/exe`), where the other products
    /// of the same build are.
    public static var ownBinDirectory: String {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    /// The processes started and still known, in start order.
    public var members: [Member] { started.withLock { $0 } }

    /// Starts `executable` with `arguments` (plus `--ready-file`), waits for its ready file.
    @discardableResult
    public func start(
        executable: String, role: String, id: String, arguments: [String], readyTimeout: Duration = .seconds(60)
    ) async throws -> Member {
        let path = URL(fileURLWithPath: binDirectory).appendingPathComponent(executable).path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw LaunchError.missingExecutable(path) }
        let readyFile = URL(fileURLWithPath: runDirectory).appendingPathComponent("\(id).ready.json").path
        let logFile = URL(fileURLWithPath: runDirectory).appendingPathComponent("\(id).log").path
        try? FileManager.default.removeItem(atPath: readyFile)
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        try log.seekToEnd()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments + ["--ready-file", readyFile]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        processes.withLock { $0[id] = process }

        let deadline = ContinuousClock.now + readyTimeout
        // Checked once more after the deadline: a starved caller may wake late, after the
        // process was long ready.
        var lastLook = false
        while !lastLook {
            lastLook = ContinuousClock.now >= deadline
            if let ready = try? ReadyFile.read(from: readyFile), ready.pid == process.processIdentifier {
                let member = Member(role: role, id: id, pid: process.processIdentifier, logFile: logFile, ready: ready)
                started.withLock { members in
                    members.removeAll { $0.id == id }
                    members.append(member)
                }
                return member
            }
            if !process.isRunning {
                throw LaunchError.exitedBeforeReady(
                    id: id, status: process.terminationStatus, logFile: logFile, logTail: Self.tail(of: logFile))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw LaunchError.notReadyInTime(id: id, logFile: logFile)
    }

    /// Sends `signal` to the process `id` (SIGKILL, SIGSTOP, SIGCONT, SIGTERM ...).
    public func signal(_ id: String, _ signal: Int32) {
        guard let process = processes.withLock({ $0[id] }) else { return }
        kill(process.processIdentifier, signal)
    }

    /// Whether the process `id` is still running.
    public func isRunning(_ id: String) -> Bool {
        processes.withLock { $0[id]?.isRunning ?? false }
    }

    /// Waits until `id` exits; returns its status, or nil if it was still running at the timeout.
    public func waitForExit(_ id: String, timeout: Duration) async -> Int32? {
        guard let process = processes.withLock({ $0[id] }) else { return nil }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Stops every process: SIGTERM (in reverse start order, so nodes hand back their queues
    /// while the manager still runs), then SIGKILL whatever is left after `grace`.
    public func stopAll(grace: Duration = .seconds(10)) async {
        let ids = members.map(\.id).reversed() + processes.withLock { Array($0.keys) }
        var seen = Set<String>()
        for id in ids where seen.insert(id).inserted {
            guard isRunning(id) else { continue }
            signal(id, SIGCONT)  // a stopped process cannot handle SIGTERM
            signal(id, SIGTERM)
            if await waitForExit(id, timeout: grace) == nil {
                signal(id, SIGKILL)
                _ = await waitForExit(id, timeout: .seconds(5))
            }
        }
    }

    /// The last lines of a log file, for error messages.
    public static func tail(of path: String, lines: Int = 40) -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
