import Foundation
import Synchronization

/// A throwaway PostgreSQL server for the tests of one process: started on first use in a
/// temporary directory on a free loopback port (trust authentication, fsync off), shared by the
/// tests, each of which takes a fresh database, and stopped when the process exits.
///
/// initdb refuses to run as root: as root the server runs as the `postgres` user (Debian's
/// package creates it), through `runuser`.
public final class TestPostgres: Sendable {
    /// The server's port on 127.0.0.1.
    public let port: Int
    /// The superuser the tests connect as (no password).
    public let user: String
    public let directory: String
    private let binaries: String

    /// Why the server is not there, when it is not: PostgreSQL is not installed, or did not start.
    public enum Unavailable: Error, CustomStringConvertible {
        case notInstalled
        case failed(String)

        public var description: String {
            switch self {
            case .notInstalled:
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql"
            case .failed(let why): "the test PostgreSQL server did not start: \(why)"
            }
        }
    }

    private static let starter = Starter()

    /// The process's server, started by the first test that asks (the others wait for it).
    public static func shared() async -> Result<TestPostgres, Unavailable> { await starter.server() }

    /// Starts the server once. Asynchronous on purpose: a blocking start in a lazy global would
    /// hold every thread of the cooperative pool while the tests wait for it, and the pool is
    /// what notices that initdb exited.
    private actor Starter {
        private var starting: Task<Result<TestPostgres, Unavailable>, Never>?

        func server() async -> Result<TestPostgres, Unavailable> {
            if let starting { return await starting.value }
            let task = Task { await TestPostgres.start() }
            starting = task
            return await task.value
        }
    }

    private init(port: Int, user: String, directory: String, binaries: String) {
        self.port = port
        self.user = user
        self.directory = directory
        self.binaries = binaries
    }

    /// A new empty database; its name.
    public func createDatabase() async throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let result = try await runCommand(
            binaries + "/createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", user, name], timeout: .seconds(60))
        guard result.status == 0 else { throw Unavailable.failed("createdb: \(result)") }
        return name
    }

    /// The `manager.database` URL of a database of this server.
    public func url(database: String) -> String {
        "postgres://\(user)@127.0.0.1:\(port)/\(database)"
    }

    /// The newest installed PostgreSQL's binaries.
    static func binariesDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().reversed().map { "\(root)/\($0)/bin" }.first {
            FileManager.default.isExecutableFile(atPath: $0 + "/initdb")
        }
    }

    private static func start() async -> Result<TestPostgres, Unavailable> {
        guard let binaries = binariesDirectory() else { return .failure(.notInstalled) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dialer-postgres-\(UUID().uuidString)"
        ).path
        let data = directory + "/data"
        let asRoot = getuid() == 0
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if asRoot {
                try FileManager.default.setAttributes(
                    [.ownerAccountName: "postgres", .posixPermissions: 0o700], ofItemAtPath: directory)
            }
        } catch {
            return .failure(.failed("cannot prepare \(directory): \(error)"))
        }
        func run(_ tool: String, _ arguments: [String]) async -> CommandResult {
            do {
                return asRoot
                    ? try await runCommand(
                        "/usr/sbin/runuser", ["-u", "postgres", "--", binaries + "/" + tool] + arguments)
                    : try await runCommand(binaries + "/" + tool, arguments)
            } catch {
                return CommandResult(status: -1, output: "\(error)")
            }
        }
        let user = "dialer"
        let initialized = await run(
            "initdb", ["-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        guard initialized.status == 0 else { return .failure(.failed("initdb: \(initialized)")) }
        // A few tries: another process may take the free port between the probe and the start.
        var lastError = ""
        for _ in 0..<5 {
            guard let port = freePort() else { return .failure(.failed("no free port")) }
            let arguments = [
                "-D", data, "-p", String(port), "-k", directory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
            ]
            // The server runs as a child of this process (not through pg_ctl, whose daemon would
            // keep this process's descriptors and leave it waiting); it is ready when its
            // postmaster.pid says so.
            let log = directory + "/server.log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            if asRoot { try? FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: log) }
            let process = Process()
            if asRoot {
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
                process.arguments = ["-u", "postgres", "--", binaries + "/postgres"] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: binaries + "/postgres")
                process.arguments = arguments
            }
            process.standardInput = FileHandle.nullDevice
            let output = FileHandle(forWritingAtPath: log)
            process.standardOutput = output
            process.standardError = output
            do {
                try process.run()
            } catch {
                return .failure(.failed("postgres: \(error)"))
            }
            let ready = await waitForCondition(timeout: .seconds(120), interval: .milliseconds(100)) {
                let pid = (try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8)) ?? ""
                return pid.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == "ready" }
                    || !process.isRunning
            }
            if ready, process.isRunning {
                let server = TestPostgres(port: port, user: user, directory: directory, binaries: binaries)
                Self.stopCommand.withLock { $0 = (asRoot, binaries, data, directory) }
                atexit { TestPostgres.stopAtExit() }
                return .success(server)
            }
            if process.isRunning { process.terminate() }
            lastError = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "no log"
        }
        return .failure(.failed("postgres did not start: \(lastError)"))
    }

    private static let stopCommand = Mutex<(asRoot: Bool, binaries: String, data: String, directory: String)?>(nil)

    /// Stops the server and removes its directory, in a shell of its own that outlives the
    /// process: nothing waits at exit.
    private static func stopAtExit() {
        guard let (asRoot, binaries, data, directory) = stopCommand.withLock({ $0 }) else { return }
        let stop =
            "\(asRoot ? "/usr/sbin/runuser -u postgres -- " : "")'\(binaries)/pg_ctl' -D '\(data)' -m immediate -w stop"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(stop) >/dev/null 2>&1; rm -rf '\(directory)'"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }

    /// A loopback TCP port nobody listens on now.
    private static func freePort() -> Int? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
