import DialerTestSupport
import Foundation
import Testing

/// A supervisor's live panel keeps `GET /v1/live/events` open for good; a SIGTERM to the
/// manager must still end the process gracefully: the server ends the open stream itself, and
/// the client sees the stream close rather than time out.
@Suite("Live panel streams and a manager's shutdown", .serialized)
struct LiveShutdownClusterTests {
    @Test func sigtermEndsAnOpenEventStreamAndTheManagerExits() async throws {
        guard let curl = toolPath("curl") else {
            if toolsRequired { Issue.record("curl is required (DIALER_REQUIRE_TOOLS=1)") }
            return
        }
        let cluster = try LocalTestCluster(nodes: [], queues: [])
        await cluster.runThenShutDown { cluster in
            try await cluster.startManager()
            let output = cluster.runDirectory + "/events.out"
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let client = Process()
            client.executableURL = URL(fileURLWithPath: curl)
            // The client's own limit (120 s) is what a server that never ends the stream would
            // run into: curl then exits 28 instead of 0.
            client.arguments = [
                "-sS", "-N", "--max-time", "120", "-H", "Authorization: Bearer \(cluster.adminToken ?? "")",
                "http://\(cluster.httpAddress(of: "manager"))/v1/live/events",
            ]
            client.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            client.standardError = FileHandle.nullDevice
            try client.run()
            defer { if client.isRunning { client.terminate() } }
            let streaming = await waitForCondition(timeout: .seconds(30)) {
                ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("retry: 2000")
            }
            #expect(streaming, "the event stream did not open")

            cluster.launcher.signal("manager", SIGTERM)
            let managerExited = await waitForCondition(timeout: .seconds(100)) {
                !cluster.launcher.isRunning("manager")
            }
            let clientExited = await waitForCondition(timeout: .seconds(30)) { !client.isRunning }
            #expect(managerExited, "the manager did not exit after SIGTERM with a stream open")
            #expect(clientExited)
            #expect(
                client.terminationStatus == 0,
                "curl exit \(client.terminationStatus): the server did not end the stream")
        }
    }
}
