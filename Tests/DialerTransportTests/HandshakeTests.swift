import DialerProtocol
import DialerTransport
import FoundationEssentials
import NIOCore
import NIOEmbedded
import Testing

/// Two full pipelines (decoder, connection handler, which encodes) on embedded channels, with
/// the bytes each writes delivered to the other by `pump()`.
final class EmbeddedPair {
    let server: EmbeddedChannel
    let client: EmbeddedChannel
    let serverHandshake: EventLoopFuture<PeerIdentity>
    let clientHandshake: EventLoopFuture<PeerIdentity>

    init(server serverSettings: ConnectionSettings, client clientSettings: ConnectionSettings) throws {
        let loop = EmbeddedEventLoop()
        server = EmbeddedChannel(loop: loop)
        client = EmbeddedChannel(loop: loop)
        let serverPromise = loop.makePromise(of: PeerIdentity.self)
        let clientPromise = loop.makePromise(of: PeerIdentity.self)
        serverHandshake = serverPromise.futureResult
        clientHandshake = clientPromise.futureResult
        for (channel, settings, side, promise) in [
            (server, serverSettings, ConnectionStateMachine.Side.server, serverPromise),
            (client, clientSettings, .client(nonce: ClusterConnectionHandler.randomNonce()), clientPromise),
        ] {
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(ByteToMessageHandler(FrameDecoder(maximumPayload: settings.maximumPayload)))
            try operations.addHandler(
                ClusterConnectionHandler(settings: settings, side: side, handshakePromise: promise, violationLog: nil))
        }
        try server.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try client.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    }

    /// Moves bytes both ways until neither side has anything to send.
    func pump() {
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(server, client), (client, server)] {
                while let bytes = try? from.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    guard to.isActive else { continue }
                    _ = try? to.writeInbound(bytes)
                }
            }
        }
    }

    /// Decodes what `channel` wrote, without delivering it.
    static func decodeOutbound(_ channel: EmbeddedChannel) -> [Envelope] {
        var envelopes: [Envelope] = []
        while var bytes = try? channel.readOutbound(as: ByteBuffer.self) {
            while let envelope = try? FrameDecoder.decodeFrame(from: &bytes, maximumPayload: 1 << 20) {
                envelopes.append(envelope)
            }
        }
        return envelopes
    }
}

func settings(
    id: String,
    role: Dialer_V1_Role,
    secret: String = "s3cret",
    versions: ClosedRange<UInt32> = ProtocolVersion.supported,
    accepts: Set<Dialer_V1_Role> = [.node, .gateway]
) -> ConnectionSettings {
    ConnectionSettings(
        localID: id, localRole: role, secret: ClusterSecret(secret), heartbeatInterval: .milliseconds(100),
        missedHeartbeats: 3, supportedVersions: versions, acceptedRoles: accepts)
}

@Suite("Handshake")
struct HandshakeTests {
    @Test func matchingSecretsEstablishBothSides() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager), client: settings(id: "node-1", role: .node))
        pair.pump()
        let serverSees = try pair.serverHandshake.wait()
        let clientSees = try pair.clientHandshake.wait()
        #expect(serverSees == PeerIdentity(role: .node, memberID: "node-1", protocolVersion: ProtocolVersion.current))
        #expect(
            clientSees == PeerIdentity(role: .manager, memberID: "manager", protocolVersion: ProtocolVersion.current))
        #expect(pair.server.isActive && pair.client.isActive)
    }

    @Test func wrongSecretIsRejectedWithAuthenticationFailed() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager),
            client: settings(id: "intruder", role: .node, secret: "guess"))
        // Challenge to the client, Hello to the server, then look at the server's answer.
        pair.pump()
        #expect(throws: PeerRejection(code: .authenticationFailed, message: "proof does not match the cluster secret"))
        {
            try pair.clientHandshake.wait()
        }
        #expect(throws: ProtocolViolation.self) { try pair.serverHandshake.wait() }
        #expect(!pair.server.isActive)
    }

    @Test func theSecretNeverAppearsOnTheWire() throws {
        let secret = "a-very-recognisable-cluster-secret"
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager, secret: secret),
            client: settings(id: "node-1", role: .node, secret: secret))
        var wire: [UInt8] = []
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(pair.server, pair.client), (pair.client, pair.server)] {
                while let bytes = try from.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    wire += bytes.readableBytesView
                    try to.writeInbound(bytes)
                }
            }
        }
        _ = try pair.serverHandshake.wait()
        let needle = Array(secret.utf8)
        #expect(!wire.isEmpty)
        #expect(!(0...(wire.count - needle.count)).contains { Array(wire[$0..<$0 + needle.count]) == needle })
    }

    @Test func unsupportedVersionIsRejected() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager, versions: 1...1),
            client: settings(id: "future-node", role: .node, versions: 5...7))
        pair.pump()
        let clientError = #expect(throws: ProtocolViolation.self) { try pair.clientHandshake.wait() }
        #expect(clientError?.code == .unsupportedVersion)
    }

    @Test func serverRejectsAHelloWithAnUnsupportedVersion() throws {
        let server = settings(id: "manager", role: .manager, versions: 1...1)
        var machine = ConnectionStateMachine(settings: server, side: .server)
        let nonce = [UInt8](repeating: 7, count: 32)
        _ = machine.connectionActive(serverNonce: nonce)
        var hello = Dialer_V1_Hello()
        hello.protocolVersion = 9
        hello.role = .node
        hello.memberID = "node-1"
        hello.clientNonce = Data(repeating: 3, count: 32)
        hello.proof = Data(
            ClusterSecret("s3cret").helloProof(
                serverNonce: nonce, clientNonce: Array(hello.clientNonce), version: 9, role: .node, memberID: "node-1"))
        guard case .failAndClose(let violation) = machine.received(Envelope(.hello(hello))) else {
            Issue.record("expected the server to fail the handshake")
            return
        }
        #expect(violation.code == .unsupportedVersion)
    }

    @Test func roleTheListenerDoesNotAcceptIsRejected() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "gateway", role: .gateway, accepts: [.node]),
            client: settings(id: "other-gateway", role: .gateway))
        pair.pump()
        let error = #expect(throws: PeerRejection.self) { try pair.clientHandshake.wait() }
        #expect(error?.code == .roleNotAllowed)
    }

    @Test func applicationMessageBeforeTheHandshakeIsUnexpected() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager), client: settings(id: "node-1", role: .node))
        _ = EmbeddedPair.decodeOutbound(pair.server)  // drop the challenge
        var buffer = ByteBuffer()
        try FrameEncoder.encodeFrame(Envelope(.leaseRenew(.init())), into: &buffer, maximumPayload: 1 << 20)
        _ = try? pair.server.writeInbound(buffer)
        let answer = EmbeddedPair.decodeOutbound(pair.server)
        #expect(answer.count == 1)
        guard case .error(let error) = answer.first?.message else {
            Issue.record("expected an Error frame, got \(answer)")
            return
        }
        #expect(error.code == .unexpectedMessage)
        #expect(!pair.server.isActive)
    }

    @Test(arguments: [
        ("oversized", [0x7F, 0xFF, 0xFF, 0xFF] as [UInt8], ProtocolErrorCode.frameTooLarge),
        ("truncated protobuf", [0, 0, 0, 3, 0x5A, 0x05, 0x0A], .malformedFrame),
        ("unknown kind", [0, 0, 0, 3, 0xBA, 0x3E, 0x00], .unknownMessage),
    ])
    func badBytesGetAnErrorFrameAndAClose(name: String, bytes: [UInt8], code: ProtocolErrorCode) throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager), client: settings(id: "node-1", role: .node))
        pair.pump()
        _ = try pair.serverHandshake.wait()
        _ = try? pair.server.writeInbound(ByteBuffer(bytes: bytes))
        let answer = EmbeddedPair.decodeOutbound(pair.server)
        guard case .error(let error) = answer.last?.message else {
            Issue.record("\(name): expected an Error frame, got \(answer)")
            return
        }
        #expect(error.code == code, "\(name)")
        #expect(!pair.server.isActive, "\(name)")
    }

    @Test func anyFrameCountsAsLifeNotOnlyHeartbeats() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager), client: settings(id: "node-1", role: .node))
        pair.pump()
        _ = try pair.serverHandshake.wait()
        let loop = pair.server.embeddedEventLoop
        var disposition = Dialer_V1_AgentDisposition()
        disposition.attempt = "attempt-1"
        var frame = ByteBuffer()
        try FrameEncoder.encodeFrame(
            Envelope(.agentDisposition(disposition), correlationID: 1), into: &frame, maximumPayload: 1 << 20)
        // The client's heartbeats are lost; an application frame arrives in every interval.
        for _ in 0..<10 {
            loop.advanceTime(by: .milliseconds(100))
            while (try? pair.client.readOutbound(as: ByteBuffer.self)) != nil {}
            try pair.server.writeInbound(frame)
            _ = try pair.server.readInbound(as: Envelope.self)
        }
        #expect(pair.server.isActive, "frames other than heartbeats keep the peer alive")
        let sent = EmbeddedPair.decodeOutbound(pair.server)
        #expect(!sent.contains { if case .error = $0.message { true } else { false } })
    }

    @Test func silentPeerIsDeclaredDeadAfterTheMissedBeats() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager), client: settings(id: "node-1", role: .node))
        pair.pump()
        _ = try pair.serverHandshake.wait()
        let loop = pair.server.embeddedEventLoop
        // Both sides beat; delivering the beats keeps both alive.
        for _ in 0..<10 {
            loop.advanceTime(by: .milliseconds(100))
            pair.pump()
        }
        #expect(pair.server.isActive && pair.client.isActive)
        // Now the client goes silent: nothing is delivered to the server any more.
        var sawTimeout = false
        for _ in 0..<5 {
            loop.advanceTime(by: .milliseconds(100))
            _ = try? pair.client.readOutbound(as: ByteBuffer.self)
            for envelope in EmbeddedPair.decodeOutbound(pair.server) {
                if case .error(let error) = envelope.message, error.code == .heartbeatTimeout { sawTimeout = true }
            }
        }
        #expect(sawTimeout)
        #expect(!pair.server.isActive)
    }

    /// Heartbeats are the connection's business: they keep it alive but never reach its owner,
    /// so an owner that only writes (and never reads) cannot starve its own liveness.
    @Test func applicationMessagesAreForwardedHeartbeatsAreNot() throws {
        let pair = try EmbeddedPair(
            server: settings(id: "manager", role: .manager), client: settings(id: "node-1", role: .node))
        pair.pump()
        for _ in 0..<3 {
            pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
            pair.pump()
        }
        #expect(try pair.server.readInbound(as: Envelope.self) == nil)
        try pair.client.writeOutbound(Envelope(.leaseRenew(.init()), correlationID: 1))
        pair.pump()
        let forwarded = try #require(try pair.server.readInbound(as: Envelope.self))
        #expect(forwarded.kindName == "lease_renew")
        #expect(pair.server.isActive && pair.client.isActive)
    }
}
