import DialerProtocol
import DialerTestSupport
import DialerTransport
import Foundation
import Testing

extension LocalTestCluster {
    /// Runs `body` against the cluster, then shuts it down. A thrown error fails the test; then
    /// the processes' logs are printed and the run's files kept (as they are whenever
    /// `DIALER_KEEP_CLUSTER` is set) for a look afterwards.
    func runThenShutDown(_ body: (LocalTestCluster) async throws -> Void) async {
        var passed = false
        do {
            try await body(self)
            passed = true
        } catch {
            Issue.record("cluster test failed: \(error)")
        }
        if !passed { print(logs()) }
        await shutdown(keepFiles: !passed || ProcessInfo.processInfo.environment["DIALER_KEEP_CLUSTER"] != nil)
    }

    /// Posts `json` to the manager's API; anything but a 2xx fails the test with the reply.
    func post(_ path: String, _ json: String) async throws {
        let (status, body) = try await manager.send("POST", path, body: Data(json.utf8), timeout: 30)
        try #require(
            (200..<300).contains(status), "POST \(path): \(status) \(String(decoding: body, as: UTF8.self))")
    }

    /// How a synthetic agent (or a test client in `role`) connects to this cluster's gateway:
    /// the cluster's secret and the tests' quick heartbeats.
    func connectionSettings(for id: String, role: Dialer_V1_Role = .agent) -> ConnectionSettings {
        ConnectionSettings(
            localID: id, localRole: role, secret: ClusterSecret(secret), heartbeatInterval: .milliseconds(200),
            missedHeartbeats: 4)
    }
}
