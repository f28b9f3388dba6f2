import DialerConfig
import DialerProtocol
import DialerTransport
import NIOCore
import Testing

/// How one side's handshake ended.
private enum Ending: Equatable {
    case established(PeerIdentity)
    case failed(ProtocolErrorCode)

    var version: UInt32? {
        if case .established(let peer) = self { return peer.protocolVersion }
        return nil
    }
}

/// Runs a handshake between two state machines, frame by frame, without I/O; returns what each
/// side ended with: the peer it established, or the violation it failed with (or received).
private func negotiate(server: ClosedRange<UInt32>, client: ClosedRange<UInt32>) -> (
    server: Ending, client: Ending
) {
    var serverMachine = ConnectionStateMachine(
        settings: settings(id: "manager", role: .manager, versions: server), side: .server)
    var clientMachine = ConnectionStateMachine(
        settings: settings(id: "node-1", role: .node, versions: client),
        side: .client(nonce: [UInt8](repeating: 9, count: 32)))
    _ = clientMachine.connectionActive(serverNonce: [])
    guard case .send(let challenge) = serverMachine.connectionActive(serverNonce: [UInt8](repeating: 4, count: 32))
    else { return (.failed(.unspecified), .failed(.unspecified)) }
    let hello: Envelope
    switch clientMachine.received(challenge) {
    case .send(let sent): hello = sent
    case .failAndClose(let violation): return (.failed(violation.code), .failed(violation.code))
    default: return (.failed(.unspecified), .failed(.unspecified))
    }
    let welcome: Envelope
    let serverPeer: PeerIdentity
    switch serverMachine.received(hello) {
    case .established(let peer, let reply?):
        (serverPeer, welcome) = (peer, reply)
    case .failAndClose(let violation): return (.failed(violation.code), .failed(violation.code))
    default: return (.failed(.unspecified), .failed(.unspecified))
    }
    switch clientMachine.received(welcome) {
    case .established(let peer, _): return (.established(serverPeer), .established(peer))
    case .failAndClose(let violation): return (.established(serverPeer), .failed(violation.code))
    default: return (.established(serverPeer), .failed(.unspecified))
    }
}

/// An established server-side machine whose connection speaks `version`.
private func established(at version: UInt32) -> ConnectionStateMachine {
    var server = ConnectionStateMachine(
        settings: settings(id: "manager", role: .manager, versions: 1...version), side: .server)
    var client = ConnectionStateMachine(
        settings: settings(id: "node-1", role: .node, versions: 1...version),
        side: .client(nonce: [UInt8](repeating: 9, count: 32)))
    _ = client.connectionActive(serverNonce: [])
    guard case .send(let challenge) = server.connectionActive(serverNonce: [UInt8](repeating: 4, count: 32)),
        case .send(let hello) = client.received(challenge)
    else { return server }
    _ = server.received(hello)
    return server
}

@Suite("Protocol versions: negotiation and the pin, without I/O")
struct VersionNegotiationTests {
    @Test func thisBuildSpeaksVersionsOneAndTwo() {
        #expect(ProtocolVersion.supported == 1...2)
        #expect(ProtocolVersion.current == 2)
        #expect(ProtocolVersion.introducing(.attemptResultBatch(.init())) == 2)
        #expect(ProtocolVersion.introducing(.attemptResultBatchAck(.init())) == 2)
        #expect(ProtocolVersion.introducing(.attemptReport(.init())) == 1)
        // The configuration checks `cluster.protocol_version_max` against the same range.
        #expect(
            ClusterSettings.protocolVersions == Int(
                ProtocolVersion.supported.lowerBound)...Int(ProtocolVersion.supported.upperBound))
    }

    @Test func theConfiguredPinBecomesTheOfferedVersions() throws {
        #expect(try ClusterSettings().offeredProtocolVersions() == 1...2)
        #expect(try ClusterSettings(protocolVersionMax: 1).offeredProtocolVersions() == 1...1)
        #expect(throws: ProtocolVersionPinError(pin: 7)) {
            try ClusterSettings(protocolVersionMax: 7).offeredProtocolVersions()
        }
    }

    @Test(
        arguments: [
            // (server, client, chosen): the highest version both speak.
            (1...2, 1...2, 2),
            (1...2, 1...1, 1),  // an old (or pinned) node at a new manager
            (1...1, 1...2, 1),  // a new node at an old (or pinned) manager
            (1...1, 1...1, 1),
        ] as [(ClosedRange<UInt32>, ClosedRange<UInt32>, UInt32)])
    func bothSidesSettleOnTheHighestCommonVersion(
        server: ClosedRange<UInt32>, client: ClosedRange<UInt32>, chosen: UInt32
    ) {
        let (serverSaw, clientSaw) = negotiate(server: server, client: client)
        #expect(serverSaw.version == chosen)
        #expect(clientSaw.version == chosen)
    }

    @Test func aPinCapsWhatAProcessOffersAndAccepts() throws {
        #expect(ProtocolVersion.supported(upTo: nil) == 1...2)
        #expect(ProtocolVersion.supported(upTo: 1) == 1...1)
        #expect(ProtocolVersion.supported(upTo: 2) == 1...2)
        #expect(ProtocolVersion.supported(upTo: 0) == nil)
        #expect(ProtocolVersion.supported(upTo: 3) == nil)
        // A new manager pinned at 1 with a new node: version 1, either way round.
        let pinned = try #require(ProtocolVersion.supported(upTo: 1))
        #expect(negotiate(server: pinned, client: ProtocolVersion.supported).server.version == 1)
        #expect(negotiate(server: ProtocolVersion.supported, client: pinned).client.version == 1)
    }

    @Test func noCommonVersionFailsWithUnsupportedVersion() {
        // A future peer that no longer speaks 1 or 2, both ways round.
        let (_, clientSaw) = negotiate(server: 3...4, client: 1...2)
        #expect(clientSaw == .failed(.unsupportedVersion))
        let (serverSaw, _) = negotiate(server: 1...2, client: 3...4)
        #expect(serverSaw == .failed(.unsupportedVersion))
    }

    @Test func aVersionTwoMessageOnAVersionOneConnectionIsAnUnknownMessage() {
        var machine = established(at: 1)
        #expect(machine.peer?.protocolVersion == 1)
        let action = machine.received(Envelope(.attemptResultBatch(.init()), correlationID: 1))
        guard case .failAndClose(let violation) = action else {
            Issue.record("expected the connection to close, got \(action)")
            return
        }
        #expect(violation.code == .unknownMessage)
        #expect(violation.detail.contains("attempt_result_batch needs protocol version 2"))
        #expect(machine.isClosed)
    }

    @Test func aVersionTwoMessageOnAVersionTwoConnectionIsForwarded() {
        var machine = established(at: 2)
        #expect(machine.peer?.protocolVersion == 2)
        let batch = Envelope(.attemptResultBatch(.init()), correlationID: 1)
        #expect(machine.received(batch) == .forward(batch))
        let report = Envelope(.attemptReport(.init()), correlationID: 3)
        #expect(machine.received(report) == .forward(report), "version 1's messages stay in version 2")
    }

    @Test func aPeerSpeaksOnlyItsConnectionsVersion() {
        let old = PeerIdentity(role: .manager, memberID: "manager", protocolVersion: 1)
        let new = PeerIdentity(role: .manager, memberID: "manager", protocolVersion: 2)
        #expect(!old.speaks(.attemptResultBatch(.init())) && old.speaks(.attemptReport(.init())))
        #expect(new.speaks(.attemptResultBatch(.init())) && new.speaks(.attemptReport(.init())))
    }

    /// The hex examples of PROTOCOL.md §5.4 are what the encoder writes.
    @Test func theDocumentedBatchFramesAreExact() throws {
        var report = Dialer_V1_AttemptReport()
        report.lease.queue = "q1"
        report.lease.epoch = 3
        report.attempt = "a1"
        report.contact = "k1"
        report.outcome = .busy
        var batch = Dialer_V1_AttemptResultBatch()
        batch.reports = [report]
        #expect(
            try hex(Envelope(.attemptResultBatch(batch), correlationID: 5))
                == "00 00 00 19 08 05 E2 0D 14 0A 12 0A 06 0A 02 71 31 10 03 12 02 61 31 1A 02 6B 31 20 04")
        var acknowledged = Dialer_V1_AttemptResultAnswer()
        acknowledged.attempt = "a1"
        var refused = Dialer_V1_AttemptResultAnswer()
        refused.attempt = "a2"
        refused.error.code = .unknownRequest
        var ack = Dialer_V1_AttemptResultBatchAck()
        ack.answers = [acknowledged, refused]
        #expect(
            try hex(Envelope(.attemptResultBatchAck(ack), correlationID: 5))
                == "00 00 00 15 08 05 EA 0D 10 0A 04 0A 02 61 31 0A 08 0A 02 61 32 1A 02 08 14")
    }
}

/// A frame's bytes as PROTOCOL.md writes them.
private func hex(_ envelope: Envelope) throws -> String {
    var buffer = ByteBuffer()
    try FrameEncoder.encodeFrame(envelope, into: &buffer, maximumPayload: 1 << 20)
    return buffer.readableBytesView.map { String(format: "%02X", $0) }.joined(separator: " ")
}
