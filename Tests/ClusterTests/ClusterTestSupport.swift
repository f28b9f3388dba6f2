import DialerProtocol
import DialerTestSupport
import DialerTransport
import Foundation
import Testing

extension LocalTestCluster {
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
