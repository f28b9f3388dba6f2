import DialerConfig
import DialerProtocol
import DialerTestSupport
import DialerTransport
import Foundation
import Testing

/// A real manager and gateway with mutual TLS from the cluster file: the gateway registers
/// with the manager over TLS, a certified client is admitted, a plain one is not.
@Suite("TLS in a real cluster", .serialized)
struct TLSClusterTests {
    @Test func theClusterProtocolRunsOverMutualTLS() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            if ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1" {
                Issue.record("openssl is required (DIALER_REQUIRE_TOOLS=1) but /usr/bin/openssl is missing")
            } else {
                print("skipping: openssl is not installed (apt-get install openssl)")
            }
            return
        }
        let cluster = try LocalTestCluster(nodes: [], queues: [])
        let certificates = cluster.runDirectory + "/tls"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/make-certs.sh").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, certificates]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let files = TLSFiles(
            certificate: certificates + "/member.pem", key: certificates + "/member.key",
            certificateAuthority: certificates + "/ca.pem", clientAuthentication: .require)
        var toml = try String(contentsOfFile: cluster.configPath, encoding: .utf8)
        toml = toml.replacingOccurrences(
            of: "[cluster]\n",
            with: "[cluster]\ntls_certificate = \"\(files.certificate)\"\ntls_key = \"\(files.key)\"\n"
                + "tls_ca = \"\(files.certificateAuthority)\"\ntls_client_auth = \"require\"\n")
        try toml.write(toFile: cluster.configPath, atomically: true, encoding: .utf8)

        await cluster.runThenShutDown { cluster in
            try await cluster.startManager()
            try await cluster.startGateway()
            // The gateway's registration crossed the manager's TLS listener.
            let registered = await waitForCondition(timeout: .seconds(30), interval: .milliseconds(100)) {
                cluster.logs().contains("member=gateway/gateway [DialerManager] member registered")
            }
            #expect(registered, "the gateway did not register over TLS")
            let address = cluster.managerClusterAddress
            let colon = try #require(address.lastIndex(of: ":"))
            let (host, port) = (String(address[..<colon]), Int(address[address.index(after: colon)...]) ?? 0)
            var settings = cluster.connectionSettings(for: "control-1", role: .control)
            settings.tls = try ClusterTLS(files: files)
            let certified = try await ClusterClient.connect(host: host, port: port, settings: settings)
            #expect(certified.peer.memberID == "manager")
            try? await certified.run { link, _ in link.close() }
            await #expect(throws: (any Error).self) {
                _ = try await ClusterClient.connect(
                    host: host, port: port, settings: cluster.connectionSettings(for: "control-2", role: .control),
                    connectTimeout: .seconds(3))
            }
        }
    }
}
