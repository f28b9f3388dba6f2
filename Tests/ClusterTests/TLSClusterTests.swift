import DialerConfig
import DialerProtocol
import DialerRuntime
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
        try makeCertificates(script: script, into: certificates)
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
                // One log line names the member and the event; other metadata may sit between.
                cluster.logs().split(separator: "\n").contains {
                    $0.contains("member=gateway/gateway") && $0.hasSuffix("member registered")
                }
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

            // The manager's HTTP API is HTTPS under the same authority: the tools' client, given
            // the cluster's TLS, reads it (presenting the member certificate the listener
            // requires); a plain client and an HTTPS client without the certificate get nothing.
            let api = cluster.httpAddress(of: "manager")
            let tlsClient = ManagerHTTPClient(
                address: api, token: cluster.adminToken, tls: try ClusterTLS(files: files))
            let health = try await tlsClient.send("GET", "healthz", timeout: 10)
            #expect(health.status == 200)
            let table = try await tlsClient.get("v1/cluster", as: ClusterTable.self, timeout: 10)
            #expect(table.nodes.contains { $0.id == "gateway" })
            await #expect(throws: (any Error).self) {
                _ = try await ManagerHTTPClient(address: api, token: cluster.adminToken).send(
                    "GET", "healthz", timeout: 5)
            }
            let other = certificates + "/other"
            try makeCertificates(script: script, into: other)
            let stranger = TLSFiles(
                certificate: other + "/member.pem", key: other + "/member.key",
                certificateAuthority: files.certificateAuthority, clientAuthentication: .none)
            await #expect(throws: (any Error).self) {
                _ = try await ManagerHTTPClient(address: api, tls: try ClusterTLS(files: stranger)).send(
                    "GET", "healthz", timeout: 5)
            }

            // dialerctl reads the TLS files from the cluster file and speaks HTTPS.
            let status = try runDialerctl(["status", "--config", cluster.configPath, "--manager", api])
            #expect(status.exitCode == 0, "\(status.output)")
            #expect(status.output.contains("gateway"), "\(status.output)")
        }
    }

    /// `scripts/make-certs.sh DIRECTORY`: an authority (kept when the directory has one) and a
    /// member certificate for localhost.
    private func makeCertificates(script: String, into directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, directory]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
    }

    /// Runs the built `dialerctl` with `arguments`; its exit code and its output.
    private func runDialerctl(_ arguments: [String]) throws -> (exitCode: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ClusterLauncher.ownBinDirectory + "/dialerctl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
