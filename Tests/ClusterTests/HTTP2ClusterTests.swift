import DialerTestSupport
import Foundation
import Testing

/// HTTP/2 on every HTTP listener of a real cluster (the manager, the gateway, a node), checked
/// with outside clients: curl (`--http2-prior-knowledge`, ALPN over TLS) and h2load
/// (Debian `nghttp2-client`). HTTP/1.1 stays, with the gateway's WebSocket upgrade.
@Suite("HTTP/2 in a real cluster", .serialized)
struct HTTP2ClusterTests {
    static let members = ["manager", "gateway", "node-1"]

    /// curl, h2load and nghttp, or `nil` after a skip message (or a failure when tools are
    /// required).
    static func tools() -> (curl: String, h2load: String, nghttp: String)? {
        var missing: [String] = []
        let curl = toolPath("curl")
        let h2load = toolPath("h2load")
        let nghttp = toolPath("nghttp")
        if curl == nil { missing.append("curl") }
        if h2load == nil || nghttp == nil { missing.append("h2load and nghttp (apt-get install nghttp2-client)") }
        guard let curl, let h2load, let nghttp else {
            if toolsRequired {
                Issue.record("required (DIALER_REQUIRE_TOOLS=1) but missing: \(missing.joined(separator: ", "))")
            } else {
                print("skipping the HTTP/2 cluster test: missing \(missing.joined(separator: ", "))")
            }
            return nil
        }
        return (curl, h2load, nghttp)
    }

    @Test func everyListenerSpeaksH2cWithPriorKnowledgeAndHTTP1() async throws {
        guard let (curl, h2load, nghttp) = Self.tools() else { return }
        let cluster = try LocalTestCluster(nodes: ["node-1"], queues: [(id: "sales", kind: "campaign")])
        await cluster.runThenShutDown { cluster in
            try await cluster.start()
            for id in Self.members {
                let base = "http://\(cluster.httpAddress(of: id))"
                let h2 = try await runCommand(
                    curl,
                    [
                        "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                        base + "/healthz",
                    ])
                #expect(h2.output == "2 200", "\(id): curl --http2-prior-knowledge /healthz: \(h2)")
                let h1 = try await runCommand(
                    curl,
                    ["-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", base + "/healthz"])
                #expect(h1.output == "1.1 200", "\(id): curl --http1.1 /healthz: \(h1)")
                let load = try await runCommand(h2load, ["-n", "200", "-c", "2", "-m", "10", base + "/healthz"])
                #expect(load.status == 0, "\(id): h2load: \(load)")
                #expect(load.output.contains("Application protocol: h2c"), "\(id): h2load: \(load)")
                #expect(load.output.contains("200 succeeded, 0 failed"), "\(id): h2load: \(load)")
            }
            // The pages over HTTP/2: the console (manager) and the agent desktop (gateway).
            for (id, page) in [("manager", "/console/"), ("gateway", "/agent/")] {
                let result = try await runCommand(
                    curl,
                    [
                        "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                        "http://\(cluster.httpAddress(of: id))\(page)",
                    ])
                #expect(result.output == "2 200", "\(id) \(page): \(result)")
            }
            // The desktop's WebSocket still upgrades on HTTP/1.1 on the same port.
            let upgrade = try await runCommand(
                curl,
                [
                    "-sS", "--http1.1", "-i", "-N", "--max-time", "3",
                    "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
                    "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                    "http://\(cluster.httpAddress(of: "gateway"))/v1/agents/ws",
                ])
            #expect(upgrade.output.contains("HTTP/1.1 101 Switching Protocols"), "WebSocket upgrade: \(upgrade)")

            try await liveEventsShareOneConnection(cluster: cluster, nghttp: nghttp, h2load: h2load)
        }
    }

    /// Three of the live panel's event streams (`GET /v1/live/events`) at once on one HTTP/2
    /// connection. nghttp opens a single connection: every stream gets its first snapshot
    /// before any stream ends, so they ran side by side. h2load runs the three streams as one
    /// client, on one connection.
    func liveEventsShareOneConnection(cluster: LocalTestCluster, nghttp: String, h2load: String) async throws {
        let token = try #require(cluster.adminToken)
        let url = "http://\(cluster.httpAddress(of: "manager"))/v1/live/events?max_events=2"
        // Distinct URLs: nghttp asks for a URL once.
        let urls = (1...3).map { url + "&client=\($0)" }
        let run = try await runCommand(nghttp, ["-v", "-H", "Authorization: Bearer \(token)"] + urls)
        #expect(run.status == 0, "nghttp: \(run)")
        let frames = NGHTTPTrace(run.output)
        #expect(frames.requestStreams.count == 3, "nghttp: \(run)")
        #expect(Set(frames.firstData.keys) == frames.requestStreams, "every stream got data: \(run)")
        #expect(Set(frames.ends.keys) == frames.requestStreams, "every stream ended: \(run)")
        if let lastFirst = frames.firstData.values.max(), let firstEnd = frames.ends.values.min() {
            #expect(lastFirst < firstEnd, "the streams did not overlap: \(run)")
        }
        #expect(run.output.components(separatedBy: "event: snapshot\n").count - 1 == 6, "snapshots: \(run)")

        let load = try await runCommand(
            h2load, ["-n", "3", "-c", "1", "-m", "3", "-H", "Authorization: Bearer \(token)", url])
        #expect(load.output.contains("1 total client(s)"), "h2load: \(load)")
        #expect(load.output.contains("Application protocol: h2c"), "h2load: \(load)")
        #expect(load.output.contains("3 succeeded, 0 failed"), "h2load: \(load)")
    }

    /// The frames in `nghttp -v`'s trace: line numbers of each stream's first DATA frame
    /// received and of its END_STREAM.
    struct NGHTTPTrace {
        var requestStreams: Set<Int> = []
        var firstData: [Int: Int] = [:]
        var ends: [Int: Int] = [:]

        init(_ trace: String) {
            for (line, text) in trace.split(separator: "\n").enumerated() {
                guard let idRange = text.range(of: "stream_id="),
                    let stream = Int(text[idRange.upperBound...].prefix { $0.isNumber })
                else { continue }
                if text.contains("send HEADERS frame") { requestStreams.insert(stream) }
                guard text.contains("recv DATA frame") else { continue }
                if firstData[stream] == nil { firstData[stream] = line }
                // END_STREAM is flag 0x01 of a DATA frame.
                if let flagRange = text.range(of: "flags=0x"),
                    let flags = UInt8(text[flagRange.upperBound...].prefix(2), radix: 16), flags & 1 == 1
                {
                    ends[stream] = line
                }
            }
        }
    }

    @Test func tlsListenersNegotiateH2WithALPN() async throws {
        guard let (curl, h2load, _) = Self.tools() else { return }
        guard toolPath("openssl") != nil else {
            if toolsRequired { Issue.record("openssl is required (DIALER_REQUIRE_TOOLS=1) but missing") }
            print("skipping the HTTP/2 TLS cluster test: openssl is not installed")
            return
        }
        let cluster = try LocalTestCluster(nodes: ["node-1"], queues: [(id: "sales", kind: "campaign")])
        let certificates = cluster.runDirectory + "/tls"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/make-certs.sh").path
        let made = try await runCommand("/bin/bash", [script, certificates])
        try #require(made.status == 0, "make-certs.sh: \(made)")
        var toml = try String(contentsOfFile: cluster.configPath, encoding: .utf8)
        toml = toml.replacingOccurrences(
            of: "[cluster]\n",
            with:
                "[cluster]\ntls_certificate = \"\(certificates)/member.pem\"\ntls_key = \"\(certificates)/member.key\"\n"
                + "tls_ca = \"\(certificates)/ca.pem\"\n")
        try toml.write(toFile: cluster.configPath, atomically: true, encoding: .utf8)

        await cluster.runThenShutDown { cluster in
            try await cluster.start()
            for id in Self.members {
                let base = "https://\(cluster.httpAddress(of: id))"
                let h2 = try await runCommand(
                    curl,
                    [
                        "-sS", "--cacert", "\(certificates)/ca.pem", "--http2", "-o", "/dev/null",
                        "-w", "%{http_version} %{http_code}", base + "/healthz",
                    ])
                #expect(h2.output == "2 200", "\(id): curl --http2 over TLS: \(h2)")
                let h1 = try await runCommand(
                    curl,
                    [
                        "-sS", "--cacert", "\(certificates)/ca.pem", "--http1.1", "-o", "/dev/null",
                        "-w", "%{http_version} %{http_code}", base + "/healthz",
                    ])
                #expect(h1.output == "1.1 200", "\(id): curl --http1.1 over TLS: \(h1)")
                let load = try await runCommand(h2load, ["-n", "100", "-c", "2", "-m", "10", base + "/healthz"])
                #expect(load.output.contains("Application protocol: h2\n"), "\(id): h2load over TLS: \(load)")
                #expect(load.output.contains("100 succeeded, 0 failed"), "\(id): h2load over TLS: \(load)")
            }
            let upgrade = try await runCommand(
                curl,
                [
                    "-sS", "--cacert", "\(certificates)/ca.pem", "--http1.1", "-i", "-N", "--max-time", "3",
                    "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
                    "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                    "https://\(cluster.httpAddress(of: "gateway"))/v1/agents/ws",
                ])
            #expect(
                upgrade.output.contains("HTTP/1.1 101 Switching Protocols"), "WebSocket upgrade over TLS: \(upgrade)")
        }
    }
}
