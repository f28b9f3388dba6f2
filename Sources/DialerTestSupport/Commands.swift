import Foundation

/// What a command printed (standard output and error, interleaved) and how it exited.
public struct CommandResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var output: String

    public var description: String { "exit \(status): \(output)" }
}

/// Runs `executable` with `arguments` to its end and returns its output. A command still
/// running after `timeout` is terminated (its status then says so): the deadline only ends a
/// stuck test.
public func runCommand(
    _ executable: String, _ arguments: [String], timeout: Duration = .seconds(120)
) async throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let watchdog = Task {
        try await Task.sleep(for: timeout)
        // SIGKILL: a child started from a concurrency thread inherits its blocked signals, SIGTERM among them.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    defer { watchdog.cancel() }
    let reader = pipe.fileHandleForReading
    let data = await withCheckedContinuation { (continuation: CheckedContinuation<Data, Never>) in
        // A blocking read on a thread of its own: the pipe ends when the command exits.
        Thread.detachNewThread { continuation.resume(returning: reader.readDataToEndOfFile()) }
    }
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// The full path of `name` on `PATH` (or the usual system directories), or `nil`.
public func toolPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let directories =
        path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/sbin"]
    return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Whether tests must fail instead of skipping when a tool they drive is missing
/// (`DIALER_REQUIRE_TOOLS=1`, as `.ci/run` sets).
public var toolsRequired: Bool { ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1" }
