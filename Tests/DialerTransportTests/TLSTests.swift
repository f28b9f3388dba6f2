import DialerConfig
import DialerProtocol
import DialerTransport
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// Certificates made by scripts/make-certs.sh (openssl) in a fresh directory: two unrelated
/// authorities, each with a member certificate for localhost and 127.0.0.1.
struct TestCertificates {
    let directory: String

    static func make() throws -> TestCertificates? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            if ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1" {
                Issue.record("openssl is required (DIALER_REQUIRE_TOOLS=1) but /usr/bin/openssl is missing")
            } else {
                print("skipping: openssl is not installed (apt-get install openssl)")
            }
            return nil
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dialer-tls-\(UUID().uuidString.prefix(8))").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/make-certs.sh").path
        for authority in ["right", "wrong"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script, "\(directory)/\(authority)"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                Issue.record("make-certs.sh failed with status \(process.terminationStatus)")
                return nil
            }
        }
        return TestCertificates(directory: directory)
    }

    /// The member certificate of `authority`, trusting `trusting`'s authority.
    func files(_ authority: String = "right", trusting: String = "right", require: Bool = false) -> TLSFiles {
        TLSFiles(
            certificate: "\(directory)/\(authority)/member.pem", key: "\(directory)/\(authority)/member.key",
            certificateAuthority: "\(directory)/\(trusting)/ca.pem",
            clientAuthentication: require ? .require : .none)
    }
}

@Suite("TLS under the cluster protocol")
struct TLSTests {
    private func withServer(
        _ files: TLSFiles, _ body: (ClusterServer) async throws -> Void
    ) async throws {
        var serverSettings = settings(id: "manager", role: .manager)
        serverSettings.tls = try ClusterTLS(files: files)
        let server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0, settings: serverSettings, violationLog: nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.run { connection in
                    _ = try? await connection.run { link, inbound in
                        try await inbound.forEach { envelope in
                            if case .leaseRenew = envelope.message {
                                try await link.reply(to: envelope, with: .leaseRenewed(.init()))
                            }
                        }
                    }
                }
            }
            try await body(server)
            await server.close()
            group.cancelAll()
        }
    }

    private func connect(_ port: Int, _ files: TLSFiles?, host: String = "127.0.0.1") async throws -> ClusterConnection
    {
        var clientSettings = settings(id: "node-1", role: .node)
        clientSettings.tls = try files.map(ClusterTLS.init(files:))
        return try await ClusterClient.connect(host: host, port: port, settings: clientSettings)
    }

    private func renew(over connection: ClusterConnection) async throws -> String {
        try await connection.run { link, inbound in
            async let reader: Void = inbound.forEach { _ in }
            let reply = try await link.request(.leaseRenew(.init()))
            link.close()
            try await reader
            return reply.kindName
        }
    }

    @Test func theHandshakeRunsInsideTLSWithTheRightAuthority() async throws {
        guard let certificates = try TestCertificates.make() else { return }
        try await withServer(certificates.files()) { server in
            for host in ["127.0.0.1", "localhost"] {
                let connection = try await connect(server.port, certificates.files(), host: host)
                #expect(connection.peer.memberID == "manager")
                #expect(try await renew(over: connection) == "lease_renewed")
            }
        }
    }

    @Test func aServerCertificateFromAnotherAuthorityIsRefused() async throws {
        guard let certificates = try TestCertificates.make() else { return }
        try await withServer(certificates.files("wrong", trusting: "wrong")) { server in
            await #expect(throws: (any Error).self) {
                _ = try await connect(server.port, certificates.files())
            }
        }
    }

    @Test func aPlainClientGetsNoChallengeFromATLSServer() async throws {
        guard let certificates = try TestCertificates.make() else { return }
        try await withServer(certificates.files()) { server in
            await #expect(throws: (any Error).self) {
                _ = try await ClusterClient.connect(
                    host: "127.0.0.1", port: server.port, settings: settings(id: "node-1", role: .node),
                    connectTimeout: .seconds(2))
            }
        }
    }

    @Test func mutualTLSAdmitsACertifiedClientAndRefusesOthers() async throws {
        guard let certificates = try TestCertificates.make() else { return }
        try await withServer(certificates.files(require: true)) { server in
            // A client certificate signed by the authority: admitted.
            let connection = try await connect(server.port, certificates.files())
            #expect(try await renew(over: connection) == "lease_renewed")
            // A client certificate from another authority (trusting the server): refused.
            await #expect(throws: (any Error).self) {
                _ = try await connect(server.port, certificates.files("wrong", trusting: "right"))
            }
            // No client certificate at all: the TLS handshake fails, no Challenge arrives.
            #expect(try await bytesWithoutClientCertificate(port: server.port, certificates: certificates) == 0)
        }
    }

    /// Connects with TLS that trusts the authority but presents no certificate; returns the
    /// bytes of cluster protocol that arrived (the server's Challenge, if it was admitted).
    private func bytesWithoutClientCertificate(port: Int, certificates: TestCertificates) async throws -> Int {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file("\(certificates.directory)/right/ca.pem")
        let context = try NIOSSLContext(configuration: configuration)
        let received = ByteCounter()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(received)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        // The server ends the connection when the handshake fails; a generous deadline only.
        try await channel.closeFuture.get()
        return received.bytes
    }
}

/// Counts the plaintext bytes that reach it and closes on any error.
final class ByteCounter: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private(set) var bytes = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes += unwrapInboundIn(data).readableBytes
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
